"""Spreading a receipt-level amount over lines, in whole kopecks.

Everything here is integer arithmetic: shares are exact fractions compared by
cross-multiplication, so the result never depends on float rounding and is the same on
every run.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal

from cloud.engine.types import EngineError
from schemas.money import line_amount

_HALF = Decimal("0.5")
_ONE = Decimal(1)


def distribute(total: int, weights: Sequence[int], caps: Sequence[int]) -> list[int]:
    """Split ``total`` kopecks over lines in proportion to ``weights``.

    Largest-remainder method: every line first gets the floor of its exact share, the
    kopecks left go one each to the lines with the largest remainders (ties: the lower
    index). No share exceeds its cap (a line's amount minus its floor; 0 excludes the
    line). A line whose exact share reaches its cap is fixed at the cap and the rest is
    shared again among the others, until nothing saturates. If the lines with a positive
    weight cannot hold the whole total, what is left goes to lines with room in
    proportion to that room, so any ``0 <= total <= sum(caps)`` is placed in full.

    Raises ``EngineError`` when ``total`` is negative or larger than the caps allow.
    """
    count = len(weights)
    if len(caps) != count:
        raise ValueError("weights and caps must have the same length")
    if total < 0:
        raise EngineError("distribution_negative", "Нельзя распределить отрицательную сумму")
    room = [cap if cap > 0 else 0 for cap in caps]
    if total > sum(room):
        raise EngineError(
            "distribution_exceeds_caps", "Сумма больше, чем можно распределить по позициям"
        )
    shares = [0] * count
    if total == 0:
        return shares
    active = [i for i in range(count) if weights[i] > 0 and room[i] > 0]
    left = _fill(total, weights, room, active, shares)
    if left:
        # Zero-weight lines still have room: share the rest by that room.
        for i in range(count):
            room[i] -= shares[i]
        active = [i for i in range(count) if room[i] > 0]
        left = _fill(left, room[:], room, active, shares)
    if left:  # pragma: no cover - impossible once total <= sum(caps)
        raise AssertionError("distribution left kopecks unplaced")
    return shares


def apportion(total: int, numerators: Sequence[int], denominator: int) -> list[int]:
    """Split ``total`` kopecks over lines whose exact shares are
    ``numerators[i] / denominator`` kopecks (their sum rounded is ``total``).

    Every line first gets the floor of its own exact share, and the kopecks the rounding
    of the sum left over go one each to the largest fractions (ties: the lower index), so
    no line gets less than its exact share floored, nor a kopeck more than its exact
    share rounded up. When the total was rounded below the sum of the floors (whole-bonus
    rounding), it falls back to shares proportional to the exact amounts."""
    floors = [numerator // denominator for numerator in numerators]
    left = total - sum(floors)
    fractional = [i for i, numerator in enumerate(numerators) if numerator % denominator]
    if left < 0 or left > len(fractional):
        return distribute(total, numerators, [total if n > 0 else 0 for n in numerators])
    fractional.sort(key=lambda i: (-(numerators[i] % denominator), i))
    for i in fractional[:left]:
        floors[i] += 1
    return floors


def _fill(
    total: int, weights: Sequence[int], room: Sequence[int], active: list[int], shares: list[int]
) -> int:
    """Add to ``shares`` up to ``total`` over ``active``; return what did not fit."""
    if not active or not total:
        return total
    while True:
        active_weights = [weights[i] for i in active]
        weight_sum = sum(active_weights)
        saturated = [
            i
            for i, weight in zip(active, active_weights, strict=True)
            if total * weight >= room[i] * weight_sum
        ]
        if not saturated:
            break
        # Saturated rooms sum to at most total, so fixing them never overshoots.
        for i in saturated:
            shares[i] += room[i]
            total -= room[i]
        fixed = set(saturated)
        active = [i for i in active if i not in fixed]
        if not active or not total:
            return total
    remainders: list[tuple[int, int]] = []
    placed = 0
    for i, weight in zip(active, active_weights, strict=True):
        quotient, remainder = divmod(total * weight, weight_sum)
        shares[i] += quotient
        placed += quotient
        if remainder:
            remainders.append((-remainder, i))
    left = total - placed
    if left:
        # The lines here are unsaturated, so floor + 1 still fits under the cap for every
        # line with a non-zero remainder, and only such lines receive a kopeck (the
        # remainders add up to ``left`` whole kopecks, each below one).
        remainders.sort()
        for _, i in remainders[:left]:
            shares[i] += 1
    return 0


def fit_unit_prices(
    prices: Sequence[int],
    quantities: Sequence[Decimal],
    amounts: Sequence[int],
    targets: Sequence[int],
    caps: Sequence[int],
) -> tuple[list[int], list[int | None]]:
    """Adjust line discounts so each line has an integer unit price a terminal reproduces.

    For every line the result holds ``line_amount(unit_price, quantity) == amount -
    discount`` (half-up, as terminals compute). First each line takes the largest such
    discount not above its ``target``. The kopecks this leaves over move to other lines
    where they fit without crossing the line's cap (amount minus floor; 0 = the line
    takes no discount): lines whose quantity is at most 1 can take any amount, the others
    only what lands on an achievable total. Kopecks that fit nowhere are dropped: **the
    total discount then shrinks by them** (it never grows, and no line goes above its
    cap or below its floor).

    Returns the discounts and the unit prices; a unit price is ``None`` only for a line
    whose total cannot be reproduced by any unit price within its allowed discount
    (e.g. an amount the terminal itself got from a manual discount).
    """
    count = len(amounts)
    discounts = [0] * count
    after = list(amounts)
    exact = [False] * count
    shortfall = 0
    for i in range(count):
        lowest = amounts[i] - targets[i]
        reachable = _smallest_total_at_least(lowest, quantities[i])
        if reachable is not None and reachable <= amounts[i]:
            after[i] = reachable
            discounts[i] = amounts[i] - reachable
            exact[i] = True
        shortfall += targets[i] - discounts[i]

    if shortfall:
        # Lines that take any kopeck go first so the shortfall is usually placed whole.
        order = sorted(range(count), key=lambda i: (quantities[i] > _ONE, i))
        progress = True
        while shortfall and progress:
            progress = False
            for i in order:
                if not shortfall:
                    break
                room = caps[i] - discounts[i]
                if room <= 0:
                    continue
                reachable = _smallest_total_at_least(after[i] - min(shortfall, room), quantities[i])
                if reachable is None or reachable >= after[i]:
                    continue
                taken = after[i] - reachable
                after[i] = reachable
                discounts[i] += taken
                shortfall -= taken
                exact[i] = True
                progress = True

    unit_prices: list[int | None] = [
        _unit_price(after[i], quantities[i], prices[i]) if exact[i] else None for i in range(count)
    ]
    return discounts, unit_prices


def _smallest_total_at_least(lowest: int, quantity: Decimal) -> int | None:
    """The smallest ``line_amount(p, quantity)`` over integer ``p >= 0`` that is >= lowest."""
    if lowest <= 0:
        return 0
    if quantity <= 0:
        return None
    if quantity <= _ONE:
        # Consecutive unit prices move the total by less than a kopeck: all are reachable.
        return lowest
    price = int(((lowest - _HALF) / quantity).to_integral_value(rounding=ROUND_FLOOR))
    price = max(price, 0)
    total = line_amount(price, quantity)
    while total < lowest:
        price += 1
        total = line_amount(price, quantity)
    return total


def _unit_price(total: int, quantity: Decimal, price: int) -> int | None:
    """An integer unit price giving ``total``; the line's own price when it does."""
    if line_amount(price, quantity) == total:
        return price
    if quantity <= 0:
        return None
    guess = int((total / quantity).to_integral_value())
    for candidate in (guess, guess - 1, guess + 1, guess - 2, guess + 2):
        if candidate >= 0 and line_amount(candidate, quantity) == total:
            return candidate
    return None  # pragma: no cover - callers only ask for reachable totals
