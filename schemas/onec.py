"""The 1C-facing API (``/1c/v1/...``): what the ``ЛояльностьОблако`` module of
1С:Розница / УТ / УНФ sends and gets back.

Shaped for 1C's own JSON tools: flat objects with Latin camelCase keys (1C reads them
into a ``Соответствие`` by name), amounts as JSON numbers with two places, quantities
with three, date-times as ISO 8601 *without* an offset in the store's time zone
(``ЗаписатьJSON`` / ``ПрочитатьJSON`` with ``ФорматДатыJSON.ISO`` write and read exactly
that), phones as 11 digits. Every mutating call carries its idempotency key in the body
(``requestId``; the ЧекККМ GUID as ``receiptId`` for a sale and a cancel; ``returnId`` for
a return). No I/O, no business rules.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)

from schemas.bounds import EARLIEST, LATEST
from schemas.customers import CardNumber, CustomerName, Email, SmsCode, plausible_birthday
from schemas.evotor_customers import StrictFlag
from schemas.money import Amount, LineQuantity, Money, PositiveAmount

Key = Annotated[str, Field(min_length=1, max_length=128)]
"""An idempotency key or a 1C document id
(a GUID: ``Строка(Ссылка.УникальныйИдентификатор())``)."""
Phone = Annotated[str, Field(min_length=5, max_length=32, description="11 цифр: 79161234567")]


def _local_text(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S")


def _date_time_text(value: Any) -> Any:
    # 1C writes a date-time as 2026-11-28T14:05:00; a number would be read as seconds.
    if not isinstance(value, str | datetime):
        raise ValueError("ожидается дата и время ГГГГ-ММ-ДДTЧЧ:ММ:СС")
    return value


def _plausible(value: datetime) -> datetime:
    if not EARLIEST <= value.date() <= LATEST:
        raise ValueError(f"дата вне диапазона {EARLIEST:%Y-%m-%d} — {LATEST:%Y-%m-%d}")
    return value


LocalDateTime = Annotated[
    datetime,
    BeforeValidator(_date_time_text),
    AfterValidator(_plausible),
    PlainSerializer(_local_text, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$",
                    "description": "местное время магазина без смещения: 2026-11-28T14:05:00"}),
]  # fmt: skip
"""A date-time as 1C writes it: local wall-clock time of the store, no offset (one with
an offset is also read)."""


def _birthday_text(value: Any) -> Any:
    # ЗаписатьJSON writes a 1C Дата as 1990-05-17T00:00:00: take its date part.
    if isinstance(value, str) and len(value) == 19 and value.endswith("T00:00:00"):
        return value[:10]
    if not isinstance(value, str):
        raise ValueError("ожидается дата ГГГГ-ММ-ДД")
    return value


Birthday = Annotated[
    date,
    BeforeValidator(_birthday_text),
    AfterValidator(plausible_birthday),
    WithJsonSchema({"type": "string", "description": "1990-05-17 или 1990-05-17T00:00:00"}),
]  # fmt: skip


def _quantity(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.001"))


OutQuantity = Annotated[
    Decimal, PlainSerializer(_quantity, return_type=Decimal), WithJsonSchema({"type": "number"})
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(_Out):
    code: str = Field(description="стабильный код ошибки (латиница)")
    message: str = Field(description="сообщение на русском для кассира")


class _Customer(_In):
    """The customer by phone (11 digits) or card number, as the cashier entered them."""

    phone: Phone | None = None
    card: CardNumber | None = None


class CustomerLookupRequest(_Customer):
    @model_validator(mode="after")
    def _given(self) -> CustomerLookupRequest:
        if self.phone is None and self.card is None:
            raise ValueError("укажите телефон (phone) или номер карты (card)")
        return self


class Line(_In):
    """A line of the ЧекККМ: ``id`` its НомерСтроки (or key of the line), ``price`` the
    unit price, ``amount`` the line's Сумма before our discount (default price ×
    quantity); on a confirm, what the receipt charged for the line."""

    id: Key
    name: Annotated[str, Field(max_length=256)] = ""
    sku: Annotated[str, Field(max_length=128)] | None = None
    category: Annotated[str, Field(max_length=64)] | None = None
    price: Amount
    quantity: LineQuantity
    amount: Amount | None = None


Lines = Annotated[list[Line], Field(min_length=1, max_length=500)]


class CalcRequest(_Customer):
    """Price the open receipt: discounts and accrual per line, what may be paid with
    bonuses. ``redeem``: bonuses the cashier means to spend (spread over lines)."""

    receiptId: Key
    lines: Lines
    redeem: Amount = Decimal(0)


class SmsCodeRequest(_In):
    """Send the customer a code: ``redeem`` before a hold when the program asks for
    one, ``registration`` before a registration."""

    requestId: Key
    phone: Phone
    purpose: Literal["redeem", "registration"]


class HoldRequest(_Customer):
    """Reserve bonuses as a payment of the open receipt (replaces the receipt's earlier
    hold). ``smsCode``: the code the customer named, when the program asks for one."""

    requestId: Key
    receiptId: Key
    lines: Lines
    amount: PositiveAmount
    smsCode: SmsCode | None = None


class ConfirmRequest(_Customer):
    """The closed ЧекККМ, idempotent on ``receiptId``. ``saleDate``: the receipt's
    Дата (store time). ``redeemed``: bonuses it took as payment (omitted: what the hold
    reserved)."""

    receiptId: Key
    saleDate: LocalDateTime | None = None
    lines: Lines
    redeemed: Amount | None = None
    number: Annotated[int, Field(strict=True, ge=0, le=2_000_000_000)] | None = None
    cashier: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class CancelRequest(_In):
    """The receipt was dropped unpaid: the hold is released (idempotent on receiptId)."""

    receiptId: Key


class ReturnLine(_In):
    id: Key
    quantity: LineQuantity


class ReturnRequest(_In):
    """ЧекККМВозврат against a confirmed sale, idempotent on ``returnId``; lines by the
    sale's line ids, partial by quantity; no lines: everything not yet returned."""

    returnId: Key
    receiptId: Key
    returnDate: LocalDateTime | None = None
    lines: Annotated[list[ReturnLine], Field(min_length=1, max_length=500)] | None = None
    cashier: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class RegisterRequest(_In):
    """Registration at the till with the code from SMS (purpose registration).
    ``consentPersonalData`` must be true (152-FZ); ``consentMessages`` is the
    customer's answer to advertising messages, recorded either way."""

    requestId: Key
    phone: Phone
    smsCode: SmsCode
    consentPersonalData: StrictFlag
    consentMessages: StrictFlag
    name: CustomerName | None = None
    birthday: Birthday | None = None
    email: Email | None = None
    card: CardNumber | None = None


# ---- answers ------------------------------------------------------------------------------


class Lapsing(_Out):
    lastDay: LocalDateTime = Field(description="последний день (полночь начала дня)")
    amount: Money


class CustomerAnswer(_Out):
    """The customer for the cashier: tier, spendable balance, bonuses lapsing soon."""

    customerId: int
    name: str | None
    phone: str = Field(description="маскированный: 7916***4567")
    card: str | None
    tier: str | None
    tierName: str | None
    balance: Money | None = Field(description="null в ответе без связи с облаком")
    pending: Money | None
    expiring: list[Lapsing]
    messages: list[str]
    offline: bool = Field(
        default=False, description="true: ответ кассового моста по сохранённым данным"
    )


class QuoteCustomer(_Out):
    customerId: int
    tier: str | None
    tierName: str | None
    balance: Money | None = Field(description="null в ответе без связи с облаком")


class CalcLine(_Out):
    id: str
    amount: Money
    discount: Money
    amountAfterDiscount: Money
    maxRedeem: Money
    redeem: Money
    accrual: Money


class CalcAnswer(_Out):
    receiptId: str
    offline: bool = Field(description="true: посчитано кассовым мостом без связи с облаком")
    customerFound: bool
    customer: QuoteCustomer | None
    lines: list[CalcLine]
    amount: Money
    discount: Money
    amountAfterDiscount: Money
    maxRedeem: Money
    redeem: Money
    accrual: Money
    messages: list[str]


class SmsCodeAnswer(_Out):
    sentTo: str
    expiresAt: LocalDateTime
    resendAt: LocalDateTime
    messages: list[str]


class HoldLine(_Out):
    id: str
    redeem: Money


class HoldAnswer(_Out):
    receiptId: str
    holdId: str
    amount: Money
    expiresAt: LocalDateTime
    balance: Money
    lines: list[HoldLine]
    messages: list[str]


class ConfirmAnswer(_Out):
    receiptId: str
    status: str = Field(description="confirmed; accepted — принят мостом, будет передан позже")
    amount: Money
    redeemed: Money
    accrued: Money
    accrualAvailableFrom: LocalDateTime | None
    balance: Money | None
    messages: list[str]


class CancelAnswer(_Out):
    receiptId: str
    status: str
    released: Money


class ReturnAnswerLine(_Out):
    id: str
    quantity: OutQuantity
    returnedBonuses: Money
    reversedAccrual: Money


class ReturnAnswer(_Out):
    returnId: str
    receiptId: str
    status: str
    lines: list[ReturnAnswerLine]
    returnedBonuses: Money
    reversedAccrual: Money
    balance: Money | None
    messages: list[str]


class PingAnswer(_Out):
    """The credentials work: the terminal they belong to and our time in the store."""

    ok: bool
    terminal: str
    serverTime: LocalDateTime
