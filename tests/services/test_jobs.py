"""Scheduled jobs record their date only together with the work done for it, catch up a
date the schedule named that nothing ran, and close holds whose time ran out."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import pytest
import structlog.testing

from cloud import main
from cloud.clock import ManualClock
from cloud.engine.tiers import last_recompute_date
from cloud.errors import Unprocessable
from cloud.services import checkout, jobs
from cloud.services.deps import Deps
from cloud.settings import Settings
from schemas.program import Program
from tests.conftest import Tenant, make_tenant
from tests.ledger.helpers import (
    assert_ledger_consistent,
    confirm_request,
    create_customer,
    give_lot,
    hold_request,
    ledger_state,
    terminal,
)
from tests.services.test_tier_job import ROLLING, _buy, _customer, _tiers

DAY = 24 * 3600


class Crash(RuntimeError):
    pass


def _crash_on_call(monkeypatch: pytest.MonkeyPatch, name: str, call: int) -> None:
    """Make ``jobs.<name>`` fail on its ``call``-th use, as a killed worker would stop."""
    real = getattr(jobs, name)
    calls = 0

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == call:
            raise Crash(name)
        return real(*args, **kwargs)

    monkeypatch.setattr(jobs, name, wrapper)


async def _runs(deps: Deps, job: str) -> list[tuple[str, str]]:
    rows = await deps.db.fetch_all(
        "SELECT run_date, status FROM job_runs WHERE job = :j ORDER BY id", {"j": job}
    )
    return [(r["run_date"], r["status"]) for r in rows]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_expiry_locks_only_the_customers_with_lapsed_lots(
    deps: Deps, demo_tenant: Tenant, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the expiry job works on a batch, a customer inside the batch's id range
    with nothing lapsed is free for a till (their row is not locked), and a customer
    whose lot lapses stays locked until the batch commits; both lapsed lots expire."""
    merchant = demo_tenant.merchant_id
    a, b, c = [await create_customer(deps, merchant) for _ in range(3)]
    await give_lot(deps, merchant, a.id, 5_000, expires_in=DAY)
    await give_lot(deps, merchant, b.id, 5_000)  # never lapses
    await give_lot(deps, merchant, c.id, 5_000, expires_in=DAY)
    clock.advance(days=2)
    seen: dict[str, str] = {}
    real = jobs.expire_lots_between

    async def probing(tx: Any, merchant_id: int, lo: int, hi: int, now: int) -> Any:
        assert lo <= b.id <= hi
        for name, customer in (("a", a.id), ("b", b.id)):
            try:
                async with deps.db.transaction() as other:
                    await other.execute(
                        "SELECT id FROM customers WHERE id = :c FOR UPDATE NOWAIT", {"c": customer}
                    )
                seen[name] = "free"
            except asyncpg.LockNotAvailableError:
                seen[name] = "locked"
        return await real(tx, merchant_id, lo, hi, now)

    monkeypatch.setattr(jobs, "expire_lots_between", probing)
    report = await jobs.run_expiry(deps)
    assert seen == {"a": "locked", "b": "free"}
    assert report.details[str(merchant)] == {"customers": 2, "expired": 10_000}
    for member in (a, b, c):
        assert_ledger_consistent(await ledger_state(deps, member.id))


async def test_expiry_crash_midway_leaves_the_date_runnable(
    deps: Deps, demo_tenant: Tenant, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The expiry job fails on its second batch of customers: no run is recorded for the
    date, so the next run does it, expires every lapsed lot exactly once (one journal
    entry per lot) and records the date."""
    merchant = demo_tenant.merchant_id
    members = [await create_customer(deps, merchant) for _ in range(3)]
    for member in members:
        await give_lot(deps, merchant, member.id, 5_000, expires_in=DAY)
    clock.advance(days=2)
    monkeypatch.setattr(jobs, "BATCH", 1)
    _crash_on_call(monkeypatch, "expire_lots_between", 2)

    with pytest.raises(Crash):
        await jobs.run_expiry(deps)
    assert await _runs(deps, "expiry") == []

    monkeypatch.undo()
    report = await jobs.run_expiry(deps)
    assert report.details[str(merchant)]["expired"] == 2 * 5_000  # one was done before
    assert await _runs(deps, "expiry") == [("2026-11-22", "done")]
    for member in members:
        state = await ledger_state(deps, member.id)
        assert state.lots_sum == 0 and state.entries == 2
        assert_ledger_consistent(state)
    assert (await jobs.run_expiry(deps)).skipped == 1


async def test_tier_crash_midway_leaves_the_date_runnable(
    deps: Deps, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tier job fails halfway through a merchant's customers: no run is recorded for
    1 January, the next run recomputes every customer, and no customer's move is recorded
    twice."""
    clock.now = datetime(2025, 12, 20, 9, tzinfo=UTC)
    tenant = await make_tenant(deps, "Салон", ROLLING)
    people = [await _customer(deps, tenant, f"+7916000020{i}") for i in range(3)]
    for i, person in enumerate(people):
        await _buy(deps, tenant, person, f"s-{i}", 40_000)
    monkeypatch.setattr(jobs, "BATCH", 1)
    _crash_on_call(monkeypatch, "recompute_tiers_between", 2)

    with pytest.raises(Crash):
        await jobs.run_tiers(deps, date(2026, 1, 1))
    assert await _runs(deps, "tiers") == []

    monkeypatch.undo()
    report = await jobs.run_tiers(deps, date(2026, 1, 1))
    assert report.details[str(tenant.merchant_id)]["rolling_upgrade"] == 2
    assert await _runs(deps, "tiers") == [("2026-01-01", "done")]
    assert set((await _tiers(deps, tenant.merchant_id)).values()) == {"silver"}
    moves = await deps.db.fetch_value(
        "SELECT COUNT(*) FROM tier_changes WHERE reason LIKE 'rolling_upgrade%'"
    )
    assert moves == 3


async def test_missed_tier_recomputation_is_caught_up(deps: Deps, clock: ManualClock) -> None:
    """Nothing ran on 1 January (the schedule's date): the run on 3 January recomputes
    the tiers for 1 January (December's window), and the run on 4 January finds that
    date done."""
    clock.now = datetime(2025, 12, 20, 9, tzinfo=UTC)
    tenant = await make_tenant(deps, "Салон", ROLLING)
    a = await _customer(deps, tenant, "+79160000301")
    await _buy(deps, tenant, a, "a-1", 40_000)

    clock.now = datetime(2026, 1, 3, 1, tzinfo=UTC)
    report = await jobs.run_tiers(deps)
    details = report.details[str(tenant.merchant_id)]
    assert details["date"] == "2026-01-01"
    assert details["window"] == ["2025-07-01", "2025-12-31"]
    assert (await _tiers(deps, tenant.merchant_id))[a] == "silver"

    clock.now = datetime(2026, 1, 4, 1, tzinfo=UTC)
    again = await jobs.run_tiers(deps)
    assert (again.merchants, again.skipped) == (0, 1)


async def test_hold_job_closes_lapsed_holds_once(
    deps: Deps, demo_tenant: Tenant, clock: ManualClock
) -> None:
    """Holds whose time ran out are closed as ``expired`` (a live one is left alone); a
    second run closes nothing; the balance is what it was, and the receipt of a closed
    hold that can no longer be paid is still told its hold expired."""
    merchant = demo_tenant.merchant_id
    term = terminal(demo_tenant)
    member = await create_customer(deps, merchant)
    await give_lot(deps, merchant, member.id, 10_000)
    lines = [("item", 20_000, 1)]
    await checkout.hold(deps, term, hold_request("A", member, lines, 10_000))
    clock.advance(minutes=20)
    await checkout.confirm(deps, term, confirm_request("B", member, lines, 5_000))
    await checkout.hold(deps, term, hold_request("C", member, lines, 1_000))
    before = (await ledger_state(deps, member.id)).lots_sum

    report = await jobs.run_holds(deps)
    assert report.details == {str(merchant): {"expired": 1}}
    state = await ledger_state(deps, member.id)
    assert [status for _, _, status in state.holds] == ["expired", "active"]
    assert state.lots_sum == before
    assert (await jobs.run_holds(deps)).merchants == 0

    with pytest.raises(Unprocessable) as refused:
        await checkout.confirm(deps, term, confirm_request("A", member, lines, 10_000))
    assert refused.value.code == "hold_expired"


async def test_cli_runs_the_hold_job(
    deps: Deps, demo_tenant: Tenant, settings: Settings, clock: ManualClock
) -> None:
    """``loyalty jobs run holds`` closes the holds whose time ran out by the real clock."""
    clock.now = datetime(2020, 1, 1, 9, tzinfo=UTC)  # long before the real clock
    member = await create_customer(deps, demo_tenant.merchant_id)
    await give_lot(deps, demo_tenant.merchant_id, member.id, 10_000)
    lines = [("item", 20_000, 1)]
    await checkout.hold(deps, terminal(demo_tenant), hold_request("A", member, lines, 10_000))
    assert "holds" in main.JOBS
    report = await main.run_job(settings, "holds", None)
    assert report.details == {str(demo_tenant.merchant_id): {"expired": 1}}


def test_last_recompute_date_per_schedule() -> None:
    """The date a run as of a day catches up: that day when the schedule names it, else
    the latest earlier date it names (the 1st, the Monday); none for a non-rolling
    program."""
    rule = ROLLING["tier_rule"]
    monthly = Program.model_validate(ROLLING)
    weekly = Program.model_validate(
        {**ROLLING, "tier_rule": {**rule, "recompute": "weekly_before_monday"}}  # type: ignore[dict-item]
    )
    daily = Program.model_validate({**ROLLING, "tier_rule": {**rule, "recompute": "daily"}})  # type: ignore[dict-item]
    lifetime = Program.model_validate({**ROLLING, "tier_rule": {"basis": "lifetime"}})
    assert last_recompute_date(monthly, date(2026, 3, 1)) == date(2026, 3, 1)
    assert last_recompute_date(monthly, date(2026, 3, 31)) == date(2026, 3, 1)
    assert last_recompute_date(weekly, date(2026, 11, 29)) == date(2026, 11, 23)  # Sunday
    assert last_recompute_date(daily, date(2026, 11, 29)) == date(2026, 11, 29)
    assert last_recompute_date(lifetime, date(2026, 11, 29)) is None


async def test_a_long_job_says_how_far_along_it_is(
    deps: Deps, demo_tenant: Tenant, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each batch of customers the expiry job finishes is logged with its number, the
    number of batches and what it did so far: the CLI (and the scheduler's log) show a
    long run moving rather than silence."""
    merchant = demo_tenant.merchant_id
    members = [await create_customer(deps, merchant) for _ in range(3)]
    for member in members:
        await give_lot(deps, merchant, member.id, 5_000, expires_in=DAY)
    clock.advance(days=2)
    monkeypatch.setattr(jobs, "BATCH", 1)
    with structlog.testing.capture_logs() as logs:
        await jobs.run_expiry(deps)
    progress = [e for e in logs if e["event"] == "job.progress" and e["merchant"] == merchant]
    assert [(e["batch"], e["batches"]) for e in progress] == [(1, 3), (2, 3), (3, 3)]
    assert progress[-1]["expired"] == 3 * 5_000
