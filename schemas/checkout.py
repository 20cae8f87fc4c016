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

from schemas.bounds import BigId, WireBool, WireDateTime
from schemas.money import MAX_AMOUNT, Amount, LineQuantity, Money, PositiveAmount, Quantity

ExternalId = Annotated[str, Field(min_length=1, max_length=128)]
CertificateNumber = Annotated[
    str,
    Field(
        min_length=4,
        max_length=64,
        pattern=r"^[0-9A-Za-z-]+$",
        description="номер подарочного сертификата: от 4 до 64 латинских букв, цифр, дефисов",
    ),
]

CouponCode = Annotated[str, Field(min_length=1, max_length=64)]
"""A coupon code as a till sends it (spaces and dashes are ignored when it is read)."""


class WireModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CustomerRef(WireModel):
    """How the terminal identifies the customer: phone, card number or our id."""

    phone: Annotated[str, Field(min_length=5, max_length=32)] | None = None
    card: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    customer_id: BigId | None = None

    @model_validator(mode="after")
    def _something_given(self) -> CustomerRef:
        if self.phone is None and self.card is None and self.customer_id is None:
            raise ValueError("укажите телефон, номер карты или идентификатор клиента")
        return self


class ReceiptLine(WireModel):
    """One product line. ``amount`` is what the terminal charges for the line before our
    discount (price x quantity less the terminal's own discounts); on ``confirm`` it is
    what the terminal actually charged. Omitted, it is price x quantity, which must stay
    within the same bound as an amount (99 999 999.99)."""

    id: ExternalId
    name: Annotated[str, Field(max_length=256)] = ""
    sku: Annotated[str, Field(max_length=128)] | None = None
    category: Annotated[str, Field(max_length=64)] | None = None
    price: Amount
    quantity: LineQuantity
    amount: Amount | None = None
    minimum_price: Amount | None = None


class Receipt(WireModel):
    """A receipt as the terminal sees it. ``id`` is the terminal's receipt id; it is the
    idempotency key of ``confirm``. ``created_at`` is the terminal's local time with its
    offset; when absent the server's clock is used."""

    id: ExternalId
    customer: CustomerRef | None = None
    lines: Annotated[list[ReceiptLine], Field(min_length=1, max_length=500)]
    created_at: WireDateTime | None = None
    coupons: Annotated[list[CouponCode], Field(max_length=10)] = Field(
        default_factory=list,
        description="coupon codes the cashier entered: a quote prices the valid ones and "
        "says why the others are refused (the receipt is still priced, without them); "
        "a confirm records the valid ones with the sale",
    )

    @model_validator(mode="after")
    def _lines_consistent(self) -> Receipt:
        # One pass in one validator (not one per line): this runs on every calculate.
        ids = set()
        for line in self.lines:
            ids.add(line.id)
            if line.amount is None and line.price * line.quantity > MAX_AMOUNT:
                raise ValueError(f"позиция {line.id}: цена × количество больше 99 999 999,99 ₽")
        if len(ids) != len(self.lines):
            raise ValueError("идентификаторы позиций в чеке должны быть уникальными")
        return self


class CalculateRequest(WireModel):
    receipt: Receipt
    redeem: Amount = Decimal(0)
    unit_price_exact: WireBool = False


class HoldRequest(WireModel):
    """``sms_code``: the code the customer received (``POST /api/v1/sms-codes`` with
    purpose ``redeem``), required when the program asks for one to spend bonuses."""

    receipt: Receipt
    amount: PositiveAmount
    unit_price_exact: WireBool = False
    sms_code: Annotated[str, Field(min_length=4, max_length=12)] | None = None


class Cashier(WireModel):
    """Who rang the receipt up, as the till knows them: its own id of the cashier and
    the name to show the merchant (at least one). Kept on the receipt for the merchant's
    lists (feedback, movements); not part of what the receipt *is*, so a retry from
    another cashier replays the first answer."""

    id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None

    @model_validator(mode="after")
    def _something_given(self) -> Cashier:
        for value in (self.id, self.name):
            if value is not None and (not value.strip() or not value.isprintable()):
                raise ValueError("кассир: печатные символы, не одни пробелы")
        if self.id is None and self.name is None:
            raise ValueError("укажите идентификатор или имя кассира")
        return self


class GiftCertificatePayment(WireModel):
    """Part of the receipt paid by a gift certificate (money, not bonuses)."""

    number: CertificateNumber
    amount: PositiveAmount


def _distinct_numbers(payments: list[GiftCertificatePayment]) -> None:
    if len({payment.number for payment in payments}) != len(payments):
        raise ValueError("сертификат указан в чеке дважды")


class ConfirmRequest(WireModel):
    """The closed receipt: line amounts are what the terminal charged, ``redeemed`` the
    bonuses it took as payment, ``gift_certificates`` what gift certificates paid (at
    most the total after discounts and bonuses), ``cashier`` who rang it up
    (optional)."""

    receipt: Receipt
    redeemed: Amount = Decimal(0)
    gift_certificates: Annotated[list[GiftCertificatePayment], Field(max_length=5)] = []
    cashier: Cashier | None = None

    @model_validator(mode="after")
    def _certificates_distinct(self) -> ConfirmRequest:
        _distinct_numbers(self.gift_certificates)
        return self


class GiftCertificateHoldRequest(WireModel):
    """Reserve certificate money for the open receipt (replacing the receipt's earlier
    certificate hold), at most the receipt's total after discounts less the bonuses its
    own bonus hold reserves; ``confirm`` then spends it."""

    receipt: Receipt
    gift_certificates: Annotated[list[GiftCertificatePayment], Field(min_length=1, max_length=5)]

    @model_validator(mode="after")
    def _certificates_distinct(self) -> GiftCertificateHoldRequest:
        _distinct_numbers(self.gift_certificates)
        return self


class CancelRequest(WireModel):
    receipt_id: ExternalId


class RefundLine(WireModel):
    id: ExternalId
    quantity: LineQuantity


class RefundRequest(WireModel):
    """A return against a confirmed receipt; ``id`` is the refund's own idempotency key.
    Without ``lines`` the whole remaining receipt is returned."""

    id: ExternalId
    receipt_id: ExternalId
    lines: Annotated[list[RefundLine], Field(min_length=1, max_length=500)] | None = None
    created_at: WireDateTime | None = None
    cashier: Cashier | None = None


# ---- responses -----------------------------------------------------------------------


class CouponOutcome(WireModel):
    """What became of a code the cashier entered: ``applied`` (priced, and on a sale
    recorded) or refused, ``message`` saying why in Russian (then the receipt is priced
    without it)."""

    code: str
    applied: bool
    message: str


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
    coupons: list[CouponOutcome] = Field(default_factory=list)


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
    coupons: list[CouponOutcome] = Field(default_factory=list)
    gift_certificates: list[GiftCertificateApplied] = Field(
        default=[], description="paid by gift certificates (money: accrual counts it as paid)"
    )


class GiftCertificateApplied(WireModel):
    number: str
    amount: Money
    remaining: Money = Field(description="left on the certificate after this receipt")


class GiftCertificateHoldResult(WireModel):
    receipt_id: str
    gift_certificates: list[GiftCertificateApplied]
    expires_at: datetime
    slip: list[str]


class GiftCertificateReturned(WireModel):
    number: str
    returned: Money = Field(description="put back on the certificate")
    not_returned: Money = Field(description="due back, but the certificate expired or voided")


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
    gift_certificates: list[GiftCertificateReturned] = Field(
        default=[], description="the certificates' share of the returned amount"
    )
