"""Effectiveness of what the merchant sends: expiry warnings, reanimation gifts (the
reanimation report's figures per rule) and manual mailings (each mailing's own
results), over the period: participants, message cost, who bought, sales, revenue."""

from __future__ import annotations

from typing import Any

from cloud.messages import mailings
from cloud.services import reanimation_report
from cloud.services.analytics import DAY, Chart, Column, Period, Report, roubles
from cloud.services.deps import Deps

WARNING_DAYS = 14
"""A warned customer's sales count for the warning this many days after it."""
MAILINGS_SHOWN = 50
_REACHED = "('sent', 'delivered', 'undelivered')"


async def _warnings(deps: Deps, merchant_id: int, span: Period) -> dict[str, Any]:
    params = {"m": merchant_id, "lo": span.start, "hi": span.end, "w": WARNING_DAYS * DAY}
    sent = await deps.db.fetch_one(
        "SELECT COUNT(DISTINCT customer_id) AS participants, COALESCE(SUM(cost), 0) AS cost "
        "FROM notifications WHERE merchant_id = :m AND kind = 'expiry_warning' "
        f"AND status IN {_REACHED} AND created_at >= :lo AND created_at < :hi",
        params,
    )
    # From the warnings to their customers' sales (by customer); a sale counts once even
    # when two warnings cover it.
    bought = await deps.db.fetch_one(
        "WITH w AS (SELECT customer_id, created_at FROM notifications WHERE merchant_id = :m "
        f"AND kind = 'expiry_warning' AND status IN {_REACHED} AND created_at >= :lo "
        "AND created_at < :hi), s AS (SELECT DISTINCT r.id, r.customer_id, r.amount "
        "FROM w JOIN receipts r ON r.merchant_id = :m AND r.customer_id = w.customer_id "
        "AND r.kind = 'sale' AND r.created_at >= w.created_at "
        "AND r.created_at < w.created_at + :w) "
        "SELECT COUNT(DISTINCT s.customer_id) AS buyers, COUNT(*) AS sales, "
        "COALESCE(SUM(s.amount), 0) AS gross, COALESCE(SUM((SELECT SUM(f.amount) "
        "FROM receipts f WHERE f.merchant_id = :m AND f.original_receipt_id = s.id "
        "AND f.kind = 'refund')), 0) AS returned FROM s",
        params,
    )
    assert sent is not None and bought is not None
    return {
        "campaign": "Предупреждения о сгорании бонусов",
        "participants": int(sent["participants"]), "cost": roubles(int(sent["cost"])),
        "buyers": int(bought["buyers"]), "sales": int(bought["sales"]),
        "revenue": roubles(int(bought["gross"]) - int(bought["returned"])),
    }  # fmt: skip


async def campaigns(deps: Deps, merchant_id: int, span: Period) -> Report:
    out = [await _warnings(deps, merchant_id, span)]
    for rule in await reanimation_report.rule_totals(deps, merchant_id, span.start, span.end):
        out.append({
            "campaign": f"Реанимация: {rule['rule_code']}",
            "participants": int(rule["gifted"]), "cost": roubles(int(rule["cost"])),
            "buyers": int(rule["returned"]), "sales": int(rule["sales"]),
            "revenue": roubles(int(rule["revenue"])),
        })  # fmt: skip
    # One call per mailing of the period (a few a month), each set-based.
    sent = await deps.db.fetch_all(
        "SELECT id FROM mailings WHERE merchant_id = :m AND created_at >= :lo "
        "AND created_at < :hi ORDER BY id DESC LIMIT :n",
        {"m": merchant_id, "lo": span.start, "hi": span.end, "n": MAILINGS_SHOWN},
    )
    for row in sent:
        result = await mailings.results(deps, merchant_id, int(row["id"]))
        text = result.text if len(result.text) <= 40 else result.text[:39] + "…"
        out.append({
            "campaign": f"Рассылка {result.created_at.astimezone(span.tz):%d.%m.%Y}: {text}",
            "participants": result.participants, "cost": result.cost,
            "buyers": result.buyers, "sales": result.sales, "revenue": result.revenue,
        })  # fmt: skip
    return Report(
        "campaigns", "Эффективность кампаний",
        f"Предупреждения о сгорании (покупки в {WARNING_DAYS} дней после), реанимация "
        "(покупки после подарка) и рассылки (в окне рассылки) за период. Выручка — за "
        "вычетом возвратов.",
        [Column("campaign", "Кампания", "text"), Column("participants", "Участников"),
         Column("cost", "Стоимость сообщений", "money"), Column("buyers", "Купили"),
         Column("sales", "Продаж"), Column("revenue", "Выручка", "money")],
        out, Chart("bar", "campaign", ("cost", "revenue")),
    )  # fmt: skip
