"""Scheduled jobs.

The nightly jobs (``expiry``, ``tiers``) run once per merchant and local date. A run is
recorded in ``job_runs`` (unique per merchant, job and date) only in the transaction
that commits its last batch of work: a run that fails or is killed halfway leaves no
record, so the next run does the date again (the work is idempotent: each batch re-reads
under the customers' locks what is still to do). Two workers racing on the same date may
both do the work; the second's record fails on the unique key, and its last batch rolls
back. A run as of a date also catches up a recomputation the schedule named on an
earlier date that nothing ran (the tier job due on the 1st, run on the 3rd).

Work is set-based SQL over a batch of a merchant's customers at a time, with those
customers locked first (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's single writer
transaction is the lock), so a purchase during a job is either seen by it or waits.

``holds`` closes holds whose time ran out (status ``expired``); it keeps no date and may
run as often as wanted: a second run finds nothing left to close.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from cloud.clock import to_epoch
from cloud.db.database import Transaction, is_unique_violation
from cloud.engine.tiers import last_recompute_date, rolling_window, tier_for_rolling_purchases
from cloud.ledger.lots import expire_lots_between
from cloud.services.deps import Deps
from cloud.services.merchants import zone
from cloud.services.tiers import ROLLING_SQL

# Customers per transaction: long enough to amortise a commit, short enough that a till
# waiting for one of them is not kept long.
BATCH = 500


@dataclass
class JobReport:
    job: str
    merchants: int = 0
    skipped: int = 0
    details: dict[str, Any] = field(default_factory=dict)


class _AlreadyRun(Exception):
    """Another run recorded this date first: roll back our last batch."""


async def already_run(deps: Deps, merchant_id: int, job: str, run_date: date) -> bool:
    value = await deps.db.fetch_value(
        "SELECT id FROM job_runs WHERE merchant_id = :m AND job = :j AND run_date = :d",
        {"m": merchant_id, "j": job, "d": run_date.isoformat()},
    )
    return value is not None


async def _record(
    tx: Transaction, merchant_id: int, job: str, run_date: date, started: int, now: int,
    result: dict[str, Any],
) -> None:  # fmt: skip
    try:
        await tx.insert(
            "INSERT INTO job_runs (merchant_id, job, run_date, status, result, created_at, "
            "finished_at) VALUES (:m, :j, :d, 'done', :r, :started, :now) RETURNING id",
            {"m": merchant_id, "j": job, "d": run_date.isoformat(), "started": started,
             "now": now, "r": json.dumps(result, ensure_ascii=False)},
        )  # fmt: skip
    except Exception as exc:
        if is_unique_violation(exc):
            raise _AlreadyRun() from exc
        raise


async def _lock_range(tx: Transaction, merchant_id: int, lo: int, hi: int) -> None:
    """Lock the merchant's customers ``lo``..``hi`` in id order (one order for every
    job, so two jobs never wait for each other in a cycle)."""
    if tx.dialect == "postgresql":
        await tx.fetch_all(
            "SELECT id FROM customers WHERE merchant_id = :m AND id BETWEEN :lo AND :hi "
            "ORDER BY id FOR UPDATE",
            {"m": merchant_id, "lo": lo, "hi": hi},
        )
    # SQLite: the transaction is the only writer already.


Step = Callable[[Transaction, int, int], Awaitable[dict[str, int]]]


async def _run_batches(
    deps: Deps,
    merchant_id: int,
    job: str,
    run_date: date,
    next_ids_sql: str,
    params: dict[str, Any],
    step: Step,
    result: dict[str, Any],
) -> dict[str, Any] | None:
    """Run ``step`` over the customers ``next_ids_sql`` pages through (``:after``,
    ``:n``), a batch per transaction, and record the date with the last batch. Returns
    the result recorded, or None when another run recorded the date first."""
    started = to_epoch(deps.clock())
    totals: Counter[str] = Counter()
    after = 0
    try:
        while True:
            async with deps.db.transaction() as tx:
                rows = await tx.fetch_all(next_ids_sql, {**params, "after": after, "n": BATCH})
                ids = [int(row["id"]) for row in rows]
                if ids:
                    await _lock_range(tx, merchant_id, ids[0], ids[-1])
                    totals.update(await step(tx, ids[0], ids[-1]))
                    after = ids[-1]
                if len(ids) < BATCH:
                    recorded = {**result, **totals}
                    now = to_epoch(deps.clock())
                    await _record(tx, merchant_id, job, run_date, started, now, recorded)
                    return recorded
    except _AlreadyRun:
        return None


async def merchants_with_programs(deps: Deps) -> list[tuple[int, int, str]]:
    rows = await deps.db.fetch_all(
        "SELECT id, active_program_version_id, timezone FROM merchants "
        "WHERE status = 'active' AND active_program_version_id IS NOT NULL ORDER BY id"
    )
    return [(int(r["id"]), int(r["active_program_version_id"]), str(r["timezone"])) for r in rows]


def local_date(deps: Deps, timezone: str) -> date:
    return deps.clock().astimezone(zone(timezone)).date()


# ---- expiry ---------------------------------------------------------------------------

_DUE_CUSTOMERS_SQL = (
    "SELECT DISTINCT customer_id AS id FROM bonus_lots WHERE merchant_id = :m AND remaining > 0 "
    "AND expires_at IS NOT NULL AND expires_at <= :now AND customer_id > :after "
    "ORDER BY customer_id LIMIT :n"
)


async def run_expiry(deps: Deps, run_date: date | None = None) -> JobReport:
    """Expire lapsed lots, a batch of customers at a time, as of now (a missed night is
    caught up by the next run: every lot lapsed by then expires)."""
    report = JobReport("expiry")
    now = to_epoch(deps.clock())
    for merchant_id, _, timezone in await merchants_with_programs(deps):
        day = run_date or local_date(deps, timezone)
        if await already_run(deps, merchant_id, "expiry", day):
            report.skipped += 1
            continue

        async def step(tx: Transaction, lo: int, hi: int, merchant_id: int = merchant_id) -> dict:
            customers, expired = await expire_lots_between(tx, merchant_id, lo, hi, now)
            return {"customers": customers, "expired": expired}

        result = await _run_batches(
            deps, merchant_id, "expiry", day, _DUE_CUSTOMERS_SQL, {"m": merchant_id, "now": now},
            step, {"customers": 0, "expired": 0},
        )  # fmt: skip
        if result is None:
            report.skipped += 1
            continue
        report.merchants += 1
        report.details[str(merchant_id)] = result
    return report


# ---- tiers ----------------------------------------------------------------------------

_CUSTOMERS_SQL = (
    "SELECT id FROM customers WHERE merchant_id = :m AND id > :after ORDER BY id LIMIT :n"
)


async def run_tiers(deps: Deps, run_date: date | None = None) -> JobReport:
    """Recompute tiers of programs whose tiers follow purchases over a rolling period,
    for the latest date their schedule names up to ``run_date`` (today by default) that
    has not run yet; upgrades and downgrades are recorded with the reason in
    ``tier_changes``. Sums are of what is left of each receipt after its refunds (see
    ``cloud.services.tiers``)."""
    report = JobReport("tiers")
    for merchant_id, version_id, timezone in await merchants_with_programs(deps):
        loaded = await deps.programs.get(version_id)
        day = last_recompute_date(loaded.compiled, run_date or local_date(deps, timezone))
        if day is None:
            continue
        if await already_run(deps, merchant_id, "tiers", day):
            report.skipped += 1
            continue
        first, last = rolling_window(loaded.compiled, day)
        window = f"{first.isoformat()}..{last.isoformat()}"

        async def step(
            tx: Transaction, lo: int, hi: int, merchant_id: int = merchant_id,
            loaded: Any = loaded, first: date = first, last: date = last, window: str = window,
        ) -> dict:  # fmt: skip
            rows = await tx.fetch_all(
                ROLLING_SQL,
                {"m": merchant_id, "lo": lo, "hi": hi, "first": first.isoformat(),
                 "last": last.isoformat()},
            )  # fmt: skip
            moves: Counter[str] = Counter()
            changes = []
            now = to_epoch(deps.clock())
            for row in rows:
                tier_code, reason = tier_for_rolling_purchases(
                    loaded.compiled, row["tier_code"], int(row["total"]),
                    largest_receipt=int(row["largest"]),
                )  # fmt: skip
                if tier_code is None or tier_code == row["tier_code"]:
                    continue
                moves[reason] += 1
                changes.append(
                    {"m": merchant_id, "c": row["id"], "f": row["tier_code"], "t": tier_code,
                     "r": f"{reason}:{window}", "now": now}
                )  # fmt: skip
            await tx.execute_many(
                "UPDATE customers SET tier_code = :t WHERE id = :c AND merchant_id = :m",
                [{"t": c["t"], "c": c["c"], "m": c["m"]} for c in changes],
            )
            await tx.execute_many(
                "INSERT INTO tier_changes (merchant_id, customer_id, from_tier, to_tier, "
                "reason, receipt_id, created_at) VALUES (:m, :c, :f, :t, :r, NULL, :now)",
                changes,
            )
            return {"customers": len(rows), **moves}

        result = await _run_batches(
            deps, merchant_id, "tiers", day, _CUSTOMERS_SQL, {"m": merchant_id}, step,
            {"window": [first.isoformat(), last.isoformat()], "customers": 0,
             "rolling_upgrade": 0, "rolling_downgrade": 0},
        )  # fmt: skip
        if result is None:
            report.skipped += 1
            continue
        report.merchants += 1
        report.details[str(merchant_id)] = {"date": day.isoformat(), **result}
    return report


# ---- holds ----------------------------------------------------------------------------


async def run_holds(deps: Deps, run_date: date | None = None) -> JobReport:
    """Close every hold whose time ran out (``expired``), so they stop weighing on the
    snapshot query. ``run_date`` is accepted for the CLI's sake and ignored: holds
    expire by the clock, and a second run closes nothing."""
    report = JobReport("holds")
    now = to_epoch(deps.clock())
    async with deps.db.transaction() as tx:
        rows = await tx.fetch_all(
            "SELECT merchant_id, COUNT(*) AS n FROM holds WHERE status = 'active' "
            "AND expires_at <= :now GROUP BY merchant_id ORDER BY merchant_id",
            {"now": now},
        )
        for row in rows:
            await tx.execute(
                "UPDATE holds SET status = 'expired' WHERE merchant_id = :m "
                "AND status = 'active' AND expires_at <= :now",
                {"m": row["merchant_id"], "now": now},
            )
            report.merchants += 1
            report.details[str(row["merchant_id"])] = {"expired": int(row["n"])}
    return report
