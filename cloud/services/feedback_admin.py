"""The merchant's side of feedback: the list, the reply and NPS, always within the
merchant's own rows.

A reply is queued in the outbox as ``feedback_reply`` to the customer who gave the
feedback: it answers the customer's own message, so it is not advertising and needs no
consent to messages (an opt-out still stops it at the worker). NPS is counted in SQL per
store: 5 promoters, 4 passives, 1–3 detractors.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from cloud.clock import to_epoch
from cloud.errors import BadRequest, Conflict, NotFound
from cloud.services.customers_admin.common import check_limit
from cloud.services.deps import Deps
from cloud.services.merchants import zone
from schemas import feedback as wire
from schemas.money import to_roubles


def _period(date_from: date | None, date_to: date | None) -> dict[str, Any]:
    if date_from is not None and date_to is not None and date_from > date_to:
        raise BadRequest("invalid_period", "Начало периода позже его конца")
    return {
        "df": None if date_from is None else date_from.isoformat(),
        "dt": None if date_to is None else date_to.isoformat(),
    }


_FILTER = (
    "f.merchant_id = :m AND (CAST(:store AS BIGINT) IS NULL OR f.store_id = :store) "
    "AND (CAST(:df AS TEXT) IS NULL OR f.local_date >= :df) "
    "AND (CAST(:dt AS TEXT) IS NULL OR f.local_date <= :dt)"
)


async def _timezone(deps: Deps, merchant_id: int) -> Any:
    name = await deps.db.fetch_value(
        "SELECT timezone FROM merchants WHERE id = :m", {"m": merchant_id}
    )
    return zone(str(name))


def _at(epoch: int | None, tz: Any) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(int(epoch), tz)


async def list_feedback(
    deps: Deps, merchant_id: int, *, store_id: int | None, date_from: date | None,
    date_to: date | None, limit: int, before: int | None, customer_id: int | None = None,
) -> wire.FeedbackList:  # fmt: skip
    check_limit(limit)
    params = {"m": merchant_id, "store": store_id, "before": before, "limit": limit + 1,
              "customer": customer_id, **_period(date_from, date_to)}  # fmt: skip
    rows = await deps.db.fetch_all(
        "SELECT f.id, f.customer_id, f.store_id, f.rating, f.comment, f.local_date, "
        "f.created_at, f.reply, f.replied_at, r.external_id, r.terminal_id, r.amount, "
        "r.cashier_id, r.cashier_name, "
        "r.created_at AS purchased_at, s.name AS store, t.name AS terminal, "
        "l.amount AS bonus FROM feedback f JOIN receipts r ON r.id = f.receipt_id "
        "LEFT JOIN stores s ON s.id = f.store_id AND s.merchant_id = f.merchant_id "
        "LEFT JOIN terminals t ON t.id = r.terminal_id AND t.merchant_id = f.merchant_id "
        "LEFT JOIN bonus_lots l ON l.id = f.lot_id "
        f"WHERE {_FILTER} AND (CAST(:before AS BIGINT) IS NULL OR f.id < :before) "
        "AND (CAST(:customer AS BIGINT) IS NULL OR f.customer_id = :customer) "
        "ORDER BY f.id DESC LIMIT :limit",
        params,
    )
    tz = await _timezone(deps, merchant_id)
    items = [
        wire.FeedbackRow(
            id=int(r["id"]),
            receipt_id=str(r["external_id"]),
            customer_id=int(r["customer_id"]),
            store_id=r["store_id"],
            store=r["store"],
            terminal_id=r["terminal_id"],
            terminal=r["terminal"],
            cashier=r["cashier_name"] or r["cashier_id"],
            cashier_id=r["cashier_id"],
            amount=to_roubles(int(r["amount"])),
            purchased_at=_at(r["purchased_at"], tz),
            date=date.fromisoformat(r["local_date"]),
            created_at=_at(r["created_at"], tz),
            rating=int(r["rating"]),
            comment=r["comment"],
            bonus=None if r["bonus"] is None else to_roubles(int(r["bonus"])),
            reply=r["reply"],
            replied_at=_at(r["replied_at"], tz),
        )
        for r in rows[:limit]
    ]
    more = len(rows) > limit
    return wire.FeedbackList(feedback=items, next=items[-1].id if more else None)


async def reply(
    deps: Deps, merchant_id: int, feedback_id: int, body: wire.ReplyRequest
) -> wire.ReplyResult:
    """Store the reply and queue it to the customer, in one transaction; one reply."""
    now = to_epoch(deps.clock())
    async with deps.db.transaction() as tx:
        # Two replies at once: the second waits for the first and then sees its reply
        # (SQLite's single writer serialises them anyway).
        lock = " FOR UPDATE" if tx.dialect == "postgresql" else ""
        row = await tx.fetch_one(
            "SELECT id, customer_id, reply FROM feedback WHERE id = :id AND merchant_id = :m"
            + lock,
            {"id": feedback_id, "m": merchant_id},
        )
        if row is None:
            raise NotFound("feedback_not_found", f"Отзыв «{feedback_id}» не найден")
        if row["reply"] is not None:
            raise Conflict("feedback_replied", "На этот отзыв уже ответили")
        await tx.execute(
            "UPDATE feedback SET reply = :text, replied_at = :now WHERE id = :id",
            {"text": body.text, "now": now, "id": feedback_id},
        )
        await tx.execute(
            "INSERT INTO notifications (merchant_id, customer_id, channel, recipient_enc, "
            "body, status, cost, created_at, sent_at, kind, params) SELECT c.merchant_id, "
            "c.id, 'sms', c.phone_enc, '', 'pending', 0, :now, NULL, 'feedback_reply', "
            ":params FROM customers c WHERE c.id = :c AND c.merchant_id = :m "
            "AND c.phone_enc IS NOT NULL",
            {"now": now, "params": json.dumps({"text": body.text}, ensure_ascii=False),
             "c": row["customer_id"], "m": merchant_id},
        )  # fmt: skip
        queued = await tx.fetch_value(
            "SELECT COUNT(*) FROM notifications WHERE merchant_id = :m AND customer_id = :c "
            "AND kind = 'feedback_reply' AND created_at = :now",
            {"m": merchant_id, "c": row["customer_id"], "now": now},
        )
    tz = await _timezone(deps, merchant_id)
    replied_at = _at(now, tz)
    assert replied_at is not None
    return wire.ReplyResult(
        id=feedback_id, reply=body.text, replied_at=replied_at, queued=bool(queued)
    )


def _nps_row(store_id: int | None, store: str | None, p: int, n: int, d: int) -> wire.NpsRow:
    total = p + n + d
    nps = None
    if total:
        nps = (Decimal(100 * (p - d)) / total).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return wire.NpsRow(
        store_id=store_id, store=store, responses=total, promoters=p, passives=n,
        detractors=d, nps=nps,
    )  # fmt: skip


async def nps(
    deps: Deps, merchant_id: int, *, store_id: int | None, date_from: date | None,
    date_to: date | None,
) -> wire.NpsReport:  # fmt: skip
    params = {"m": merchant_id, "store": store_id, **_period(date_from, date_to)}
    rows = await deps.db.fetch_all(
        "SELECT f.store_id, MAX(s.name) AS store, "
        "SUM(CASE WHEN f.rating = 5 THEN 1 ELSE 0 END) AS p, "
        "SUM(CASE WHEN f.rating = 4 THEN 1 ELSE 0 END) AS n, "
        "SUM(CASE WHEN f.rating <= 3 THEN 1 ELSE 0 END) AS d FROM feedback f "
        "LEFT JOIN stores s ON s.id = f.store_id AND s.merchant_id = f.merchant_id "
        f"WHERE {_FILTER} GROUP BY f.store_id ORDER BY f.store_id",
        params,
    )
    stores = [
        _nps_row(r["store_id"], r["store"], int(r["p"]), int(r["n"]), int(r["d"])) for r in rows
    ]
    total = _nps_row(
        None, None, sum(s.promoters for s in stores), sum(s.passives for s in stores),
        sum(s.detractors for s in stores),
    )  # fmt: skip
    return wire.NpsReport(date_from=date_from, date_to=date_to, stores=stores, total=total)
