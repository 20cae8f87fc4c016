"""The tier job recomputes rolling-period tiers on the program's schedule, records why
each customer moved, and does nothing the second time for the same date."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from cloud.clock import ManualClock
from cloud.services import checkout, customers, jobs
from cloud.services.deps import Deps
from cloud.services.merchants import TerminalContext, zone
from schemas import checkout as wire
from schemas.customers import Consent, RegisterCustomer
from tests.conftest import Tenant, make_tenant

# Винтаж-like: tiers by purchases over the last 6 months, recomputed the night before
# the 1st of each month.
ROLLING = {
    "name": "Салон: уровни за полгода",
    "kind": "bonus",
    "tier_assignment": "first_purchase",
    "tier_rule": {"basis": "rolling", "period_months": 6, "recompute": "monthly_before_1st"},
    "tiers": [
        {"code": "standard", "name": "Стандартная", "accrual_roubles_per_bonus": "30"},
        {"code": "silver", "name": "Серебряная", "accrual_roubles_per_bonus": "20",
         "purchases_over": "30000"},
        {"code": "gold", "name": "Золотая", "accrual_roubles_per_bonus": "15",
         "purchases_over": "50000"},
    ],
}  # fmt: skip


async def _customer(deps: Deps, tenant: Tenant, phone: str) -> int:
    data = RegisterCustomer(phone=phone, consent=Consent(personal_data=True))
    return await customers.register_customer(
        deps, tenant.merchant_id, data, store_id=tenant.store_id, channel="import", sms_code=None
    )


async def _buy(deps: Deps, tenant: Tenant, customer_id: int, receipt_id: str, rub: int) -> None:
    terminal = TerminalContext(
        tenant.merchant_id, tenant.store_id, tenant.terminal_id, zone("Europe/Moscow"), "active"
    )
    line = wire.ReceiptLine(id="1", name="Услуга", price=Decimal(rub), quantity=Decimal(1))
    receipt = wire.Receipt(
        id=receipt_id, customer=wire.CustomerRef(customer_id=customer_id), lines=[line]
    )
    await checkout.confirm(deps, terminal, wire.ConfirmRequest(receipt=receipt))


async def _tiers(deps: Deps, merchant_id: int) -> dict[int, str | None]:
    rows = await deps.db.fetch_all(
        "SELECT id, tier_code FROM customers WHERE merchant_id = :m", {"m": merchant_id}
    )
    return {row["id"]: row["tier_code"] for row in rows}


async def test_rolling_tiers_move_up_and_down_once_per_date(deps: Deps, clock: ManualClock) -> None:
    """60 000 ₽ in December lifts B to Золотая on 1 January; by 1 July that purchase has
    left the six-month window (Jan–Jun) and B drops to Стандартная, while A's 35 000 ₽
    in June lifts A to Серебряная. A purchase itself never lowers or (on this basis)
    raises the tier beyond the entry one. Re-running the same date changes nothing, and
    neither does a run as of a later date the schedule doesn't name (its latest
    recomputation, 1 July, is done)."""
    clock.now = datetime(2025, 12, 20, 9, tzinfo=UTC)
    tenant = await make_tenant(deps, "Салон", ROLLING)
    a = await _customer(deps, tenant, "+79160000001")
    b = await _customer(deps, tenant, "+79160000002")
    await _buy(deps, tenant, b, "b-1", 60_000)
    assert (await _tiers(deps, tenant.merchant_id))[b] == "standard"

    report = await jobs.run_tiers(deps, date(2026, 1, 1))
    assert report.details[str(tenant.merchant_id)]["rolling_upgrade"] == 1
    assert (await _tiers(deps, tenant.merchant_id))[b] == "gold"

    clock.now = datetime(2026, 6, 15, 9, tzinfo=UTC)
    await _buy(deps, tenant, a, "a-1", 35_000)
    assert (await _tiers(deps, tenant.merchant_id))[a] == "standard"

    report = await jobs.run_tiers(deps, date(2026, 7, 1))
    assert report.details[str(tenant.merchant_id)]["window"] == ["2026-01-01", "2026-06-30"]
    assert await _tiers(deps, tenant.merchant_id) == {a: "silver", b: "standard"}
    changes = await deps.db.fetch_all(
        "SELECT customer_id, from_tier, to_tier, reason FROM tier_changes "
        "WHERE merchant_id = :m AND receipt_id IS NULL ORDER BY id",
        {"m": tenant.merchant_id},
    )
    assert [(r["customer_id"], r["from_tier"], r["to_tier"]) for r in changes] == [
        (b, "standard", "gold"),
        (a, "standard", "silver"),
        (b, "gold", "standard"),
    ]
    assert changes[2]["reason"].startswith("rolling_downgrade")

    again = await jobs.run_tiers(deps, date(2026, 7, 1))
    assert (again.merchants, again.skipped) == (0, 1)
    later = await jobs.run_tiers(deps, date(2026, 7, 20))
    assert (later.merchants, later.skipped) == (0, 1)
    assert (
        await deps.db.fetch_value("SELECT COUNT(*) FROM tier_changes WHERE receipt_id IS NULL") == 3
    )
