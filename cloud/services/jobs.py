"""Scheduled jobs. Each runs per merchant and local date and is claimed first in
``job_runs`` (unique per merchant, job and date), so a second run the same day, from
this worker or another, does nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from cloud import engine
from cloud.clock import to_epoch
from cloud.db.database import is_unique_violation
from cloud.ledger.lots import expire_customer_lots
from cloud.services.deps import Deps
from cloud.services.merchants import zone


@dataclass
class JobReport:
    job: str
    merchants: int = 0
    skipped: int = 0
    details: dict[str, Any] = field(default_factory=dict)


async def claim(deps: Deps, merchant_id: int, job: str, run_date: date) -> int | None:
    """The run's id, or None when this job already ran (or runs) for that date."""
    try:
        async with deps.db.transaction() as tx:
            return await tx.insert(
                "INSERT INTO job_runs (merchant_id, job, run_date, status, result, created_at) "
                "VALUES (:m, :j, :d, 'running', '', :now) RETURNING id",
                {"m": merchant_id, "j": job, "d": run_date.isoformat(),
                 "now": to_epoch(deps.clock())},
            )  # fmt: skip
    except Exception as exc:
        if is_unique_violation(exc):
            return None
        raise


async def finish(deps: Deps, run_id: int, result: dict[str, Any]) -> None:
    async with deps.db.transaction() as tx:
        await tx.execute(
            "UPDATE job_runs SET status = 'done', result = :r, finished_at = :now WHERE id = :id",
            {"r": json.dumps(result, ensure_ascii=False), "now": to_epoch(deps.clock()),
             "id": run_id},
        )  # fmt: skip


async def merchants_with_programs(deps: Deps) -> list[tuple[int, int, str]]:
    rows = await deps.db.fetch_all(
        "SELECT id, active_program_version_id, timezone FROM merchants "
        "WHERE status = 'active' AND active_program_version_id IS NOT NULL ORDER BY id"
    )
    return [(int(r["id"]), int(r["active_program_version_id"]), str(r["timezone"])) for r in rows]


def local_date(deps: Deps, timezone: str) -> date:
    return deps.clock().astimezone(zone(timezone)).date()


async def run_expiry(deps: Deps, run_date: date | None = None) -> JobReport:
    """Expire lapsed lots, customer by customer, each under the customer's lock."""
    report = JobReport("expiry")
    now = to_epoch(deps.clock())
    for merchant_id, _, timezone in await merchants_with_programs(deps):
        run_id = await claim(deps, merchant_id, "expiry", run_date or local_date(deps, timezone))
        if run_id is None:
            report.skipped += 1
            continue
        due = await deps.db.fetch_all(
            "SELECT DISTINCT customer_id FROM bonus_lots WHERE merchant_id = :m "
            "AND remaining > 0 AND expires_at IS NOT NULL AND expires_at <= :now",
            {"m": merchant_id, "now": now},
        )
        expired = 0
        for row in due:
            async with deps.db.transaction() as tx:
                await tx.lock_customer(merchant_id, row["customer_id"])
                expired += await expire_customer_lots(tx, merchant_id, row["customer_id"], now)
        await finish(deps, run_id, {"customers": len(due), "expired": expired})
        report.merchants += 1
        report.details[str(merchant_id)] = {"customers": len(due), "expired": expired}
    return report


ROLLING_PURCHASES_SQL = (
    "SELECT c.id, c.tier_code, COALESCE(p.total, 0) AS total, COALESCE(p.largest, 0) AS largest "
    "FROM customers c LEFT JOIN ("
    "  SELECT r.customer_id, "
    "  SUM(CASE WHEN r.kind = 'sale' THEN r.amount ELSE -r.amount END) AS total, "
    "  MAX(CASE WHEN r.kind = 'sale' THEN r.amount ELSE 0 END) AS largest "
    "  FROM receipts r LEFT JOIN receipts o ON o.id = r.original_receipt_id "
    "  WHERE r.merchant_id = :m AND r.customer_id IS NOT NULL "
    # A return counts against the day of the sale it returns, not the day it happened.
    "  AND COALESCE(o.local_date, r.local_date) BETWEEN :first AND :last "
    "  GROUP BY r.customer_id"
    ") p ON p.customer_id = c.id "
    "WHERE c.merchant_id = :m ORDER BY c.id"
)


async def run_tiers(deps: Deps, run_date: date | None = None) -> JobReport:
    """Recompute tiers of programs whose tiers follow purchases over a rolling period,
    on the dates their schedule names; upgrades and downgrades are recorded with the
    reason in ``tier_changes``."""
    report = JobReport("tiers")
    for merchant_id, version_id, timezone in await merchants_with_programs(deps):
        loaded = await deps.programs.get(version_id)
        day = run_date or local_date(deps, timezone)
        if loaded.program.tier_rule.basis != "rolling" or not engine.tier_recompute_due(
            loaded.compiled, day
        ):
            continue
        run_id = await claim(deps, merchant_id, "tiers", day)
        if run_id is None:
            report.skipped += 1
            continue
        first, last = engine.rolling_window(loaded.compiled, day)
        rows = await deps.db.fetch_all(
            ROLLING_PURCHASES_SQL,
            {"m": merchant_id, "first": first.isoformat(), "last": last.isoformat()},
        )
        moves = {"rolling_upgrade": 0, "rolling_downgrade": 0}
        now = to_epoch(deps.clock())
        for row in rows:
            tier_code, reason = engine.tier_for_rolling_purchases(
                loaded.compiled, row["tier_code"], int(row["total"]),
                largest_receipt=int(row["largest"]),
            )  # fmt: skip
            if tier_code is None or tier_code == row["tier_code"]:
                continue
            async with deps.db.transaction() as tx:
                await tx.lock_customer(merchant_id, row["id"])
                await tx.execute(
                    "UPDATE customers SET tier_code = :t WHERE id = :c AND merchant_id = :m",
                    {"t": tier_code, "c": row["id"], "m": merchant_id},
                )
                await tx.execute(
                    "INSERT INTO tier_changes (merchant_id, customer_id, from_tier, to_tier, "
                    "reason, receipt_id, created_at) VALUES (:m, :c, :f, :t, :r, NULL, :now)",
                    {"m": merchant_id, "c": row["id"], "f": row["tier_code"], "t": tier_code,
                     "r": f"{reason}:{first.isoformat()}..{last.isoformat()}", "now": now},
                )  # fmt: skip
            moves[reason] = moves.get(reason, 0) + 1
        result = {"window": [first.isoformat(), last.isoformat()], "customers": len(rows), **moves}
        await finish(deps, run_id, result)
        report.merchants += 1
        report.details[str(merchant_id)] = result
    return report
