"""Scheduled jobs.

Every job runs once per merchant and local date. A run is recorded in ``job_runs``
(unique per merchant, job and date) only in the transaction that commits its last batch
of work: a run that fails or is killed halfway leaves no record, so the next run does the
date again (the work is idempotent: each batch re-reads under the customers' locks what
is still to do). A run as of a date also catches up a recomputation the schedule named on
an earlier date that nothing ran (the tier job due on the 1st, run on the 3rd).

Several workers: on PostgreSQL a worker claims a merchant's job by locking its
``job_locks`` row ``FOR UPDATE SKIP LOCKED`` for the length of the run, so another
worker skips that merchant rather than doing the work twice or waiting (a killed worker's
lock dies with its connection). Should two runs still meet (SQLite has one writer, but
two processes may share a file), the unique key of ``job_runs`` rolls back the later
one's last batch, and the lifecycle jobs' own unique keys (``job_events``,
``reanimations``) make a repeated grant impossible.

Work is set-based SQL over a batch of a merchant's customers at a time, with those
customers locked first (``SELECT ... FOR UPDATE`` on PostgreSQL, in id order, only those
the batch has work for; SQLite's single writer transaction is the lock), so a purchase
during a job is either seen by it or waits. The
batches are cut once per run from one ordered scan (``_batches``), never by re-reading
what is left before every batch.

``holds`` closes holds whose time ran out (status ``expired``); it keeps no date and may
run as often as wanted: a second run finds nothing left to close.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import structlog

from cloud.clock import to_epoch
from cloud.db.database import Transaction, is_unique_violation
from cloud.engine.tiers import last_recompute_date, rolling_window
from cloud.ledger.lots import LAPSED_SQL, expire_lots_between
from cloud.services.deps import Deps
from cloud.services.merchants import zone
from cloud.services.tiers import ROLLING_SQL

log = structlog.get_logger(__name__)

# Customers per transaction: long enough to amortise a commit and a statement's
# planning, short enough that a till waiting for one of them is not kept long (a batch
# of 5 000 takes 0.1-0.5 s on the loaded benchmark machine, bench/RESULTS.md).
BATCH = 5000


@dataclass
class JobReport:
    job: str
    merchants: int = 0
    skipped: int = 0
    details: dict[str, Any] = field(default_factory=dict)


class AlreadyRun(Exception):
    """Another run recorded this date first: roll back our last batch."""


async def already_run(deps: Deps, merchant_id: int, job: str, run_date: date) -> bool:
    value = await deps.db.fetch_value(
        "SELECT id FROM job_runs WHERE merchant_id = :m AND job = :j AND run_date = :d",
        {"m": merchant_id, "j": job, "d": run_date.isoformat()},
    )
    return value is not None


async def record_run(
    tx: Transaction, merchant_id: int, job: str, run_date: date, started: int, now: int,
    result: dict[str, Any],
) -> None:  # fmt: skip
    """Record the date in the transaction of its last work; raises ``AlreadyRun`` when
    another run recorded it first (the caller's transaction then rolls back)."""
    try:
        await tx.insert(
            "INSERT INTO job_runs (merchant_id, job, run_date, status, result, created_at, "
            "finished_at) VALUES (:m, :j, :d, 'done', :r, :started, :now) RETURNING id",
            {"m": merchant_id, "j": job, "d": run_date.isoformat(), "started": started,
             "now": now, "r": json.dumps(result, ensure_ascii=False)},
        )  # fmt: skip
    except Exception as exc:
        if is_unique_violation(exc):
            raise AlreadyRun() from exc
        raise


@asynccontextmanager
async def claim(deps: Deps, merchant_id: int, job: str) -> AsyncIterator[bool]:
    """Claim ``job`` for ``merchant_id`` for the length of the block; yields False when
    another worker holds it (PostgreSQL). SQLite's writer is one process: always True."""
    if deps.db.dialect != "postgresql":
        yield True
        return
    await deps.db.execute(
        "INSERT INTO job_locks (merchant_id, job) VALUES (:m, :j) "
        "ON CONFLICT (merchant_id, job) DO NOTHING",
        {"m": merchant_id, "j": job},
    )
    async with deps.db.transaction() as tx:
        held = await tx.fetch_value(
            "SELECT id FROM job_locks WHERE merchant_id = :m AND job = :j FOR UPDATE SKIP LOCKED",
            {"m": merchant_id, "j": job},
        )
        yield held is not None


def with_bounds(sql: str, lo: int, hi: int) -> str:
    """``sql`` with a batch's ``:lo`` and ``:hi`` written in as numbers. asyncpg prepares
    each statement once per connection, and after five runs PostgreSQL may switch to a
    generic plan that ignores the values: for a tier batch's ``BETWEEN :lo AND :hi``
    that plan was 20-30x slower (17 ms a batch, then 400-550 ms from the sixth batch on,
    bench/RESULTS.md). With the bounds in the text every batch is planned for its own
    range. (``SET plan_cache_mode = force_custom_plan`` would do it too, but it also
    replans the foreign-key triggers' query for every row a job inserts.)"""
    return re.sub(r":hi\b", str(int(hi)), re.sub(r":lo\b", str(int(lo)), sql))


async def _lock_range(tx: Transaction, merchant_id: int, lo: int, hi: int) -> None:
    """Lock the merchant's customers ``lo``..``hi`` in id order (one order for every
    job, so two jobs never wait for each other in a cycle)."""
    if tx.dialect == "postgresql":
        await tx.execute(
            with_bounds(
                "SELECT id FROM customers WHERE +merchant_id = :m AND id BETWEEN :lo AND :hi "
                "ORDER BY id FOR UPDATE",
                lo, hi,
            ),
            {"m": merchant_id},
        )  # fmt: skip
    # SQLite: the transaction is the only writer already.


Lock = Callable[[Transaction, int, int, int], Awaitable[None]]


async def _batches(deps: Deps, ids_sql: str, params: dict[str, Any]) -> list[tuple[int, int]]:
    """Cut the ordered customer ids ``ids_sql`` selects (column ``id``) into ranges of
    ``BATCH`` ids, in one scan: only every BATCH-th id comes back to Python."""
    rows = await deps.db.fetch_all(
        "SELECT id, rn, total FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS rn, "
        f"COUNT(*) OVER () AS total FROM ({ids_sql}) ids) numbered "
        "WHERE (rn - 1) % :batch = 0 OR rn = total ORDER BY id",
        {**params, "batch": BATCH},
    )
    ranges: list[tuple[int, int]] = []
    starts = [int(r["id"]) for r in rows if (int(r["rn"]) - 1) % BATCH == 0]
    last = int(rows[-1]["id"]) if rows else 0
    for i, lo in enumerate(starts):
        hi = starts[i + 1] - 1 if i + 1 < len(starts) else last
        ranges.append((lo, hi))
    return ranges


Step = Callable[[Transaction, int, int], Awaitable[dict[str, int]]]


async def _run_batches(
    deps: Deps,
    merchant_id: int,
    job: str,
    run_date: date,
    ranges: list[tuple[int, int]],
    step: Step,
    result: dict[str, Any],
    lock: Lock | None = None,
) -> dict[str, Any] | None:
    """Run ``step`` over each customer range, a range per transaction, and record the
    date with the last one. Returns the result recorded, or None when another run
    recorded the date first."""
    started = to_epoch(deps.clock())
    totals: Counter[str] = Counter()
    try:
        for i in range(max(len(ranges), 1)):
            async with deps.db.transaction() as tx:
                if ranges:
                    lo, hi = ranges[i]
                    await (lock or _lock_range)(tx, merchant_id, lo, hi)
                    totals.update(await step(tx, lo, hi))
                    # A merchant with a million customers takes minutes: say how far along.
                    log.info(
                        "job.progress", job=job, merchant=merchant_id, batch=i + 1,
                        batches=len(ranges), **totals,
                    )  # fmt: skip
                if i + 1 >= len(ranges):
                    recorded = {**result, **totals}
                    now = to_epoch(deps.clock())
                    await record_run(tx, merchant_id, job, run_date, started, now, recorded)
                    return recorded
    except AlreadyRun:
        return None
    return None


async def merchants_with_programs(
    deps: Deps, merchant_id: int | None = None
) -> list[tuple[int, int, str]]:
    rows = await deps.db.fetch_all(
        "SELECT id, active_program_version_id, timezone FROM merchants "
        "WHERE status = 'active' AND active_program_version_id IS NOT NULL "
        "AND (CAST(:only AS BIGINT) IS NULL OR id = :only) ORDER BY id",
        {"only": merchant_id},
    )
    return [(int(r["id"]), int(r["active_program_version_id"]), str(r["timezone"])) for r in rows]


def local_date(deps: Deps, timezone: str) -> date:
    return deps.clock().astimezone(zone(timezone)).date()


# ---- expiry ---------------------------------------------------------------------------


def _lock_due(now: int) -> Lock:
    """Lock, in id order, only the customers of ``lo``..``hi`` who have a lot lapsed by
    ``now``: a range cut from the due customers may span many who have nothing to
    expire, and a till serving one of those need not wait for the job."""

    async def lock(tx: Transaction, merchant_id: int, lo: int, hi: int) -> None:
        if tx.dialect == "postgresql":
            await tx.execute(
                with_bounds(
                    "SELECT id FROM customers WHERE +merchant_id = :m AND id BETWEEN :lo AND :hi "
                    "AND id IN (SELECT customer_id FROM bonus_lots WHERE "
                    f"{LAPSED_SQL}) ORDER BY id FOR UPDATE",
                    lo, hi,
                ),
                {"m": merchant_id, "now": now},
            )  # fmt: skip

    return lock


_DUE_CUSTOMERS_SQL = (
    "SELECT DISTINCT customer_id AS id FROM bonus_lots WHERE merchant_id = :m "
    "AND remaining > 0 AND expires_at IS NOT NULL AND expires_at <= :now"
)


async def run_expiry(
    deps: Deps, run_date: date | None = None, merchant_id: int | None = None
) -> JobReport:
    """Expire lapsed lots, a batch of customers at a time, as of now (a missed night is
    caught up by the next run: every lot lapsed by then expires)."""
    report = JobReport("expiry")
    now = to_epoch(deps.clock())
    for merchant, _, timezone in await merchants_with_programs(deps, merchant_id):
        day = run_date or local_date(deps, timezone)
        if await already_run(deps, merchant, "expiry", day):
            report.skipped += 1
            continue
        async with claim(deps, merchant, "expiry") as mine:
            if not mine:
                report.skipped += 1
                continue

            async def step(tx: Transaction, lo: int, hi: int, merchant: int = merchant) -> dict:
                customers, expired = await expire_lots_between(tx, merchant, lo, hi, now)
                return {"customers": customers, "expired": expired}

            ranges = await _batches(deps, _DUE_CUSTOMERS_SQL, {"m": merchant, "now": now})
            result = await _run_batches(
                deps,
                merchant,
                "expiry",
                day,
                ranges,
                step,
                {"customers": 0, "expired": 0},
                _lock_due(now),
            )
        if result is None:
            report.skipped += 1
            continue
        report.merchants += 1
        report.details[str(merchant)] = result
    return report


# ---- tiers ----------------------------------------------------------------------------

_CUSTOMERS_SQL = "SELECT id FROM customers WHERE merchant_id = :m"


async def run_tiers(
    deps: Deps, run_date: date | None = None, merchant_id: int | None = None
) -> JobReport:
    """Recompute tiers of programs whose tiers follow purchases over a rolling period,
    for the latest date their schedule names up to ``run_date`` (today by default) that
    has not run yet; upgrades and downgrades are recorded with the reason in
    ``tier_changes``. Sums are of what is left of each receipt after its refunds (see
    ``cloud.services.tiers``)."""
    report = JobReport("tiers")
    for merchant, version_id, timezone in await merchants_with_programs(deps, merchant_id):
        loaded = await deps.programs.get(version_id)
        day = last_recompute_date(loaded.compiled, run_date or local_date(deps, timezone))
        if day is None:
            continue
        if await already_run(deps, merchant, "tiers", day):
            report.skipped += 1
            continue
        first, last = rolling_window(loaded.compiled, day)
        window = f"{first.isoformat()}..{last.isoformat()}"

        async def step(
            tx: Transaction, lo: int, hi: int, merchant: int = merchant,
            loaded: Any = loaded, first: date = first, last: date = last, window: str = window,
        ) -> dict:  # fmt: skip
            return await recompute_tiers_between(
                tx, merchant, lo, hi, loaded.compiled, first, last, window,
                to_epoch(deps.clock()),
            )  # fmt: skip

        async with claim(deps, merchant, "tiers") as mine:
            if not mine:
                report.skipped += 1
                continue
            ranges = await _batches(deps, _CUSTOMERS_SQL, {"m": merchant})
            result = await _run_batches(
                deps, merchant, "tiers", day, ranges, step,
                {"window": [first.isoformat(), last.isoformat()], "customers": 0,
                 "rolling_upgrade": 0, "rolling_downgrade": 0},
            )  # fmt: skip
        if result is None:
            report.skipped += 1
            continue
        report.merchants += 1
        report.details[str(merchant)] = {"date": day.isoformat(), **result}
    return report


def _tier_sql(compiled: Any, params: dict[str, Any]) -> tuple[str, str, str]:
    """SQL of ``tier_for_rolling_purchases`` over ``r`` (``tier_code``, ``total``,
    ``largest``): the new tier's code and rank (the highest tier whose threshold the
    window's sum is over or whose single-receipt bound the largest receipt reaches, else
    the entry tier), and the current tier's rank (-1 when none or unknown)."""
    best_code, best_rank, current = ["CASE"], ["CASE"], ["CASE r.tier_code"]
    for tier in compiled.tiers:
        params[f"tier{tier.rank}"] = tier.code
        current.append(f" WHEN :tier{tier.rank} THEN {tier.rank}")
    for tier in reversed(compiled.tiers[1:]):
        tests = []
        if tier.threshold is not None:
            tests.append(f"r.total > {int(tier.threshold)}")
        if tier.single_receipt is not None:
            tests.append(f"r.largest >= {int(tier.single_receipt)}")
        if tests:
            best_code.append(f" WHEN {' OR '.join(tests)} THEN :tier{tier.rank}")
            best_rank.append(f" WHEN {' OR '.join(tests)} THEN {tier.rank}")
    entry = compiled.tiers[0]
    best_code.append(f" ELSE :tier{entry.rank} END")
    best_rank.append(f" ELSE {entry.rank} END")
    current.append(" ELSE -1 END")
    return "".join(best_code), "".join(best_rank), "".join(current)


_BATCH_MOVES = (
    "t.id > :before AND +t.merchant_id = :m AND +t.customer_id BETWEEN :lo AND :hi "
    "AND t.receipt_id IS NULL AND t.reason LIKE 'rolling%'"
)
SQLITE_TIERS_WRITE_SQL = (
    "UPDATE customers SET tier_code = (SELECT t.to_tier FROM tier_changes t "
    "WHERE t.id > :before AND t.customer_id = customers.id AND t.receipt_id IS NULL "
    "AND t.reason LIKE 'rolling%') "
    f"WHERE id IN (SELECT t.customer_id FROM tier_changes t WHERE {_BATCH_MOVES})"
)
"""SQLite: apply the moves the batch recorded (the customers are locked since before
the sums were read, so no till's tier change can fall between reading and writing). The
batch's rows of ``tier_changes`` are those after ``:before`` (one per customer moved),
read by the primary key; each customer's by its index. (``UPDATE ... FROM`` is planned
with the customers outside, a scan of every customer per batch; ``+`` keeps SQLite off
the merchant's index, which would walk every move the merchant ever had.)"""

_COUNTS_SQL = (
    "SELECT (SELECT COUNT(*) FROM customers WHERE +merchant_id = :m "
    "AND id BETWEEN :lo AND :hi) AS customers, "
    "(SELECT COUNT(*) FROM {moves} WHERE reason LIKE 'rolling_upgrade:%') AS up, "
    "(SELECT COUNT(*) FROM {moves} WHERE reason LIKE 'rolling_downgrade:%') AS down"
)


async def recompute_tiers_between(
    tx: Transaction, merchant_id: int, lo: int, hi: int, compiled: Any, first: date,
    last: date, window: str, now: int,
) -> dict[str, int]:  # fmt: skip
    """The rolling recomputation for the locked customers ``lo``..``hi``: each move is
    recorded in ``tier_changes`` (reason and window) straight from the sums, then the
    customers take their recorded tier."""
    params: dict[str, Any] = {
        "m": merchant_id, "lo": lo, "hi": hi, "first": first.isoformat(),
        "last": last.isoformat(), "now": now, "window": window,
    }  # fmt: skip
    code, rank, current = _tier_sql(compiled, params)
    # A customer without a tier and without purchases in the window keeps none.
    moves = (
        f"SELECT r.id, r.tier_code, {code} AS to_tier, {rank} AS new_rank, "
        f"{current} AS old_rank FROM ({ROLLING_SQL}) r "
        "WHERE r.tier_code IS NOT NULL OR r.total > 0 OR r.largest > 0"
    )
    record = (
        "INSERT INTO tier_changes (merchant_id, customer_id, from_tier, to_tier, reason, "
        "receipt_id, created_at) SELECT :m, x.id, x.tier_code, x.to_tier, CASE WHEN "
        "x.new_rank > x.old_rank THEN 'rolling_upgrade:' ELSE 'rolling_downgrade:' END "
        f"|| CAST(:window AS TEXT), NULL, CAST(:now AS BIGINT) FROM ({moves}) x "
        "WHERE x.new_rank <> x.old_rank"
    )
    if tx.dialect == "postgresql":
        # One statement: the customers take the tiers of the rows just recorded (from
        # the ``RETURNING``, not by finding them again), and the counts come from them.
        row = await tx.fetch_one(
            with_bounds(
                f"WITH moved AS ({record} RETURNING customer_id, to_tier, reason), "
                "applied AS (UPDATE customers SET tier_code = moved.to_tier FROM moved "
                "WHERE customers.id = moved.customer_id RETURNING customers.id) "
                + _COUNTS_SQL.format(moves="moved")
                + ", (SELECT COUNT(*) FROM applied) AS applied",
                lo, hi,
            ),
            params,
        )  # fmt: skip
    else:
        # The moves of this batch are the rows after the last one before it (the
        # batch's customers are locked: no other writer adds rolling moves for them).
        before = await tx.fetch_value("SELECT COALESCE(MAX(id), 0) FROM tier_changes")
        params["before"] = int(before)
        await tx.execute(with_bounds(record, lo, hi), params)
        await tx.execute(with_bounds(SQLITE_TIERS_WRITE_SQL, lo, hi), params)
        batch = f"(SELECT reason FROM tier_changes t WHERE {_BATCH_MOVES})"
        row = await tx.fetch_one(_COUNTS_SQL.format(moves=batch), params)
    assert row is not None
    result = {"customers": int(row["customers"])}
    for reason, key in (("rolling_upgrade", "up"), ("rolling_downgrade", "down")):
        if row[key]:
            result[reason] = int(row[key])
    return result


# ---- holds ----------------------------------------------------------------------------


async def run_holds(
    deps: Deps, run_date: date | None = None, merchant_id: int | None = None
) -> JobReport:
    """Close every hold whose time ran out (``expired``), so they stop weighing on the
    snapshot query. ``run_date`` and ``merchant_id`` are accepted for the CLI's and the
    scheduler's sake and ignored: holds expire by the clock, and a second run closes
    nothing."""
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
        # Gift certificate holds lapse the same way (they weigh on the certificate).
        await tx.execute(
            "UPDATE gift_certificate_holds SET status = 'expired' WHERE status = 'active' "
            "AND expires_at <= :now",
            {"now": now},
        )
    return report
