"""Our terminal hook contract, customer part: what the loyalty app on an Evotor smart
terminal sends through the Evotor proxy to send an SMS code, register a customer at the
till and look a customer up (camelCase like the receipt hooks in ``schemas.evotor``).

The fields mirror the native registration (``schemas.customers.RegisterCustomer``) with
the same bounds, so a body that passes here passes there. No I/O, no business rules.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from schemas.customers import (
    CardNumber,
    ConsentVersion,
    CustomerName,
    Email,
    Gender,
    IdempotencyKey,
    PhoneText,
    ReferrerRef,
    SmsCode,
    plausible_birthday,
)
from schemas.evotor import OurModel
from schemas.money import Money

StrictFlag = Annotated[bool, Field(strict=True)]


def _date_text(value: Any) -> Any:
    # Only ``YYYY-MM-DD``: lax pydantic would also read a number of seconds as a date.
    if not isinstance(value, str | date):
        raise ValueError("ожидается дата в формате ГГГГ-ММ-ДД")
    return value


BirthdayText = Annotated[date, BeforeValidator(_date_text), AfterValidator(plausible_birthday)]


class SmsCodeHookRequest(OurModel):
    """Send the customer a one-time code: ``registration`` before ``customers/register``,
    ``redeem`` before a bonus payment under a program that asks for one."""

    phone: PhoneText
    purpose: Literal["registration", "redeem"]


class SmsCodeHookResponse(OurModel):
    sent: bool
    expiresIn: int
    """Seconds the code stays valid."""
    messages: list[str]


class RegisterHookRequest(OurModel):
    """Registration at the till. ``smsCode`` is the code the customer received
    (``purpose: registration``); ``consentPersonalData`` must be true (152-FZ),
    ``consentMessages`` is the customer's answer to advertising messages (art. 18), asked
    every time. ``card`` binds a plastic card at once; ``referrer`` names who invited the
    customer. ``idempotencyKey``: a retry with the same key and body gets the first
    answer."""

    phone: PhoneText
    smsCode: SmsCode
    consentPersonalData: StrictFlag
    consentMessages: StrictFlag
    consentPersonalDataVersion: ConsentVersion | None = None
    """The version of the consent text the customer was shown, kept with the consent."""
    consentMessagesVersion: ConsentVersion | None = None
    name: CustomerName | None = None
    birthday: BirthdayText | None = None
    gender: Gender | None = None
    email: Email | None = None
    card: CardNumber | None = None
    referrer: ReferrerRef | None = None
    idempotencyKey: IdempotencyKey | None = None


class RegisteredCustomer(OurModel):
    """The new customer as the till shows it: ``card`` is our virtual card's number (its
    barcode and QR code carry the same digits), ``referralCode`` the customer's own code
    to invite friends; ``messages`` for the cashier's screen, ``slip`` to print."""

    id: int
    phone: str
    """Masked: ``+7916***4567``."""
    name: str | None
    tier: str | None
    tierName: str | None
    balance: Money
    pending: Money
    """Bonuses credited but not yet spendable (a welcome gift with an activation delay)."""
    card: str
    physicalCard: str | None
    referralCode: str
    messages: list[str]
    slip: list[str]


class ExpiringBonuses(OurModel):
    lastDay: date
    """The last day (the store's calendar) the bonuses can be spent."""
    amount: Money


class CustomerCardResponse(OurModel):
    """What the cashier sees after a look-up: the customer's tier, spendable balance and
    the bonuses that lapse within 30 days, nearest first (up to three days)."""

    id: int
    name: str | None
    tier: str | None
    tierName: str | None
    balance: Money
    expiringSoon: list[ExpiringBonuses]
    referralCode: str
    messages: list[str]
