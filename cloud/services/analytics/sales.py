"""Reports about money: the average receipt and revenue per customer, the discount over
time, and the bonus liability (outstanding, activating and expiring by month)."""

from __future__ import annotations

from datetime import date
from typing import Any

from cloud.services.analytics import (
    Chart,
    Column,
    Period,
    Report,
    _next_month,
    avg_roubles,
    percent,
    rollup,
    roubles,
)
from cloud.services.deps import Deps

LIABILITY_MONTHS = 12


async def _by_month(deps: Deps, merchant_id: int, span: Period) -> dict[str, Any]:
    """Per month of the merchant's calendar: the sales of known customers (count,
    buyers, amount paid, discount, bonuses spent and accrued) and the refunds' amount."""
    months = await rollup.monthly(deps, merchant_id, span)
    return {label: {k: row[k] for k in _ZERO} for label, row in months.items()}


_ZERO = {"sales": 0, "buyers": 0, "amount": 0, "refunds": 0, "discount": 0, "redeemed": 0,
         "accrued": 0}  # fmt: skip


async def receipts(deps: Deps, merchant_id: int, span: Period) -> Report:
    found = await _by_month(deps, merchant_id, span)
    out = []
    for month in span.months:
        m = found.get(month.label, _ZERO)
        revenue = m["amount"] - m["refunds"]
        out.append({
            "month": month.label, "sales": m["sales"], "buyers": m["buyers"],
            "revenue": roubles(revenue), "receipt": avg_roubles(m["amount"], m["sales"]),
            "per_customer": avg_roubles(revenue, m["buyers"]),
        })  # fmt: skip
    total_sales = sum(m["sales"] for m in found.values())
    total_amount = sum(m["amount"] for m in found.values())
    return Report(
        "receipts", "Средний чек и выручка на клиента",
        "Продажи клиентам программы. Выручка — оплачено за вычетом возвратов месяца; средний "
        "чек — по продажам; выручка на клиента — на покупателя месяца.",
        [Column("month", "Месяц", "text"), Column("sales", "Продаж"),
         Column("buyers", "Покупателей"), Column("revenue", "Выручка", "money"),
         Column("receipt", "Средний чек", "money"),
         Column("per_customer", "Выручка на клиента", "money")],
        out, Chart("line", "month", ("receipt", "per_customer")),
        [("Средний чек за период", avg_roubles(total_amount, total_sales), "money")],
    )  # fmt: skip


async def discount(deps: Deps, merchant_id: int, span: Period) -> Report:
    found = await _by_month(deps, merchant_id, span)
    out = []
    for month in span.months:
        m = found.get(month.label, _ZERO)
        before = m["amount"] + m["discount"]
        out.append({
            "month": month.label, "gross": roubles(before), "discount": roubles(m["discount"]),
            "discount_share": percent(m["discount"], before),
            "redeemed": roubles(m["redeemed"]), "redeemed_share": percent(m["redeemed"], before),
            "accrued": roubles(m["accrued"]),
        })  # fmt: skip
    return Report(
        "discount", "Средняя скидка по месяцам",
        "Доля скидки и оплаты бонусами в сумме продаж до скидки.",
        [Column("month", "Месяц", "text"), Column("gross", "Продажи до скидки", "money"),
         Column("discount", "Скидка", "money"), Column("discount_share", "Скидка", "percent"),
         Column("redeemed", "Оплачено бонусами", "money"),
         Column("redeemed_share", "Бонусами", "percent"),
         Column("accrued", "Начислено бонусов", "money")],
        out, Chart("line", "month", ("discount_share", "redeemed_share")),
    )  # fmt: skip


async def liability(deps: Deps, merchant_id: int, span: Period) -> Report:
    """What the merchant owes in bonuses now, and by month ahead: what becomes spendable
    and what lapses if unspent. Looks forward from today whatever the period."""
    now = int(span.now.timestamp())
    today = span.now.astimezone(span.tz).date()
    ahead = Period(date(today.year, today.month, 1), date(today.year, today.month, 1),
                   span.tz, span.now)  # fmt: skip
    last = ahead.first
    for _ in range(LIABILITY_MONTHS - 1):
        last = _next_month(last)
    ahead = Period(ahead.first, last, span.tz, span.now)
    params = {"m": merchant_id, "now": now}
    totals = await deps.db.fetch_one(
        "SELECT COALESCE(SUM(CASE WHEN available_from <= :now THEN remaining ELSE 0 END), 0) "
        "AS outstanding, "
        "COALESCE(SUM(CASE WHEN available_from > :now THEN remaining ELSE 0 END), 0) "
        "AS activating, "
        "COALESCE(SUM(CASE WHEN expires_at IS NULL THEN remaining ELSE 0 END), 0) AS forever "
        "FROM bonus_lots WHERE merchant_id = :m AND remaining > 0 "
        "AND (expires_at IS NULL OR expires_at > :now)",
        params,
    )
    rows = await deps.db.fetch_all(
        f"WITH {ahead.months_sql()} SELECT m.label, "
        "(SELECT COALESCE(SUM(l.remaining), 0) FROM bonus_lots l WHERE l.merchant_id = :m "
        "AND l.remaining > 0 AND l.available_from > :now AND l.available_from >= m.lo "
        "AND l.available_from < m.hi AND (l.expires_at IS NULL OR l.expires_at > :now)) "
        "AS activating, "
        "(SELECT COALESCE(SUM(l.remaining), 0) FROM bonus_lots l WHERE l.merchant_id = :m "
        "AND l.remaining > 0 AND l.expires_at > :now AND l.expires_at >= m.lo "
        "AND l.expires_at < m.hi) AS expiring FROM months m ORDER BY m.label",
        params,
    )
    assert totals is not None
    out = [
        {"month": r["label"], "activating": roubles(int(r["activating"])),
         "expiring": roubles(int(r["expiring"]))}
        for r in rows
    ]  # fmt: skip
    return Report(
        "liability", "Бонусные обязательства",
        f"Бонусы клиентов на сегодня и на {LIABILITY_MONTHS} месяцев вперёд: сколько "
        "станет доступно и сколько сгорит, если не потратить (период не влияет).",
        [Column("month", "Месяц", "text"), Column("activating", "Станет доступно", "money"),
         Column("expiring", "Сгорит", "money")],
        out, Chart("bar", "month", ("activating", "expiring")),
        [("Доступно клиентам сейчас", roubles(int(totals["outstanding"])), "money"),
         ("Ещё не активированы", roubles(int(totals["activating"])), "money"),
         ("Без срока сгорания", roubles(int(totals["forever"])), "money")],
    )  # fmt: skip
