"""Money and quantity at the wire boundary.

Inside the service an amount is an ``int`` of kopecks (bonuses use the same minor units:
1 bonus = 1 rouble = 100 units) and a quantity is a ``Decimal`` with three places.
Conversion happens only here, with an explicit rounding mode; ``float`` is refused.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, PlainSerializer

KOPECKS_PER_ROUBLE = 100
CENT = Decimal("0.01")
MILLI = Decimal("0.001")


def _as_decimal(value: Any) -> Any:
    # JSON numbers reach pydantic as int/float/str; a float is converted through its
    # shortest repr so 0.1 stays 0.1 and never becomes 0.1000000000000000055...
    if isinstance(value, bool):
        raise ValueError("ожидается число")
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def _two_places(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("ожидается конечное число")
    if value.as_tuple().exponent < -2 and value != value.quantize(CENT):  # type: ignore[operator]
        raise ValueError("не больше двух знаков после запятой")
    return value.quantize(CENT)


def _three_places(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("ожидается конечное число")
    if value != value.quantize(MILLI):
        raise ValueError("не больше трёх знаков после запятой")
    return value.quantize(MILLI)


def _serialize_money(value: Decimal) -> Decimal:
    return value.quantize(CENT)


Money = Annotated[
    Decimal,
    BeforeValidator(_as_decimal),
    AfterValidator(_two_places),
    PlainSerializer(_serialize_money, return_type=Decimal, when_used="always"),
]
"""An amount in roubles with at most two decimal places, exact."""

Quantity = Annotated[Decimal, BeforeValidator(_as_decimal), AfterValidator(_three_places)]
"""A quantity with at most three decimal places (pieces or kilograms)."""


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
