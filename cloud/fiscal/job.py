"""The ``fiscal_claims`` job: pending claims verified again when due; claims the
provider never confirmed within ``fiscal_pending_hours`` refused.

Giving up is one statement over every merchant's rows. Verifying is one provider call
per due claim (the provider answers about one document at a time), in batches of
``claims.JOB_BATCH`` oldest-due first; each claim takes its lease, so several
schedulers never verify the same claim at once. Run by the scheduler on every tick (as
the hold job) and by ``loyalty jobs run fiscal_claims``.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import date

from cloud.clock import to_epoch
from cloud.fiscal import claims
from cloud.services.deps import Deps
from cloud.services.jobs import JobReport

TIME_BUDGET_SECONDS = 45.0
"""One run stops taking claims after this (the rest wait for the next tick): with the
provider down, each claim costs its timeouts, and the scheduler's other jobs wait."""
GAVE_UP = "ФНС так и не подтвердила этот чек: бонусы за него не начислены"


async def run_fiscal_claims(
    deps: Deps, run_date: date | None = None, merchant_id: int | None = None
) -> JobReport:
    """``run_date`` is accepted for the CLI's sake and ignored (claims are due by the
    clock); ``merchant_id`` limits the run to one merchant."""
    report = JobReport("fiscal_claims")
    now = to_epoch(deps.clock())
    scope = "" if merchant_id is None else " AND merchant_id = :m"
    params = {
        "now": now,
        "m": merchant_id,
        "reason": GAVE_UP,
        "cutoff": now - deps.settings.fiscal_pending_hours * 3600,
    }
    async with deps.db.transaction() as tx:
        expired = await tx.fetch_all(
            "UPDATE fiscal_claims SET status = 'refused', reason = :reason, updated_at = :now "
            "WHERE status = 'pending' AND created_at <= :cutoff AND (lease_until IS NULL OR "
            f"lease_until <= :now){scope} RETURNING merchant_id",
            params,
        )
        due = await tx.fetch_all(
            "SELECT id, merchant_id FROM fiscal_claims WHERE status = 'pending' AND "
            "next_attempt_at <= :now AND (lease_until IS NULL OR lease_until <= :now)"
            f"{scope} ORDER BY next_attempt_at, id LIMIT {claims.JOB_BATCH}",
            params,
        )
    outcomes: dict[str, Counter[str]] = {}
    for row in expired:
        outcomes.setdefault(str(row["merchant_id"]), Counter())["gave_up"] += 1
    started = time.monotonic()
    for row in due:
        if time.monotonic() - started > TIME_BUDGET_SECONDS:
            break
        result = await claims.process(deps, int(row["id"]))
        outcomes.setdefault(str(row["merchant_id"]), Counter())[result.status] += 1
    report.merchants = len(outcomes)
    report.details = {merchant: dict(counts) for merchant, counts in outcomes.items()}
    return report
