"""Mailings: a segment of the merchant's customers, its preview (count and cost), the
send (one set-based INSERT … SELECT into the outbox) and the results (set-based too).

The preview and the send evaluate the same WHERE clause at the same moment's clock, so
the preview's count is what the send queues. Only customers who consented to messages,
did not say «СТОП» and whose card is not blocked are in any segment: the outbox would
skip the rest anyway, and a cost estimate should not count them.
"""

from __future__ import annotations

import json
from datetime import datetime

from cloud.clock import from_epoch, to_epoch
from cloud.errors import NotFound, Unprocessable
from cloud.messages.providers import sms_parts
from cloud.messages.segments import Where, index_fields, segment_where
from cloud.messages.templates import render
from cloud.messages.unsubscribe import footer
from cloud.services.deps import Deps
from cloud.services.merchants import zone
from schemas import messages as wire
from schemas.money import to_kopecks, to_roubles

DAY = 86_400


async def _where(deps: Deps, merchant_id: int, request: wire.MailingRequest, now: int) -> Where:
    segment = request.segment
    if segment.age is not None or segment.card_numbers is not None:
        await index_fields(deps, merchant_id)
    timezone = await deps.db.fetch_value(
        "SELECT timezone FROM merchants WHERE id = :m", {"m": merchant_id}
    )
    today = datetime.fromtimestamp(now, zone(str(timezone))).date()
    return segment_where(merchant_id, segment, request.channel, now, today)


async def _rendered(deps: Deps, merchant_id: int, text: str) -> str:
    row = await deps.db.fetch_one(
        "SELECT m.name, t.body FROM merchants m LEFT JOIN message_templates t "
        "ON t.merchant_id = m.id AND t.kind = 'mailing' WHERE m.id = :m",
        {"m": merchant_id},
    )
    assert row is not None
    return render("mailing", {"text": text}, str(row["name"]), row["body"])


async def preview(
    deps: Deps, merchant_id: int, request: wire.MailingRequest, now: int | None = None
) -> wire.MailingPreview:
    """The count and cost estimate ``send`` would queue at ``now`` (default: the clock)."""
    now = to_epoch(deps.clock()) if now is None else now
    where = await _where(deps, merchant_id, request, now)
    row = await deps.db.fetch_one(
        "SELECT COUNT(*) AS total, COALESCE(SUM(CASE WHEN c.telegram_chat_id IS NOT NULL "
        "THEN 1 ELSE 0 END), 0) AS telegram, MAX(c.id) AS longest FROM customers c WHERE "
        + where.sql,
        where.params,
    )
    assert row is not None
    total = int(row["total"])
    telegram = int(row["telegram"]) if deps.telegram is not None and request.channel == "sms" else 0
    # Each message ends with the customer's refusal link; the estimate takes the
    # longest one (the highest customer id has the most digits).
    tail = footer(deps.settings, merchant_id, int(row["longest"] or 0))
    parts = sms_parts(await _rendered(deps, merchant_id, request.text) + tail)
    if request.channel == "email":
        cost = total * deps.settings.email_price_kopecks
    else:
        cost = (total - telegram) * parts * deps.settings.sms_price_kopecks
    return wire.MailingPreview(
        participants=total, by_telegram=telegram, parts=parts, estimated_cost=to_roubles(cost)
    )


async def send(deps: Deps, merchant_id: int, request: wire.MailingRequest) -> wire.MailingCreated:
    """Queue the mailing for every customer of the segment, in one statement."""
    moment = deps.clock()
    now = to_epoch(moment)
    estimate = await preview(deps, merchant_id, request, now)
    where = await _where(deps, merchant_id, request, now)
    days = request.attribution_days or deps.settings.mailing_attribution_days
    async with deps.db.transaction() as tx:
        mailing_id = await tx.insert(
            "INSERT INTO mailings (merchant_id, text, segment, attribution_days, participants, "
            "estimated_cost, created_at) VALUES (:m, :text, :segment, :days, 0, :cost, :now) "
            "RETURNING id",
            {"m": merchant_id, "text": request.text, "days": days, "now": now,
             "segment": request.segment.model_dump_json(exclude_none=True),
             "cost": to_kopecks(estimate.estimated_cost)},
        )  # fmt: skip
        recipient = "c.email_enc" if request.channel == "email" else "c.phone_enc"
        await tx.execute(
            "INSERT INTO notifications (merchant_id, customer_id, channel, recipient_enc, body, "
            "status, cost, created_at, sent_at, kind, params, attempts, next_attempt_at, "
            f"mailing_id) SELECT c.merchant_id, c.id, :channel, {recipient}, '', 'pending', 0, "
            ":now, NULL, 'mailing', :params, 0, 0, :mailing FROM customers c WHERE " + where.sql,
            {**where.params, "channel": request.channel, "mailing": mailing_id,
             "params": json.dumps({"text": request.text}, ensure_ascii=False)},
        )  # fmt: skip
        participants = int(
            await tx.fetch_value(
                "SELECT COUNT(*) FROM notifications WHERE merchant_id = :m AND mailing_id = :id",
                {"m": merchant_id, "id": mailing_id},
            )
        )
        if participants == 0:
            raise Unprocessable(
                "mailing_no_recipients",
                "В сегменте нет клиентов, согласных получать сообщения: рассылка не создана",
            )
        await tx.execute(
            "UPDATE mailings SET participants = :n WHERE id = :id", {"n": participants,
                                                                     "id": mailing_id}
        )  # fmt: skip
    return wire.MailingCreated(
        id=mailing_id, participants=participants, estimated_cost=estimate.estimated_cost,
        created_at=moment,
    )  # fmt: skip


async def results(deps: Deps, merchant_id: int, mailing_id: int) -> wire.MailingResults:
    mailing = await deps.db.fetch_one(
        "SELECT id, text, created_at, attribution_days FROM mailings "
        "WHERE merchant_id = :m AND id = :id",
        {"m": merchant_id, "id": mailing_id},
    )
    if mailing is None:
        raise NotFound("mailing_not_found", f"Рассылка «{mailing_id}» не найдена")
    reached = "('sent', 'delivered', 'undelivered')"
    counts = await deps.db.fetch_one(
        "SELECT COUNT(*) AS total, "
        f"COALESCE(SUM(CASE WHEN status IN {reached} THEN 1 ELSE 0 END), 0) AS sent, "
        "COALESCE(SUM(CASE WHEN status = 'delivered' THEN 1 ELSE 0 END), 0) AS delivered, "
        "COALESCE(SUM(CASE WHEN status IN ('pending', 'claimed') THEN 1 ELSE 0 END), 0) "
        "AS pending, COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) AS failed, "
        "COALESCE(SUM(CASE WHEN status LIKE 'skipped%' THEN 1 ELSE 0 END), 0) AS skipped, "
        f"COALESCE(SUM(CASE WHEN status IN {reached} THEN cost ELSE 0 END), 0) AS cost "
        "FROM notifications WHERE merchant_id = :m AND mailing_id = :id",
        {"m": merchant_id, "id": mailing_id},
    )
    assert counts is not None
    start = int(mailing["created_at"])
    days = int(mailing["attribution_days"])
    # The sales of the participants who were reached, inside the window, net of every
    # return of those sales (whenever it came: a sale returned is no revenue the
    # mailing brought). A sale returned in full still counts as a sale.
    sales = await deps.db.fetch_one(
        "SELECT COUNT(DISTINCT r.customer_id) AS buyers, COUNT(*) AS sales, "
        "COALESCE(SUM(r.amount), 0) AS gross, COALESCE(SUM((SELECT SUM(f.amount) "
        "FROM receipts f WHERE f.merchant_id = :m AND f.original_receipt_id = r.id "
        "AND f.kind = 'refund')), 0) AS returned FROM receipts r "
        "WHERE r.merchant_id = :m AND r.kind = 'sale' AND r.created_at >= :start "
        "AND r.created_at < :until AND r.customer_id IN (SELECT n.customer_id "
        "FROM notifications n WHERE n.merchant_id = :m AND n.mailing_id = :id "
        f"AND n.status IN {reached})",
        {"m": merchant_id, "id": mailing_id, "start": start, "until": start + days * DAY},
    )
    assert sales is not None
    created = from_epoch(start)
    assert created is not None
    return wire.MailingResults(
        id=mailing_id, text=str(mailing["text"]), created_at=created, attribution_days=days,
        participants=int(counts["sent"]), queued=int(counts["total"]), sent=int(counts["sent"]),
        delivered=int(counts["delivered"]), pending=int(counts["pending"]),
        failed=int(counts["failed"]), skipped=int(counts["skipped"]),
        cost=to_roubles(int(counts["cost"])), buyers=int(sales["buyers"]),
        sales=int(sales["sales"]), returned=to_roubles(int(sales["returned"])),
        revenue=to_roubles(int(sales["gross"]) - int(sales["returned"])),
    )  # fmt: skip


async def recent(deps: Deps, merchant_id: int, limit: int = 50) -> list[dict[str, object]]:
    """The merchant's latest mailings, newest first, for the cabinet's list (the
    results of each are one ``results`` call away)."""
    rows = await deps.db.fetch_all(
        "SELECT id, text, created_at, participants, estimated_cost, attribution_days "
        "FROM mailings WHERE merchant_id = :m ORDER BY id DESC LIMIT :n",
        {"m": merchant_id, "n": limit},
    )
    return [
        {"id": int(r["id"]), "text": str(r["text"]), "created_at": from_epoch(int(r["created_at"])),
         "participants": int(r["participants"]), "attribution_days": int(r["attribution_days"]),
         "estimated_cost": to_roubles(int(r["estimated_cost"]))}
        for r in rows
    ]  # fmt: skip
