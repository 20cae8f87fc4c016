"""Refunds by line: the returned share of spent bonuses goes back to the lots it came
from, the returned share of the accrual is taken back, never below zero."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cloud.errors import NotFound, Unprocessable
from cloud.services import checkout
from cloud.services.deps import Deps
from tests.conftest import Tenant
from tests.ledger.helpers import (
    Lines,
    Member,
    allocations_of,
    assert_ledger_consistent,
    confirm_request,
    create_customer,
    give_lot,
    ledger_state,
    lot_remaining,
    refund_request,
    roubles,
    sale_receipt_id,
    terminal,
)

DAY = 24 * 3600
# 300 + 50 roubles; bonuses may pay all of it, 5 % of the money paid accrues.
LINES = [("a", 10_000, 3), ("b", 5_000, 1)]


def kopecks(value: Decimal) -> int:
    return int(value * 100)


async def _lifetime_purchases(deps: Deps, member: Member) -> int:
    return int(
        await deps.db.fetch_value(
            "SELECT lifetime_purchases FROM customers WHERE id = :c", {"c": member.id}
        )
    )


async def _accrual_lot(deps: Deps, receipt_id: int) -> tuple[int, int, int]:
    row = await deps.db.fetch_one(
        "SELECT id, amount, remaining FROM bonus_lots WHERE receipt_id = :r AND kind = 'purchase'",
        {"r": receipt_id},
    )
    assert row is not None
    return int(row["id"]), int(row["amount"]), int(row["remaining"])


async def test_partial_refund_returns_its_share_to_the_same_lots(
    deps: Deps, demo_tenant: Tenant
) -> None:
    """Returning one of three units of line ``a`` gives back exactly a third of what the
    line spent, to the lot spent last, and takes back a third of the line's accrual."""
    m, term = demo_tenant.merchant_id, terminal(demo_tenant)
    member = await create_customer(deps, m)
    soon = await give_lot(deps, m, member.id, 4_000, expires_in=10 * DAY)
    later = await give_lot(deps, m, member.id, 5_000, expires_in=30 * DAY)
    done = await checkout.confirm(deps, term, confirm_request("S", member, LINES, 7_000))
    sale_id = await sale_receipt_id(deps, m, "S")
    assert await allocations_of(deps, sale_id) == [(soon, 4_000, 0), (later, 3_000, 0)]
    line_a = next(line for line in done.lines if line.id == "a")
    redeemed_a, accrual_a = kopecks(line_a.redeem), kopecks(line_a.accrual)
    assert redeemed_a % 3 == 0 and accrual_a % 3 == 0
    accrual_lot, accrual_amount, _ = await _accrual_lot(deps, sale_id)
    assert accrual_amount == kopecks(done.accrued)

    result = await checkout.refund(deps, term, refund_request("R1", "S", [("a", 1)]))

    assert [(line.id, line.quantity) for line in result.lines] == [("a", Decimal(1))]
    assert result.returned_bonuses == roubles(redeemed_a // 3)
    assert result.reversed_accrual == roubles(accrual_a // 3)
    assert result.unrecovered_accrual == roubles(0)
    # The last lot spent gets bonuses back first; the sooner one keeps its spending.
    assert await allocations_of(deps, sale_id) == [
        (soon, 4_000, 0),
        (later, 3_000, redeemed_a // 3),
    ]
    assert await lot_remaining(deps, soon) == 0
    assert await lot_remaining(deps, later) == 2_000 + redeemed_a // 3
    assert await lot_remaining(deps, accrual_lot) == accrual_amount - accrual_a // 3
    assert_ledger_consistent(await ledger_state(deps, member.id))


async def test_partial_refunds_adding_up_to_the_whole_return_everything(
    deps: Deps, demo_tenant: Tenant
) -> None:
    """Refunds of 1 + 1 + 1 of three units whose amounts do not divide by three return,
    in total, exactly what the sale spent and accrued and exactly its amount (shares are
    rounded on cumulative quantities, so no kopeck is lost or made up)."""
    m, term = demo_tenant.merchant_id, terminal(demo_tenant)
    member = await create_customer(deps, m)
    soon = await give_lot(deps, m, member.id, 700, expires_in=5 * DAY)
    later = await give_lot(deps, m, member.id, 50_000)
    lines: Lines = [("odd", 3_333, 3, 10_000), ("even", 1_001, 1)]
    done = await checkout.confirm(deps, term, confirm_request("S", member, lines, 1_001))
    sale_id = await sale_receipt_id(deps, m, "S")
    lots_after_sale = {soon: 0, later: 50_000 - 301}
    assert {lot: await lot_remaining(deps, lot) for lot in lots_after_sale} == lots_after_sale
    _, accrual_amount, _ = await _accrual_lot(deps, sale_id)

    results = [
        await checkout.refund(deps, term, refund_request(f"R{i}", "S", [("odd", 1)]))
        for i in range(3)
    ]
    results.append(await checkout.refund(deps, term, refund_request("R-even", "S")))

    assert sum(kopecks(r.returned_bonuses) for r in results) == kopecks(done.redeemed)
    assert sum(kopecks(r.reversed_accrual) for r in results) == kopecks(done.accrued)
    assert all(r.unrecovered_accrual == 0 for r in results)
    assert [(a, ret) for _, a, ret in await allocations_of(deps, sale_id)] == [
        (700, 700),
        (301, 301),
    ]
    assert await lot_remaining(deps, soon) == 700
    assert await lot_remaining(deps, later) == 50_000
    assert (await _accrual_lot(deps, sale_id))[1:] == (accrual_amount, 0)
    refunded_amounts = await deps.db.fetch_value(
        "SELECT SUM(amount) FROM receipts WHERE merchant_id = :m AND kind = 'refund'",
        {"m": m},
    )
    assert int(refunded_amounts) == kopecks(done.amount)
    assert await _lifetime_purchases(deps, member) == 0
    assert_ledger_consistent(await ledger_state(deps, member.id))


async def test_refund_of_more_than_was_sold_is_refused(deps: Deps, demo_tenant: Tenant) -> None:
    """Returning more units than are left on a line is ``refund_exceeds_sale``, before
    and after a partial return, and writes nothing."""
    m, term = demo_tenant.merchant_id, terminal(demo_tenant)
    member = await create_customer(deps, m)
    await give_lot(deps, m, member.id, 5_000)
    await checkout.confirm(deps, term, confirm_request("S", member, LINES, 3_000))
    with pytest.raises(Unprocessable) as error:
        await checkout.refund(deps, term, refund_request("R1", "S", [("a", 4)]))
    assert error.value.code == "refund_exceeds_sale"
    await checkout.refund(deps, term, refund_request("R2", "S", [("a", 2)]))
    before = await ledger_state(deps, member.id)
    with pytest.raises(Unprocessable) as error:
        await checkout.refund(deps, term, refund_request("R3", "S", [("a", 2)]))
    assert error.value.code == "refund_exceeds_sale"
    assert await ledger_state(deps, member.id) == before


async def test_refund_of_unknown_receipt_is_not_found(deps: Deps, demo_tenant: Tenant) -> None:
    """A refund against a receipt that was never confirmed is ``receipt_not_found``."""
    with pytest.raises(NotFound) as error:
        await checkout.refund(deps, terminal(demo_tenant), refund_request("R", "missing"))
    assert error.value.code == "receipt_not_found"


async def test_refund_after_accrual_was_spent_reports_unrecovered(
    deps: Deps, demo_tenant: Tenant
) -> None:
    """When the customer already spent the bonuses a sale accrued, the refund takes back
    what is left, reports the rest as ``unrecovered_accrual`` and never drives a lot
    below zero."""
    m, term = demo_tenant.merchant_id, terminal(demo_tenant)
    member = await create_customer(deps, m)
    first = await checkout.confirm(deps, term, confirm_request("S1", member, [("x", 20_000, 1)]))
    accrued = kopecks(first.accrued)
    assert accrued == 1_000
    # Spend 700 of the 1000 accrued bonuses on a receipt paid wholly in bonuses.
    await checkout.confirm(deps, term, confirm_request("S2", member, [("y", 700, 1)], 700))

    result = await checkout.refund(deps, term, refund_request("R1", "S1"))

    assert result.reversed_accrual == roubles(300)
    assert result.unrecovered_accrual == roubles(700)
    assert result.balance == roubles(0)
    assert result.messages
    state = await ledger_state(deps, member.id)
    assert state.lots_sum == 0
    assert_ledger_consistent(state)
    # Refunding the bonus-paid receipt afterwards gives its 700 back, nothing more.
    back = await checkout.refund(deps, term, refund_request("R2", "S2"))
    assert back.returned_bonuses == roubles(700)
    state = await ledger_state(deps, member.id)
    assert state.lots_sum == 700
    assert_ledger_consistent(state)


async def test_refund_replay_returns_the_stored_body(deps: Deps, demo_tenant: Tenant) -> None:
    """A refund repeated with the same id writes nothing and answers the same body, even
    though the line is by then fully returned."""
    m, term = demo_tenant.merchant_id, terminal(demo_tenant)
    member = await create_customer(deps, m)
    await give_lot(deps, m, member.id, 5_000)
    await checkout.confirm(deps, term, confirm_request("S", member, LINES, 3_000))
    request = refund_request("R", "S", [("a", 3)])
    first = await checkout.refund(deps, term, request)
    before = await ledger_state(deps, member.id)
    again = await checkout.refund(deps, term, request)
    assert again.model_dump_json() == first.model_dump_json()
    assert await ledger_state(deps, member.id) == before
