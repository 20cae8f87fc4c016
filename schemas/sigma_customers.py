"""The SIGMA hook contract, customer part: look a customer up for the cashier, send the
customer an SMS code, register a customer at the till (snake_case like the receipt hooks
in ``schemas.sigma``).

The registration fields mirror the native registration
(``schemas.customers.RegisterCustomer``) with the same bounds, so a body that passes
here passes there. No I/O, no business rules.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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
)
from schemas.evotor_customers import BirthdayText, StrictFlag
from schemas.sigma import Customer, Money

EVENTS = ("customer.lookup", "customer.sms_code", "customer.register")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CustomerLookupRequest(_In):
    """The customer the cashier has in front of them, by phone, card or QR code (as the
    receipt hooks take them)."""

    event: Literal["customer.lookup"]
    customer: Customer


class SmsCodeRequest(_In):
    """Send the customer a one-time code: ``registration`` before ``customer.register``,
    ``redeem`` before a ``bonus.hold`` under a program that asks for one."""

    event: Literal["customer.sms_code"]
    phone: PhoneText
    purpose: Literal["registration", "redeem"]


class CustomerRegisterRequest(_In):
    """Registration at the till. ``sms_code``: the code the customer received
    (``purpose: registration``) and names to the cashier. ``consent_personal_data`` must
    be true (152-FZ); ``consent_messages`` is the customer's answer to advertising
    messages (art. 18), asked every time; the ``*_version`` fields name the consent text
    the customer was shown, kept with the consent. ``card`` binds a plastic card at once;
    ``referrer`` names who invited the customer (a referral code or phone).
    ``idempotency_key``: a retry with the same key and body gets the first answer."""

    event: Literal["customer.register"]
    phone: PhoneText
    sms_code: SmsCode
    consent_personal_data: StrictFlag
    consent_messages: StrictFlag
    consent_personal_data_version: ConsentVersion | None = None
    consent_messages_version: ConsentVersion | None = None
    name: CustomerName | None = None
    birthday: BirthdayText | None = None
    gender: Gender | None = None
    email: Email | None = None
    card: CardNumber | None = None
    referrer: ReferrerRef | None = None
    idempotency_key: IdempotencyKey | None = None


# ---- answers ------------------------------------------------------------------------------


class Lapsing(_Out):
    last_day: date = Field(description="the last day (the store's calendar) to spend them")
    amount: Money


class CashierCustomer(_Out):
    """The customer as the cashier sees them."""

    id: int
    name: str | None
    phone: str = Field(description="masked: +7916***4567")
    tier: str | None
    tier_name: str | None
    balance: Money = Field(description="spendable bonuses")
    pending: Money = Field(description="credited, not yet spendable")
    lapsing_soon: list[Lapsing] = Field(
        description="bonuses lapsing within 30 days, nearest first (up to three days)"
    )
    card: str | None = Field(description="our virtual card's number (its QR holds it)")
    physical_card: str | None
    referral_code: str


class CustomerResponse(_Out):
    """``customer.lookup`` and ``customer.register``: the customer, lines for the
    cashier's screen and lines to print."""

    event: str
    customer: CashierCustomer
    messages: list[str] = Field(description="for the cashier's screen")
    slip: list[str] = Field(description="lines to print")


class SmsCodeResponse(_Out):
    """The code went out (the code itself is never returned)."""

    event: str
    purpose: str
    sent_to: str = Field(description="the phone, masked: +7916***4567")
    expires_at: datetime = Field(description="the code works until then")
    resend_at: datetime = Field(
        description="from then a new code may be asked for (it replaces this one)"
    )
    messages: list[str] = Field(description="for the cashier's screen")
