"""Largest-remainder distribution and the unit-price-exact adjustment."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from cloud.engine import EngineError, distribute, fit_unit_prices
from cloud.engine.distribution import apportion
from schemas.money import line_amount

weights_and_caps = st.lists(
    st.tuples(st.integers(0, 10**7), st.integers(0, 10**7)), min_size=1, max_size=12
)


def test_distribute_largest_remainder_by_hand() -> None:
    """100 kopecks over weights 1:1:1 give 34/33/33: the tie goes to the lowest index."""
    assert distribute(100, [1, 1, 1], [100, 100, 100]) == [34, 33, 33]


def test_distribute_larger_remainder_wins() -> None:
    """10 over weights 3 and 7 with a third line: exact 3,0 / 7,0 / 0 -> no rounding; 11
    over 1:2 (3,67 / 7,33) gives the kopeck to the larger remainder (the first line)."""
    assert distribute(10, [3, 7, 0], [10, 10, 10]) == [3, 7, 0]
    assert distribute(11, [1, 2], [11, 11]) == [4, 7]


def test_distribute_saturated_line_passes_excess_on() -> None:
    """A capped line saturates and its excess goes to the others, iterating: weights
    equal, caps 10/100/100 of 150 -> 10 fixed, then 70/70."""
    assert distribute(150, [1, 1, 1], [10, 100, 100]) == [10, 70, 70]


def test_distribute_zero_weight_lines_take_what_others_cannot() -> None:
    """Lines with weight 0 get nothing unless the weighted lines are full; then the rest
    goes by remaining room, so any total up to the caps is placed."""
    assert distribute(50, [1, 0], [100, 100]) == [50, 0]
    assert distribute(150, [1, 0], [100, 100]) == [100, 50]


def test_distribute_refuses_impossible_totals() -> None:
    """A negative total or one above the sum of caps is an EngineError."""
    with pytest.raises(EngineError):
        distribute(-1, [1], [10])
    with pytest.raises(EngineError):
        distribute(11, [1, 1], [5, 6 - 1])


@given(weights_and_caps, st.data())
def test_distribute_properties(pairs: list[tuple[int, int]], data: st.DataObject) -> None:
    """Shares sum exactly to the total, are never negative, never above their cap, and
    the same input gives the same output."""
    weights = [w for w, _ in pairs]
    caps = [c for _, c in pairs]
    total = data.draw(st.integers(0, sum(caps)))
    shares = distribute(total, weights, caps)
    assert sum(shares) == total
    assert all(0 <= share <= cap for share, cap in zip(shares, caps, strict=True))
    assert shares == distribute(total, weights, caps)


@given(weights_and_caps, st.data())
def test_distribute_is_proportional_when_no_cap_binds(
    pairs: list[tuple[int, int]], data: st.DataObject
) -> None:
    """Without binding caps each share is within one kopeck of its exact proportion."""
    weights = [w for w, _ in pairs]
    assume(sum(weights) > 0)
    total = data.draw(st.integers(0, 10**7))
    caps = [total if w else 0 for w in weights]
    shares = distribute(total, weights, caps)
    for share, weight in zip(shares, weights, strict=True):
        exact = Fraction(total * weight, sum(weights))
        assert abs(share - exact) < 1


def test_fit_unit_prices_moves_indivisible_kopecks() -> None:
    """Line A 333,34 x 3 = 1 000,02 with target 70,00 would end at 930,02, which no unit
    price reproduces (x3 gives multiples of 3): it takes 69,99 (310,01 x 3 = 930,03) and
    the kopeck moves to line B (1 000,00 x 0,455), which can take any kopeck."""
    discounts, prices = fit_unit_prices(
        [33334, 100000],
        [Decimal(3), Decimal("0.455")],
        [100002, 45500],
        [7000, 3185],
        [100002, 45500],
    )
    assert discounts == [6999, 3186]
    assert prices == [31001, 92998]
    assert line_amount(92998, Decimal("0.455")) == 45500 - 3186


def test_fit_unit_prices_shrinks_total_when_nothing_fits() -> None:
    """Two lines of quantity 3 with targets of 1 kopeck each: no line can take a single
    kopeck, so the discount shrinks to 0 rather than break a unit price."""
    discounts, prices = fit_unit_prices(
        [1000, 2000], [Decimal(3), Decimal(3)], [3000, 6000], [1, 1], [3000, 6000]
    )
    assert discounts == [0, 0]
    assert prices == [1000, 2000]


def test_fit_unit_prices_respects_zero_cap() -> None:
    """A line whose cap is 0 (no discount allowed) never takes moved kopecks."""
    discounts, _ = fit_unit_prices(
        [1000, 500], [Decimal(3), Decimal(1)], [3000, 500], [2, 0], [3000, 0]
    )
    assert discounts == [0, 0]


def test_fit_unit_prices_unreproducible_amount() -> None:
    """An amount no unit price reproduces (1,00 for 3 pieces: 0,33 x 3 = 0,99, 0,34 x 3 =
    1,02) with no discount allowed keeps its amount and gets no unit price; allowed a
    discount, it drops to the nearest reproducible total (0,99)."""
    assert fit_unit_prices([33], [Decimal(3)], [100], [0], [0]) == ([0], [None])
    assert fit_unit_prices([33], [Decimal(3)], [100], [1], [100]) == ([1], [33])


quantities = st.one_of(
    st.integers(1, 12).map(Decimal),
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal(50), places=3),
)


@given(
    st.lists(
        st.tuples(st.integers(0, 10**6), quantities, st.integers(0, 100)), min_size=1, max_size=8
    ),
    st.data(),
)
def test_fit_unit_prices_properties(
    raw: list[tuple[int, Decimal, int]], data: st.DataObject
) -> None:
    """Every line gets a unit price reproducing its total; no line goes past its cap;
    the total discount never exceeds the sum of the targets."""
    prices = [p for p, _, _ in raw]
    qty = [q for _, q, _ in raw]
    amounts = [line_amount(p, q) for p, q, _ in raw]
    caps = [a * share // 100 for a, (_, _, share) in zip(amounts, raw, strict=True)]
    targets = [data.draw(st.integers(0, cap)) for cap in caps]
    discounts, units = fit_unit_prices(prices, qty, amounts, targets, caps)
    assert sum(discounts) <= sum(targets)
    for i in range(len(raw)):
        assert 0 <= discounts[i] <= caps[i]
        unit = units[i]
        assert unit is not None and unit >= 0
        assert line_amount(unit, qty[i]) == amounts[i] - discounts[i]


def test_apportion_keeps_each_lines_own_floor() -> None:
    """4 % of 2 990,00 / 449,70 / 399,00 is 119,60 / 17,988 / 15,96; the receipt's
    153,54 goes 119,60 / 17,98 / 15,96: no line gets less than its own exact floor."""
    exact = [2_990_00 * 4, 449_70 * 4, 399_00 * 4]  # kopecks x 100
    assert apportion(153_54, exact, 100) == [119_60, 17_98, 15_96]


@given(
    st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=12),
    st.integers(min_value=1, max_value=10**6),
    st.sampled_from(["floor", "half_up"]),
)
def test_apportion_stays_within_a_kopeck_of_each_exact_share(
    numerators: list[int], denominator: int, mode: str
) -> None:
    """Rounded once (floor or half-up), the total is split so the shares sum to it and
    each lies between its exact share floored and its exact share rounded up."""
    exact_total = Fraction(sum(numerators), denominator)
    total = int(exact_total) if mode == "floor" else int(exact_total + Fraction(1, 2))
    shares = apportion(total, numerators, denominator)
    assert sum(shares) == total
    for share, numerator in zip(shares, numerators, strict=True):
        assert numerator // denominator <= share <= -(-numerator // denominator)
