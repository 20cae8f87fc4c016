"""Tier change notices: a daily job that tells customers their new tier.

Where a program has ``tier_change_sms``, the job queues one ``tier_changed`` message
(params ``{"tier": <the tier's name>}``) per customer whose tier went *up* since the
last run: the customer's latest change in ``tier_changes`` (written at confirm, at a
refund and by the tier job) is upward in the program's tier order and is still the
customer's tier. A fall (a refund, a rolling recomputation) is not announced: telling a
customer they lost a status is not a message merchants asked for. Only customers who
consented to messages are queued (``lifecycle.enqueue``).

"Since the last run" is per row: each run stamps every change it has not handled yet
(``tier_changes.notified_at``) and looks only at the rows it stamped. An id or time
watermark would miss a change committed after the run but numbered (or timed) before
what the run saw — on PostgreSQL a confirm that started before the run and committed
after it. A row not yet visible when the run stamps is simply left for the next run.
The stamp is the run's time, kept above every earlier stamp of the merchant so a run
never takes another run's rows. The first run of a merchant stamps the changes made
before the local midnight before its date with 0 (handled, not announced), so switching
the option on does not announce a program's whole history; the rows are stamped also
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


async def _stamp(tx: Transaction, ctx: Context) -> int:
    """Stamp every change of the merchant not handled yet; returns the stamp."""
    params: dict[str, Any] = {"m": ctx.merchant_id, "j": JOB}
    ran_before = await tx.fetch_value(
        "SELECT 1 FROM job_runs WHERE merchant_id = :m AND job = :j LIMIT 1", params
    )
    if ran_before is None:
        since = to_epoch(local_midnight(ctx.day - timedelta(days=1), ctx.tz))
        await tx.execute(
            "UPDATE tier_changes SET notified_at = 0 WHERE merchant_id = :m "
            "AND notified_at IS NULL AND created_at < :since",
            {**params, "since": since},
        )
    last = await tx.fetch_value(
        "SELECT MAX(notified_at) FROM tier_changes WHERE merchant_id = :m", params
    )
    stamp = max(ctx.now, int(last or 0) + 1)
    await tx.execute(
        "UPDATE tier_changes SET notified_at = :stamp WHERE merchant_id = :m "
        "AND notified_at IS NULL",
        {**params, "stamp": stamp},
    )
    return stamp


async def _tier_notices(tx: Transaction, ctx: Context) -> dict[str, Any]:
    program = ctx.program.program
    stamp = await _stamp(tx, ctx)
    params: dict[str, Any] = {"m": ctx.merchant_id, "now": ctx.now, "stamp": stamp}
    changes = int(
        await tx.fetch_value(
            "SELECT COUNT(*) FROM tier_changes WHERE merchant_id = :m AND notified_at = :stamp",
            params,
        )
        or 0
    )
    if not program.tier_change_sms:
        return {"configured": False, "changes": changes}
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
        "WHERE t.merchant_id = :m AND t.notified_at = :stamp "
        "AND t.id = (SELECT MAX(t2.id) FROM tier_changes t2 WHERE t2.customer_id = "
        "t.customer_id AND t2.merchant_id = :m AND t2.notified_at = :stamp) "
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
    return {"queued": queued, "changes": changes}


async def run_tier_notices(
    deps: Deps, run_date: date | None = None, merchant_id: int | None = None
) -> JobReport:
    """Tier change notices: a ``tier_changed`` message per customer whose tier went up
    since the last run, where the program has ``tier_change_sms``."""
    return await run_daily(deps, JOB, _tier_notices, run_date, merchant_id)
