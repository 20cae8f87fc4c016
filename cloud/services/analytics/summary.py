"""Each customer's sales up to the day the ``analytics`` job counted, in
``analytics_customers``: all of them (the acquisition channels' report) and those of the
cabinet's default period, the last 12 months (the 1 / 2 / 3+ purchases). A report adds
the sales after that day from the receipts; when the job's day is no longer true (a
receipt it did not see dated before it) or the period is another, the report counts from
the receipts alone (``None`` here)."""

from __future__ import annotations

from datetime import date
from typing import Any

from cloud.services.analytics import Period
from cloud.services.deps import Deps

_SALE = "r.merchant_id = :m AND r.kind = 'sale' AND r.customer_id IS NOT NULL"


async def rebuild(tx: Any, merchant_id: int, through: date, recent_from: date) -> None:
    """Every customer with a sale up to ``through``, set-based, in the job's transaction."""
    params = {"m": merchant_id, "t": through.isoformat(), "r": recent_from.isoformat()}
    await tx.execute("DELETE FROM analytics_customers WHERE merchant_id = :m", params)
    await tx.execute(
        "INSERT INTO analytics_customers (merchant_id, customer_id, sales, revenue, first_at, "
        "last_at, recent_sales, recent_revenue) SELECT :m, r.customer_id, COUNT(*), "
        "SUM(r.amount), MIN(r.created_at), MAX(r.created_at), "
        "SUM(CASE WHEN r.local_date >= :r THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN r.local_date >= :r THEN r.amount ELSE 0 END) "
        f"FROM receipts r WHERE {_SALE} AND r.local_date <= :t GROUP BY r.customer_id",
        params,
    )


async def _through(deps: Deps, merchant_id: int, span: Period) -> tuple[str, Any] | None:
    from cloud.services.analytics.rollup import valid_through

    counted = await valid_through(deps, merchant_id, span)
    if counted is None or counted[0].isoformat() != str(counted[1]["through"]):
        return None
    if counted[0].isoformat() >= span.end_day:
        return None  # the period ends before the job's day: the job's sums count too much
    return counted[0].isoformat(), counted[1]


async def per_customer_in_period(deps: Deps, merchant_id: int, span: Period) -> str | None:
    """A ``WITH`` table ``per(customer_id, n, revenue)`` of the period's buyers from the
    job's sums, or None when they do not fit the period; parameter :m. The days are
    written in (ours, never a user's text): a generic plan would read every receipt."""
    found = await _through(deps, merchant_id, span)
    if found is None or str(found[1]["recent_from"]) != span.first.isoformat():
        return None
    return (
        "per AS (SELECT customer_id, SUM(n) AS n, SUM(revenue) AS revenue FROM ("
        "SELECT customer_id, recent_sales AS n, recent_revenue AS revenue "
        "FROM analytics_customers WHERE merchant_id = :m AND recent_sales > 0 UNION ALL "
        "SELECT r.customer_id, COUNT(*), SUM(r.amount) FROM receipts r "
        f"WHERE {_SALE} AND r.local_date > '{found[0]}' AND r.local_date < '{span.end_day}' "
        "GROUP BY r.customer_id) u GROUP BY customer_id)"
    )


async def all_purchases(deps: Deps, merchant_id: int, span: Period) -> str | None:
    """A ``WITH`` table ``p(customer_id, n, revenue, span)`` of every customer's sales up
    to the period's end from the job's sums, or None; parameter :m, days written in."""
    found = await _through(deps, merchant_id, span)
    if found is None:
        return None
    return (
        "p AS (SELECT u.customer_id, SUM(u.n) AS n, SUM(u.revenue) AS revenue, "
        "MAX(u.last_at) - MIN(u.first_at) AS span FROM (SELECT customer_id, sales AS n, "
        "revenue, first_at, last_at FROM analytics_customers WHERE merchant_id = :m "
        "UNION ALL SELECT r.customer_id, COUNT(*), SUM(r.amount), MIN(r.created_at), "
        f"MAX(r.created_at) FROM receipts r WHERE {_SALE} AND r.local_date > '{found[0]}' "
        f"AND r.local_date < '{span.end_day}' GROUP BY r.customer_id) u "
        "JOIN c ON c.id = u.customer_id "
        "GROUP BY u.customer_id)"
    )
