"""The scheduler: every job at each merchant's local time, missed dates caught up.

A tick looks at every merchant with a live program in its own time zone; each dated job
whose local time of day has come runs for the dates it has not done: today, and for a
job whose work belongs to its date (a birthday of that day, bonuses lapsing a given
number of days later) every missed date since its last recorded one, at most
``CATCH_UP_DAYS`` back. A job that works "as of now" (expiry, reanimation, tiers, which
find the schedule's last date themselves) needs only today. The hold job runs every
tick. Whether a date is done is the job's own record (``job_runs``), so the scheduler
keeps no state: several schedulers (``loyalty serve`` and ``loyalty scheduler`` on other
machines) may tick at once, each job claiming its merchant (``jobs.claim``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, time, timedelta

import structlog

from cloud.fiscal.job import run_fiscal_claims
from cloud.observability.metrics import timed_job
from cloud.services import feedback, gift_certificate_jobs, jobs, lifecycle, notices, tier_notices
from cloud.services.analytics import rollup
from cloud.services.deps import Deps
from cloud.services.merchants import zone

log = structlog.get_logger("loyalty.scheduler")

JobFn = Callable[[Deps, date | None, int | None], Awaitable[jobs.JobReport]]

CATCH_UP_DAYS = 7
TICK_SECONDS = 60.0


@dataclass(frozen=True)
class Scheduled:
    name: str
    run: JobFn
    at: time
    """Local time of day the job becomes due (messages in the daytime)."""
    per_date: bool
    """The work belongs to the date: every missed date is run, not only today."""


SCHEDULE: tuple[Scheduled, ...] = (
    Scheduled("expiry", jobs.run_expiry, time(0, 5), per_date=False),
    # Certificates valid through a day lapse at its local midnight: close them just after.
    Scheduled("gift_certificates", gift_certificate_jobs.run_expiry, time(0, 10), False),
    Scheduled("tiers", jobs.run_tiers, time(0, 20), per_date=False),
    Scheduled("birthday", lifecycle.run_birthday, time(10, 0), per_date=True),
    Scheduled("activation_notices", notices.run_activation_notices, time(10, 30), True),
    Scheduled("expiry_warnings", notices.run_expiry_warnings, time(11, 0), per_date=True),
    Scheduled("reanimation", lifecycle.run_reanimation, time(12, 0), per_date=False),
    Scheduled("follow_up_reminders", notices.run_follow_up_reminders, time(12, 30), True),
    Scheduled("tier_notices", tier_notices.run_tier_notices, time(11, 30), per_date=False),
    # In the evening, after most of the day's purchases; "now" decides which are due.
    Scheduled("feedback_requests", feedback.run_feedback_requests, time(18, 0), False),
    # At night, when the tills are quiet: the watermark read waits for inserts in flight.
    Scheduled(rollup.JOB, rollup.run_analytics, time(3, 30), per_date=False),
)


JOBS: dict[str, JobFn] = {
    "holds": jobs.run_holds,
    "fiscal_claims": run_fiscal_claims,
    **{job.name: job.run for job in SCHEDULE},
}
"""Every job ``loyalty jobs run`` can start, by name: the schedule's, the hold job and
the fiscal QR claims' retries (these two run on every tick)."""


def due_dates(job: Scheduled, today: date, local_time: time, last_done: date | None) -> list[date]:
    """The dates ``job`` should run for now, oldest first."""
    if last_done is None:
        # Never run: start today rather than grant a week of the past.
        return [today] if local_time >= job.at else []
    newest = today if local_time >= job.at else today - timedelta(days=1)
    if last_done >= newest:
        return []
    if not job.per_date:
        return [newest]
    first = max(last_done + timedelta(days=1), newest - timedelta(days=CATCH_UP_DAYS - 1))
    return [first + timedelta(days=i) for i in range((newest - first).days + 1)]


async def tick(deps: Deps) -> list[tuple[int, str, str]]:
    """Run what is due now; returns ``(merchant, job, date)`` of every run that did work
    (a date found done by another scheduler is not listed)."""
    done: list[tuple[int, str, str]] = []
    with timed_job("holds", deps.clock):
        await jobs.run_holds(deps)
    try:
        with timed_job("fiscal_claims", deps.clock):
            await run_fiscal_claims(deps)
    except Exception:
        # A provider or a claim in trouble must not hold up the dated jobs.
        log.exception("job_failed", job="fiscal_claims")
    for merchant, _, timezone in await jobs.merchants_with_programs(deps):
        local = deps.clock().astimezone(zone(timezone))
        rows = await deps.db.fetch_all(
            "SELECT job, MAX(run_date) AS last FROM job_runs WHERE merchant_id = :m GROUP BY job",
            {"m": merchant},
        )
        last = {str(r["job"]): date.fromisoformat(str(r["last"])) for r in rows}
        for job in SCHEDULE:
            for day in due_dates(job, local.date(), local.time(), last.get(job.name)):
                try:
                    with timed_job(job.name, deps.clock):
                        report = await job.run(deps, day, merchant)
                except Exception:
                    # One merchant's failure must not stop the others; the date stays
                    # unrecorded, so the next tick tries it again.
                    log.exception(
                        "job_failed", job=job.name, merchant=merchant, date=day.isoformat()
                    )
                    break
                if report.merchants:
                    done.append((merchant, job.name, day.isoformat()))
    return done


async def run_forever(deps: Deps, interval: float = TICK_SECONDS) -> None:
    """Tick every ``interval`` seconds until cancelled."""
    while True:
        try:
            ran = await tick(deps)
            if ran:
                log.info("scheduler_ran", runs=ran)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("scheduler_tick_failed")
        await asyncio.sleep(interval)
