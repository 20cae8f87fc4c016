"""The Frontol Priority API on the wire (``shared/contracts/frontol.md``).

What Frontol sends is only partly known (three third-party servers disagree), so the
requests are lenient where the sources differ and exact where money is concerned:
amounts and quantities are JSON numbers *or* numeric strings, read as ``Decimal`` from
their text (the body reader never makes a float), at most two places for money and
three for quantities; ``client`` may be an object, ``{}``, ``[]`` or absent; ids may be
numbers or strings; fields we do not use are ignored. Answers are exactly the shapes
the sources agree on: ``code`` always, ``error`` on a failure.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetPydanticSchema,
    PlainValidator,
    WithJsonSchema,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import core_schema

from schemas import checkout as wire
from schemas.money import MAX_AMOUNT, MAX_QUANTITY
from schemas.money import Money as Roubles

_NUMBER = re.compile(r"^-?[0-9]{1,12}(\.[0-9]{1,9})?$")


def _exact(places: int, low: Decimal, high: Decimal, positive: bool = False) -> Any:
    step = Decimal(1).scaleb(-places)
    sign = "больше" if positive else "не меньше"
    message = f"ожидается число {sign} {low} и не больше {high}, до {places} знаков после точки"

    def parse(value: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
            raise ValueError("ожидается число")
        if isinstance(value, str):
            if not _NUMBER.match(value.strip()):
                raise ValueError("ожидается число (цифры и точка)")
            value = value.strip()
        number = Decimal(value)
        if not number.is_finite():
            raise ValueError("ожидается конечное число")
        if number != number.quantize(step):
            raise ValueError(f"не больше {places} знаков после точки")
        if number < low or number > high or (positive and number == 0):
            raise ValueError(f"число {sign} {low} и не больше {high}")
        return number.quantize(step)

    def from_float(value: float) -> Decimal:
        # The float is exact here: a body with a number a float could change goes the
        # Python way (``cloud.web_json.needs_exact_read``), so its shortest text is the
        # number as written. One Python call a figure costs less than pydantic-core's
        # decimal checks (each a call back into ``decimal``): bench/frontol.py.
        number = Decimal(repr(value))
        if (
            number.quantize(step) != number
            or not low <= number <= high
            or (positive and not number)
        ):
            raise ValueError(message)
        return number

    decimal = core_schema.decimal_schema(
        decimal_places=places, allow_inf_nan=False, ge=low, le=high,
        gt=Decimal(0) if positive else None,
    )  # fmt: skip
    from_text = core_schema.union_schema(
        [
            core_schema.chain_schema(
                [
                    core_schema.float_schema(strict=True, allow_inf_nan=False),
                    core_schema.no_info_plain_validator_function(from_float),
                ]
            ),
            core_schema.chain_schema(
                [core_schema.str_schema(pattern=_NUMBER.pattern, strip_whitespace=True), decimal]
            ),
        ],
        custom_error_type="frontol_number",
        custom_error_message=message,
        mode="left_to_right",
    )
    schema = core_schema.json_or_python_schema(
        json_schema=from_text,
        python_schema=core_schema.no_info_plain_validator_function(parse),
    )
    json_schema = {
        "oneOf": [
            {"type": "number", "minimum": float(low), "maximum": float(high)},
            {"type": "string", "pattern": r"^-?[0-9]{1,12}(\.[0-9]{1,9})?$"},
        ]
    }
    return Annotated[
        Decimal,
        GetPydanticSchema(lambda _type, _handler: schema),
        WithJsonSchema(json_schema),
    ]


if TYPE_CHECKING:
    Money = Decimal
    PositiveMoney = Decimal
    Quantity = Decimal
else:
    Money = _exact(2, Decimal(0), MAX_AMOUNT)
    PositiveMoney = _exact(2, Decimal(0), MAX_AMOUNT, positive=True)
    Quantity = _exact(3, Decimal(0), MAX_QUANTITY, positive=True)


def _text(value: Any) -> Any:
    # Ids arrive as strings or numbers depending on the source.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


Id = Annotated[str, BeforeValidator(_text), Field(min_length=1, max_length=128)]


def _client(value: Any) -> Any:
    # Laravel's test sends "client": [] for "no customer".
    return None if value == [] or value == {} else value


class FrontolModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Cashier(FrontolModel):
    code: Annotated[str, BeforeValidator(_text), Field(max_length=64)] | None = None
    name: Annotated[str, Field(max_length=200)] | None = None
    text: Annotated[str, Field(max_length=200)] | None = None


class Client(FrontolModel):
    card: Annotated[str, BeforeValidator(_text), Field(min_length=1, max_length=64)] | None = None
    mobilePhone: (
        Annotated[str, BeforeValidator(_text), Field(min_length=5, max_length=32)] | None
    ) = None
    validationCode: Annotated[str, BeforeValidator(_text), Field(max_length=12)] | None = None


OptionalClient = Annotated[Client | None, BeforeValidator(_client)]


class Envelope(FrontolModel):
    """What every request carries. ``organization`` is checked against the address the
    request came to; ``businessUnit`` is the store, ``workPlace`` the till."""

    dateTime: datetime | None = None
    organization: Id | None = None
    businessUnit: Id
    workPlace: Id
    cashier: Cashier | None = None
    client: OptionalClient = None


Coupons = (
    Annotated[
        list[Annotated[str, BeforeValidator(_text), Field(min_length=1, max_length=64)]],
        Field(max_length=10),
    ]
    | None
)


# ``index`` (an integer, as Frontol numbers its lines) read by pydantic-core and kept as
# the canonical line's text id.
_LINE_INDEX = core_schema.chain_schema(
    [core_schema.int_schema(ge=1, le=100_000), core_schema.str_schema(coerce_numbers_to_str=True)]
)
LineIndex = Annotated[
    str,
    GetPydanticSchema(lambda _type, _handler: _LINE_INDEX),
    WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 100_000}),
]


def _ignored(value: Any) -> None:
    return None


class Position(wire.ReceiptLine):
    """A Frontol line read straight into the canonical receipt line (no second model to
    build per line on every calculate): ``index`` is the line's ``id`` (its text; the
    answers give it back as the number), the product code ``id`` its ``sku``, ``text``
    its ``name``, ``totalAmount`` its ``amount``, ``minimumPrice`` its ``minimum_price``.
    A ``category`` the till might send is ignored: Frontol lines get theirs from the
    merchant's catalogue."""

    model_config = ConfigDict(extra="ignore", populate_by_name=False)

    id: Annotated[LineIndex, Field(validation_alias="index")]
    sku: Annotated[Id, Field(validation_alias="id")]
    name: Annotated[str, Field(max_length=1000, validation_alias="text")] = ""
    category: Annotated[
        SkipJsonSchema[None], PlainValidator(_ignored)
    ] = None  # fmt: skip
    price: Money
    minimum_price: Annotated[Money | None, Field(validation_alias="minimumPrice")] = None
    quantity: Quantity
    amount: Annotated[Money | None, Field(validation_alias="totalAmount")] = None
    discardedAmount: Money | None = None
    referenceIndex: Annotated[int, Field(ge=1, le=100_000)] | None = None
    coupons: Coupons = None
    """Line-level coupons (read as the receipt's: a coupon rule names its own goods)."""

    @property
    def index(self) -> int:
        return int(self.id)


class Payment(FrontolModel):
    type: Annotated[str, Field(max_length=32)] | None = None
    mode: Annotated[str, Field(max_length=32)] | None = None
    amount: Money


class BonusPayment(FrontolModel):
    type: Annotated[str, Field(max_length=32)] | None = None
    mode: Annotated[str, Field(max_length=32)] | None = None
    amount: PositiveMoney


class DocumentRequest(Envelope):
    action: Literal["calculate", "payByBonus", "cancelBonusPayment", "confirm"]
    type: Literal["receipt", "refundReceipt"] = "receipt"
    uid: Annotated[str, Field(min_length=1, max_length=64)]
    number: Annotated[int, Field(ge=0, le=2**31)] | None = None
    shift: Annotated[int, Field(ge=0, le=2**31)] | None = None
    positions: Annotated[list[Position], Field(max_length=500)] = Field(default_factory=list)
    payments: Annotated[list[Payment], Field(max_length=50)] | None = None
    payment: BonusPayment | None = None
    referenceUid: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    coupons: Coupons = None
    """Coupons entered for the receipt (``string[]``)."""


class ClientRequest(Envelope):
    pass


class FormValue(FrontolModel):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    value: Annotated[str, BeforeValidator(_text), Field(max_length=256)] = ""


class ExtraClientRequest(Envelope):
    action: Literal["describe", "check", "execute"]
    values: Annotated[list[FormValue], Field(max_length=50)] = Field(default_factory=list)


# ---- answers ------------------------------------------------------------------------------


class InfoLine(BaseModel):
    text: str
    alignment: Literal["left", "center", "right"] | None = None
    weight: Literal["normal", "bold"] | None = None


class PrintBlock(BaseModel):
    """One block of a slip; we print ``text`` and ``pair`` blocks only."""

    type: Literal["text", "pair", "line", "br"]
    text: str | None = None
    left: str | None = None
    right: str | None = None


class ClientOut(BaseModel):
    mobilePhone: str | None = None
    availableAmount: Roubles | None = None


class PositionOut(BaseModel):
    index: int
    discountAmount: Roubles | None = None
    paidAmount: Roubles | None = None


class DocumentOut(BaseModel):
    positions: list[PositionOut]


class FormElement(BaseModel):
    type: Literal["label", "inputLine", "comboBox"]
    name: str | None = None
    text: str | None = None
    default: str | None = None
    regExp: str | None = None
    items: list[dict[str, str]] | None = None


class FormTitle(BaseModel):
    text: str


class Form(BaseModel):
    title: FormTitle
    elements: list[FormElement]


class Answer(BaseModel):
    """Every answer: ``code`` 0 and what the action gives, or a non-zero ``code`` with
    the Russian ``error`` the cashier reads."""

    code: int = 0
    error: str | None = None
    client: ClientOut | None = None
    document: DocumentOut | None = None
    form: Form | None = None
    cashierInformation: list[InfoLine] | None = None
    printingInformation: list[list[PrintBlock]] | None = None


# ---- the merchant's administration (native API) -------------------------------------------


class FrontolLinkOut(BaseModel):
    """What the merchant types into Frontol: «Веб-адрес сервера лояльности» (``base_url``,
    or ``base_path`` after this service's own address), «Идентификатор организации» and
    «Ключ доступа» (``access_key``: shown only when issued or rotated)."""

    organization: str
    base_path: str
    base_url: str | None
    access_key: str | None
    created_at: datetime
    updated_at: datetime
