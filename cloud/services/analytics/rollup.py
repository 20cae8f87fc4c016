"""The monthly figures of the reports (sales, buyers, discount, repeat purchases, the
lost and the active) kept per merchant and month up to yesterday in ``analytics_months``
by the nightly ``analytics`` job, so a report over a year reads twelve rows and counts
only today's receipts (the days the job has not counted) itself.

Exact by construction: the job stores what ``compute`` returns for its days, and a
report adds what the same ``compute`` returns for the days after. A stored month is used
only while no receipt the job did not see could change it: the job notes the highest receipt id it
saw (``analytics_state.receipt_id``, read while no insert is in flight, so every lower id
is committed), and a receipt above it dated in or before a month (a till's offline sale
replayed late) sends that month and every later one back to the receipts — a sale moves
its customer's next gap, lost moment and activity, all later than itself. Receipts are
never deleted and a refund's amounts are set in the transaction that inserts it."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from cloud.clock import to_epoch
from cloud.services import analytics, jobs
from cloud.services.analytics import DAY, Period, _next_month, summary
from cloud.services.deps import Deps
from cloud.services.merchants import zone

LOST_DAYS = 90
"""A customer is lost once this many days pass without a purchase."""

FIELDS = ("sales", "buyers", "amount", "refunds", "discount", "redeemed", "accrued",
          "repeats", "seconds", "lost", "active")  # fmt: skip
ZERO = dict.fromkeys(FIELDS, 0)
JOB = "analytics"

_SALE = "r.merchant_id = :m AND r.kind = 'sale' AND r.customer_id IS NOT NULL"


def _month_start(day: date) -> date:
    return date(day.year, day.month, 1)


async def compute(
    deps: Deps, merchant_id: int, span: Period, start: date | None = None,
    stop: date | None = None,
) -> dict[str, dict[str, int]]:  # fmt: skip
    """Every figure of every month of ``span`` from the receipts, counting only the days
    ``start`` (default: the span's first) to ``stop`` (excluded; default: its end). A
    month cut by ``start`` gets what adds to its earlier days: the buyers who had not
    bought in it before, the lost moments from then on, no active (fixed at its start)."""
    db, gap = deps.db, LOST_DAYS * DAY
    start, stop = start or span.first, stop or _next_month(span.last)
    out = {m.label: dict(ZERO) for m in span.months}
    lo, hi = span.epoch(start), span.epoch(stop)
    bounds: dict[str, str | int] = {
        "d0": start.isoformat(), "d1": stop.isoformat(), "cut": start.strftime("%Y-%m"),
        "c0": _month_start(start).isoformat(), "lo": lo, "hi": hi, "gap": gap,
        "now": int(span.now.timestamp()),
    }  # fmt: skip

    async def fetch(sql: str) -> Any:
        # The bounds written in: a report asks for today, the job for years; a generic
        # plan (PostgreSQL's after five runs of a prepared statement) would serve both.
        return await db.fetch_all(_with_values(sql, bounds), {"m": merchant_id})

    # Per customer and month first, then per month: COUNT(DISTINCT) would sort.
    for r in await fetch(
        "SELECT month, SUM(sales) AS sales, SUM(CASE WHEN sales > 0 AND NOT (month = :cut "
        "AND EXISTS (SELECT 1 FROM receipts e WHERE e.merchant_id = :m "
        "AND e.customer_id = per.customer_id AND e.kind = 'sale' AND e.local_date >= :c0 "
        "AND e.local_date < :d0)) THEN 1 ELSE 0 END) "
        "AS buyers, SUM(amount) AS amount, SUM(refunds) AS refunds, SUM(discount) AS "
        "discount, SUM(redeemed) AS redeemed, SUM(accrued) AS accrued FROM (SELECT "
        "SUBSTR(r.local_date, 1, 7) AS month, r.customer_id, "
        "SUM(CASE WHEN r.kind = 'sale' THEN 1 ELSE 0 END) AS sales, "
        "SUM(CASE WHEN r.kind = 'sale' THEN r.amount ELSE 0 END) AS amount, "
        "SUM(CASE WHEN r.kind = 'refund' THEN r.amount ELSE 0 END) AS refunds, "
        "SUM(CASE WHEN r.kind = 'sale' THEN r.discount ELSE 0 END) AS discount, "
        "SUM(CASE WHEN r.kind = 'sale' THEN r.redeemed ELSE 0 END) AS redeemed, "
        "SUM(CASE WHEN r.kind = 'sale' THEN r.accrued ELSE 0 END) AS accrued "
        "FROM receipts r WHERE r.merchant_id = :m AND r.customer_id IS NOT NULL "
        "AND r.local_date >= :d0 AND r.local_date < :d1 "
        "GROUP BY SUBSTR(r.local_date, 1, 7), r.customer_id) per GROUP BY month"
    ):
        out[str(r["month"])].update({k: int(r[k] or 0) for k in FIELDS[:7]})
    # A repeat purchase's gap: from the customer's sale just before it (by time, then
    # id), found through the customer's receipts rather than a window over all history.
    for r in await fetch(
        "SELECT SUBSTR(s.local_date, 1, 7) AS month, COUNT(*) AS repeats, "
        "SUM(s.created_at - s.prev_at) AS seconds FROM (SELECT r.local_date, r.created_at, "
        "(SELECT MAX(p.created_at) FROM receipts p WHERE p.merchant_id = :m "
        "AND p.customer_id = r.customer_id AND p.kind = 'sale' AND (p.created_at < r.created_at "
        "OR (p.created_at = r.created_at AND p.id < r.id))) AS prev_at FROM receipts r "
        f"WHERE {_SALE} AND r.local_date >= :d0 AND r.local_date < :d1) s "
        "WHERE s.prev_at IS NOT NULL GROUP BY SUBSTR(s.local_date, 1, 7)"
    ):
        out[str(r["month"])].update(repeats=int(r["repeats"]), seconds=int(r["seconds"] or 0))
    # The lost moments: a sale with no next one (by time, then id) within the gap,
    # found through the customer's receipts; then the months they fall in.
    for r in await fetch(
        f"WITH {span.months_sql()}, lost AS (SELECT r.created_at + :gap AS at FROM receipts r "
        f"WHERE {_SALE} AND r.created_at >= :lo - :gap AND r.created_at < :hi - :gap "
        "AND r.created_at <= :now - :gap AND NOT EXISTS (SELECT 1 FROM receipts n "
        "WHERE n.merchant_id = :m AND n.customer_id = r.customer_id AND n.kind = 'sale' "
        "AND (n.created_at > r.created_at OR (n.created_at = r.created_at AND n.id > r.id)) "
        "AND n.created_at <= r.created_at + :gap)) "
        "SELECT m.label, COUNT(*) AS lost FROM lost JOIN months m "
        "ON lost.at >= m.lo AND lost.at < m.hi GROUP BY m.label"
    ):
        out[str(r["label"])]["lost"] = int(r["lost"])
    whole = [m for m in span.months if start <= m.first_day < stop]
    if whole:
        ahead = Period(whole[0].first_day, whole[-1].first_day, span.tz, span.now)
        for r in await fetch(
            f"WITH {ahead.months_sql(LOST_DAYS)} SELECT m.label, "
            "(SELECT COUNT(DISTINCT a.customer_id) FROM receipts a "
            "WHERE a.merchant_id = :m AND a.kind = 'sale' AND a.customer_id IS NOT NULL "
            "AND a.local_date >= m.b0 AND a.local_date < m.d0 "
            "AND a.created_at >= m.lo - :gap AND a.created_at < m.lo) AS active FROM months m"
        ):
            out[str(r["label"])]["active"] = int(r["active"])
    return out


def _with_values(sql: str, values: dict[str, str | int]) -> str:
    """``sql`` with ``:name`` of ``values`` written in: ours (dates and integers), never
    a user's text."""

    def value(match: re.Match[str]) -> str:
        found = values[match.group(1)]
        return str(int(found)) if isinstance(found, int) else f"'{found}'"

    return re.sub(r":(" + "|".join(values) + r")\b", value, sql)


async def monthly(deps: Deps, merchant_id: int, span: Period) -> dict[str, dict[str, int]]:
    """The figures of every month of ``span``: the job's where still true, the days
    after them computed now and added (every figure adds up over a month's days)."""
    stored, resume = await _stored(deps, merchant_id, span)
    out = {m.label: stored.get(m.label, dict(ZERO)) for m in span.months}
    end = _next_month(span.last)
    if resume < end:
        rest = Period(_month_start(resume), span.last, span.tz, span.now)
        for label, row in (await compute(deps, merchant_id, rest, resume)).items():
            out[label] = {k: out[label][k] + row[k] for k in FIELDS}
    return out


async def _stored(
    deps: Deps, merchant_id: int, span: Period
) -> tuple[dict[str, dict[str, int]], date]:
    """The job's months of ``span`` still true, and the first day they do not count."""
    state = await deps.db.fetch_one(
        "SELECT receipt_id, since, through, timezone FROM analytics_state WHERE merchant_id = :m",
        {"m": merchant_id},
    )
    if state is None or str(state["timezone"]) != span.tz.key:
        return {}, span.first
    valid_to = date.fromisoformat(str(state["through"]))  # the last day the job counted
    late = await _first_month(deps, merchant_id, int(state["receipt_id"]), None, span.tz)
    if late is not None:
        valid_to = min(valid_to, late - timedelta(days=1))
    if valid_to < span.first:
        return {}, span.first
    rows = await deps.db.fetch_all(
        "SELECT * FROM analytics_months WHERE merchant_id = :m AND month >= :a AND month <= :b",
        {"m": merchant_id, "a": span.months[0].label, "b": valid_to.strftime("%Y-%m")},
    )
    out = {str(r["month"]): {k: int(r[k]) for k in FIELDS} for r in rows}
    # Before the first month with a receipt there is nothing to count.
    for month in span.months:
        if month.label < str(state["since"]) and month.first_day <= valid_to:
            out[month.label] = dict(ZERO)
    return out, valid_to + timedelta(days=1)


async def valid_through(deps: Deps, merchant_id: int, span: Period) -> tuple[date, Any] | None:
    """The last day whose figures the job counted that no receipt it did not see has
    changed since, and the job's state; None when it has counted nothing for the zone."""
    state = await deps.db.fetch_one(
        "SELECT receipt_id, since, through, recent_from, timezone FROM analytics_state "
        "WHERE merchant_id = :m",
        {"m": merchant_id},
    )
    if state is None or str(state["timezone"]) != span.tz.key:
        return None
    valid_to = date.fromisoformat(str(state["through"]))
    late = await _first_month(deps, merchant_id, int(state["receipt_id"]), None, span.tz)
    if late is not None:
        valid_to = min(valid_to, late - timedelta(days=1))
    return valid_to, state


async def _first_month(
    deps: Deps, merchant_id: int, above: int, upto: int | None, tz: Any
) -> date | None:
    """The first month a receipt with an id above ``above`` (up to ``upto``) changes: its
    store's date's month or, if earlier, its moment's month in the merchant's zone (the
    lost and the active count by the merchant's midnights)."""
    # The ids written in: a generic plan would not know that few ids are above.
    row = await deps.db.fetch_one(
        f"SELECT MIN(local_date) AS day, MIN(created_at) AS at FROM receipts "
        f"WHERE id > {int(above)} AND merchant_id = :m"
        + ("" if upto is None else f" AND id <= {int(upto)}"),
        {"m": merchant_id},
    )
    if row is None or row["day"] is None:
        return None
    day = min(date.fromisoformat(str(row["day"])),
              datetime.fromtimestamp(int(row["at"]), tz).date())  # fmt: skip
    return _month_start(day)


def _previous(label: str) -> str:
    year, month = int(label[:4]), int(label[5:])
    return f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"


async def _watermark(deps: Deps) -> int:
    """The highest receipt id with no lower one still to commit: on PostgreSQL read under
    a SHARE lock, which waits for the inserts in flight (a till's confirm holds its
    transaction a few milliseconds) and holds new ones back for as long as one read."""
    if deps.db.dialect != "postgresql":
        return int(await deps.db.fetch_value("SELECT COALESCE(MAX(id), 0) FROM receipts"))
    async with deps.db.transaction() as tx:
        await tx.execute("SET LOCAL lock_timeout = '5s'")
        await tx.execute("LOCK TABLE receipts IN SHARE MODE")
        return int(await tx.fetch_value("SELECT COALESCE(MAX(id), 0) FROM receipts"))


async def run_analytics(
    deps: Deps, run_date: date | None = None, merchant_id: int | None = None
) -> jobs.JobReport:
    """Close the months before the current one for each merchant (or the one named):
    from the first month a receipt the last run did not see falls in (all months of
    receipts on the first run), to last month. Idempotent; a second run the same day
    finds nothing new and records nothing."""
    report = jobs.JobReport(JOB)
    started = to_epoch(deps.clock())
    seen = await _watermark(deps)
    # Every merchant, with a program or not any more: their receipts stay.
    merchants = await deps.db.fetch_all(
        "SELECT id, timezone FROM merchants WHERE (CAST(:only AS BIGINT) IS NULL OR id = :only) "
        "ORDER BY id",
        {"only": merchant_id},
    )
    for merchant, timezone in ((int(r["id"]), str(r["timezone"])) for r in merchants):
        async with jobs.claim(deps, merchant, JOB) as mine:
            if not mine or (
                run_date is not None and await jobs.already_run(deps, merchant, JOB, run_date)
            ):
                report.skipped += 1
                continue
            try:
                closed = await _close(deps, merchant, timezone, seen, run_date, started)
            except jobs.AlreadyRun:
                report.skipped += 1
                continue
            if closed is not None:
                report.merchants += 1
                report.details[str(merchant)] = closed
    return report


async def _close(
    deps: Deps, merchant: int, timezone: str, seen: int, run_date: date | None, started: int
) -> dict[str, Any] | None:
    """Count the merchant's days up to yesterday: again from the first month a receipt
    the last run did not see changes, or from the month of the first day not counted."""
    tz, now = zone(timezone), deps.clock()
    last = now.astimezone(tz).date() - timedelta(days=1)
    state = await deps.db.fetch_one(
        "SELECT receipt_id, since, through, timezone FROM analytics_state WHERE merchant_id = :m",
        {"m": merchant},
    )
    if state is not None and str(state["timezone"]) != timezone:
        state = None  # the months' bounds moved: start again
    above = 0 if state is None else int(state["receipt_id"])
    first = await _first_month(deps, merchant, above, seen, tz)
    since = first
    if state is not None:
        since = date.fromisoformat(str(state["since"]) + "-01")
        after = _month_start(date.fromisoformat(str(state["through"])) + timedelta(days=1))
        first = after if first is None else min(first, after)
    result: dict[str, Any] = {}
    span = figures = None
    if first is not None and since is not None and first <= last:
        span = Period(first, _month_start(last), tz, now)
        figures = await compute(deps, merchant, span, first, last + timedelta(days=1))
    async with deps.db.transaction() as tx:
        if span is not None and figures is not None and since is not None:
            await tx.execute(
                "DELETE FROM analytics_months WHERE merchant_id = :m AND month >= :a",
                {"m": merchant, "a": span.months[0].label},
            )
            await tx.execute_many(
                f"INSERT INTO analytics_months (merchant_id, month, {', '.join(FIELDS)}) "
                f"VALUES (:m, :month, {', '.join(':' + f for f in FIELDS)})",
                [{"m": merchant, "month": label, **row} for label, row in figures.items()],
            )
            recent = analytics.period(now, tz).first
            await summary.rebuild(tx, merchant, last, recent)
            await tx.execute("DELETE FROM analytics_state WHERE merchant_id = :m", {"m": merchant})
            await tx.execute(
                "INSERT INTO analytics_state (merchant_id, receipt_id, since, through, "
                "recent_from, timezone, rolled_at) VALUES (:m, :w, :since, :t, :r, :tz, :now)",
                {"m": merchant, "w": seen, "since": min(since, span.first).strftime("%Y-%m"),
                 "t": last.isoformat(), "r": recent.isoformat(), "tz": timezone,
                 "now": to_epoch(now)},
            )  # fmt: skip
            result = {"from": span.first.isoformat(), "through": last.isoformat()}
        if run_date is not None:
            await jobs.record_run(tx, merchant, JOB, run_date, started, to_epoch(now), result)
    return result or None
