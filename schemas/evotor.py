"""Evotor wire shapes (``shared/contracts/evotor.md``) as pydantic models.

Three families:

* what the Evotor cloud sends us (marketplace webhook-requests and notifications,
  documents V2 and legacy V1) and what it reads back: field names exactly as Evotor
  spells them; unknown fields are ignored because Evotor adds fields at any time;
* the Evotor cloud REST API we read (stores, devices, employees, paged with cursors);
* our own terminal hook contract: what the loyalty app on the terminal sends through
  the Evotor proxy while a receipt is open and when it closes (camelCase, like the
  terminal SDK: ``receiptUuid``, ``priceWithDiscountPosition``).

Money arrives as JSON numbers (``320``, ``37.5``) and is read as an exact ``Decimal``
(a float through its shortest repr); vendor amounts are rounded half-up to kopecks only
where the service needs them. No I/O and no business rules here.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    AliasGenerator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from schemas.checkout import CouponCode, CouponOutcome
from schemas.money import Money, Quantity

USER_ID_PATTERN = r"^[0-9]{2}-[0-9]{15}$"


MAX_AMOUNT = Decimal("9999999999.99")
"""Ten billion roubles: no till sells a line or a receipt above it; a larger figure is a
broken or hostile request and is refused (400/2003), never carried into the ledger."""
MAX_QUANTITY = Decimal(1_000_000)
MAX_SEQUENCE = 2**31 - 1
MAX_OFFSET = 86_400_000
"""A time zone offset in any unit Evotor uses (ms, s or min) stays within a day."""
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100


def _decimal(value: Any) -> Any:
    # The Evotor adapter parses JSON numbers straight to Decimal; a float only comes
    # from Python callers and is read through its shortest text.
    if isinstance(value, bool):
        raise ValueError("ожидается число")
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


VendorDecimal = Annotated[
    Decimal,
    BeforeValidator(_decimal),
    Field(allow_inf_nan=False, ge=-MAX_AMOUNT, le=MAX_AMOUNT),
]
"""A vendor amount or quantity, exact, with as many places as the vendor sent, bounded."""


def _phone_text(value: Any) -> Any:
    # definitions.yaml types an employee's phone as a number (79876543210).
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


PhoneText = Annotated[str, BeforeValidator(_phone_text), Field(max_length=32)]


def check_moment(value: datetime | None) -> datetime | None:
    """A date a till can have written: years 2000-2099 (year 1 or 9999 is refused)."""
    if value is not None and not EARLIEST_YEAR <= value.year < LATEST_YEAR:
        raise ValueError(f"дата вне допустимого диапазона ({EARLIEST_YEAR}-{LATEST_YEAR - 1})")
    return value


def check_instant_text(value: Any) -> Any:
    """An ISO date string of a document: parsed only to check its year (junk is left to
    the translator, which treats it as unknown)."""
    if isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        check_moment(moment)
    return value


InstantText = Annotated[str, BeforeValidator(check_instant_text), Field(max_length=64)]
Offset = Annotated[int, Field(ge=-MAX_OFFSET, le=MAX_OFFSET)]

EvotorUserId = Annotated[str, Field(pattern=USER_ID_PATTERN, examples=["01-000000000000001"])]
OpaqueId = Annotated[str, Field(min_length=1, max_length=128)]


class EvotorModel(BaseModel):
    """What Evotor sends: unknown fields are ignored (Evotor adds fields at any time)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


def _both_spellings(name: str) -> AliasChoices:
    return AliasChoices(name, to_camel(name))


class EvotorDualModel(EvotorModel):
    """A V2 document part: snake_case (the 2024 capture) or camelCase (``document2`` in
    Evotor's ``definitions.yaml``), field by field."""

    model_config = ConfigDict(
        extra="ignore",
        populate_by_name=True,
        alias_generator=AliasGenerator(validation_alias=_both_spellings),
    )


class OurModel(BaseModel):
    """What we answer (and our own terminal contract's requests): exact shapes."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# ---- errors (section 4) -----------------------------------------------------------------


class EvotorErrorItem(BaseModel):
    """One error. ``code`` is Evotor's (1001-1007, 2001-2005); ``reason``, ``subject``,
    ``value`` as Evotor documents them. ``message`` is ours: a Russian sentence for the
    cashier (the terminal app may show it); Evotor ignores it."""

    model_config = ConfigDict(extra="forbid")
    code: int
    reason: str | None = None
    subject: str | None = None
    value: str | None = None
    message: str | None = None


class EvotorErrorBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    errors: list[EvotorErrorItem]


# ---- marketplace webhook-requests (section 2) --------------------------------------------


class UserCreateRequest(EvotorModel):
    """``registerFormData``: ``userId`` plus whatever form fields we defined."""

    model_config = ConfigDict(extra="allow")
    userId: EvotorUserId
    phone: str | None = None
    companyName: str | None = None
    email: str | None = None


class UserCreateResponse(OurModel):
    userId: str
    token: str


class UserVerifyRequest(EvotorModel):
    """Link an existing account. Legacy examples spell the user ``userUuid``."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    userId: EvotorUserId = Field(validation_alias=AliasChoices("userId", "userUuid"))
    username: str | None = None
    password: str | None = None


class UserVerifyResponse(OurModel):
    userId: str
    hasBilling: bool
    token: str


class UserTokenRequest(EvotorModel):
    userId: EvotorUserId = Field(validation_alias=AliasChoices("userId", "userUuid"))
    token: Annotated[str, Field(min_length=1, max_length=512)]


# ---- notifications (section 3) ------------------------------------------------------------

SubscriptionEventType = Literal[
    "SubscriptionCreated",
    "AddonsUpdated",
    "SubscriptionActivated",
    "SubscriptionRenewed",
    "SubscriptionTermsChanged",
    "SubscriptionTerminationRequested",
    "SubscriptionTerminated",
]


class ChargedSum(EvotorModel):
    amount: VendorDecimal
    currency: str = "RUB"


class Addon(EvotorModel):
    id: Annotated[str, Field(max_length=128)]
    quantity: Annotated[int, Field(ge=0, le=MAX_SEQUENCE)]


class SubscriptionEvent(EvotorModel):
    """A billing event; ``sequenceNumber`` grows per ``subscriptionId`` from 1."""

    subscriptionId: OpaqueId
    productId: str
    userId: EvotorUserId
    timestamp: Annotated[str, Field(max_length=64)] | Annotated[int, Field(ge=0, le=2**53)]
    sequenceNumber: Annotated[int, Field(ge=1, le=MAX_SEQUENCE)]
    type: SubscriptionEventType
    planId: str | None = None
    trialPeriodDuration: str | None = None
    deviceNumber: Annotated[int, Field(ge=0, le=MAX_SEQUENCE)] | None = None
    addons: list[Addon] | None = None
    nextBillingDate: str | None = None
    chargedSum: ChargedSum | None = None


class InstallationEventData(EvotorModel):
    productId: str
    userId: EvotorUserId


class InstallationEvent(EvotorModel):
    """``timestamp`` is epoch milliseconds: the spec says string, the example a number."""

    id: OpaqueId
    timestamp: Annotated[int, Field(ge=0, le=2**53)] | Annotated[str, Field(max_length=64)]
    version: int | str | None = None
    type: Literal["ApplicationInstalled", "ApplicationUninstalled"]
    data: InstallationEventData


class StoreNotification(EvotorModel):
    uuid: OpaqueId
    name: str
    address: str | None = None


class DeviceNotification(EvotorModel):
    """``timezoneOffset``: the unit is not documented (documents use milliseconds);
    ``cloud.services.evotor_accounts.offset_seconds`` accepts ms, seconds or minutes."""

    uuid: OpaqueId
    name: str
    storeUuid: OpaqueId
    timezoneOffset: Offset | None = None


class EmployeeNotification(EvotorModel):
    uuid: OpaqueId
    name: str | None = None
    lastName: str | None = None
    patronymicName: str | None = None
    phone: PhoneText | None = None
    stores: list[str] = Field(default_factory=list)
    role: str | None = None


class ProductNotification(EvotorModel):
    """A product or product group (``definitions.yaml#/product``): ``group`` true for a
    group, ``parentUuid`` the group it sits in (groups nest; ``null`` at the root)."""

    uuid: OpaqueId
    name: Annotated[str, Field(max_length=256)]
    group: bool = False
    parentUuid: Annotated[str, Field(max_length=128)] | None = None
    type: Annotated[str, Field(max_length=32)] | None = None


class GroupCategoriesRequest(OurModel):
    """The merchant's mapping of Evotor product groups to program categories;
    ``null`` removes a group's mapping (its name is its category again)."""

    groups: Annotated[
        dict[
            Annotated[str, Field(min_length=1, max_length=128)],
            Annotated[str, Field(min_length=1, max_length=64)] | None,
        ],
        Field(max_length=1000),
    ]


class GroupCategory(OurModel):
    uuid: str
    name: str
    parentUuid: str | None
    category: str | None
    """The explicit mapping, if any."""
    effectiveCategory: str | None
    """The category the group's products get (mapping, else the group's name)."""


class GroupCategoriesResponse(OurModel):
    groups: list[GroupCategory]


class KeptDocumentView(OurModel):
    id: str
    storeUuid: str | None
    status: Literal["pending", "rejected"]
    reason: str | None


class UnsettledSaleView(OurModel):
    receiptUuid: str
    documentId: str | None
    storeUuid: str | None
    customerId: int | None
    unsettled: Money
    """Roubles of bonus payment the till took that could not be debited."""
    reason: str | None


class AttentionResponse(OurModel):
    """Evotor documents the merchant should look at: returns waiting for their sale,
    documents we could not read, sales not fully settled."""

    documents: list[KeptDocumentView]
    unsettledSales: list[UnsettledSaleView]


# ---- Evotor cloud REST API (section 8) ------------------------------------------------------


class CloudStore(EvotorModel):
    id: OpaqueId
    name: str
    address: str | None = None
    user_id: str | None = None


class CloudDevice(EvotorModel):
    id: OpaqueId
    name: str
    store_id: OpaqueId
    timezone_offset: Offset | None = None
    imei: str | None = None
    firmware: str | None = None
    user_id: str | None = None


class CloudEmployee(EvotorModel):
    id: OpaqueId
    name: str | None = None
    last_name: str | None = None
    patronymic_name: str | None = None
    phone: PhoneText | None = None
    role: str | None = None
    stores: list[str] = Field(default_factory=list)
    user_id: str | None = None


class CloudProduct(EvotorModel):
    """A product (``/stores/{id}/products``) or group (``/stores/{id}/product-groups``)
    of the v2 API; the v1 shape (``uuid``, ``group``, ``parentUuid``) is read too."""

    id: OpaqueId = Field(validation_alias=AliasChoices("id", "uuid"))
    name: Annotated[str, Field(max_length=256)]
    parent_id: Annotated[str, Field(max_length=128)] | None = Field(
        default=None, validation_alias=AliasChoices("parent_id", "parentUuid")
    )
    group: bool | None = None
    type: Annotated[str, Field(max_length=32)] | None = None


class Paging(EvotorModel):
    next_cursor: str | None = None


class CloudPage(EvotorModel):
    items: list[dict[str, Any]]
    paging: Paging | None = None


# ---- documents V2 (section 6) ----------------------------------------------------------------


class DocumentDiscount(EvotorDualModel):
    discount_sum: VendorDecimal | None = None
    discount_percent: VendorDecimal | None = None
    discount_type: str | None = None
    coupon: str | None = None
    discount_price: VendorDecimal | None = None


class PositionTax(EvotorDualModel):
    type: str | None = None
    sum: VendorDecimal | None = None
    result_sum: VendorDecimal | None = None


class ExtraKey(EvotorModel):
    identity: str | None = None
    appId: str | None = None
    description: str | None = None


class DocumentPosition(EvotorDualModel):
    uuid: str | None = None
    id: int | str | None = None
    product_id: str | None = None
    code: str | None = None
    product_name: str | None = None
    product_type: str | None = None
    bar_code: str | None = None
    mark: str | None = None
    measure_name: str | None = None
    measure_precision: int | None = None
    quantity: VendorDecimal
    initial_quantity: VendorDecimal | None = None
    price: VendorDecimal
    cost_price: VendorDecimal | None = None
    sum: VendorDecimal | None = None
    result_price: VendorDecimal | None = None
    result_sum: VendorDecimal | None = None
    tax: PositionTax | None = None
    position_discount: DocumentDiscount | None = None
    doc_distributed_discount: DocumentDiscount | None = None
    extra_keys: list[ExtraKey] | None = None
    sub_positions: list[dict[str, Any]] | None = None
    print_group_id: str | None = None
    settlement_method: dict[str, Any] | None = None


class PaymentPart(EvotorDualModel):
    print_group_id: str | None = None
    part_sum: VendorDecimal
    change: VendorDecimal = Decimal(0)


class PaymentAppInfo(EvotorDualModel):
    app_id: str | None = None
    name: str | None = None


class DocumentPayment(EvotorDualModel):
    id: str | None = None
    parent_id: str | None = None
    sum: VendorDecimal
    type: str | None = None
    parts: list[PaymentPart] | None = None
    app_payment: Any = None
    app_info: PaymentAppInfo | None = None
    merchant_info: Any = None
    bank_info: Any = None
    rrn: str | None = None


class DocumentBody(EvotorDualModel):
    """The body of a SELL or PAYBACK document (other types carry other bodies)."""

    positions: list[DocumentPosition] = Field(default_factory=list)
    doc_discounts: list[DocumentDiscount] | None = None
    payments: list[DocumentPayment] = Field(default_factory=list)
    print_groups: list[dict[str, Any]] | None = None
    pos_print_results: list[dict[str, Any]] | None = None
    sum: VendorDecimal | None = None
    result_sum: VendorDecimal | None = None
    customer_email: str | None = None
    customer_phone: str | None = None
    base_document_id: str | None = None
    base_document_number: int | str | None = None


class Document(EvotorDualModel):
    """A V2 document (snake_case). ``body`` is kept raw: only SELL and PAYBACK bodies are
    read (``DocumentBody``); every other type is acknowledged and ignored."""

    type: str
    id: OpaqueId
    extras: dict[str, Any] | None = None
    number: int | str | None = None
    close_date: InstantText | None = None
    time_zone_offset: Offset | None = None
    session_id: str | None = None
    session_number: int | str | None = None
    close_user_id: str | None = None
    device_id: str | None = None
    store_id: str | None = None
    user_id: str | None = None
    body: dict[str, Any] | None = None
    counterparties: Any = None
    created_at: str | None = None
    version: str | None = None

    @field_validator("time_zone_offset", mode="before")
    @classmethod
    def _offset_text(cls, value: Any) -> Any:
        # document2 types it as a string; the capture has a number of milliseconds.
        if isinstance(value, str) and value.lstrip("-").isdigit() and len(value) < 12:
            return int(value)
        return value


# ---- documents V1 (legacy, section 6.3) --------------------------------------------------------


class V1Transaction(EvotorModel):
    """One transaction of a V1 document; only the fields loyalty reads are typed."""

    id: str | int | None = None
    type: str
    uuid: str | None = None
    commodityUuid: str | None = None
    commodityCode: str | None = None
    commodityName: str | None = None
    price: VendorDecimal | None = None
    quantity: VendorDecimal | None = None
    sum: VendorDecimal | None = None
    resultSum: VendorDecimal | None = None
    resultPrice: VendorDecimal | None = None
    extraKeys: list[ExtraKey] | None = None
    couponNumber: int | str | None = None
    clientPhone: PhoneText | None = None
    discountSum: VendorDecimal | None = None
    """DISCOUNT_POSITION: the discount on the position registered before it;
    DISCOUNT_DOCUMENT: the receipt-level discount."""
    discountPositionSum: VendorDecimal | None = None
    """DISCOUNT_DOCUMENT_POSITION: the receipt-level discount's share of a position."""
    discountDocumentSum: VendorDecimal | None = None
    paymentType: str | None = None
    rrn: str | None = None
    baseDocumentUUID: str | None = None
    baseDocumentNumber: int | str | None = None
    creationDate: str | None = None


class V1Document(EvotorModel):
    uuid: OpaqueId
    type: str
    deviceUuid: str | None = None
    storeUuid: str | None = None
    sessionUUID: str | None = None
    number: int | str | None = None
    openDate: str | None = None
    closeDate: InstantText | None = None
    closeSum: VendorDecimal | None = None
    closeResultSum: VendorDecimal | None = None
    extras: dict[str, Any] | None = None
    version: str | None = None
    transactions: list[V1Transaction] = Field(default_factory=list)


# ---- our terminal hook contract (section 7: what the Evotor app sends through the proxy) ----


class HookCustomer(OurModel):
    """How the cashier identified the customer: phone, card number or the QR code of our
    virtual card (its text is the card number)."""

    phone: Annotated[str, Field(min_length=5, max_length=32)] | None = None
    card: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    qr: Annotated[str, Field(min_length=1, max_length=256)] | None = None

    @model_validator(mode="after")
    def _something_given(self) -> HookCustomer:
        if self.phone is None and self.card is None and self.qr is None:
            raise ValueError("укажите телефон, номер карты или QR-код клиента")
        return self


class HookPosition(OurModel):
    """A position of the open receipt as the SDK's ``Position`` has it. ``price`` is the
    unit price before our discount; ``priceWithDiscountPosition`` (what the terminal shows
    now) and ``resultSum`` (what it charged, after receipt-level discounts) matter only in
    the close hook."""

    uuid: Annotated[str, Field(min_length=1, max_length=128)]
    productUuid: str | None = None
    productCode: str | None = None
    name: Annotated[str, Field(max_length=256)] = ""
    measureName: str | None = None
    barcode: str | None = None
    price: Annotated[Money, Field(ge=0, le=MAX_AMOUNT)]
    quantity: Annotated[Quantity, Field(gt=0, le=MAX_QUANTITY)]
    priceWithDiscountPosition: Annotated[Money, Field(ge=0, le=MAX_AMOUNT)] | None = None
    resultSum: Annotated[Money, Field(ge=0, le=MAX_AMOUNT)] | None = None

    @model_validator(mode="after")
    def _not_above_price(self) -> HookPosition:
        # A discount never raises a price: accruing on more than the price would pay
        # bonuses on money nobody paid.
        if self.priceWithDiscountPosition is not None and self.priceWithDiscountPosition > (
            self.price
        ):
            raise ValueError("priceWithDiscountPosition больше цены позиции")
        if self.resultSum is not None and self.resultSum > (self.price * self.quantity).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        ):
            # The till rounds a line total half-up to kopecks (MoneyCalculator).
            raise ValueError("resultSum больше, чем цена × количество")
        return self


ReceiptUuid = Annotated[str, Field(min_length=1, max_length=128)]


class _HookReceipt(OurModel):
    receiptUuid: ReceiptUuid
    customer: HookCustomer | None = None
    positions: Annotated[list[HookPosition], Field(min_length=1, max_length=500)]
    createdAt: datetime | None = None
    coupons: Annotated[list[CouponCode], Field(max_length=10)] = Field(
        default_factory=list,
        description="coupon codes the cashier entered (typed or scanned): the quote prices "
        "the valid ones and says why the others are refused; the close records them",
    )

    @field_validator("createdAt")
    @classmethod
    def _plausible_date(cls, value: datetime | None) -> datetime | None:
        return check_moment(value)

    @field_validator("positions")
    @classmethod
    def _unique_uuids(cls, positions: list[HookPosition]) -> list[HookPosition]:
        uuids = [p.uuid for p in positions]
        if len(set(uuids)) != len(uuids):
            raise ValueError("uuid позиций в чеке должны быть уникальными")
        return positions


class CalculateHookRequest(_HookReceipt):
    """Receipt opened or changed (``ReceiptDiscountEvent``, position events)."""


class QuotedPosition(OurModel):
    uuid: str
    price: Money
    quantity: Quantity
    priceWithDiscountPosition: Money
    """Set this on the SDK ``Position`` (``PositionEdit``)."""
    discount: Money
    """``price x quantity - priceWithDiscountPosition x quantity`` (kopeck-exact)."""
    resultSum: Money
    maxBonusPayment: Money
    accrual: Money


class HookCustomerInfo(OurModel):
    id: int
    tier: str | None
    tierName: str | None
    balance: Money


class CalculateHookResponse(OurModel):
    """Reply ``ReceiptDiscountEventResult(discount=0, SetExtra(extra), changes=[PositionEdit
    with priceWithDiscountPosition per position])``. ``total`` equals the sum over positions
    of ``priceWithDiscountPosition x quantity`` rounded half-up to kopecks."""

    receiptUuid: str
    customer: HookCustomerInfo | None
    customerFound: bool
    positions: list[QuotedPosition]
    positionUuidToDiscountMap: dict[str, Money]
    sum: Money
    discount: Money
    total: Money
    maxBonusPayment: Money
    accrual: Money
    messages: list[str]
    slip: list[str]
    extra: dict[str, str]
    """Put into ``SetExtra``: it comes back in the cloud document's ``extras``."""
    coupons: list[CouponOutcome] = Field(default_factory=list)


class BonusPaymentRequest(_HookReceipt):
    """``PaymentSystemSellEvent``: the cashier chose to pay ``sum`` roubles with bonuses.
    ``smsCode``: the code the customer received (``customers/sms-code`` with purpose
    ``redeem``), required when the program asks for one to spend bonuses."""

    sum: Annotated[Money, Field(gt=0, le=MAX_AMOUNT)]
    accountId: str | None = None
    customer: HookCustomer
    smsCode: Annotated[str, Field(min_length=4, max_length=12)] | None = None


class BonusPaymentResponse(OurModel):
    """Reply ``PaymentSystemPaymentOkResult(rrn, slip, paymentInfo, ELECTRON)``."""

    receiptUuid: str
    rrn: str
    sum: Money
    slip: list[str]
    paymentInfo: str
    paymentType: Literal["ELECTRON"] = "ELECTRON"
    balance: Money
    expiresAt: datetime


class BonusPaymentCancelRequest(OurModel):
    """``PaymentSystemSellCancelEvent``: the bonus payment was removed from the receipt."""

    receiptUuid: ReceiptUuid
    rrn: str | None = None
    sum: Annotated[Money, Field(ge=0, le=MAX_AMOUNT)] | None = None


class BonusPaymentCancelResponse(OurModel):
    receiptUuid: str
    released: Money
    slip: list[str]


class ReceiptClosedRequest(_HookReceipt):
    """``RECEIPT_CLOSED``: final positions (``resultSum`` or ``priceWithDiscountPosition``
    as charged) and the bonus payment the terminal took (``bonusPayment``; omitted, the
    amount we hold for the receipt). ``documentId`` if the app knows the cloud document."""

    bonusPayment: Annotated[Money, Field(ge=0, le=MAX_AMOUNT)] | None = None
    documentId: Annotated[str, Field(max_length=128)] | None = None
    number: Annotated[int, Field(strict=True, ge=0, le=2**62)] | None = None
    """The receipt's ``number`` (SDK ``Receipt.Header``): helps recognise its document."""
    employeeId: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    """The Evotor employee at the till (SDK ``UserApi.getAuthenticatedUser`` uuid): the
    receipt's cashier, named as the employees notification stored them."""


class ReceiptClosedResponse(OurModel):
    receiptUuid: str
    status: str
    redeemed: Money
    accrued: Money
    balance: Money | None
    messages: list[str]
    slip: list[str]
    coupons: list[CouponOutcome] = Field(default_factory=list)


class ReceiptCancelledRequest(OurModel):
    """The receipt was cleared without closing (``…CLEARED``): release any hold."""

    receiptUuid: ReceiptUuid


class ReceiptCancelledResponse(OurModel):
    receiptUuid: str
    released: Money


class DocumentResult(OurModel):
    """``confirmed`` / ``refunded``: applied; ``unsettled``: the sale is recorded but
    part of its bonus payment could not be debited (kept on the receipt, logged);
    ``pending``: a return that waits for its sale; ``duplicate``: seen before;
    ``ignored``: not a loyalty document; ``rejected``: unreadable, recorded and logged
    (a re-send cannot fix it, so it is not refused)."""

    id: str
    type: str
    status: Literal[
        "confirmed", "refunded", "unsettled", "pending", "ignored", "duplicate", "rejected"
    ]
    reason: str | None = None


class DocumentsAck(OurModel):
    """What the document webhook answers, one result per document (Evotor only needs
    the 200)."""

    results: list[DocumentResult]


# ---- simplified receipt, POST /api/v2/receipts (contract section 3.5) -----------------------


class ReceiptItem(EvotorModel):
    """A line of the simplified receipt: ``id`` is the product's uuid, ``sumPrice`` the
    line total, ``discount`` the line's discount."""

    id: str | None = None
    name: str | None = None
    itemType: str | None = None
    measureName: str | None = None
    quantity: VendorDecimal
    price: VendorDecimal
    costPrice: VendorDecimal | None = None
    sumPrice: VendorDecimal | None = None
    tax: VendorDecimal | None = None
    taxPercent: VendorDecimal | None = None
    discount: VendorDecimal | None = None


class ReceiptData(EvotorModel):
    id: OpaqueId
    deviceId: str | None = None
    storeId: str | None = None
    dateTime: InstantText | None = None
    type: str | None = None
    shiftId: str | int | None = None
    employeeId: str | None = None
    paymentSource: str | None = None
    infoCheck: bool | None = None
    egais: bool | None = None
    items: list[ReceiptItem] = Field(default_factory=list, max_length=1000)
    totalTax: VendorDecimal | None = None
    totalDiscount: VendorDecimal | None = None
    totalAmount: VendorDecimal | None = None
    extras: dict[str, Any] | None = None


class ReceiptEvent(EvotorModel):
    """``{id (event), timestamp (ms), userId, type, version: 2, data}``."""

    id: str | None = None
    timestamp: int | str | None = None
    userId: str | None = None
    type: str | None = None
    version: int | str | None = None
    data: ReceiptData


class SyncAck(OurModel):
    """What the stores / devices / employees notifications answer."""

    created: int
    updated: int


class SubscriptionAck(OurModel):
    applied: list[int]
    """Sequence numbers applied by this call (none for a repeat or an early event)."""
