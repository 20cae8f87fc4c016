"""Tier change notices: a daily job that tells customers their new tier.

Where a program has ``tier_change_sms``, the job queues one ``tier_changed`` message
(params ``{"tier": <the tier's name>}``) per customer whose tier went *up* since the
last run: the customer's latest change in ``tier_changes`` (written at confirm, at a
refund and by the tier job) is upward in the program's tier order and is still the
customer's tier. A fall (a refund, a rolling recomputation) is not announced: telling a
customer they lost a status is not a message merchants asked for. Only customers who
consented to messages are queued (``lifecycle.enqueue``).

"Since the last run" is a watermark: each run records the highest ``tier_changes.id``
it has seen in its ``job_runs`` result and the next run takes the changes above it. The
first run takes the changes since the local midnight before the run date, so switching
the option on does not announce a program's whole history. The watermark moves also
when the option is off, for the same reason. One transaction of a few statements.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from cloud.clock import to_epoch
from cloud.db.database import Transaction
from cloud.engine.lifecycle import local_midnight
from cloud.services.deps import Deps
from cloud.services.jobs import JobReport
from cloud.services.lifecycle import Context, enqueue, run_daily

JOB = "tier_notices"


async def _watermark(tx: Transaction, ctx: Context) -> int:
    """The highest change already announced (or deliberately skipped)."""
    row = await tx.fetch_one(
        "SELECT result FROM job_runs WHERE merchant_id = :m AND job = :j "
        "ORDER BY run_date DESC, id DESC LIMIT 1",
        {"m": ctx.merchant_id, "j": JOB},
    )
    if row is not None:
        seen = json.loads(row["result"]).get("last_change")
        if seen is not None:
            return int(seen)
    since = to_epoch(local_midnight(ctx.day - timedelta(days=1), ctx.tz))
    before = await tx.fetch_value(
        "SELECT MAX(id) FROM tier_changes WHERE merchant_id = :m AND created_at < :since",
        {"m": ctx.merchant_id, "since": since},
    )
    return int(before or 0)


async def _tier_notices(tx: Transaction, ctx: Context) -> dict[str, Any]:
    program = ctx.program.program
    low = await _watermark(tx, ctx)
    high = int(
        await tx.fetch_value(
            "SELECT MAX(id) FROM tier_changes WHERE merchant_id = :m", {"m": ctx.merchant_id}
        )
        or low
    )
    if not program.tier_change_sms:
        return {"configured": False, "last_change": high}
    params: dict[str, Any] = {"m": ctx.merchant_id, "now": ctx.now, "low": low, "high": high}
    rank, names = ["CASE t.to_tier"], ["CASE c.tier_code"]
    from_rank = ["CASE t.from_tier"]
    for n, tier in enumerate(program.tiers):
        params[f"t{n}"], params[f"r{n}"] = tier.code, n
        params[f"p{n}"] = json.dumps({"tier": tier.name}, ensure_ascii=False)
        rank.append(f" WHEN :t{n} THEN CAST(:r{n} AS INTEGER)")
        from_rank.append(f" WHEN :t{n} THEN CAST(:r{n} AS INTEGER)")
        names.append(f" WHEN :t{n} THEN CAST(:p{n} AS TEXT)")
    # A change from no tier (the entry assignment) counts as from the entry tier; a tier
    # the program no longer has ranks nowhere and is not announced.
    upward = f"{''.join(rank)} END > COALESCE({''.join(from_rank)} END, CAST(0 AS INTEGER))"
    rows = (
        "FROM tier_changes t JOIN customers c ON c.id = t.customer_id "
        "WHERE t.merchant_id = :m AND t.id > :low AND t.id <= :high "
        "AND t.id = (SELECT MAX(t2.id) FROM tier_changes t2 WHERE t2.customer_id = "
        "t.customer_id AND t2.merchant_id = :m AND t2.id > :low AND t2.id <= :high) "
        f"AND t.to_tier = c.tier_code AND {upward} AND c.blocked_at IS NULL"
    )
    queued = int(
        await tx.fetch_value(
            f"SELECT COUNT(*) {rows} AND c.consent_messages_at IS NOT NULL", params
        )
        or 0
    )
    if queued:
        await enqueue(tx, "tier_changed", rows, params, f"{''.join(names)} END")
    return {"queued": queued, "last_change": high}


async def run_tier_notices(
    deps: Deps, run_date: date | None = None, merchant_id: int | None = None
) -> JobReport:
    """Tier change notices: a ``tier_changed`` message per customer whose tier went up
    since the last run, where the program has ``tier_change_sms``."""
    return await run_daily(deps, JOB, _tier_notices, run_date, merchant_id)
