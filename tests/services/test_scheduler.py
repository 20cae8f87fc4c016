"""The scheduler runs every job at each merchant's local time, catches up missed dates
of the jobs whose work belongs to a date, and runs inside ``loyalty serve``."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time

from aiohttp.test_utils import TestClient, TestServer

from cloud import main
from cloud.clock import ManualClock
from cloud.services import scheduler
from cloud.services.deps import Deps
from cloud.settings import Settings
from tests.conftest import make_tenant
from tests.services.test_lifecycle_jobs import PROGRAM, _register


def _ran(runs: list[tuple[int, str, str]], merchant: int) -> list[tuple[str, str]]:
    return [(job, day) for m, job, day in runs if m == merchant]


async def test_jobs_run_at_each_merchants_local_time(deps: Deps, clock: ManualClock) -> None:
    """At 06:00 UTC it is 09:00 in Moscow and 13:00 in Novosibirsk: the Moscow merchant
    gets its night jobs but not yet the birthday job (10:00 local), the Novosibirsk one
    gets all of the morning's; an hour later Moscow's birthday job runs; a further tick
    runs nothing new."""
    clock.now = datetime(2026, 3, 7, 6, tzinfo=UTC)
    msk = await make_tenant(deps, "Москва", PROGRAM)
    nsk = await make_tenant(deps, "Новосибирск", PROGRAM, timezone="Asia/Novosibirsk")
    await _register(deps, msk, "+79160000701", date(1990, 3, 10))

    runs = await scheduler.tick(deps)
    assert _ran(runs, msk.merchant_id) == [
        ("expiry", "2026-03-07"), ("gift_certificates", "2026-03-07"),
    ]  # fmt: skip
    assert _ran(runs, nsk.merchant_id) == [
        ("expiry", "2026-03-07"), ("gift_certificates", "2026-03-07"),
        ("birthday", "2026-03-07"),
        ("activation_notices", "2026-03-07"), ("expiry_warnings", "2026-03-07"),
        ("reanimation", "2026-03-07"), ("follow_up_reminders", "2026-03-07"),
        ("tier_notices", "2026-03-07"),
    ]  # fmt: skip

    clock.now = datetime(2026, 3, 7, 7, 1, tzinfo=UTC)
    runs = await scheduler.tick(deps)
    assert _ran(runs, msk.merchant_id) == [("birthday", "2026-03-07")]
    lots = await deps.db.fetch_value("SELECT COUNT(*) FROM bonus_lots WHERE kind = 'birthday'")
    assert lots == 1
    assert await scheduler.tick(deps) == []


async def test_missed_dates_are_caught_up(deps: Deps, clock: ManualClock) -> None:
    """The scheduler was down from the 7th to the 10th: on the 10th at noon the birthday
    job runs for the 8th, 9th and 10th (each a date's birthdays), expiry only once as of
    now."""
    clock.now = datetime(2026, 3, 7, 9, tzinfo=UTC)
    tenant = await make_tenant(deps, "Салон", PROGRAM)
    await scheduler.tick(deps)
    born_on_the_12th = await _register(deps, tenant, "+79160000801", date(1990, 3, 12))

    clock.now = datetime(2026, 3, 10, 9, tzinfo=UTC)
    runs = _ran(await scheduler.tick(deps), tenant.merchant_id)
    assert [day for job, day in runs if job == "birthday"] == [
        "2026-03-08", "2026-03-09", "2026-03-10"
    ]  # fmt: skip
    assert [day for job, day in runs if job == "expiry"] == ["2026-03-10"]
    gifts = await deps.db.fetch_value(
        "SELECT COUNT(*) FROM bonus_lots WHERE customer_id = :c", {"c": born_on_the_12th}
    )
    assert gifts == 1  # granted on the 9th's run, three days before


def test_due_dates_window() -> None:
    """A job never run starts today, at its time; before the job's time yesterday is the
    newest date; catch-up goes back at most CATCH_UP_DAYS."""
    birthday = next(job for job in scheduler.SCHEDULE if job.name == "birthday")
    today = date(2026, 3, 20)
    assert scheduler.due_dates(birthday, today, time(9), None) == []
    assert scheduler.due_dates(birthday, today, time(9), date(2026, 3, 18)) == [date(2026, 3, 19)]
    assert scheduler.due_dates(birthday, today, time(11), date(2026, 3, 20)) == []
    assert len(scheduler.due_dates(birthday, today, time(11), date(2026, 1, 1))) == 7


async def test_serve_runs_the_scheduler_unless_turned_off(
    deps: Deps, settings: Settings, clock: ManualClock
) -> None:
    """``loyalty serve``'s application ticks the scheduler in the background (the
    expiry job's date appears); with ``scheduler_in_serve`` off it does not."""
    clock.now = datetime(2026, 3, 7, 9, tzinfo=UTC)
    await make_tenant(deps, "Салон", PROGRAM)
    off = settings.model_copy(update={"scheduler_in_serve": False})
    async with TestClient(TestServer(main.build_app(off, deps=deps))):
        await asyncio.sleep(0.3)
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM job_runs") == 0

    on = settings.model_copy(update={"scheduler_interval_seconds": 1.0})
    async with TestClient(TestServer(main.build_app(on, deps=deps))):
        for _ in range(50):
            if await deps.db.fetch_value("SELECT COUNT(*) FROM job_runs WHERE job = 'expiry'"):
                break
            await asyncio.sleep(0.1)
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM job_runs WHERE job = 'expiry'") == 1


async def test_scheduler_command_ticks(settings: Settings, deps: Deps) -> None:
    """``loyalty scheduler`` (here two ticks) migrates and runs the due jobs by the
    real clock without failing."""
    assert main.main is not None
    await main.run_scheduler(settings, ticks=2)
