"""Scheduled jobs. Each runs per merchant and local date and is claimed first in
``job_runs`` (unique per merchant, job and date), so a second run the same day, from
this worker or another, does nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

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
