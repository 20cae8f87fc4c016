"""A sale recorded late earns what the program live at its sale promised: the fiscal
receipt is the truth, whenever it reaches us (a store bridge replaying what it kept
while the cloud was away, a fiscal document arriving hours after the receipt)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from cloud.clock import ManualClock
from cloud.services import programs, receipt_sessions
from cloud.services.deps import Deps
from tests.conftest import DEMO_PROGRAM, Tenant
from tests.ledger.helpers import create_customer, sale, terminal

LINES = [("1", 100000, 1)]


def _with_standard_rate(percent: str) -> str:
    document = json.loads(DEMO_PROGRAM.read_text())
    document["tiers"][0]["accrual_percent"] = percent
    return json.dumps(document)


async def _close_sold_at(deps: Deps, tenant: Tenant, receipt_id: str, ago: timedelta) -> Decimal:
    member = await create_customer(deps, tenant.merchant_id)
    receipt = sale(receipt_id, member, LINES).model_copy(update={"created_at": deps.clock() - ago})
    result = await receipt_sessions.close(deps, terminal(tenant), "native", receipt, Decimal(0))
    return result.accrued


async def test_a_sale_made_before_a_program_change_earns_the_old_rate(
    deps: Deps, demo_tenant: Tenant, clock: ManualClock
) -> None:
    """A receipt sold an hour before the merchant raised the rate from 5 % to 9 % and
    confirmed after it accrues 5 %; one sold after the change accrues 9 %."""
    clock.advance(hours=2)
    await programs.publish(deps.db, demo_tenant.merchant_id, _with_standard_rate("9"), clock())
    clock.advance(hours=1)
    assert await _close_sold_at(deps, demo_tenant, "late", timedelta(hours=2)) == Decimal("50.00")
    assert await _close_sold_at(deps, demo_tenant, "fresh", timedelta(minutes=30)) == Decimal(
        "90.00"
    )


async def test_a_till_clock_a_minute_off_is_priced_by_the_live_version(
    deps: Deps, demo_tenant: Tenant, clock: ManualClock
) -> None:
    """Right after a change, a till whose clock lags a minute is not sent back to the old
    version: only sales older than the late threshold are."""
    clock.advance(hours=1)
    await programs.publish(deps.db, demo_tenant.merchant_id, _with_standard_rate("9"), clock())
    assert await _close_sold_at(deps, demo_tenant, "lag", timedelta(minutes=1)) == Decimal("90.00")


async def test_a_version_switched_off_and_on_again_keeps_its_periods(
    deps: Deps, demo_tenant: Tenant, clock: ManualClock
) -> None:
    """Version 1 live, then version 2 for a day, then version 1 again: a sale of the day
    version 2 was live earns version 2's rate, though version 1 is live when it arrives."""
    clock.advance(days=1)
    await programs.publish(deps.db, demo_tenant.merchant_id, _with_standard_rate("9"), clock())
    clock.advance(days=1)
    await programs.activate_version(deps.db, demo_tenant.merchant_id, 1, clock())
    clock.advance(hours=1)
    assert await _close_sold_at(deps, demo_tenant, "mid", timedelta(hours=13)) == Decimal("90.00")
    assert await _close_sold_at(deps, demo_tenant, "now", timedelta(0)) == Decimal("50.00")


async def test_a_sale_older_than_any_program_is_priced_by_the_live_one(
    deps: Deps, demo_tenant: Tenant, clock: ManualClock
) -> None:
    """A receipt dated before the merchant's first program (a till clock years off, an
    import of old sales) is still recorded, by the live version."""
    clock.advance(hours=1)
    assert await _close_sold_at(deps, demo_tenant, "old", timedelta(days=400)) == Decimal("50.00")
