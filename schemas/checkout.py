"""The canonical checkout protocol on the wire (native API v1).

Every vendor adapter translates its own shape to these models and back. Amounts are
roubles with two places (``Money``), quantities have three places; the service turns
them into kopecks at once.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.money import Money, Quantity

ExternalId = Annotated[str, Field(min_length=1, max_length=128)]
NonNegativeMoney = Annotated[Money, Field(ge=0)]


class WireModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CustomerRef(WireModel):
    """How the terminal identifies the customer: phone, card number or our id."""

    phone: Annotated[str, Field(min_length=5, max_length=32)] | None = None
    card: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    customer_id: int | None = None

    @model_validator(mode="after")
    def _something_given(self) -> CustomerRef:
        if self.phone is None and self.card is None and self.customer_id is None:
            raise ValueError("укажите телефон, номер карты или идентификатор клиента")
        return self


class ReceiptLine(WireModel):
    """One product line. ``amount`` is what the terminal charges for the line before our
    discount (price x quantity less the terminal's own discounts); on ``confirm`` it is
    what the terminal actually charged. Omitted, it is price x quantity."""

    id: ExternalId
    name: Annotated[str, Field(max_length=256)] = ""
    sku: Annotated[str, Field(max_length=128)] | None = None
    category: Annotated[str, Field(max_length=64)] | None = None
    price: NonNegativeMoney
    quantity: Annotated[Quantity, Field(gt=0, le=Decimal(1_000_000))]
    amount: NonNegativeMoney | None = None
    minimum_price: NonNegativeMoney | None = None


class Receipt(WireModel):
    """A receipt as the terminal sees it. ``id`` is the terminal's receipt id; it is the
    idempotency key of ``confirm``. ``created_at`` is the terminal's local time with its
    offset; when absent the server's clock is used."""

    id: ExternalId
    customer: CustomerRef | None = None
    lines: Annotated[list[ReceiptLine], Field(min_length=1, max_length=500)]
    created_at: datetime | None = None

    @model_validator(mode="after")
    def _unique_line_ids(self) -> Receipt:
        ids = [line.id for line in self.lines]
        if len(set(ids)) != len(ids):
            raise ValueError("идентификаторы позиций в чеке должны быть уникальными")
        return self


class CalculateRequest(WireModel):
    receipt: Receipt
    redeem: NonNegativeMoney = Decimal(0)
    unit_price_exact: bool = False


class HoldRequest(WireModel):
    """``sms_code``: the code the customer received (``POST /api/v1/sms-codes`` with
    purpose ``redeem``), required when the program asks for one to spend bonuses."""

    receipt: Receipt
    amount: Annotated[Money, Field(gt=0)]
    unit_price_exact: bool = False
    sms_code: Annotated[str, Field(min_length=4, max_length=12)] | None = None


class ConfirmRequest(WireModel):
    """The closed receipt: line amounts are what the terminal charged, ``redeemed`` the
    bonuses it took as payment."""

    receipt: Receipt
    redeemed: NonNegativeMoney = Decimal(0)


class CancelRequest(WireModel):
    receipt_id: ExternalId


class RefundLine(WireModel):
    id: ExternalId
    quantity: Annotated[Quantity, Field(gt=0)]


class RefundRequest(WireModel):
    """A return against a confirmed receipt; ``id`` is the refund's own idempotency key.
    Without ``lines`` the whole remaining receipt is returned."""

    id: ExternalId
    receipt_id: ExternalId
    lines: list[RefundLine] | None = None
    created_at: datetime | None = None


# ---- responses -----------------------------------------------------------------------


class QuoteLine(WireModel):
    id: str
    amount: Money
    discount: Money
    amount_after_discount: Money
    unit_price_after_discount: Money | None = None
    max_redeem: Money
    redeem: Money
    accrual: Money


class CustomerSummary(WireModel):
    id: int
    tier: str | None
    tier_name: str | None
    balance: Money


class Quote(WireModel):
    receipt_id: str
    program_version: int
    customer: CustomerSummary | None
    lines: list[QuoteLine]
    amount: Money
    discount: Money
    amount_after_discount: Money
    max_redeem: Money
    redeem: Money
    accrual: Money
    messages: list[str]
    slip: list[str]


class HoldResult(WireModel):
    hold_id: int
    receipt_id: str
    amount: Money
    expires_at: datetime
    lines: list[QuoteLine]
    balance: Money
    slip: list[str]


class ConfirmResult(WireModel):
    receipt_id: str
    status: str
    program_version: int
    customer: CustomerSummary | None
    lines: list[QuoteLine]
    amount: Money
    redeemed: Money
    accrued: Money
    accrual_available_from: datetime | None
    accrual_expires_at: datetime | None
    messages: list[str]
    slip: list[str]


class CancelResult(WireModel):
    receipt_id: str
    released: Money


class RefundResultLine(WireModel):
    id: str
    quantity: Quantity
    returned_bonuses: Money
    reversed_accrual: Money


class RefundResult(WireModel):
    refund_id: str
    receipt_id: str
    lines: list[RefundResultLine]
    returned_bonuses: Money
    reversed_accrual: Money
    unrecovered_accrual: Money
    lapsed_accrual: Money = Field(
        default=Decimal(0),
        description="accrual of the returned lines that had expired unspent: nothing to take back",
    )
    reissued_bonuses: Money = Field(
        default=Decimal(0),
        description="part of returned_bonuses whose lot expired meanwhile: credited as a new lot",
    )
    reissued_expires_at: datetime | None = Field(
        default=None, description="when that new lot expires (store-local); null: never"
    )
    balance: Money
    messages: list[str]
