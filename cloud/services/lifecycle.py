"""Lifecycle jobs that give bonuses: birthday gifts and reanimation.

Each runs once per merchant and local date (``job_runs``) in one transaction of a few
set-based statements, whatever the number of customers: who gets what is chosen by an
``INSERT ... SELECT`` into a table whose unique key says "once" (``job_events`` for a
birthday of a year, ``reanimations`` for one absence), the gift lots and their journal
entries are written from the rows just chosen, and so are the SMS of the outbox. A second
run, or a second worker, finds the date recorded or the unique keys taken and changes
nothing.

A lot is found from its customer (``+column`` keeps SQLite's planner on the customer
index rather than scanning the merchant's lots once per row; ``MAX(l.id + 0)`` keeps
PostgreSQL from answering MAX by walking the primary key backwards past every new lot).

A gift lot needs no customer lock: adding a lot cannot make a till's spending wrong (a
sale reads the lots under the customer's lock and only ever lowers the ones it read),
and each lot is written with its journal entry in the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from cloud.clock import to_epoch
from cloud.db.database import Transaction
from cloud.engine.lifecycle import local_midnight, lot_dates
from cloud.ledger.lots import new_lot_ids
from cloud.services.deps import Deps
from cloud.services.jobs import (
    AlreadyRun,
    JobReport,
    already_run,
    claim,
    local_date,
    merchants_with_programs,
    record_run,
)
from cloud.services.merchants import zone
from cloud.services.programs import LoadedProgram
from schemas.money import to_kopecks
from schemas.program import AmountRange, ReanimationRule, _Gift


@dataclass(frozen=True)
class Context:
    merchant_id: int
    program: LoadedProgram
    tz: tzinfo
    day: date
    clock_now: datetime
    now: int


Work = Callable[[Transaction, Context], Awaitable[dict[str, Any]]]


async def run_daily(
    deps: Deps, job: str, work: Work, run_date: date | None, merchant_id: int | None
) -> JobReport:
    """Run ``work`` once per merchant and local date, recording the date in its
    transaction (also when the program has nothing for this job, so the scheduler sees
    the date done)."""
    report = JobReport(job)
    for merchant, version_id, timezone in await merchants_with_programs(deps, merchant_id):
        day = run_date or local_date(deps, timezone)
        if await already_run(deps, merchant, job, day):
            report.skipped += 1
            continue
        clock_now = deps.clock()
        ctx = Context(
            merchant, await deps.programs.get(version_id), zone(timezone), day, clock_now,
            to_epoch(clock_now),
        )  # fmt: skip
        async with claim(deps, merchant, job) as mine:
            if not mine:
                report.skipped += 1
                continue
            try:
                async with deps.db.transaction() as tx:
                    result = await work(tx, ctx)
                    finished = to_epoch(deps.clock())
                    await record_run(tx, merchant, job, day, ctx.now, finished, result)
            except AlreadyRun:
                report.skipped += 1
                continue
        report.merchants += 1
        report.details[str(merchant)] = {"date": day.isoformat(), **result}
    return report


def gift_dates(ctx: Context, gift: _Gift) -> tuple[int, int | None]:
    """``(available_from, expires_at)`` of a gift granted now: its own delay, its own
    validity or else the program's lifetime (the rule of ``lot_dates``)."""
    lifetime = gift.valid_days if gift.valid_days is not None else ctx.program.program.lifetime_days
    available, expires = lot_dates(ctx.clock_now, ctx.tz, gift.activation_delay_days, lifetime)
    return to_epoch(available), None if expires is None else to_epoch(expires)


def _last_day(ctx: Context, expires_at: int | None) -> str | None:
    """The last local day a lot lapsing at ``expires_at`` (a local midnight) can be spent."""
    if expires_at is None:
        return None
    return (datetime.fromtimestamp(expires_at - 1, ctx.tz)).date().isoformat()


async def enqueue(
    tx: Transaction, kind: str, from_sql: str, params: dict[str, Any], params_sql: str
) -> None:
    """Queue an SMS per row of ``from_sql`` (aliases ``c`` for the customer), to
    customers who consented to messages only; ``params_sql`` builds each row's JSON."""
    await tx.execute(
        "INSERT INTO notifications (merchant_id, customer_id, channel, recipient_enc, body, "
        "status, cost, created_at, sent_at, kind, params) "
        f"SELECT c.merchant_id, c.id, 'sms', c.phone_enc, '', 'pending', 0, "
        f"CAST(:now AS BIGINT), NULL, '{kind}', {params_sql} {from_sql} "
        "AND c.consent_messages_at IS NOT NULL",
        params,
    )


async def _count(tx: Transaction, sql: str, params: dict[str, Any]) -> int:
    return int(await tx.fetch_value(f"SELECT COUNT(*) {sql}", params) or 0)


# ---- birthday -------------------------------------------------------------------------


async def index_birthdays(deps: Deps, merchant_id: int) -> int:
    """Fill the clear parts of birthdays stored without them (rows written before the
    columns, imports): ``birthday_md`` of customers and children for this job's index,
    and the customer's ``birth_year`` for mailing segments by age. The birthday is
    encrypted, so this one step reads row by row; it touches only rows not indexed yet."""
    rows = await deps.db.fetch_all(
        "SELECT id, birthday_enc FROM customers WHERE merchant_id = :m "
        "AND birthday_enc IS NOT NULL AND (birthday_md IS NULL OR birth_year IS NULL)",
        {"m": merchant_id},
    )
    children = await deps.db.fetch_all(
        "SELECT id, birthday_enc FROM customer_children WHERE merchant_id = :m "
        "AND birthday_md IS NULL",
        {"m": merchant_id},
    )
    statements = (
        ("UPDATE customers SET birthday_md = :md, birth_year = :year "
         "WHERE id = :id AND merchant_id = :m", rows),
        ("UPDATE customer_children SET birthday_md = :md WHERE id = :id AND merchant_id = :m",
         children),
    )  # fmt: skip
    count = 0
    for sql, found in statements:
        updates = []
        for row in found:
            text = deps.cipher.decrypt_optional(merchant_id, row["birthday_enc"])
            if text:
                born = date.fromisoformat(text)
                updates.append({"id": row["id"], "m": merchant_id, "year": born.year,
                                "md": born.month * 100 + born.day})  # fmt: skip
        if updates:
            async with deps.db.transaction() as tx:
                await tx.execute_many(sql, updates)
        count += len(updates)
    return count


def _birthday_days(day: date) -> list[int]:
    """The ``MMDD`` of the birthdays that fall on ``day``: 29 February's are kept on
    28 February in a year without one."""
    days = [day.month * 100 + day.day]
    if (day.month, day.day) == (2, 28) and (day + timedelta(days=1)).month == 3:
        days.append(229)
    return days


_NEW_EVENTS = (
    "WHERE e.merchant_id = :m AND e.kind = :kind AND e.created_at = :now AND e.lot_id IS NULL"
)


async def _birthday(tx: Transaction, ctx: Context) -> dict[str, Any]:
    gift = ctx.program.program.gifts.birthday
    if gift is None:
        return {"configured": False}
    birthday = ctx.day + timedelta(days=gift.days_before)
    days = _birthday_days(birthday)
    amount = to_kopecks(gift.amount)
    available, expires = gift_dates(ctx, gift)
    params: dict[str, Any] = {
        "m": ctx.merchant_id, "now": ctx.now, "kind": "birthday", "key": str(birthday.year),
        "md1": days[0], "md2": days[-1], "amount": amount, "af": available, "exp": expires,
    }  # fmt: skip
    # One gift per customer and birthday year, whatever the date it was granted on.
    await tx.execute(
        "INSERT INTO job_events (merchant_id, customer_id, kind, event_key, lot_id, "
        "created_at) SELECT c.merchant_id, c.id, CAST(:kind AS TEXT), CAST(:key AS TEXT), "
        "NULL, CAST(:now AS BIGINT) "
        "FROM customers c WHERE c.merchant_id = :m AND c.birthday_md IN (:md1, :md2) "
        "AND c.blocked_at IS NULL AND c.id NOT IN (SELECT e.customer_id FROM job_events e "
        "WHERE e.merchant_id = :m AND e.kind = :kind AND e.event_key = :key)",
        params,
    )
    # This run's events are those still without a lot (a catch-up tick runs several
    # dates at the same instant); they are linked to their lots last.
    await tx.execute(
        "INSERT INTO bonus_lots (merchant_id, customer_id, kind, amount, remaining, "
        "available_from, expires_at, receipt_id, created_at) SELECT e.merchant_id, "
        "e.customer_id, 'birthday', CAST(:amount AS BIGINT), CAST(:amount AS BIGINT), "
        "CAST(:af AS BIGINT), CAST(:exp AS BIGINT), NULL, CAST(:now AS BIGINT) "
        f"FROM job_events e {_NEW_EVENTS}",
        params,
    )
    await tx.execute(
        "INSERT INTO ledger_entries (merchant_id, customer_id, kind, amount, lot_id, "
        "receipt_id, idempotency_key, created_at) SELECT l.merchant_id, l.customer_id, "
        "'accrue', l.amount, l.id, NULL, "
        "'birthday:' || e.event_key || ':' || e.customer_id, CAST(:now AS BIGINT) "
        "FROM job_events e JOIN bonus_lots l ON l.customer_id = e.customer_id "
        "AND +l.merchant_id = :m AND l.kind = 'birthday' AND l.created_at = :now "
        f"{_NEW_EVENTS}",
        params,
    )
    rows = f"FROM job_events e JOIN customers c ON c.id = e.customer_id {_NEW_EVENTS}"
    granted = await _count(tx, rows, params)
    message: dict[str, Any] | None = None
    if gift.sms:
        message = {
            "amount": amount, "birthday": birthday.isoformat(),
            "available_from": datetime.fromtimestamp(available, ctx.tz).date().isoformat(),
            "expires_on": _last_day(ctx, expires),
        }  # fmt: skip
        await enqueue(
            tx, "birthday_gift", rows, {**params, "body": json.dumps(message)},
            "CAST(:body AS TEXT)",
        )  # fmt: skip
    await tx.execute(
        "UPDATE job_events SET lot_id = (SELECT MAX(l.id + 0) FROM bonus_lots l "
        "WHERE l.customer_id = job_events.customer_id AND +l.merchant_id = :m "
        "AND l.kind = 'birthday' AND l.created_at = :now) "
        "WHERE merchant_id = :m AND kind = :kind AND created_at = :now AND lot_id IS NULL",
        params,
    )
    result: dict[str, Any] = {"granted": granted, "amount": amount * granted}
    if gift.children:
        children = await _children_birthdays(tx, params, message)
        result.update(children=children, amount=amount * (granted + children))
    return result


_NEW_CHILD_EVENTS = (
    "WHERE e.merchant_id = :m AND e.kind = 'child_birthday' AND e.created_at = :now "
    "AND e.lot_id IS NULL"
)


async def _children_birthdays(
    tx: Transaction, params: dict[str, Any], message: dict[str, Any] | None
) -> int:
    """The parent's gift for each child born on the day: once per child and year (the
    event key names the child, so twins give two gifts and the parent's own birthday
    stays a separate event)."""
    await tx.execute(
        "INSERT INTO job_events (merchant_id, customer_id, kind, event_key, lot_id, "
        "created_at) SELECT k.merchant_id, k.customer_id, 'child_birthday', "
        "CAST(:key AS TEXT) || ':' || CAST(k.id AS TEXT), NULL, CAST(:now AS BIGINT) "
        "FROM customer_children k JOIN customers c ON c.id = k.customer_id "
        "WHERE k.merchant_id = :m AND k.birthday_md IN (:md1, :md2) AND c.blocked_at IS NULL "
        "AND CAST(:key AS TEXT) || ':' || CAST(k.id AS TEXT) NOT IN (SELECT e.event_key "
        "FROM job_events e WHERE e.merchant_id = :m AND e.kind = 'child_birthday')",
        params,
    )
    rows = f"FROM job_events e JOIN customers c ON c.id = e.customer_id {_NEW_CHILD_EVENTS}"
    granted = await _count(tx, rows, params)
    if message is not None and granted:
        await enqueue(
            tx, "birthday_gift", rows, {**params, "body": json.dumps(message)},
            "CAST(:body AS TEXT)",
        )  # fmt: skip
    # A lot is linked to its event by "the customer's newest child lot", which is only
    # unambiguous with one event per parent at a time: rounds take each parent's first
    # unlinked event (one round but for twins and the like), each round set-based.
    first = (
        f"{_NEW_CHILD_EVENTS} AND e.id = (SELECT MIN(e2.id) FROM job_events e2 "
        "WHERE e2.merchant_id = :m AND e2.kind = 'child_birthday' AND e2.created_at = :now "
        "AND e2.lot_id IS NULL AND e2.customer_id = e.customer_id)"
    )

    def newest(events: str) -> str:
        return (
            f"(SELECT MAX(l.id + 0) FROM bonus_lots l WHERE l.customer_id = {events}.customer_id "
            "AND +l.merchant_id = :m AND l.kind = 'child_birthday' AND l.created_at = :now)"
        )

    while await _count(tx, f"FROM job_events e {first}", params):
        await tx.execute(
            "INSERT INTO bonus_lots (merchant_id, customer_id, kind, amount, remaining, "
            "available_from, expires_at, receipt_id, created_at) SELECT e.merchant_id, "
            "e.customer_id, 'child_birthday', CAST(:amount AS BIGINT), "
            "CAST(:amount AS BIGINT), CAST(:af AS BIGINT), CAST(:exp AS BIGINT), NULL, "
            f"CAST(:now AS BIGINT) FROM job_events e {first}",
            params,
        )
        await tx.execute(
            "INSERT INTO ledger_entries (merchant_id, customer_id, kind, amount, lot_id, "
            "receipt_id, idempotency_key, created_at) SELECT e.merchant_id, e.customer_id, "
            f"'accrue', CAST(:amount AS BIGINT), {newest('e')}, NULL, "
            "'child_birthday:' || e.event_key || ':' || e.customer_id, CAST(:now AS BIGINT) "
            f"FROM job_events e {first}",
            params,
        )
        await tx.execute(
            f"UPDATE job_events SET lot_id = {newest('job_events')} "
            f"WHERE id IN (SELECT e.id FROM job_events e {first})",
            params,
        )
    return granted


async def run_birthday(
    deps: Deps, run_date: date | None = None, merchant_id: int | None = None
) -> JobReport:
    """Birthday gifts: bonuses ``days_before`` local days before the birthday, once per
    customer and year, with the gift's activation delay and validity, and an SMS where
    the gift says so to customers who consented to messages."""
    for merchant, _, _ in await merchants_with_programs(deps, merchant_id):
        await index_birthdays(deps, merchant)
    return await run_daily(deps, "birthday", _birthday, run_date, merchant_id)


# ---- reanimation ----------------------------------------------------------------------


def _range_sql(
    column: str, bounds: AmountRange | None, name: str, params: dict, times: str = ""
) -> str:
    """SQL for ``column`` (kopecks) within ``bounds`` (roubles), each bound multiplied
    by ``times`` (an average compared without a division)."""
    if bounds is None:
        return ""
    parts = []
    for op, value in (("at_least", ">="), ("over", ">"), ("at_most", "<="), ("below", "<")):
        roubles = getattr(bounds, op)
        if roubles is not None:
            params[f"{name}_{op}"] = to_kopecks(roubles)
            parts.append(f" AND {column} {value} :{name}_{op}{times}")
    return "".join(parts)


def _rule_sql(rule: ReanimationRule, n: int, ctx: Context, params: dict[str, Any]) -> str:
    """The condition on customer ``c`` of ``rule`` (the ``n``-th) on ``ctx.day``: the
    last purchase on or before the local day ``days_without_purchase`` days ago, the
    counts, tiers and sums in range."""
    p = f"r{n}_"
    cutoff = ctx.day - timedelta(days=rule.days_without_purchase - 1)
    params[f"{p}cutoff"] = to_epoch(local_midnight(cutoff, ctx.tz))
    sql = f"c.last_purchase_at < :{p}cutoff"
    if rule.purchase_count is not None:
        params[f"{p}count_min"] = rule.purchase_count.at_least
        sql += f" AND c.purchase_count >= :{p}count_min"
        if rule.purchase_count.at_most is not None:
            params[f"{p}count_max"] = rule.purchase_count.at_most
            sql += f" AND c.purchase_count <= :{p}count_max"
    if rule.tiers is not None:
        names = []
        for i, code in enumerate(rule.tiers):
            params[f"{p}tier{i}"] = code
            names.append(f":{p}tier{i}")
        sql += f" AND c.tier_code IN ({', '.join(names)})"
    sql += _range_sql("c.lifetime_purchases", rule.revenue, f"{p}revenue", params)
    if rule.average_receipt is not None:
        # average >= x  <=>  lifetime >= x * count, for a customer with purchases.
        sql += " AND c.purchase_count > 0" + _range_sql(
            "c.lifetime_purchases", rule.average_receipt, f"{p}avg", params,
            " * c.purchase_count",
        )  # fmt: skip
    return f"({sql})"


async def _reanimation(tx: Transaction, ctx: Context) -> dict[str, Any]:
    rules = ctx.program.program.gifts.reanimation
    if not rules:
        return {"configured": False}
    totals: dict[str, Any] = {"granted": 0, "amount": 0, "rules": {}}
    # One statement picks for every rule. The absences already answered are read once
    # into a hash (``NOT IN``): a per-customer ``NOT EXISTS`` probe, planned as a scan
    # of a table the statistics say is empty, would rescan the rows the statement is
    # adding once per customer. Rules in list order: a
    # customer gets the first rule that picks them, once per absence (the unique key on
    # the last purchase before the gift).
    params: dict[str, Any] = {"m": ctx.merchant_id, "now": ctx.now, "day": ctx.day.isoformat()}
    conditions = [_rule_sql(rule, n, ctx, params) for n, rule in enumerate(rules)]
    code, amount_sql = ["CASE"], ["CASE"]
    for n, (rule, condition) in enumerate(zip(rules, conditions, strict=True)):
        params[f"r{n}_code"], params[f"r{n}_amount"] = rule.code, to_kopecks(rule.amount)
        code.append(f" WHEN {condition} THEN CAST(:r{n}_code AS TEXT)")
        amount_sql.append(f" WHEN {condition} THEN CAST(:r{n}_amount AS BIGINT)")
    # Each gift's lot id is drawn where the gift is recorded, so the lots and their
    # journal entries are written with it (no search for the new lots afterwards).
    lot_id = await new_lot_ids(tx, "c.id")
    await tx.execute(
        "INSERT INTO reanimations (merchant_id, customer_id, rule_code, "
        "last_purchase_at, amount, lot_id, run_date, granted_at) SELECT c.merchant_id, "
        f"c.id, {''.join(code)} END, c.last_purchase_at, {''.join(amount_sql)} END, "
        f"{lot_id}, CAST(:day AS TEXT), CAST(:now AS BIGINT) FROM customers c "
        "WHERE c.merchant_id = :m AND c.blocked_at IS NULL "
        f"AND c.last_purchase_at IS NOT NULL AND ({' OR '.join(conditions)}) "
        "AND (c.id, c.last_purchase_at) NOT IN (SELECT r.customer_id, r.last_purchase_at "
        "FROM reanimations r WHERE r.merchant_id = :m)",
        params,
    )
    for rule in rules:
        amount = to_kopecks(rule.amount)
        available, expires = gift_dates(ctx, rule)
        params = {
            "m": ctx.merchant_id, "now": ctx.now, "code": rule.code, "af": available,
            "exp": expires, "day": ctx.day.isoformat(),
        }  # fmt: skip
        mine = (
            "WHERE r.merchant_id = :m AND r.granted_at = :now AND r.rule_code = :code "
            "AND r.run_date = :day"
        )
        await tx.execute(
            "INSERT INTO bonus_lots (id, merchant_id, customer_id, kind, amount, remaining, "
            "available_from, expires_at, receipt_id, created_at) SELECT r.lot_id, "
            "r.merchant_id, r.customer_id, 'reanimation', r.amount, r.amount, "
            "CAST(:af AS BIGINT), CAST(:exp AS BIGINT), NULL, CAST(:now AS BIGINT) "
            f"FROM reanimations r {mine}",
            params,
        )
        await tx.execute(
            "INSERT INTO ledger_entries (merchant_id, customer_id, kind, amount, lot_id, "
            "receipt_id, idempotency_key, created_at) SELECT r.merchant_id, r.customer_id, "
            "'accrue', r.amount, r.lot_id, NULL, 'reanimation:' || r.id, "
            f"CAST(:now AS BIGINT) FROM reanimations r {mine}",
            params,
        )
        rows = f"FROM reanimations r JOIN customers c ON c.id = r.customer_id {mine}"
        granted = await _count(tx, rows, params)
        if rule.sms and granted:
            message = {"amount": amount, "expires_on": _last_day(ctx, expires)}
            await enqueue(
                tx,
                "reanimation_gift",
                rows,
                {**params, "body": json.dumps(message)},
                "CAST(:body AS TEXT)",
            )
        totals["granted"] += granted
        totals["amount"] += granted * amount
        totals["rules"][rule.code] = granted
    return totals


async def run_reanimation(
    deps: Deps, run_date: date | None = None, merchant_id: int | None = None
) -> JobReport:
    """Reanimation gifts: customers who stopped buying, picked by the program's rules
    (days since the last purchase, purchase count, tier, revenue and average receipt),
    get the rule's bonuses once per absence, recorded in ``reanimations``."""
    return await run_daily(deps, "reanimation", _reanimation, run_date, merchant_id)
