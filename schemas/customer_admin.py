"""The merchant's view of its customers on the wire (merchant API key).

Unlike the till's view the phone is shown whole: the merchant owns the base. Amounts
are roubles with two places; instants are ISO-8601 with the offset of the store the
movement happened in (the merchant's zone where no store is involved); dates
``YYYY-MM-DD`` are local dates of the merchant.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.bounds import WireDate
from schemas.customers import ReferrerRef
from schemas.money import Money

Reason = Annotated[str, Field(min_length=1, max_length=500)]
StaffName = Annotated[str, Field(min_length=1, max_length=200)]


class WireModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _stripped(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        raise ValueError("пустая строка")
    if any(ord(char) < 32 for char in value):
        # PostgreSQL text cannot hold NUL, and a reason is one line a person reads.
        raise ValueError("управляющие символы недопустимы")
    return value


class BlockInfo(WireModel):
    blocked_at: datetime
    reason: str
    by: str = Field(description="who blocked the card: the staff name or the key's label")


class CustomerRow(WireModel):
    id: int
    phone: str
    name: str | None
    tier: str | None
    balance: Money = Field(description="spendable now (held bonuses excluded)")
    blocked: bool
    registered_at: datetime


class CustomerList(WireModel):
    customers: list[CustomerRow]
    next: int | None = Field(description="pass as ?after= for the next page")


class CardRow(WireModel):
    kind: str
    number: str


class CustomerCard(WireModel):
    id: int
    phone: str
    name: str | None
    email: str | None
    birthday: date | None
    tier: str | None
    tier_name: str | None
    balance: Money
    held: Money
    pending: Money = Field(description="credited, waiting for their activation date")
    purchases_count: int
    purchases_total: Money
    last_purchase_at: datetime | None
    registered_at: datetime
    registration_channel: str
    cards: list[CardRow]
    blocked: BlockInfo | None
    referral_code: str = Field(description="the customer's personal code to invite friends")
    referrer_id: int | None = Field(default=None, description="who invited the customer")
    acquisition_channel: str | None = None
    campaign: str | None = None


class LotRow(WireModel):
    id: int
    kind: str = Field(description="purchase, welcome, referral, referee, manual, return, ...")
    amount: Money
    remaining: Money
    available_from: datetime
    expires_at: datetime | None
    state: Literal["pending", "active", "spent", "expired"]
    receipt_id: str | None


class LotList(WireModel):
    lots: list[LotRow]
    next: int | None = Field(description="pass as ?before= for the next (older) page")


class Movement(WireModel):
    id: int
    kind: str = Field(description="accrue, referral, redeem, expire, reverse, return, adjust")
    amount: Money = Field(description="signed: a credit is positive")
    at: datetime
    lot_id: int | None
    receipt_id: str | None = Field(description="the sale's id (also on a refund's entries)")
    refund_id: str | None
    by: str = Field(description="the till, the nightly job or the staff member")
    reason: str | None = Field(description="a manual adjustment's reason")
    cashier: str | None = Field(
        default=None,
        description="the cashier of the receipt (the name the till sent, else its id)",
    )


class MovementList(WireModel):
    movements: list[Movement]
    next: int | None = Field(description="pass as ?before= for the next (older) page")


class BlockRequest(WireModel):
    reason: Reason
    staff: StaffName | None = None

    _strip = field_validator("reason", "staff")(_stripped)


class BlockState(WireModel):
    customer_id: int
    blocked: BlockInfo | None
    changed: bool = Field(description="false when the card already was in that state")


class ReferrerChange(WireModel):
    """The staff's correction of who invited the customer (``referrer: null`` removes
    it). Rewards already credited stay where they went; later sales reward the new
    chain. A referrer the customer invited, directly or through others, is refused."""

    referrer: ReferrerRef | None
    reason: Reason
    staff: StaffName | None = None

    _strip = field_validator("reason", "staff")(_stripped)


class ReferrerState(WireModel):
    customer_id: int
    referrer_id: int | None
    changed: bool = Field(description="false when the customer already had this referrer")


class AdjustmentRequest(WireModel):
    """A manual credit or debit. A credit lives ``lifetime_days`` from its activation,
    or until the end of ``expires_on``; with neither, as the live program's purchase
    bonuses do (never, when the program has no lifetime). A debit spends the lots a
    redemption would, soonest-expiring first, and never more than is spendable."""

    kind: Literal["credit", "debit"]
    amount: Annotated[Money, Field(gt=0, le=10_000_000)]
    reason: Reason
    staff: StaffName | None = None
    lifetime_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    expires_on: WireDate | None = Field(default=None, description="last local day they are valid")
    activates_on: WireDate | None = Field(default=None, description="first local day they count")

    _strip = field_validator("reason", "staff")(_stripped)


class AdjustmentResult(WireModel):
    id: int
    customer_id: int
    kind: Literal["credit", "debit"]
    amount: Money
    reason: str
    by: str
    lot_id: int | None = Field(description="the credited lot")
    lots: list[int] = Field(description="the lots a debit took from")
    available_from: datetime | None
    expires_at: datetime | None
    balance: Money = Field(description="spendable after the adjustment")
    created_at: datetime
