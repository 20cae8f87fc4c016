"""What a refund does to a tier (``cloud.services.tiers``): a partial return leaves it
alone; once a whole receipt is returned, the tier stays only as far as what is left of
the customer's purchases still earns it, and every change is recorded with the reason
``refund_downgrade`` and the refund receipt."""

from __future__ import annotations

from datetime import UTC, date, datetime

from cloud.clock import ManualClock
from cloud.engine.tiers import tier_after_refund
from cloud.services import jobs
from cloud.services.deps import Deps
from schemas.program import Program
from tests.conftest import make_tenant
from tests.services.test_tier_job import (
    SINGLE,
    _buy_lines,
    _changes,
    _customer,
    _refund,
    _tiers,
)

# Lifetime purchases over 30 000 ₽ give Серебряная, over 100 000 ₽ Золотая; one receipt
# of 50 000 ₽ gives Золотая at once.
LIFETIME = {
    "name": "Магазин: уровни за всё время",
    "kind": "bonus",
    "tier_assignment": "first_purchase",
    "tier_rule": {"basis": "lifetime"},
    "tiers": [
        {"code": "standard", "name": "Стандартная", "accrual_percent": "3"},
        {"code": "silver", "name": "Серебряная", "accrual_percent": "5",
         "purchases_over": "30000"},
        {"code": "gold", "name": "Золотая", "accrual_percent": "7",
         "purchases_over": "100000", "single_receipt_at_least": "50000"},
    ],
}  # fmt: skip


async def _refund_receipt(deps: Deps, external_id: str) -> int:
    return int(
        await deps.db.fetch_value(
            "SELECT id FROM receipts WHERE kind = 'refund' AND external_id = :e",
            {"e": external_id},
        )
    )


async def test_returned_single_receipt_takes_its_tier_back(deps: Deps, clock: ManualClock) -> None:
    """Золотая reached by one 60 000 ₽ receipt stays through a partial return and goes
    once the rest of the receipt comes back too (the receipt returned in two parts); the
    change names the refund that completed the return."""
    tenant = await make_tenant(deps, "Магазин", LIFETIME)
    a = await _customer(deps, tenant, "+79160000101")
    await _buy_lines(deps, tenant, a, "s-1", [("1", 55_000), ("2", 5_000)])
    assert (await _tiers(deps, tenant.merchant_id))[a] == "gold"

    await _refund(deps, tenant, "r-1", "s-1", ["2"])
    assert (await _tiers(deps, tenant.merchant_id))[a] == "gold"

    await _refund(deps, tenant, "r-2", "s-1", ["1"])
    assert (await _tiers(deps, tenant.merchant_id))[a] == "standard"
    assert (await _changes(deps, a))[-1] == ("gold", "standard", "refund_downgrade")
    receipt = await deps.db.fetch_value(
        "SELECT receipt_id FROM tier_changes WHERE customer_id = :c ORDER BY id DESC LIMIT 1",
        {"c": a},
    )
    assert receipt == await _refund_receipt(deps, "r-2")


async def test_lifetime_tier_follows_lifetime_purchases_after_a_full_return(
    deps: Deps, clock: ManualClock
) -> None:
    """Серебряная by lifetime purchases (45 000 ₽ in three receipts) survives a full
    return that leaves 35 000 ₽ and a partial return that leaves 30 000 ₽ (no longer
    over the threshold); it is lost when that receipt's return is completed and leaves
    25 000 ₽. Another receipt still reaching the single-receipt threshold keeps Золотая
    whatever the lifetime sum."""
    tenant = await make_tenant(deps, "Магазин", LIFETIME)
    a = await _customer(deps, tenant, "+79160000111")
    await _buy_lines(deps, tenant, a, "s-1", [("1", 25_000)])
    await _buy_lines(deps, tenant, a, "s-2", [("1", 10_000)])
    await _buy_lines(deps, tenant, a, "s-3", [("1", 5_000), ("2", 5_000)])
    assert (await _tiers(deps, tenant.merchant_id))[a] == "silver"
    await _refund(deps, tenant, "r-1", "s-2", None)
    assert (await _tiers(deps, tenant.merchant_id))[a] == "silver"
    await _refund(deps, tenant, "r-2", "s-3", ["1"])
    assert (await _tiers(deps, tenant.merchant_id))[a] == "silver"
    await _refund(deps, tenant, "r-3", "s-3", ["2"])
    assert (await _tiers(deps, tenant.merchant_id))[a] == "standard"

    b = await _customer(deps, tenant, "+79160000112")
    await _buy_lines(deps, tenant, b, "s-4", [("1", 50_000)])
    await _buy_lines(deps, tenant, b, "s-5", [("1", 60_000)])
    assert (await _tiers(deps, tenant.merchant_id))[b] == "gold"
    await _refund(deps, tenant, "r-4", "s-5", None)
    assert (await _tiers(deps, tenant.merchant_id))[b] == "gold"
    assert [c for c in await _changes(deps, b) if c[2] == "refund_downgrade"] == []


async def test_refund_reruns_the_last_rolling_recomputation(deps: Deps, clock: ManualClock) -> None:
    """On the rolling basis a refund re-runs the last scheduled recomputation as if the
    refund had come before it: Золотая given on 1 January for 60 000 ₽ of December
    becomes Серебряная when 20 000 ₽ of it comes back on 10 January."""
    clock.now = datetime(2025, 12, 20, 9, tzinfo=UTC)
    tenant = await make_tenant(deps, "Салон", SINGLE)
    a = await _customer(deps, tenant, "+79160000121")
    await _buy_lines(deps, tenant, a, "s-1", [("1", 40_000)])
    await _buy_lines(deps, tenant, a, "s-2", [("1", 20_000)])
    await jobs.run_tiers(deps, date(2026, 1, 1))
    assert (await _tiers(deps, tenant.merchant_id))[a] == "gold"

    clock.now = datetime(2026, 1, 10, 9, tzinfo=UTC)
    await _refund(deps, tenant, "r-1", "s-2", None)
    assert (await _tiers(deps, tenant.merchant_id))[a] == "silver"
    assert (await _changes(deps, a))[-1] == ("gold", "silver", "refund_downgrade")


def test_a_refund_never_raises_a_tier() -> None:
    """Whatever the purchases left, a refund does not lift a tier above the current one
    (a customer set lower keeps it) and leaves a customer without a tier without one."""
    program = Program.model_validate(LIFETIME)
    assert tier_after_refund(
        program, "standard", lifetime_purchases=200_000_00, largest_receipt=90_000_00
    ) == ("standard", "unchanged")
    assert tier_after_refund(program, None, lifetime_purchases=0, largest_receipt=0) == (
        None,
        "unchanged",
    )
