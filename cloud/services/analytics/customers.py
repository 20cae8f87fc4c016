"""Reports about the customers: growth of the base, 1 / 2 / 3+ purchases, the lost,
days between purchases, referrals and the quality of each acquisition channel."""

from __future__ import annotations

from typing import Any

from cloud.services.analytics import (
    Chart,
    Column,
    Period,
    Report,
    avg_roubles,
    days,
    percent,
    rollup,
    roubles,
    summary,
)
from cloud.services.analytics.rollup import LOST_DAYS
from cloud.services.deps import Deps

# A sale of a known customer: what every report here counts as a purchase.
_SALE = "r.merchant_id = :m AND r.kind = 'sale' AND r.customer_id IS NOT NULL"


async def growth(deps: Deps, merchant_id: int, span: Period) -> Report:
    params = {"m": merchant_id, "lo": span.start}
    before = await deps.db.fetch_value(
        "SELECT COUNT(*) FROM customers WHERE merchant_id = :m AND created_at < :lo", params
    )
    rows = await deps.db.fetch_all(
        f"WITH {span.months_sql()} SELECT m.label, COUNT(c.id) AS new FROM months m "
        "LEFT JOIN customers c ON c.merchant_id = :m AND c.created_at >= m.lo "
        "AND c.created_at < m.hi GROUP BY m.label ORDER BY m.label",
        params,
    )
    total, out = int(before or 0), []
    for row in rows:
        total += int(row["new"])
        out.append({"month": row["label"], "new": int(row["new"]), "total": total})
    return Report(
        "growth", "Рост клиентской базы",
        "Новые клиенты за месяц (по дате регистрации) и размер базы на конец месяца.",
        [Column("month", "Месяц", "text"), Column("new", "Новые"), Column("total", "Всего")],
        out, Chart("bar", "month", ("new", "total")),
        [("Новых за период", sum(r["new"] for r in out), "int"), ("Всего", total, "int")],
    )  # fmt: skip


async def purchases(deps: Deps, merchant_id: int, span: Period) -> Report:
    per = await summary.per_customer_in_period(deps, merchant_id, span) or (
        "per AS (SELECT r.customer_id, COUNT(*) AS n, SUM(r.amount) AS revenue "
        f"FROM receipts r WHERE {_SALE} AND r.local_date >= :d0 AND r.local_date < :d1 "
        "GROUP BY r.customer_id)"
    )
    rows = await deps.db.fetch_all(
        f"WITH {per} SELECT CASE WHEN n = 1 THEN '1' WHEN n = 2 THEN '2' ELSE '3+' END "
        "AS bucket, COUNT(*) AS customers, SUM(revenue) AS revenue FROM per "
        "GROUP BY CASE WHEN n = 1 THEN '1' WHEN n = 2 THEN '2' ELSE '3+' END",
        {"m": merchant_id, "d0": span.first.isoformat(), "d1": span.end_day},
    )
    found = {str(r["bucket"]): r for r in rows}
    buyers = sum(int(r["customers"]) for r in rows)
    names = {"1": "1 покупка", "2": "2 покупки", "3+": "3 и больше"}
    out = []
    for bucket, name in names.items():
        row: Any = found.get(bucket)
        count = int(row["customers"]) if row else 0
        out.append({
            "bucket": name, "customers": count, "share": percent(count, buyers),
            "revenue": roubles(int(row["revenue"]) if row else 0),
        })  # fmt: skip
    return Report(
        "purchases", "Клиенты с 1, 2, 3 и более покупками",
        "Покупатели периода по числу их покупок за период.",
        [Column("bucket", "Покупок", "text"), Column("customers", "Клиентов"),
         Column("share", "Доля", "percent"), Column("revenue", "Выручка", "money")],
        out, Chart("bar", "bucket", ("customers",)),
        [("Покупателей", buyers, "int")],
    )  # fmt: skip


async def lost(deps: Deps, merchant_id: int, span: Period) -> Report:
    """Lost in a month: the customers whose ``LOST_DAYS`` without a purchase ran out in
    that month (a sale with no next sale within them). Churn: the lost over those who
    had bought in the ``LOST_DAYS`` before the month began."""
    months = await rollup.monthly(deps, merchant_id, span)
    out = [
        {"month": m.label, "lost": months[m.label]["lost"], "active": months[m.label]["active"],
         "churn": percent(months[m.label]["lost"], months[m.label]["active"])}
        for m in span.months
    ]  # fmt: skip
    return Report(
        "lost", "Потерянные клиенты и отток по месяцам",
        f"Потерян — {LOST_DAYS} дней без покупки истекли в этом месяце. Отток — потерянные "
        f"от покупавших за {LOST_DAYS} дней до начала месяца.",
        [Column("month", "Месяц", "text"), Column("lost", "Потеряно"),
         Column("active", "Активных на начало"), Column("churn", "Отток", "percent")],
        out, Chart("bar", "month", ("lost",)),
        [("Потеряно за период", sum(r["lost"] for r in out), "int")],
    )  # fmt: skip


async def intervals(deps: Deps, merchant_id: int, span: Period) -> Report:
    """Days from a customer's previous purchase (whenever it was) to each purchase of the
    month, averaged over the month's repeat purchases."""
    months = await rollup.monthly(deps, merchant_id, span)
    out, repeats, seconds = [], 0, 0
    for month in span.months:
        n, s = months[month.label]["repeats"], months[month.label]["seconds"]
        repeats, seconds = repeats + n, seconds + s
        out.append({"month": month.label, "repeats": n, "days": days(s, n)})
    return Report(
        "intervals", "Дни между покупками",
        "Сколько дней в среднем прошло от предыдущей покупки клиента до покупки месяца.",
        [Column("month", "Месяц", "text"), Column("repeats", "Повторных покупок"),
         Column("days", "Дней между покупками", "days")],
        out, Chart("line", "month", ("days",)),
        [("В среднем за период, дней", days(seconds, repeats), "days")],
    )  # fmt: skip


async def referrals(deps: Deps, merchant_id: int, span: Period) -> Report:
    params = {"m": merchant_id, "d0": span.first.isoformat(), "d1": span.end_day}
    rows = await deps.db.fetch_all(
        f"WITH {span.months_sql()} SELECT m.label, "
        "(SELECT COUNT(*) FROM customers c WHERE c.merchant_id = :m AND c.created_at >= m.lo "
        "AND c.created_at < m.hi) AS new, "
        "(SELECT COUNT(*) FROM customers c WHERE c.merchant_id = :m AND c.created_at >= m.lo "
        "AND c.created_at < m.hi AND c.referrer_id IS NOT NULL) AS referred, "
        "(SELECT COALESCE(SUM(w.amount), 0) FROM referral_rewards w WHERE w.merchant_id = :m "
        "AND w.created_at >= m.lo AND w.created_at < m.hi) AS rewards FROM months m "
        "ORDER BY m.label",
        params,
    )
    bought = await deps.db.fetch_all(
        "SELECT SUBSTR(r.local_date, 1, 7) AS month, COUNT(*) AS sales, "
        "SUM(r.amount) AS revenue FROM receipts r JOIN customers c ON c.id = r.customer_id "
        f"AND c.merchant_id = :m WHERE {_SALE} AND c.referrer_id IS NOT NULL "
        "AND r.local_date >= :d0 AND r.local_date < :d1 GROUP BY SUBSTR(r.local_date, 1, 7)",
        params,
    )
    sales = {str(r["month"]): r for r in bought}
    out = []
    for r in rows:
        s: Any = sales.get(str(r["label"]))
        out.append({
            "month": r["label"], "new": int(r["new"]), "referred": int(r["referred"]),
            "share": percent(int(r["referred"]), int(r["new"])),
            "sales": int(s["sales"]) if s else 0,
            "revenue": roubles(int(s["revenue"]) if s else 0),
            "rewards": roubles(int(r["rewards"])),
        })  # fmt: skip
    return Report(
        "referrals", "Клиенты по рекомендации",
        "Новые клиенты, пришедшие по приглашению друга, их покупки за месяц и бонусы, "
        "начисленные пригласившим.",
        [Column("month", "Месяц", "text"), Column("new", "Новые"),
         Column("referred", "По рекомендации"), Column("share", "Доля", "percent"),
         Column("sales", "Их покупок"), Column("revenue", "Их выручка", "money"),
         Column("rewards", "Бонусы пригласившим", "money")],
        out, Chart("bar", "month", ("new", "referred")),
        [("По рекомендации за период", sum(r["referred"] for r in out), "int")],
    )  # fmt: skip


CHANNELS = {
    "till": "Касса", "cabinet": "Кабинет", "self": "Сайт", "website": "Сайт",
    "telegram": "Телеграм", "import": "Импорт", "api": "API", "store": "Магазин",
    "social": "Соцсети",
}  # fmt: skip


async def channels(deps: Deps, merchant_id: int, span: Period) -> Report:
    """The customers who registered in the period, by the channel they came from (the
    acquisition channel, else the registration channel), with all their purchases up to
    the period's end."""
    p = await summary.all_purchases(deps, merchant_id, span) or (
        "p AS (SELECT r.customer_id, COUNT(*) AS n, SUM(r.amount) AS revenue, "
        "MAX(r.created_at) - MIN(r.created_at) AS span FROM receipts r "
        f"JOIN c ON c.id = r.customer_id WHERE {_SALE} AND r.local_date < :d1 "
        "GROUP BY r.customer_id)"
    )
    rows = await deps.db.fetch_all(
        "WITH c AS (SELECT id, COALESCE(acquisition_channel, registration_channel) AS channel "
        "FROM customers WHERE merchant_id = :m AND created_at >= :lo AND created_at < :hi), "
        f"{p} "
        "SELECT c.channel, COUNT(*) AS customers, COUNT(p.customer_id) AS buyers, "
        "COALESCE(SUM(p.n), 0) AS purchases, "
        "COALESCE(SUM(CASE WHEN p.n >= 2 THEN 1 ELSE 0 END), 0) AS repeaters, "
        "COALESCE(SUM(p.revenue), 0) AS revenue, COALESCE(SUM(p.span), 0) AS span, "
        "COALESCE(SUM(p.n - 1), 0) AS gaps FROM c LEFT JOIN p ON p.customer_id = c.id "
        "GROUP BY c.channel ORDER BY COUNT(*) DESC, c.channel",
        {"m": merchant_id, "lo": span.start, "hi": span.end, "d1": span.end_day},
    )
    out = []
    for r in rows:
        customers, purchases_, revenue = int(r["customers"]), int(r["purchases"]), int(r["revenue"])
        out.append({
            "channel": CHANNELS.get(str(r["channel"]), str(r["channel"])),
            "customers": customers, "buyers": int(r["buyers"]), "purchases": purchases_,
            "repeaters": int(r["repeaters"]),
            "receipt": avg_roubles(revenue, purchases_),
            "per_customer": avg_roubles(revenue, customers),
            "days": days(int(r["span"]), int(r["gaps"])),
        })  # fmt: skip
    return Report(
        "channels", "Качество каналов привлечения",
        "Клиенты, зарегистрированные за период, по каналу, откуда пришли, и все их покупки "
        "до конца периода.",
        [Column("channel", "Канал", "text"), Column("customers", "Клиентов"),
         Column("buyers", "Купили"), Column("purchases", "Покупок"),
         Column("repeaters", "Купили повторно"), Column("receipt", "Средний чек", "money"),
         Column("per_customer", "Выручка на клиента", "money"),
         Column("days", "Дней между покупками", "days")],
        out, Chart("bar", "channel", ("customers", "repeaters")),
    )  # fmt: skip
