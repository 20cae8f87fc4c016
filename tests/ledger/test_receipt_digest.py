"""Idempotency is on the receipt id *and* what the receipt is: a genuine retry replays the
stored answer, another receipt under a used id (a till that restarted its numbering) is a
conflict, never the first receipt's answer."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloud.errors import Conflict
from cloud.services import checkout
from cloud.services.deps import Deps
from cloud.services.receipt_digest import receipt_digest, refund_digest
from schemas import checkout as wire
from tests.conftest import Tenant
from tests.ledger.helpers import (
    confirm_request,
    create_customer,
    give_lot,
    ledger_state,
    refund_request,
    terminal,
)

LINES = [("a", 10_000, 3), ("b", 5_000, 1)]


async def test_same_id_with_another_body_is_a_conflict(deps: Deps, demo_tenant: Tenant) -> None:
    """A second sale under a used receipt id answers 409 ``idempotency_conflict`` and
    writes nothing, instead of replaying the first sale's result."""
    m, term = demo_tenant.merchant_id, terminal(demo_tenant)
    member = await create_customer(deps, m)
    await checkout.confirm(deps, term, confirm_request("S", member, LINES))
    before = await ledger_state(deps, member.id)

    other = confirm_request("S", member, [("c", 20_000, 1)])
    with pytest.raises(Conflict) as refused:
        await checkout.confirm(deps, term, other)
    assert refused.value.code == "idempotency_conflict"
    assert "S" in refused.value.message
    assert await ledger_state(deps, member.id) == before


@pytest.mark.parametrize(
    "change",
    ["price", "quantity", "amount", "customer", "redeemed", "line"],
)
async def test_each_part_of_the_receipt_counts(
    deps: Deps, demo_tenant: Tenant, change: str
) -> None:
    """Lines (price, quantity, amount, the set of lines), the customer and the bonus
    payment each make a different receipt."""
    m, term = demo_tenant.merchant_id, terminal(demo_tenant)
    member = await create_customer(deps, m)
    other = await create_customer(deps, m)
    await give_lot(deps, m, member.id, 50_000)
    first = confirm_request("S", member, LINES, redeemed=1_000)
    await checkout.confirm(deps, term, first)
    variants = {
        "price": confirm_request("S", member, [("a", 10_001, 3), ("b", 5_000, 1)], 1_000),
        "quantity": confirm_request("S", member, [("a", 10_000, 2), ("b", 5_000, 1)], 1_000),
        "amount": confirm_request("S", member, [("a", 10_000, 3, 29_000), ("b", 5_000, 1)], 1_000),
        "customer": confirm_request("S", other, LINES, 1_000),
        "redeemed": confirm_request("S", member, LINES, 2_000),
        "line": confirm_request("S", member, [("a", 10_000, 3)], 1_000),
    }
    with pytest.raises(Conflict) as refused:
        await checkout.confirm(deps, term, variants[change])
    assert refused.value.code == "idempotency_conflict"


async def test_a_genuine_retry_with_a_refreshed_envelope_replays(
    deps: Deps, demo_tenant: Tenant
) -> None:
    """A retry may refresh its timestamp, rename or reorder lines, write ``1`` as
    ``1.000`` or spell out an omitted amount: it is the same receipt, the stored answer."""
    m, term = demo_tenant.merchant_id, terminal(demo_tenant)
    member = await create_customer(deps, m)
    first = confirm_request("S", member, LINES)
    done = await checkout.confirm(deps, term, first)
    receipt = first.receipt
    retry = wire.ConfirmRequest(
        receipt=receipt.model_copy(
            update={
                "created_at": datetime(2026, 11, 20, 12, 0, tzinfo=UTC),
                "lines": [
                    receipt.lines[1].model_copy(update={"name": "другое имя"}),
                    receipt.lines[0].model_copy(
                        update={"quantity": Decimal("3.000"), "amount": Decimal("300.00")}
                    ),
                ],
            }
        ),
        redeemed=Decimal("0.00"),
    )
    assert await checkout.confirm(deps, term, retry) == done


async def test_refund_id_reused_for_another_return_is_a_conflict(
    deps: Deps, demo_tenant: Tenant
) -> None:
    """A refund id names one return: the same id returning other lines (or another
    sale) is a conflict; the same return again replays."""
    m, term = demo_tenant.merchant_id, terminal(demo_tenant)
    member = await create_customer(deps, m)
    await checkout.confirm(deps, term, confirm_request("S", member, LINES))
    await checkout.confirm(deps, term, confirm_request("T", member, LINES))
    first = await checkout.refund(deps, term, refund_request("R", "S", [("a", 1)]))
    assert await checkout.refund(deps, term, refund_request("R", "S", [("a", 1)])) == first
    before = await ledger_state(deps, member.id)
    for other in (
        refund_request("R", "S", [("a", 2)]),
        refund_request("R", "S", [("b", 1)]),
        refund_request("R", "T", [("a", 1)]),
        refund_request("R", "S"),
    ):
        with pytest.raises(Conflict) as refused:
            await checkout.refund(deps, term, other)
        assert refused.value.code == "idempotency_conflict"
    assert await ledger_state(deps, member.id) == before


async def test_rows_from_before_digests_replay_as_before(deps: Deps, demo_tenant: Tenant) -> None:
    """A receipt stored before digests existed (NULL) cannot be compared: a repeat of
    its id still replays its answer rather than failing."""
    m, term = demo_tenant.merchant_id, terminal(demo_tenant)
    member = await create_customer(deps, m)
    done = await checkout.confirm(deps, term, confirm_request("S", member, LINES))
    await deps.db.execute("UPDATE receipts SET digest = NULL WHERE external_id = 'S'", {})
    assert await checkout.confirm(deps, term, confirm_request("S", member, [("c", 1, 1)])) == done


# Within the wire bounds: price × quantity at most 10 000 000 ₽ (the limit is 99 999 999,99).
line_st = st.tuples(
    st.integers(0, 10**7), st.integers(1, 10**5), st.sampled_from([None, "x", "services"])
)


@given(st.lists(line_st, min_size=1, max_size=6), st.randoms())
def test_digest_ignores_order_names_and_spelling(lines: list, rnd: object) -> None:  # type: ignore[type-arg]
    """The digest is a function of what the receipt is: shuffling lines, renaming them
    and spelling quantities or amounts differently never changes it; a changed price
    always does."""
    receipt = wire.Receipt(
        id="r",
        customer=wire.CustomerRef(phone="8 (916) 123-45-67"),
        lines=[
            wire.ReceiptLine(
                id=f"l{i}", name="a", price=Decimal(p) / 100, quantity=Decimal(q) / 1000,
                category=cat,
            )
            for i, (p, q, cat) in enumerate(lines)
        ],
    )  # fmt: skip
    shuffled = list(receipt.lines)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    respelled = receipt.model_copy(
        update={
            "customer": wire.CustomerRef(phone="+79161234567"),
            "lines": [
                line.model_copy(
                    update={
                        "name": "b",
                        "quantity": line.quantity.quantize(Decimal("0.001")),
                        "amount": (line.price * line.quantity).quantize(
                            Decimal("0.01"), "ROUND_HALF_UP"
                        ),
                    }
                )
                for line in shuffled
            ],
        }
    )
    assert receipt_digest(receipt) == receipt_digest(respelled)
    repriced = receipt.model_copy(
        update={
            "lines": [
                receipt.lines[0].model_copy(update={"price": receipt.lines[0].price + 1}),
                *receipt.lines[1:],
            ]
        }
    )
    assert receipt_digest(receipt) != receipt_digest(repriced)


def test_refund_digest_ignores_line_order_and_the_refund_time() -> None:
    """A refund's digest is its sale and its returned quantities, not their order or
    its timestamp."""
    a, b = (
        wire.RefundLine(id="a", quantity=Decimal(1)),
        wire.RefundLine(id="b", quantity=Decimal(2)),
    )
    one = wire.RefundRequest(id="R", receipt_id="S", lines=[a, b])
    two = wire.RefundRequest(
        id="R", receipt_id="S", created_at=datetime(2026, 1, 1, tzinfo=UTC),
        lines=[b.model_copy(update={"quantity": Decimal("2.000")}), a],
    )  # fmt: skip
    assert refund_digest(one) == refund_digest(two)
    assert refund_digest(one) != refund_digest(one.model_copy(update={"lines": None}))
