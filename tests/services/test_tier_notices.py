"""Tier change notices (``tier_notices`` job): a ``tier_changed`` message per customer
whose tier went up since the last run, where the program has ``tier_change_sms``."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from cloud import main
from cloud.clock import ManualClock
from cloud.services import scheduler, tier_notices
from cloud.services.deps import Deps
from tests.conftest import make_tenant
from tests.services.test_lifecycle_jobs import PROGRAM, _notes, _register
from tests.services.test_tier_job import _buy, _refund

NOTIFYING: dict[str, Any] = {**PROGRAM, "tier_change_sms": True}


async def test_upgrades_are_announced_once_and_falls_are_not(
    deps: Deps, clock: ManualClock
) -> None:
    """A customer lifted to VIP at confirm gets one «VIP» message at the next run; one
    without consent gets none, nor one whose purchase changed nothing; a run of the same
    date and a run the next day with no new change queue nothing more; an upgrade
    undone by a refund before the run is not announced (the latest change is a fall),
    while a new upgrade after the last run is."""
    clock.now = datetime(2026, 3, 7, 7, tzinfo=UTC)
    tenant = await make_tenant(deps, "Салон", NOTIFYING)
    lifted = await _register(deps, tenant, "+79160000301")
    silent = await _register(deps, tenant, "+79160000302", messages=False)
    small = await _register(deps, tenant, "+79160000303")
    undone = await _register(deps, tenant, "+79160000304")
    await _buy(deps, tenant, lifted, "r1", 60_000)
    await _buy(deps, tenant, silent, "r2", 60_000)
    await _buy(deps, tenant, small, "r3", 1_000)
    await _buy(deps, tenant, undone, "r4", 60_000)
    await _refund(deps, tenant, "f4", "r4", None)

    report = await tier_notices.run_tier_notices(deps)
    assert report.details[str(tenant.merchant_id)]["queued"] == 1
    assert await _notes(deps, tenant.merchant_id) == [(lifted, "tier_changed", {"tier": "VIP"})]
    assert (await tier_notices.run_tier_notices(deps)).skipped == 1

    clock.advance(days=1)
    report = await tier_notices.run_tier_notices(deps)
    assert report.details[str(tenant.merchant_id)]["queued"] == 0
    await _buy(deps, tenant, small, "r5", 60_000)
    clock.advance(days=1)
    await tier_notices.run_tier_notices(deps)
    assert [(c, p) for c, _, p in await _notes(deps, tenant.merchant_id)] == [
        (lifted, {"tier": "VIP"}), (small, {"tier": "VIP"})
    ]  # fmt: skip


async def test_no_notices_without_the_option(deps: Deps, clock: ManualClock) -> None:
    """A program without ``tier_change_sms`` queues nothing and still records how far
    it has looked, so switching the option on later announces no old change."""
    clock.now = datetime(2026, 3, 7, 7, tzinfo=UTC)
    tenant = await make_tenant(deps, "Салон", PROGRAM)
    customer = await _register(deps, tenant, "+79160000311")
    await _buy(deps, tenant, customer, "r1", 60_000)
    report = await tier_notices.run_tier_notices(deps)
    assert report.details[str(tenant.merchant_id)]["configured"] is False
    assert await _notes(deps, tenant.merchant_id) == []
    # The changes are handled all the same, so switching the option on later does not
    # announce the changes made while it was off.
    assert report.details[str(tenant.merchant_id)]["changes"] > 0
    unhandled = "SELECT COUNT(*) FROM tier_changes WHERE notified_at IS NULL"
    assert await deps.db.fetch_value(unhandled) == 0


async def test_a_change_committed_late_with_a_lower_id_is_announced(
    deps: Deps, clock: ManualClock
) -> None:
    """Two customers reach VIP; the first one's change (the lower id) is not yet
    committed when the job runs (simulated: the row is absent during the run and
    written back with its id afterwards, as a PostgreSQL sequence numbers a transaction
    that commits late). The run announces the second; the next run announces the first,
    once, and not the second again."""
    clock.now = datetime(2026, 3, 7, 7, tzinfo=UTC)
    tenant = await make_tenant(deps, "Салон", NOTIFYING)
    await tier_notices.run_tier_notices(deps)  # the first run: nothing yet
    late = await _register(deps, tenant, "+79160000321")
    early = await _register(deps, tenant, "+79160000322")
    await _buy(deps, tenant, late, "r1", 60_000)
    await _buy(deps, tenant, early, "r2", 60_000)
    change = await deps.db.fetch_one(
        "SELECT * FROM tier_changes WHERE customer_id = :c AND to_tier = 'vip'", {"c": late}
    )
    assert change is not None
    higher = await deps.db.fetch_value(
        "SELECT MAX(id) FROM tier_changes WHERE customer_id = :c", {"c": early}
    )
    assert int(change["id"]) < int(higher)
    await deps.db.execute("DELETE FROM tier_changes WHERE id = :id", {"id": change["id"]})

    clock.advance(days=1)
    report = await tier_notices.run_tier_notices(deps)
    assert report.details[str(tenant.merchant_id)]["queued"] == 1
    async with deps.db.transaction() as tx:
        await tx.execute(
            "INSERT INTO tier_changes (id, merchant_id, customer_id, from_tier, to_tier, "
            "reason, receipt_id, created_at) VALUES (:id, :merchant_id, :customer_id, "
            ":from_tier, :to_tier, :reason, :receipt_id, :created_at)",
            {k: change[k] for k in ("id", "merchant_id", "customer_id", "from_tier",
                                    "to_tier", "reason", "receipt_id", "created_at")},
        )  # fmt: skip

    clock.advance(days=1)
    report = await tier_notices.run_tier_notices(deps)
    assert report.details[str(tenant.merchant_id)]["queued"] == 1
    clock.advance(days=1)
    assert (await tier_notices.run_tier_notices(deps)).details[str(tenant.merchant_id)][
        "queued"
    ] == 0
    assert [(c, p) for c, _, p in await _notes(deps, tenant.merchant_id)] == [
        (early, {"tier": "VIP"}), (late, {"tier": "VIP"})
    ]  # fmt: skip


async def test_runs_on_one_clock_reading_take_only_their_own_rows(
    deps: Deps, clock: ManualClock
) -> None:
    """Two runs for two dates at the same clock reading (a frozen clock, or a fast
    catch-up): the second does not take the rows the first stamped."""
    clock.now = datetime(2026, 3, 7, 7, tzinfo=UTC)
    tenant = await make_tenant(deps, "Салон", NOTIFYING)
    first = await _register(deps, tenant, "+79160000331")
    await _buy(deps, tenant, first, "r1", 60_000)
    await tier_notices.run_tier_notices(deps)
    second = await _register(deps, tenant, "+79160000332")
    await _buy(deps, tenant, second, "r2", 60_000)
    await tier_notices.run_tier_notices(deps, date(2026, 3, 8))
    assert [c for c, _, _ in await _notes(deps, tenant.merchant_id)] == [first, second]


def test_the_job_is_registered() -> None:
    """``loyalty jobs run tier_notices`` and the scheduler know the job."""
    assert main.JOBS["tier_notices"] is tier_notices.run_tier_notices
    assert any(job.name == "tier_notices" for job in scheduler.SCHEDULE)
