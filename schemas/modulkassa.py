"""What our Модулькасса plugin sends to ``/modulkassa/v1`` and what it gets back.

The vendor's shapes keep their field names exactly (``ru.modulkassa.pos:integration-library``,
``entity/loyalty/*.kt`` and ``entity/check/*.kt``): ``LoyaltyRequest`` / ``LoyaltyResult`` of
the ``loyalty-request`` plugin operation and the ``Check`` of the ``CHECK_CLOSED`` /
``CHECK_CANCELLED`` broadcasts. What the plugin adds from its own screen is in fields the
SDK does not have, named for what they are (``customerPhone``, ``customerCard``,
``spendBonuses``, ``smsCode``, ``loyaltyData``, ``saleId``) and listed in
``docs/modulkassa.md``. The vendor's other fields are accepted and ignored (the SDK grows).

Amounts and quantities are JSON numbers (the SDK's ``BigDecimal`` as Gson writes it), read
exactly: two places for money, three for a quantity.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from schemas.bounds import WireDateTime
from schemas.money import MAX_QUANTITY, Amount, LineQuantity, Money, Quantity


def _number_only(value: Any) -> Any:
    # The body is read into Python values (numbers exact), where pydantic is lax: a
    # quantity as "1.5" or a flag as a number must still be refused, as in JSON.
    if isinstance(value, (str, bool)):
        raise ValueError("ожидается число")
    return value


def _text_only(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("ожидается строка ISO 8601")
    return value


InventType = Literal[
    "INVENTORY", "PREPAID", "PREPAID_CORRECTION", "TOBACCO", "SERVICE", "OTHER_EXCISABLE",
    "ALCOHOL", "LIGHT_ALCOHOL", "JOB", "GAMBLING_BET", "GAMBLING_PRIZE", "LOTTERY",
    "LOTTERY_PRIZE", "INTELLECTUAL_ACTIVITY", "PAYMENT", "AGENT_COMISSION", "COMPOSITE",
    "ANOTHER", "PROPERTY_RIGHT", "NON_OPERATING_GAIN", "INSURANCE_PREMIUM", "SALES_TAX",
    "RESORT_FEE",
]  # fmt: skip
Measure = Literal[
    "PCS", "MLTR", "LTR", "G", "KG", "T", "CM", "DM", "M", "CM2", "DM2", "M2", "M3", "SECOND",
    "MINUTE", "HOUR", "DAYS", "KBYTE", "MBYTE", "GBYTE", "TBYTE", "GCAL", "KWH", "OTHER",
]  # fmt: skip
DocType = Literal["SALE", "RETURN", "SALE_CORRECTION", "SALE_RETURN_CORRECTION"]
EventName = Literal["CHECK_CLOSED", "CHECK_CANCELLED"]

VendorId = Annotated[str, Field(min_length=1, max_length=255, pattern=r"\S")]
"""An id of the SDK (a position, a modifier, an impact): at most 255 characters, not blank."""
ReceiptId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"\S")]
Text = Annotated[str, Field(max_length=256)]
Phone = Annotated[str, Field(min_length=5, max_length=32)]
Card = Annotated[str, Field(min_length=1, max_length=64)]


class VendorModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


class OurModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- loyalty-request ------------------------------------------------------------------------


class LoyaltyModifier(VendorModel):
    """A modifier of a position: informational, the loyalty system never changes it."""

    id: VendorId
    name: Text = ""
    price: Amount = Decimal(0)
    quantity: Annotated[
        Decimal, BeforeValidator(_number_only),
        Field(ge=0, le=MAX_QUANTITY, decimal_places=3, allow_inf_nan=False),
        WithJsonSchema({"type": "number", "minimum": 0, "maximum": float(MAX_QUANTITY)}),
    ] = Decimal(0)  # fmt: skip


class LoyaltyPosition(VendorModel):
    """A line of the open receipt; ``price`` is the unit price with its modifiers, after
    Модулькасса's own discounts."""

    id: VendorId
    inventCode: Annotated[str, Field(max_length=128)] = ""
    barcode: Annotated[str, Field(max_length=128)] = ""
    name: Text = ""
    type: InventType = "INVENTORY"
    measure: Measure = "PCS"
    price: Amount
    quantity: LineQuantity
    modifiers: Annotated[list[LoyaltyModifier], Field(max_length=50)] = []


class LoyaltyRequest(VendorModel):
    """The SDK's ``LoyaltyRequest`` plus what the plugin's own screen asked: the
    customer (phone or card), the bonuses they want to spend, the SMS code when the
    program asks for one."""

    id: ReceiptId = Field(description="идентификатор чека Модулькассы (LoyaltyRequest.id)")
    retailPointId: Annotated[str, Field(max_length=64)] = ""
    userId: Annotated[str, Field(max_length=64)] = ""
    positions: Annotated[list[LoyaltyPosition], Field(min_length=1, max_length=500)]
    customerPhone: Phone | None = Field(None, description="доп. поле плагина: телефон клиента")
    customerCard: Card | None = Field(None, description="доп. поле плагина: номер карты")
    spendBonuses: Amount | None = Field(
        None, description="доп. поле плагина: сколько бонусов клиент хочет списать"
    )
    smsCode: Annotated[str, Field(min_length=4, max_length=12)] | None = Field(
        None, description="доп. поле плагина: код из SMS клиента (если программа требует)"
    )


class LoyaltyPositionImpact(OurModel):
    id: str = Field(description="уникален в ответе, не длиннее 255 символов")
    positionId: str
    price: Money = Field(description="итоговая цена единицы, не меньше 0")
    quantity: Quantity


class LoyaltyDetails(OurModel):
    """For the plugin's screen (the SDK's result has no place for it)."""

    receiptId: str
    offline: bool = False
    customerFound: bool | None = None
    balance: Money | None = None
    discount: Money
    spent: Money
    accrual: Money
    messages: list[str]


class LoyaltyResult(OurModel):
    """The SDK's ``LoyaltyResult`` (``impacts``, ``data``, ``printableData``) plus
    ``details`` for the plugin."""

    impacts: list[LoyaltyPositionImpact]
    data: str | None = Field(None, description="наш идентификатор операции (≤ 32000)")
    printableData: str | None = Field(None, description="строки для печати, через \\n")
    details: LoyaltyDetails


# ---- events ---------------------------------------------------------------------------------


class InventPosition(VendorModel):
    """A line of a closed check: ``price`` is the unit price charged (after every
    discount, ours included), ``amount`` the line total when Модулькасса gives it,
    ``discountAmount`` the discount under it."""

    inventCode: Annotated[str, Field(max_length=128)] | None = None
    name: Text
    price: Amount
    quantity: LineQuantity
    measure: Measure = "PCS"
    barcode: Annotated[str, Field(max_length=128)] | None = None
    inventType: InventType | None = None
    amount: Amount | None = None
    discountAmount: Amount | None = None
    roundDiscountAmount: Amount | None = None


class MoneyPosition(VendorModel):
    paymentType: Annotated[str, Field(max_length=32)]
    sum: Amount


class Check(VendorModel):
    id: Annotated[str, Field(max_length=128)] | None = None
    docType: DocType
    inventPositions: Annotated[list[InventPosition], Field(min_length=1, max_length=500)]
    moneyPositions: Annotated[list[MoneyPosition], Field(max_length=20)] = []
    employee: Annotated[str, Field(max_length=256)] | None = ""
    employeeId: Annotated[str, Field(max_length=64)] | None = None
    retailPointId: Annotated[str, Field(max_length=64)] | None = None
    dateTime: Annotated[WireDateTime, BeforeValidator(_text_only)] | None = Field(
        None, description="ISO 8601; без пояса — местное время магазина"
    )
    number: Annotated[int, Field(strict=True, ge=0, le=2**31 - 1)] | None = None


class CheckEvent(VendorModel):
    """A receipt broadcast as the plugin forwards it: the broadcast's extras
    (``check_id`` as ``checkId``, ``linked_id``, ``check_sum``, ``check``) plus the
    ``data`` our loyalty-request answered for this check (``loyaltyData``), the customer
    the plugin's screen gave without a loyalty-request, and for a return the sale it
    returns (``saleId``: that sale's ``loyaltyData``, else its ``checkId``)."""

    event: EventName
    checkId: ReceiptId
    linkedId: Annotated[str, Field(max_length=128)] | None = None
    checkSum: Amount | None = None
    check: Check
    loyaltyData: ReceiptId | None = Field(
        None, description="доп. поле плагина: data из ответа на loyalty-request этого чека"
    )
    customerPhone: Phone | None = None
    customerCard: Card | None = None
    saleId: ReceiptId | None = Field(
        None, description="доп. поле плагина (возврат): loyaltyData продажи, иначе её checkId"
    )


class EventResult(OurModel):
    """What became of the event (a repeat of the same event answers the same)."""

    event: EventName
    checkId: str
    receiptId: str
    operation: Literal["sale", "return", "cancel"]
    offline: bool = False
    accrued: Money | None = None
    redeemed: Money | None = None
    returnedBonuses: Money | None = None
    reversedAccrual: Money | None = None
    messages: list[str] = []


class SmsCodeRequest(OurModel):
    """Send the customer a code for spending bonuses (when the program asks for one):
    the plugin's own call, then ``smsCode`` on the loyalty-request."""

    customerPhone: Phone | None = None
    customerCard: Card | None = None


class SmsCodeResult(OurModel):
    sentTo: str = Field(description="маскированный телефон клиента")
    messages: list[str]


class Error(OurModel):
    code: str
    message: str = Field(description="по-русски, для кассира (callback.failed)")
