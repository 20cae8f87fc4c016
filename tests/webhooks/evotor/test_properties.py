"""Invariants of the Evotor translations, property-tested: returns matched against a
sale never exceed what is left of it and add up to the sale; V1 discount and payment
transactions always leave lines between zero and their full price, summing to what was
paid when that can be placed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from cloud.services.evotor_paybacks import PaybackLine, match_payback_lines
from schemas import evotor as ev
from webhooks.evotor.translate import _v1_charged

SKUS = ["a", "b", "c"]


@st.composite
def sale_and_returns(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[list[PaybackLine]]]:
    count = draw(st.integers(1, 4))
    skus = [draw(st.sampled_from(SKUS)) for _ in range(count)]
    sale = [
        {"line_id": f"l{i}", "sku": sku, "name": sku, "price": 1000,
         "quantity_milli": draw(st.integers(1, 5)) * 1000, "returned_quantity_milli": 0}
        for i, sku in enumerate(skus)
    ]  # fmt: skip
    returns = draw(
        st.lists(
            st.lists(
                st.builds(
                    PaybackLine,
                    uuid=st.none(),
                    sku=st.sampled_from(SKUS),
                    name=st.just("x"),
                    price=st.just(1000),
                    quantity=st.integers(1, 7).map(Decimal),
                ),
                min_size=1,
                max_size=3,
            ),
            max_size=5,
        )
    )
    return sale, returns


@given(sale_and_returns())
def test_returns_never_exceed_the_sale(
    case: tuple[list[dict[str, Any]], list[list[PaybackLine]]],
) -> None:
    """Applied one after another (each recorded as returned), the matched quantities
    never exceed what each line sold, and each product loses exactly what was asked of
    it, or all that was left (an over-return takes the rest, never more)."""
    sale, returns = case
    for payback in returns:
        left_by_sku: dict[str, int] = {}
        for s in sale:
            left = s["quantity_milli"] - s["returned_quantity_milli"]
            left_by_sku[s["sku"]] = left_by_sku.get(s["sku"], 0) + left
        asked: dict[str, int] = {}
        for p in payback:
            asked[p.sku or ""] = asked.get(p.sku or "", 0) + int(p.quantity * 1000)
        taken = match_payback_lines(payback, sale)
        by_id = {s["line_id"]: s for s in sale}
        for line_id, quantity in taken:
            by_id[line_id]["returned_quantity_milli"] += int(quantity * 1000)
        for s in sale:
            assert 0 <= s["returned_quantity_milli"] <= s["quantity_milli"]
        for sku, wanted in asked.items():
            left_after = sum(
                s["quantity_milli"] - s["returned_quantity_milli"] for s in sale if s["sku"] == sku
            )
            assert left_after == max(0, left_by_sku.get(sku, 0) - wanted)


amounts = st.integers(0, 100_000).map(lambda k: Decimal(k) / 100)


@given(
    prices=st.lists(st.integers(1, 100_000), min_size=1, max_size=4),
    position_discounts=st.lists(amounts, max_size=4),
    document_discount=st.none() | amounts,
    payment=st.none() | st.integers(-1000, 500_000).map(lambda k: Decimal(k) / 100),
)
def test_v1_lines_stay_within_their_price(
    prices: list[int], position_discounts: list[Decimal], document_discount: Decimal | None,
    payment: Decimal | None,
) -> None:  # fmt: skip
    """Whatever the discount and payment transactions say, each line ends between 0
    and its full price; when the payment can be placed within the prices, the lines
    add up to it exactly."""
    transactions: list[dict[str, Any]] = []
    for i, price in enumerate(prices):
        roubles = Decimal(price) / 100
        transactions.append({"type": "REGISTER_POSITION", "price": roubles, "quantity": 1,
                             "sum": roubles, "resultSum": roubles})  # fmt: skip
        if i < len(position_discounts):
            transactions.append({"type": "DISCOUNT_POSITION",
                                 "discountSum": position_discounts[i]})  # fmt: skip
    if document_discount is not None:
        transactions.append({"type": "DISCOUNT_DOCUMENT", "discountSum": document_discount})
    if payment is not None:
        transactions.append({"type": "PAYMENT", "sum": payment})
    document = ev.V1Document.model_validate(
        {"uuid": "d", "type": "SELL", "transactions": transactions}
    )
    charged = _v1_charged(document)
    assert [full for _, _, full, _ in charged] == prices
    for _, _, full, paid in charged:
        assert 0 <= paid <= full
    if payment is not None and 0 <= payment * 100 <= sum(prices):
        assert sum(paid for _, _, _, paid in charged) == int(payment * 100)
