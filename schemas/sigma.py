"""The SIGMA receipt-hook contract (ours: SIGMA publishes no loyalty callout).

A SIGMA terminal app POSTs one JSON body per event to ``/sigma/v1/hooks/{event}``; the
body names its event again (``event``), so a signed body cannot be replayed onto another
event's address. Amounts come as JSON numbers or as decimal strings (``"123.45"``), both
read exactly (never through a float); answers carry every amount as a string with two
places. Field names are snake_case. See ``docs/sigma-hooks.md``.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)

from schemas.bounds import WireDateTime
from schemas.money import CENT, MAX_AMOUNT, MAX_QUANTITY

EVENTS = (
    "receipt.opened", "receipt.changed", "bonus.hold", "bonus.release", "receipt.closed",
    "receipt.cancelled", "receipt.refunded",
)  # fmt: skip

_AMOUNT_TEXT = re.compile(r"[0-9]{1,8}(\.[0-9]{1,2})?")
_QUANTITY_TEXT = re.compile(r"[0-9]{1,5}(\.[0-9]{1,3})?")


def _exact(pattern: re.Pattern[str], what: str) -> Any:
    def parse(value: Any) -> Any:
        # bool is an int to Python, never an amount; a float cannot arrive (the body is
        # read with every fraction as Decimal) and is refused should a caller pass one.
        if isinstance(value, bool) or isinstance(value, float):
            raise ValueError(f"{what}: ожидается число или строка вида «123.45»")
        if isinstance(value, int | Decimal):
            return Decimal(value)
        if isinstance(value, str) and pattern.fullmatch(value):
            return Decimal(value)
        raise ValueError(f"{what}: ожидается число или строка вида «123.45»")

    return BeforeValidator(parse)


def _in_schema(pattern: str, places: int, maximum: Decimal, positive: bool) -> dict[str, Any]:
    low = {"exclusiveMinimum": 0} if positive else {"minimum": 0}
    return {"anyOf": [
        {"type": "number", **low, "maximum": float(maximum), "multipleOf": 10.0**-places},
        {"type": "string", "pattern": f"^{pattern}$"},
    ], "description": "число или строка с числом, не больше "
                      f"{places} знаков после точки; до {maximum}"}  # fmt: skip


Amount = Annotated[
    Decimal, _exact(_AMOUNT_TEXT, "сумма"),
    Field(ge=0, le=MAX_AMOUNT, decimal_places=2, allow_inf_nan=False),
    WithJsonSchema(_in_schema(_AMOUNT_TEXT.pattern, 2, MAX_AMOUNT, False)),
]  # fmt: skip
"""Roubles the terminal sends: 0 to 99 999 999.99, two places, a number or a string."""

PositiveAmount = Annotated[
    Decimal, _exact(_AMOUNT_TEXT, "сумма"),
    Field(gt=0, le=MAX_AMOUNT, decimal_places=2, allow_inf_nan=False),
    WithJsonSchema(_in_schema(_AMOUNT_TEXT.pattern, 2, MAX_AMOUNT, True)),
]  # fmt: skip

Quantity = Annotated[
    Decimal, _exact(_QUANTITY_TEXT, "количество"),
    Field(gt=0, le=MAX_QUANTITY, decimal_places=3, allow_inf_nan=False),
    WithJsonSchema(_in_schema(_QUANTITY_TEXT.pattern, 3, MAX_QUANTITY, True)),
]  # fmt: skip

Money = Annotated[
    Decimal,
    PlainSerializer(lambda value: str(value.quantize(CENT)), return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{2}$",
                    "description": "рубли строкой, два знака после точки"}),
]  # fmt: skip
"""An amount we answer: a string with two places (``"538.65"``)."""

QuantityOut = Annotated[
    Decimal,
    PlainSerializer(lambda value: str(value), return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d+(\.\d{1,3})?$"}),
]

Id = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\x00]+$")]
Text = Annotated[str, Field(max_length=256, pattern=r"^[^\x00]*$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Customer(_In):
    """Exactly one of: the phone the customer names, the card number typed or scanned,
    or the text of the QR code the customer shows (our virtual card's QR holds its
    number, the same number the till accepts as ``card``)."""

    phone: Annotated[str, Field(min_length=5, max_length=32, pattern=r"^[^\x00]+$")] | None = None
    card: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00]+$")] | None = None
    qr: Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[^\x00]+$")] | None = None

    @model_validator(mode="after")
    def _one_given(self) -> Customer:
        given = [v for v in (self.phone, self.card, self.qr) if v is not None]
        if len(given) != 1:
            raise ValueError("укажите ровно одно: телефон, номер карты или QR-код клиента")
        return self


class Line(_In):
    """A position of the receipt. ``id`` is stable while the receipt is open (refunds
    name it). ``amount``: what the till charges for the line before our discount
    (at close: what it charged); omitted, price x quantity. ``category``: the program's
    category code of the product (the app maps SIGMA product groups to it)."""

    id: Id
    name: Text = ""
    sku: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\x00]+$")] | None = None
    category: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00]+$")] | None = (
        None
    )
    price: Amount
    quantity: Quantity
    amount: Amount | None = None
    minimum_price: Amount | None = Field(None, description="цена ниже которой не продавать")


Lines = Annotated[list[Line], Field(min_length=1, max_length=500)]


class Cashier(_In):
    id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00]+$")] | None = None
    name: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]+$")] | None = None


class ReceiptQuoteRequest(_In):
    """``receipt.opened`` / ``receipt.changed``: price the open receipt. ``bonus_payment``:
    the bonuses the cashier means to take, to see the receipt with them."""

    event: Literal["receipt.opened", "receipt.changed"]
    receipt_id: Id
    customer: Customer | None = None
    lines: Lines
    bonus_payment: Amount = Decimal(0)
    created_at: WireDateTime | None = None


class BonusHoldRequest(_In):
    """``customer`` omitted: the one an earlier hook of this receipt identified."""

    event: Literal["bonus.hold"]
    receipt_id: Id
    customer: Customer | None = None
    lines: Lines
    amount: PositiveAmount
    sms_code: Annotated[str, Field(min_length=4, max_length=12, pattern=r"^[0-9]+$")] | None = None


class BonusReleaseRequest(_In):
    event: Literal["bonus.release"]
    receipt_id: Id


class ReceiptClosedRequest(_In):
    """The receipt was paid and printed. ``bonus_payment`` omitted: what ``bonus.hold``
    reserved (0 without a hold); ``lines[].amount``: what was charged per line."""

    event: Literal["receipt.closed"]
    receipt_id: Id
    customer: Customer | None = None
    lines: Lines
    bonus_payment: Amount | None = None
    fiscal_document: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00]+$")] | (
        None
    ) = None
    number: Annotated[int, Field(ge=1, le=2_147_483_647)] | None = None
    cashier: Cashier | None = None
    created_at: WireDateTime | None = None


class ReceiptCancelledRequest(_In):
    event: Literal["receipt.cancelled"]
    receipt_id: Id


class RefundLine(_In):
    id: Id
    quantity: Quantity


class ReceiptRefundedRequest(_In):
    """A return against a closed receipt, idempotent on its own ``refund_id``; without
    ``lines`` what remains of the whole receipt is returned."""

    event: Literal["receipt.refunded"]
    refund_id: Id
    receipt_id: Id
    lines: Annotated[list[RefundLine], Field(min_length=1, max_length=500)] | None = None
    cashier: Cashier | None = None
    created_at: WireDateTime | None = None


# ---- answers ------------------------------------------------------------------------------


class CustomerOut(_Out):
    id: int
    tier: str | None
    tier_name: str | None
    balance: Money


class QuoteLine(_Out):
    id: str
    amount: Money
    discount: Money
    amount_after_discount: Money
    unit_price_after_discount: Money | None
    bonus_payment_max: Money
    bonus_payment: Money
    accrual: Money


class QuoteResponse(_Out):
    event: str
    receipt_id: str
    program_version: int
    customer: CustomerOut | None
    customer_found: bool = Field(
        description="false: the customer given is unknown (priced without)"
    )
    lines: list[QuoteLine]
    amount: Money
    discount: Money
    amount_after_discount: Money
    bonuses_spendable: Money
    bonus_payment: Money
    accrual: Money
    messages: list[str] = Field(description="for the cashier's screen")
    slip: list[str] = Field(description="lines to print on the receipt")


class HoldLine(_Out):
    id: str
    bonus_payment: Money


class HoldResponse(_Out):
    event: str
    receipt_id: str
    hold_id: str
    amount: Money
    expires_at: datetime
    balance: Money
    lines: list[HoldLine]
    slip: list[str]


class ReleaseResponse(_Out):
    event: str
    receipt_id: str
    released: Money
    slip: list[str]


class ClosedResponse(_Out):
    event: str
    receipt_id: str
    status: str
    customer: CustomerOut | None
    amount: Money
    bonus_paid: Money
    accrued: Money
    accrual_available_from: datetime | None
    messages: list[str]
    slip: list[str]


class RefundedLine(_Out):
    id: str
    quantity: QuantityOut
    returned_bonuses: Money
    reversed_accrual: Money


class RefundedResponse(_Out):
    event: str
    refund_id: str
    receipt_id: str
    lines: list[RefundedLine]
    returned_bonuses: Money
    reversed_accrual: Money
    unrecovered_accrual: Money
    balance: Money
    messages: list[str]


class ErrorBody(_Out):
    code: str = Field(description="стабильный код ошибки")
    message: str = Field(description="сообщение на русском языке для кассира")
