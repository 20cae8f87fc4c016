"""Lifecycle jobs that only send messages: expiry warnings, activation notices and
follow-up offer reminders.

Like the gift jobs (``cloud.services.lifecycle``) each runs once per merchant and local
date in one transaction: the customers to tell are chosen into ``job_events`` (unique per
customer and the date the message is about, so nobody is told twice, whichever run or
worker gets there), and their SMS are queued in the outbox from the rows just chosen,
only for customers who consented to messages. The outbox worker renders the text from
``kind`` and ``params`` (amounts in kopecks, ISO dates).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from cloud.clock import to_epoch
from cloud.db.database import Transaction
from cloud.engine.lifecycle import local_midnight
from cloud.services.deps import Deps
from cloud.services.jobs import JobReport
from cloud.services.lifecycle import Context, enqueue, run_daily


def _events(kind: str) -> str:
    return (
        "FROM job_events e JOIN customers c ON c.id = e.customer_id "
        f"WHERE e.merchant_id = :m AND e.kind = '{kind}' AND e.created_at = :now "
        "AND e.event_key = :key"
    )


async def _choose(tx: Transaction, kind: str, from_sql: str, params: dict[str, Any]) -> int:
    """Record a ``kind`` event keyed ``:key`` for each customer ``c`` of ``from_sql``
    who consented to messages and has none yet; returns how many were chosen."""
    await tx.execute(
        "INSERT INTO job_events (merchant_id, customer_id, kind, event_key, lot_id, "
        f"created_at) SELECT DISTINCT c.merchant_id, c.id, '{kind}', CAST(:key AS TEXT), "
        f"CAST(NULL AS BIGINT), CAST(:now AS BIGINT) {from_sql} "
        "AND c.consent_messages_at IS NOT NULL AND c.blocked_at IS NULL "
        "AND c.id NOT IN (SELECT e.customer_id FROM job_events e "
        f"WHERE e.merchant_id = :m AND e.kind = '{kind}' AND e.event_key = :key)",
        params,
    )
    return int(await tx.fetch_value(f"SELECT COUNT(*) {_events(kind)}", params) or 0)


# ---- expiry warnings ------------------------------------------------------------------


async def _expiry_warnings(tx: Transaction, ctx: Context) -> dict[str, Any]:
    days = ctx.program.program.expiry_warning_days
    if days is None:
        return {"configured": False}
    # Lots whose last spendable local day is ``days`` days from today: they lapse at the
    # local midnight that ends it.
    last_day = ctx.day + timedelta(days=days)
    params: dict[str, Any] = {
        "m": ctx.merchant_id, "now": ctx.now, "key": last_day.isoformat(),
        "lo": to_epoch(local_midnight(last_day + timedelta(days=1), ctx.tz)),
        "hi": to_epoch(local_midnight(last_day + timedelta(days=2), ctx.tz)),
    }  # fmt: skip
    lapsing = (
        "FROM bonus_lots l JOIN customers c ON c.id = l.customer_id "
        "WHERE l.merchant_id = :m AND l.remaining > 0 AND l.expires_at >= :lo "
        "AND l.expires_at < :hi"
    )
    warned = await _choose(tx, "expiry_warning", lapsing, params)
    # The amount per customer, summed over the lapsing lots, into each message.
    await enqueue(
        tx,
        "expiry_warning",
        "FROM (SELECT l.customer_id, SUM(l.remaining) AS amount FROM bonus_lots l "
        "WHERE l.merchant_id = :m AND l.remaining > 0 AND l.expires_at >= :lo "
        "AND l.expires_at < :hi GROUP BY l.customer_id) s "
        "JOIN job_events e ON e.customer_id = s.customer_id AND e.merchant_id = :m "
        "AND e.kind = 'expiry_warning' AND e.created_at = :now AND e.event_key = :key "
        "JOIN customers c ON c.id = s.customer_id WHERE c.merchant_id = :m",
        params,
        "'{\"amount\": ' || s.amount || ', \"expires_on\": \"' || CAST(:key AS TEXT) || '\"}'",
    )
    return {"warned": warned, "last_day": last_day.isoformat()}


async def run_expiry_warnings(
    deps: Deps, run_date: date | None = None, merchant_id: int | None = None
) -> JobReport:
    """An SMS ``expiry_warning_days`` days before bonuses lapse: the amount lapsing and
    the last day to spend it, once per customer and that day."""
    return await run_daily(deps, "expiry_warnings", _expiry_warnings, run_date, merchant_id)


# ---- follow-up offer reminders --------------------------------------------------------


async def _follow_up(tx: Transaction, ctx: Context) -> dict[str, Any]:
    offer = ctx.program.program.follow_up_offer
    if offer is None or offer.reminder_days_before is None:
        return {"configured": False}
    # The offer of a purchase on day P runs through P + days; a later purchase opens a
    # newer offer, so only customers whose last purchase was on P are reminded.
    last_day = ctx.day + timedelta(days=offer.reminder_days_before)
    bought = last_day - timedelta(days=offer.days)
    params: dict[str, Any] = {
        "m": ctx.merchant_id, "now": ctx.now, "key": bought.isoformat(),
        "lo": to_epoch(local_midnight(bought, ctx.tz)),
        "hi": to_epoch(local_midnight(bought + timedelta(days=1), ctx.tz)),
        "last_day": last_day.isoformat(),
    }  # fmt: skip
    chosen = (
        "FROM customers c WHERE c.merchant_id = :m AND c.last_purchase_at >= :lo "
        "AND c.last_purchase_at < :hi"
    )
    reminded = await _choose(tx, "follow_up_reminder", chosen, params)
    await enqueue(
        tx,
        "follow_up_reminder",
        _events("follow_up_reminder"),
        params,
        "'{\"expires_on\": \"' || CAST(:last_day AS TEXT) || '\"}'",
    )
    return {"reminded": reminded, "last_day": last_day.isoformat()}


async def run_follow_up_reminders(
    deps: Deps, run_date: date | None = None, merchant_id: int | None = None
) -> JobReport:
    """An SMS ``reminder_days_before`` days before the last day of the personal offer
    the customer's last purchase opened."""
    return await run_daily(deps, "follow_up_reminders", _follow_up, run_date, merchant_id)


# ---- activation notices ---------------------------------------------------------------


async def _activation(tx: Transaction, ctx: Context) -> dict[str, Any]:
    if not ctx.program.program.activation_sms:
        return {"configured": False}
    # Lots that became spendable at the local midnight starting the run date, having
    # been credited earlier (an activation delay; a lot spendable at once is not news).
    params: dict[str, Any] = {
        "m": ctx.merchant_id, "now": ctx.now, "key": ctx.day.isoformat(),
        "lo": to_epoch(local_midnight(ctx.day, ctx.tz)),
        "hi": to_epoch(local_midnight(ctx.day + timedelta(days=1), ctx.tz)),
    }  # fmt: skip
    condition = (
        "l.merchant_id = :m AND l.available_from >= :lo AND l.available_from < :hi "
        "AND l.created_at < l.available_from AND l.remaining > 0 "
        "AND (l.expires_at IS NULL OR l.expires_at > :now)"
    )
    told = await _choose(
        tx,
        "bonuses_activated",
        f"FROM bonus_lots l JOIN customers c ON c.id = l.customer_id WHERE {condition}",
        params,
    )
    # The last day to spend them: the earliest lapse among the customer's lots, as a
    # local date. A day's lots lapse at few distinct instants (one per lifetime), so the
    # dates are worked out here and put into the statement as a CASE.
    instants = await tx.fetch_all(
        f"SELECT DISTINCT l.expires_at FROM bonus_lots l WHERE {condition} "
        "AND l.expires_at IS NOT NULL",
        params,
    )
    last_day = ["CASE s.expires_at"] if instants else ["CAST('' AS TEXT)"]
    for n, found in enumerate(instants):
        instant = int(found["expires_at"])
        params[f"e{n}"] = instant
        params[f"d{n}"] = datetime.fromtimestamp(instant - 1, ctx.tz).date().isoformat()
        last_day.append(f" WHEN CAST(:e{n} AS BIGINT) THEN CAST(:d{n} AS TEXT)")
    if instants:
        last_day.append(" ELSE CAST('' AS TEXT) END")
    # One statement for every customer chosen above: the lots grouped per customer.
    await enqueue(
        tx,
        "bonuses_activated",
        "FROM (SELECT l.customer_id, SUM(l.remaining) AS amount, MIN(l.expires_at) "
        f"AS expires_at FROM bonus_lots l WHERE {condition} GROUP BY l.customer_id) s "
        "JOIN job_events e ON e.customer_id = s.customer_id AND e.merchant_id = :m "
        "AND e.kind = 'bonuses_activated' AND e.created_at = :now AND e.event_key = :key "
        "JOIN customers c ON c.id = s.customer_id WHERE c.merchant_id = :m",
        params,
        '\'{"amount": \' || s.amount || \', "until": "\' || ' + "".join(last_day) + " || '\"}'",
    )
    return {"told": told}


async def run_activation_notices(
    deps: Deps, run_date: date | None = None, merchant_id: int | None = None
) -> JobReport:
    """A message when delayed bonuses become spendable (programs with
    ``activation_sms``): the amount and, if they lapse, the last day; once per customer
    and date."""
    return await run_daily(deps, "activation_notices", _activation, run_date, merchant_id)
