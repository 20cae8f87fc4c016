"""Who came back after a reanimation gift and what they spent: per rule, and per gifted
customer. Set-based SQL over the merchant's gifts; a gift's sales are the customer's
sales from the gift until their next reanimation gift, net of returns of those sales."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cloud.services.customers_admin.common import check_limit
from cloud.services.deps import Deps
from cloud.services.merchants import zone
from schemas import reports as wire
from schemas.money import to_roubles

# Each gift with its window's end, and its sales in the window (net of their returns).
_GIFT_SALES = (
    "WITH g AS ("
    "  SELECT r.id, r.customer_id, r.rule_code, r.amount, r.granted_at, r.last_purchase_at, "
    "  (SELECT MIN(n.granted_at) FROM reanimations n WHERE n.merchant_id = r.merchant_id "
    "   AND n.customer_id = r.customer_id AND n.granted_at > r.granted_at) AS until "
    "  FROM reanimations r WHERE r.merchant_id = :m {gift_filter}"
    "), s AS ("
    "  SELECT g.id, COUNT(s.id) AS sales, MIN(s.created_at) AS returned_at, "
    "  COALESCE(SUM(s.amount - COALESCE((SELECT SUM(f.amount) FROM receipts f "
    "    WHERE f.merchant_id = :m AND f.original_receipt_id = s.id AND f.kind = 'refund'), 0)"
    "  ), 0) AS revenue "
    "  FROM g JOIN receipts s ON s.merchant_id = :m AND s.customer_id = g.customer_id "
    "  AND s.kind = 'sale' AND s.created_at >= g.granted_at "
    "  AND (g.until IS NULL OR s.created_at < g.until) GROUP BY g.id"
    ") "
)


async def rule_totals(
    deps: Deps, merchant_id: int, granted_from: int | None = None, granted_before: int | None = None
) -> Any:
    """Per rule: customers gifted, gifts, those who came back, their sales and revenue and
    the gifts' message cost; only gifts granted in ``[granted_from, granted_before)`` when
    given (the cabinet's campaign report)."""
    params: dict[str, Any] = {"m": merchant_id, "gf": granted_from, "gb": granted_before}
    gift_filter = "" if granted_from is None else "AND r.granted_at >= :gf "
    gift_filter += "" if granted_before is None else "AND r.granted_at < :gb"
    params = {k: v for k, v in params.items() if v is not None}
    return await deps.db.fetch_all(
        _GIFT_SALES.format(gift_filter=gift_filter)
        + "SELECT g.rule_code, COUNT(*) AS gifted, SUM(g.amount) AS gifts, "
        "SUM(CASE WHEN s.sales > 0 THEN 1 ELSE 0 END) AS returned, "
        "COALESCE(SUM(s.sales), 0) AS sales, COALESCE(SUM(s.revenue), 0) AS revenue, "
        # The gift's message is queued by the same statement's clock as the gift.
        "COALESCE(SUM((SELECT SUM(n.cost) FROM notifications n WHERE n.merchant_id = :m "
        "AND n.customer_id = g.customer_id AND n.kind = 'reanimation_gift' "
        "AND n.created_at = g.granted_at)), 0) AS cost "
        "FROM g LEFT JOIN s ON s.id = g.id GROUP BY g.rule_code ORDER BY g.rule_code",
        params,
    )


async def report(
    deps: Deps, merchant_id: int, *, limit: int = 50, before: int | None = None
) -> wire.ReanimationReport:
    check_limit(limit)
    params: dict[str, Any] = {"m": merchant_id}
    rules = await rule_totals(deps, merchant_id)
    page_params = {**params, "limit": limit + 1, "before": before}
    rows = await deps.db.fetch_all(
        _GIFT_SALES.format(gift_filter="" if before is None else "AND r.id < :before")
        + "SELECT g.*, COALESCE(s.sales, 0) AS sales, s.returned_at, "
        "COALESCE(s.revenue, 0) AS revenue FROM g LEFT JOIN s ON s.id = g.id "
        "ORDER BY g.id DESC LIMIT :limit",
        page_params,
    )
    timezone = await deps.db.fetch_value(
        "SELECT timezone FROM merchants WHERE id = :m", {"m": merchant_id}
    )
    tz = zone(str(timezone))

    def at(seconds: Any) -> datetime:
        return datetime.fromtimestamp(int(seconds), tz)

    customers = [
        wire.ReanimatedCustomer(
            id=int(r["id"]), customer_id=int(r["customer_id"]), rule=str(r["rule_code"]),
            granted_at=at(r["granted_at"]), gift=to_roubles(int(r["amount"])),
            last_purchase_before=at(r["last_purchase_at"]),
            returned_at=None if r["returned_at"] is None else at(r["returned_at"]),
            sales=int(r["sales"]), revenue=to_roubles(int(r["revenue"])),
        )
        for r in rows[:limit]
    ]  # fmt: skip
    return wire.ReanimationReport(
        rules=[
            wire.ReanimationRule(
                rule=str(r["rule_code"]),
                gifted=int(r["gifted"]),
                returned=int(r["returned"]),
                gifts=to_roubles(int(r["gifts"])),
                messages_cost=to_roubles(int(r["cost"])),
                sales=int(r["sales"]),
                revenue=to_roubles(int(r["revenue"])),
            )
            for r in rules
        ],
        customers=customers,
        next=customers[-1].id if len(rows) > limit else None,
    )
