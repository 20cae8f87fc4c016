"""Customers and one-time SMS codes on the wire (native API v1).

Amounts are roubles with two places (``Money``); instants are ISO-8601 with the store's
UTC offset; birthdays are ``YYYY-MM-DD``. The phone leaves the service masked.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.bounds import WireBool, WireDate
from schemas.money import Money

Purpose = Literal["registration", "redeem"]
PhoneText = Annotated[str, Field(min_length=5, max_length=32)]
CardNumber = Annotated[str, Field(min_length=1, max_length=64)]
SmsCode = Annotated[str, Field(min_length=1, max_length=16)]
IdempotencyKey = Annotated[str, Field(min_length=1, max_length=200)]


class WireModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- SMS codes -------------------------------------------------------------------------


class SendCodeRequest(WireModel):
    phone: PhoneText
    purpose: Purpose


class CodeSent(WireModel):
    sent: bool
    expires_in: int = Field(description="seconds until the code lapses")


class VerifyCodeRequest(WireModel):
    phone: PhoneText
    purpose: Purpose
    code: SmsCode


class CodeVerified(WireModel):
    verified: bool


# ---- registration ----------------------------------------------------------------------


ConsentVersion = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[\x21-\x7e]+$")]
Gender = Literal["male", "female"]
MAX_CHILDREN = 10


def _plausible(value: date | None) -> date | None:
    if value is not None and not date(1900, 1, 1) <= value <= date.today():
        raise ValueError("дата рождения вне допустимого диапазона")
    return value


def plausible_birthday(value: date) -> date:
    """A birthday between 1900 and today (every channel's registration form)."""
    checked = _plausible(value)
    assert checked is not None
    return checked


def _stripped_name(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("имя не может быть пустым")
    return value


CustomerName = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_stripped_name)]
"""A customer's name as every registration form takes it: trimmed, never blank."""
Email = Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class Consent(WireModel):
    """What the customer agreed to; processing of personal data (152-FZ) is required,
    messages (advertising law, art. 18) are optional. Each is recorded with the time of
    registration and the version of the consent text the customer was shown."""

    personal_data: WireBool
    messages: WireBool = False
    personal_data_version: ConsentVersion | None = None
    messages_version: ConsentVersion | None = None


class ReferrerRef(WireModel):
    """Who invited the customer: exactly one of the referrer's phone, card number or
    personal referral code."""

    phone: PhoneText | None = None
    card: CardNumber | None = None
    code: Annotated[str, Field(min_length=1, max_length=20)] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ReferrerRef:
        if sum(value is not None for value in (self.phone, self.card, self.code)) != 1:
            raise ValueError("укажите ровно одно: телефон, карту или код пригласившего")
        return self


class Child(WireModel):
    name: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    birthday: WireDate

    @field_validator("birthday")
    @classmethod
    def _plausible_birthday(cls, value: date) -> date:
        checked = _plausible(value)
        assert checked is not None
        return checked


class RegisterCustomer(WireModel):
    """Registration at the terminal. ``sms_code`` is the code the customer received for
    purpose ``registration``; ``card`` binds a physical card at once, and is required
    when the program identifies customers by plastic cards (``card: physical_card``:
    400 ``physical_card_required``). 1C passes its idempotency key here, other callers in
    the ``Idempotency-Key`` header."""

    phone: PhoneText
    sms_code: SmsCode | None = None
    card: CardNumber | None = None
    name: CustomerName | None = None
    email: Email | None = None
    birthday: WireDate | None = None
    consent: Consent
    gender: Gender | None = None
    children: list[Child] = Field(default_factory=list, max_length=MAX_CHILDREN)
    referrer: ReferrerRef | None = None
    acquisition_channel: (
        Annotated[str, Field(pattern=r"^[a-z0-9_.-]{1,32}$", description="e.g. store, vk, site")]
        | None
    ) = None
    campaign: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    idempotency_key: IdempotencyKey | None = None

    @field_validator("birthday")
    @classmethod
    def _plausible_birthday(cls, value: date | None) -> date | None:
        return _plausible(value)

    @field_validator("campaign")
    @classmethod
    def _printable_campaign(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or not value.isprintable()):
            raise ValueError("название кампании: печатные символы")
        return None if value is None else value.strip()


class AttachCard(WireModel):
    number: CardNumber


# ---- responses -------------------------------------------------------------------------


class TierInfo(WireModel):
    code: str
    name: str | None = Field(description="name in the live program; null if it has no such tier")


class CardInfo(WireModel):
    """A way to find the customer. The phone card's number is masked like the phone."""

    id: int
    kind: Literal["phone", "physical", "virtual"]
    number: str


class BalanceInfo(WireModel):
    """Bonuses: ``available`` may be spent now (holds excluded), ``held`` is reserved by
    open receipts, ``pending`` waits for activation."""

    available: Money
    held: Money
    pending: Money


class PurchaseStats(WireModel):
    count: int
    total: Money
    last_at: datetime | None


class CustomerConsents(WireModel):
    personal_data_at: datetime | None
    messages_at: datetime | None
    personal_data_version: str | None = None
    messages_version: str | None = None


class ChildInfo(WireModel):
    name: str | None
    birthday: date


class Acquisition(WireModel):
    channel: str | None = Field(description="where the customer came from")
    campaign: str | None


class CustomerProfile(WireModel):
    id: int
    phone: str = Field(description="masked, e.g. +7999***4567")
    name: str | None
    email: str | None
    birthday: date | None
    tier: TierInfo | None
    cards: list[CardInfo]
    balance: BalanceInfo
    purchases: PurchaseStats
    consents: CustomerConsents
    registered_at: datetime
    gender: Gender | None = None
    children: list[ChildInfo] = Field(default_factory=list)
    referral_code: str = Field(description="the customer's personal code to invite friends")
    referrer_id: int | None = Field(default=None, description="who invited the customer")
    acquisition: Acquisition | None = None


class CustomerLookup(WireModel):
    """What a terminal needs after scanning a card or typing a phone."""

    id: int
    name: str | None
    tier: str | None
    tier_name: str | None
    balance: Money = Field(description="bonuses available now")
    referral_code: str = Field(description="the customer's personal code to invite friends")
    messages: list[str] = Field(
        default_factory=list,
        description="for the cashier, e.g. that a physical_card program's customer has no "
        "plastic card yet (bind one with POST /api/v1/customers/{id}/cards)",
    )


class HistoryEntry(WireModel):
    id: int
    kind: str = Field(description="accrue, referral, redeem, expire, reverse, adjust, ...")
    amount: Money = Field(description="signed: positive credits, negative debits")
    created_at: datetime
    receipt_id: str | None = Field(
        description="the terminal's receipt id of the sale, if any (for a refund: the sale "
        "it returns)"
    )
    refund_id: str | None = Field(default=None, description="the refund's own id, if a refund")


class HistoryPage(WireModel):
    entries: list[HistoryEntry]
    next: int | None = Field(description="pass as ?before= for the next (older) page")
