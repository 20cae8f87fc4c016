"""Unit prices a till reproduces exactly, shared by the channels whose till takes a unit
price per line and charges ``round_half_up(unit x quantity)`` (МойСклад's
``discountedPrice``, Модулькасса's loyalty impacts).

A line's target total (its amount less our discount and its share of the bonus payment)
is reproduced by one unit price when one exists, else by splitting the line in two:
``r`` units at ``u + 1`` kopecks and the rest at ``u``. For a whole quantity the split is
in whole units; a fractional one is split to the thousandth. A till that may not split
a line gets the single unit price whose total is the nearest at or above the target:
a kopeck or two less discount, never more.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from schemas.money import line_amount

_MILLI = Decimal("0.001")
_HALF = Decimal("0.5")


class Unreachable(ValueError):
    """No split reproduces the target (the hypothesis tests find no such case)."""


@dataclass(frozen=True, slots=True)
class Part:
    quantity: Decimal
    unit: int
    """Kopecks per unit after discount."""


def single_unit(price: int, quantity: Decimal, target: int) -> int | None:
    """A unit price in ``[0, price]`` whose line total is exactly ``target``."""
    guess = int((Decimal(target) / quantity).to_integral_value(rounding=ROUND_HALF_UP))
    for unit in (guess, guess - 1, guess + 1, guess - 2, guess + 2):
        if 0 <= unit <= price and line_amount(unit, quantity) == target:
            return unit
    # A small quantity rounds a whole band of unit prices to the same total (5 roubles x
    # 0.001 kg is 1 kopeck, and so is 14.99): the band's unit nearest the guess that does
    # not pass the price.
    low = int(((target - _HALF) / quantity).to_integral_value(rounding=ROUND_CEILING))
    high = int(((target + _HALF) / quantity).to_integral_value(rounding=ROUND_CEILING)) - 1
    unit = min(max(guess, low, 0), high, price)
    if unit >= max(low, 0) and line_amount(unit, quantity) == target:
        return unit
    return None


def split(price: int, quantity: Decimal, target: int) -> list[Part]:
    """Parts (at most two) whose till totals add up to ``target`` kopecks, each unit
    price within ``[0, price]``; ``target`` must lie within ``[0, price x quantity]``.

    Two parts at ``u + 1`` and ``u`` kopecks with ``u = floor(target / quantity)``: the
    first part's quantity ``target - u x quantity`` makes the exact total ``target``
    (a whole number of units when the quantity is whole, found at the first try);
    for a fractional quantity a few thousandths either way absorb the two roundings."""
    unit = single_unit(price, quantity, target)
    if unit is not None:
        return [Part(quantity, unit)]
    low = min(int(target // quantity), price - 1)
    first = (Decimal(target) - low * quantity).quantize(_MILLI, ROUND_FLOOR)
    for step in range(3000):
        for candidate in (first + step * _MILLI, first - step * _MILLI):
            rest = quantity - candidate
            if candidate <= 0 or rest <= 0:
                continue
            if line_amount(low + 1, candidate) + line_amount(low, rest) == target:
                return [Part(candidate, low + 1), Part(rest, low)]
    raise Unreachable(target)  # pragma: no cover - the hypothesis tests find no such case


def unit_at_least(price: int, quantity: Decimal, target: int) -> int:
    """The lowest unit price in ``[0, price]`` whose line total is at least ``target``
    (for a line that may not be split: the discount given is never more than asked)."""
    if target <= 0:
        return 0
    guess = int(((target - _HALF) / quantity).to_integral_value(rounding=ROUND_CEILING))
    unit = min(max(guess, 0), price)
    while unit < price and line_amount(unit, quantity) < target:
        unit += 1
    while unit > 0 and line_amount(unit - 1, quantity) >= target:
        unit -= 1
    return unit
