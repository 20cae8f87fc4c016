"""Money and quantity at the wire boundary.

Inside the service an amount is an ``int`` of kopecks (bonuses use the same minor units:
1 bonus = 1 rouble = 100 units) and a quantity is a ``Decimal`` with three places.
Conversion happens only here, with an explicit rounding mode; no amount is ever held
in a ``float`` (a float handed in by Python code becomes the Decimal of its shortest
text, which is what the terminal wrote).
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import Field, GetPydanticSchema, PlainSerializer, WithJsonSchema
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import core_schema

KOPECKS_PER_ROUBLE = 100
CENT = Decimal("0.01")
MILLI = Decimal("0.001")


def _serialize_money(value: Decimal) -> Decimal:
    return value.quantize(CENT)


# Validated by pydantic-core itself (no Python call per field: these are on the hot
# path, ten lines per receipt): JSON numbers are read into Decimal from their text,
# never through a float; NaN and infinities are refused.
# The documents say "number": a string is still read (lenient), but the contract is a
# JSON number, and that is what we answer.
Money = Annotated[
    Decimal,
    Field(decimal_places=2, allow_inf_nan=False),
    PlainSerializer(_serialize_money, return_type=Decimal, when_used="always"),
    WithJsonSchema({"type": "number"}),
]
"""An amount in roubles with at most two decimal places, exact."""

Quantity = Annotated[
    Decimal, Field(decimal_places=3, allow_inf_nan=False), WithJsonSchema({"type": "number"})
]
"""A quantity with at most three decimal places (pieces or kilograms)."""

# What a till may send. A line of a hundred million roubles or a hundred thousand units
# is beyond any shop, salon or car wash we serve; the bounds keep every sum of a receipt
# (500 lines at most) and of a customer's lifetime far inside a BIGINT of kopecks, so no
# single absurd sale can overflow a balance and lock the customer out of buying.
MAX_AMOUNT = Decimal("99999999.99")
MAX_QUANTITY = Decimal("99999.999")


def _wire_number(
    places: int,
    json_schema: dict[str, Any],
    *,
    ge: Decimal | None = None,
    gt: Decimal | None = None,
    le: Decimal | None = None,
) -> Any:
    """A bounded Decimal a caller must send as a JSON number, validated by pydantic-core
    alone (no Python call per field: ten lines per receipt on the hot path).

    From JSON text: a number only, never a string (the contract says number; pydantic's
    lax Decimal would take " 5", "5_0" or "٣"). The float step is exact here: the body
    reader sends any number with more than 15 significant digits down the exact path
    (``cloud.web_json``), which validates Python objects, where a ``Decimal`` arrives
    as it was written and a ``str`` is refused too."""
    decimal = core_schema.decimal_schema(
        decimal_places=places, allow_inf_nan=False, ge=ge, gt=gt, le=le
    )
    schema = core_schema.json_or_python_schema(
        json_schema=core_schema.chain_schema(
            [core_schema.float_schema(strict=True, allow_inf_nan=False), decimal]
        ),
        python_schema=core_schema.chain_schema(
            [core_schema.is_instance_schema((Decimal, int, float)), decimal]
        ),
        serialization=core_schema.plain_serializer_function_ser_schema(
            _serialize_money if places == 2 else _serialize_quantity
        ),
    )
    return Annotated[
        Decimal, GetPydanticSchema(lambda _type, _handler: schema), WithJsonSchema(json_schema)
    ]


def _serialize_quantity(value: Decimal) -> Decimal:
    return value


Amount = _wire_number(
    2, {"type": "number", "minimum": 0, "maximum": float(MAX_AMOUNT), "multipleOf": 0.01,
        "description": "рубли, число (не строка), не больше двух знаков после точки; "
        "от 0 до 99 999 999,99"},
    ge=Decimal(0), le=MAX_AMOUNT,
)  # fmt: skip
"""An amount a caller sends: a JSON number, 0 to 99 999 999.99 roubles, two places."""

PositiveAmount = _wire_number(
    2, {"type": "number", "exclusiveMinimum": 0, "maximum": float(MAX_AMOUNT),
        "multipleOf": 0.01,
        "description": "рубли, число (не строка), не больше двух знаков после точки; "
        "больше 0, до 99 999 999,99"},
    gt=Decimal(0), le=MAX_AMOUNT,
)  # fmt: skip

LineQuantity = _wire_number(
    3, {"type": "number", "exclusiveMinimum": 0, "maximum": float(MAX_QUANTITY),
        "multipleOf": 0.001,
        "description": "штуки или килограммы, число (не строка), не больше трёх знаков "
        "после точки; больше 0, до 99 999,999"},
    gt=Decimal(0), le=MAX_QUANTITY,
)  # fmt: skip
"""A quantity a caller sends: a JSON number above 0, at most 99 999.999, three places."""


class WireJsonSchema(GenerateJsonSchema):
    """JSON Schema of wire models for the OpenAPI documents: a ``Decimal`` default is a
    JSON number, as amounts are on the wire (pydantic would write the string ``"0"``),
    and a free string says that it may not hold NUL (the wire refuses it, see
    ``cloud.web_json``), its length bounds included so that a generator can draw it."""

    def str_schema(self, schema: Any) -> Any:
        json_schema = super().str_schema(schema)
        if "pattern" not in json_schema and "format" not in json_schema:
            low = json_schema.get("minLength", 0)
            high = json_schema.get("maxLength", "")
            json_schema["pattern"] = f"^[^\\x00]{{{low},{high}}}$"
        return json_schema

    def encode_default(self, dft: object) -> object:
        if isinstance(dft, Decimal):
            return int(dft) if dft == dft.to_integral_value() else float(dft)
        return super().encode_default(dft)


def to_kopecks(roubles: Decimal, rounding: str = ROUND_HALF_UP) -> int:
    """Roubles (Decimal) to integer kopecks with an explicit rounding mode."""
    try:
        return int((roubles * KOPECKS_PER_ROUBLE).to_integral_value(rounding=rounding))
    except InvalidOperation as exc:  # pragma: no cover - guarded by validators
        raise ValueError(f"not an amount: {roubles!r}") from exc


def to_roubles(kopecks: int) -> Decimal:
    """Integer kopecks to a Decimal with two places, for the wire."""
    return (Decimal(kopecks) / KOPECKS_PER_ROUBLE).quantize(CENT)


def percent_of(amount: int, percent: Decimal, rounding: str = ROUND_FLOOR) -> int:
    """``percent`` % of ``amount`` kopecks, rounded to a kopeck with the given mode."""
    return int((Decimal(amount) * percent / 100).to_integral_value(rounding=rounding))


def line_amount(price: int, quantity: Decimal) -> int:
    """Unit price x quantity in kopecks, rounded half-up the way terminals do."""
    return int((Decimal(price) * quantity).to_integral_value(rounding=ROUND_HALF_UP))
