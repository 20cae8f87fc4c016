"""The impacts of a loyalty-request reproduce the quoted line totals to the kopeck under
the SDK's splitting rules: piece goods split by whole units, weight goods to three
decimals, weight goods with modifiers never split (then the one unit price whose total
is the nearest at or above the target: less discount, never more)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from schemas import checkout as wire
from schemas import modulkassa as mk
from schemas.money import line_amount, to_kopecks, to_roubles
from terminal_bridge.modulkassa import translate

PIECES = st.integers(1, 999).map(Decimal)
WEIGHTS = st.integers(1, 99_999).map(lambda n: Decimal(n) / 1000)
PRICES = st.integers(0, 5_000_000)
KINDS = st.sampled_from(["piece", "weight", "modified"])


def _position(kind: str, price: int, quantity: Decimal) -> mk.LoyaltyPosition:
    modifiers = [mk.LoyaltyModifier(id="m", name="Соус", price=Decimal("10.00"))]
    return mk.LoyaltyPosition(
        id=f"pos-{kind}", name=kind, price=to_roubles(price), quantity=quantity,
        measure="PCS" if kind == "piece" else "KG",
        modifiers=modifiers if kind == "modified" else [],
    )  # fmt: skip


@st.composite
def lines(draw: st.DrawFn) -> tuple[mk.LoyaltyPosition, int, int]:
    kind = draw(KINDS)
    quantity = draw(PIECES if kind == "piece" else WEIGHTS)
    price = draw(PRICES)
    amount = line_amount(price, quantity)
    target = draw(st.integers(0, amount))
    redeem = draw(st.integers(0, amount - target))
    return _position(kind, price, quantity), amount - target - redeem, redeem


@settings(max_examples=400, deadline=None)
@given(lines())
@example((_position("piece", 34990, Decimal(3)), 5249, 0))
@example((_position("weight", 89000, Decimal("0.347")), 1543, 0))
@example((_position("modified", 63333, Decimal("0.413")), 1308, 500))
@example((_position("modified", 1, Decimal("0.001")), 0, 0))
def test_impacts_reproduce_the_quote(case: tuple[mk.LoyaltyPosition, int, int]) -> None:
    """For any price, quantity and discount: impact quantities add up to the line's,
    prices stay within [0, price], piece goods split only by whole units, weight goods
    to thousandths, a weight line with modifiers is one impact; a splittable line
    totals exactly the target, an unsplittable one the nearest total at or above it."""
    position, discount, redeem = case
    price = to_kopecks(position.price)
    amount = line_amount(price, position.quantity)
    quoted = wire.QuoteLine(
        id=position.id, amount=to_roubles(amount), discount=to_roubles(discount),
        amount_after_discount=to_roubles(amount - discount), max_redeem=to_roubles(redeem),
        redeem=to_roubles(redeem), accrual=Decimal(0),
    )  # fmt: skip
    request = mk.LoyaltyRequest(id="r", positions=[position])
    impacts, given_ = translate.impacts(request, [quoted])
    target = amount - discount - redeem
    assert sum(i.quantity for i in impacts) == position.quantity
    assert len({i.id for i in impacts}) == len(impacts) and all(len(i.id) <= 255 for i in impacts)
    assert all(i.positionId == position.id and i.quantity > 0 for i in impacts)
    assert all(0 <= to_kopecks(i.price) <= price for i in impacts)
    total = sum(line_amount(to_kopecks(i.price), i.quantity) for i in impacts)
    assert given_ == amount - total
    if position.measure == "PCS":
        assert all(i.quantity == i.quantity.to_integral_value() for i in impacts)
    else:
        assert all(i.quantity == i.quantity.quantize(Decimal("0.001")) for i in impacts)
    if position.modifiers and position.measure != "PCS":
        assert len(impacts) == 1
        unit = to_kopecks(impacts[0].price)
        assert total >= target
        assert unit == 0 or line_amount(unit - 1, position.quantity) < target
    else:
        assert total == target
        assert len(impacts) <= 2


def test_a_fractional_piece_line_is_not_split() -> None:
    """A ``PCS`` line with a fractional quantity (which the till should not send) is one
    impact at a price whose total is at or above the target: never a fraction of a piece."""
    position = mk.LoyaltyPosition(id="p", price=Decimal("99.99"), quantity=Decimal("1.5"))
    quoted = wire.QuoteLine(
        id="p", amount=Decimal("149.99"), discount=Decimal("7.77"),
        amount_after_discount=Decimal("142.22"), max_redeem=Decimal(0), redeem=Decimal(0),
        accrual=Decimal(0),
    )  # fmt: skip
    impacts, _ = translate.impacts(mk.LoyaltyRequest(id="r", positions=[position]), [quoted])
    assert len(impacts) == 1 and impacts[0].quantity == Decimal("1.5")
    assert line_amount(to_kopecks(impacts[0].price), Decimal("1.5")) >= 14222
