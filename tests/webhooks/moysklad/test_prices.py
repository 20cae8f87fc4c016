"""The till's arithmetic: whatever a line's discount and bonus share, the positions we
answer reproduce our quote's total to the kopeck when the till multiplies each
``discountedPrice`` by its quantity and rounds half-up, splitting at most one position
in two, its serial numbers divided so each part carries its own quantity of them."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from cloud.services.unit_prices import split
from schemas import checkout as wire
from schemas import moysklad as ms
from schemas.money import line_amount, to_roubles
from webhooks.moysklad.translate import percent, positions_out, till_total

QUANTITIES = st.one_of(
    st.integers(1, 300).map(Decimal),
    st.integers(1, 500_000).map(lambda milli: Decimal(milli) / 1000),
)


@settings(max_examples=400, deadline=None)
@given(price=st.integers(0, 5_000_000), quantity=QUANTITIES, share=st.floats(0, 1))
@example(price=500, quantity=Decimal("0.001"), share=1.0)  # a band of unit prices, one kopeck
def test_split_reproduces_any_target(price: int, quantity: Decimal, share: float) -> None:
    """At most two parts, quantities adding up, unit prices within [0, price], the till's
    totals adding up to the target exactly, percents within 0..100."""
    amount = line_amount(price, quantity)
    target = int(amount * Decimal(str(share)))
    parts = split(price, quantity, target)
    assert 1 <= len(parts) <= 2
    assert sum(p.quantity for p in parts) == quantity
    assert all(0 <= p.unit <= price and p.quantity > 0 for p in parts)
    assert sum(line_amount(p.unit, p.quantity) for p in parts) == target
    assert all(Decimal(0) <= percent(price, p.unit) <= Decimal(100) for p in parts)


LINES = st.lists(
    st.tuples(st.integers(1, 1_000_000), st.integers(1, 40), st.floats(0, 1), st.floats(0, 1)),
    min_size=1, max_size=6,
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(lines=LINES)
def test_till_total_equals_the_quote(lines: list[tuple[int, int, float, float]]) -> None:
    """The positions answered for a quote: the till's recomputed total equals the quote's
    amount less discount less bonus payment, and every serial number goes to exactly one
    part, as many as its quantity."""
    positions, quoted = [], []
    expected = 0
    for i, (price, quantity, off, spent) in enumerate(lines):
        amount = price * quantity
        discount = int(amount * Decimal(str(off)) / 4)
        redeem = int((amount - discount) * Decimal(str(spent)) / 2)
        expected += amount - discount - redeem
        positions.append({
            "assortment": {"meta": {"href": "", "id": f"p{i}"}},
            "quantity": quantity, "price": to_roubles(price),
            "sn": [{"meta": {"href": "", "id": f"s{i}-{n}"}} for n in range(quantity)],
        })  # fmt: skip
        quoted.append(wire.QuoteLine.model_construct(
            id=str(i), amount=to_roubles(amount), discount=to_roubles(discount),
            redeem=to_roubles(redeem),
        ))  # fmt: skip
    body = ms.RecalcRequest.model_validate(
        {"retailStore": {"meta": {"href": "", "id": "store"}}, "positions": positions}
    )
    out = positions_out(body, wire.Quote.model_construct(lines=quoted))
    assert till_total(out) == expected
    for i, (_, quantity, _, _) in enumerate(lines):
        parts = [p for p in out if p.assortment["meta"]["id"] == f"p{i}"]
        serials = [s["meta"]["id"] for p in parts for s in (p.sn or [])]
        assert serials == [f"s{i}-{n}" for n in range(quantity)]
        assert all(len(p.sn or []) == p.quantity for p in parts)
