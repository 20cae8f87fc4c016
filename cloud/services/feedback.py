"""Feedback on a purchase: the request some hours after it, the customer's page, the
review gift.

The program's ``gifts.review`` switches feedback on: without it (or with its ``sms``
off) no request is sent; the page still answers a link already sent. The job
``feedback_requests`` runs once per merchant and local date (``run_daily``) and asks
about every sale with a customer made at least ``request_after_hours`` before the run
and at most ``WINDOW_DAYS`` before it (switching feedback on does not ask about last
year's purchases), not refunded, not rated, not asked before (``job_events`` keyed by
the receipt), only customers who consented to messages and whose card is not blocked. A
daily job asks at its first run at least that many hours after the purchase.

The link carries the receipt id signed with the service's secret key (HMAC-SHA256), so
it cannot be guessed from another receipt's link. That signature cannot be computed in
SQL on SQLite, so the receipts to ask are chosen by one query and their events and
messages written in one batch each, not a statement per customer.

A submitted rating and its review gift (a ``review`` lot through the ledger, the gift's
own activation and validity or else the program's lifetime) are written in one
transaction; the unique receipt of ``feedback`` makes it once per receipt, and a blocked
customer's rating is kept without a gift.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.exc import IntegrityError

from cloud.clock import to_epoch
from cloud.db.database import Transaction
from cloud.engine.lifecycle import lot_dates
from cloud.ledger.lots import accrue
from cloud.services.deps import Deps
from cloud.services.jobs import JobReport, merchants_with_programs
from cloud.services.lifecycle import Context, run_daily
from cloud.services.merchants import zone
from schemas.money import to_kopecks

WINDOW_DAYS = 7
JOB = "feedback_requests"
COMMENT_MAX = 2000
_SIG_BYTES = 18


def _signature(secret: str, receipt_id: int) -> str:
    mac = hmac.new(secret.encode(), f"feedback:{receipt_id}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:_SIG_BYTES]).decode()


def token_for(secret: str, receipt_id: int) -> str:
    return f"{receipt_id}.{_signature(secret, receipt_id)}"


def receipt_of(secret: str, token: str) -> int | None:
    """The receipt a token was issued for, or None for a forged or malformed one."""
    head, _, signature = token.partition(".")
    if not (head.isascii() and head.isdigit() and 0 < len(head) <= 18):
        return None
    receipt_id = int(head)
    if not hmac.compare_digest(signature.encode(), _signature(secret, receipt_id).encode()):
        return None
    return receipt_id


def link_for(deps: Deps, receipt_id: int) -> str:
    base = (deps.settings.public_url or "").rstrip("/")
    return f"{base}/feedback/{token_for(deps.settings.secret_key, receipt_id)}"


# ---- the job --------------------------------------------------------------------------


async def _requests(tx: Transaction, ctx: Context, deps: Deps) -> dict[str, Any]:
    gift = ctx.program.program.gifts.review
    if gift is None or not gift.sms:
        # ``sms: false``: the program asks nobody (the link travels only by message).
        return {"configured": False}
    before = ctx.now - gift.request_after_hours * 3600
    params = {"m": ctx.merchant_id, "before": before, "since": before - WINDOW_DAYS * 86400}
    rows = await tx.fetch_all(
        "SELECT r.id, r.customer_id FROM receipts r JOIN customers c ON c.id = r.customer_id "
        "WHERE r.merchant_id = :m AND r.kind = 'sale' AND r.created_at <= :before "
        "AND r.created_at > :since AND c.merchant_id = :m "
        "AND c.consent_messages_at IS NOT NULL AND c.blocked_at IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM job_events e WHERE e.merchant_id = :m "
        "AND e.kind = 'feedback_request' AND e.customer_id = r.customer_id "
        "AND e.event_key = CAST(r.id AS TEXT)) "
        "AND NOT EXISTS (SELECT 1 FROM feedback f WHERE f.receipt_id = r.id) "
        "AND NOT EXISTS (SELECT 1 FROM receipts x WHERE x.merchant_id = :m "
        "AND x.kind = 'refund' AND x.original_receipt_id = r.id) ORDER BY r.id",
        params,
    )
    if rows:
        chosen = [
            {"m": ctx.merchant_id, "c": int(r["customer_id"]), "key": str(r["id"]),
             "now": ctx.now, "params": json.dumps({"link": link_for(deps, int(r["id"]))})}
            for r in rows
        ]  # fmt: skip
        await tx.execute_many(
            "INSERT INTO job_events (merchant_id, customer_id, kind, event_key, lot_id, "
            "created_at) VALUES (:m, :c, 'feedback_request', :key, NULL, :now)",
            chosen,
        )
        await tx.execute_many(
            "INSERT INTO notifications (merchant_id, customer_id, channel, recipient_enc, "
            "body, status, cost, created_at, sent_at, kind, params) SELECT c.merchant_id, "
            "c.id, 'sms', c.phone_enc, '', 'pending', 0, :now, NULL, 'feedback_request', "
            ":params FROM customers c WHERE c.id = :c AND c.merchant_id = :m",
            chosen,
        )
    return {"requested": len(rows)}


async def run_feedback_requests(
    deps: Deps, run_date: date | None = None, merchant_id: int | None = None
) -> JobReport:
    """An SMS with the feedback link ``request_after_hours`` after each purchase."""

    async def work(tx: Transaction, ctx: Context) -> dict[str, Any]:
        return await _requests(tx, ctx, deps)

    return await run_daily(deps, JOB, work, run_date, merchant_id)


# ---- the customer's page --------------------------------------------------------------


@dataclass
class Page:
    receipt_id: int
    merchant: str
    store: str | None
    amount: int
    purchased_on: str
    gift: int | None
    """The review gift in kopecks, when the program has one."""
    rating: int | None = None
    comment: str | None = None
    reply: str | None = None
    gifted: int | None = None


async def page(deps: Deps, token: str) -> Page | None:
    """What the link shows, or None when the token is forged or its receipt is gone."""
    receipt_id = receipt_of(deps.settings.secret_key, token)
    if receipt_id is None:
        return None
    row = await deps.db.fetch_one(
        "SELECT r.id, r.merchant_id, r.amount, r.local_date, m.name AS merchant, "
        "m.active_program_version_id AS version, s.name AS store, f.rating, f.comment, "
        "f.reply, l.amount AS gifted FROM receipts r JOIN merchants m ON m.id = r.merchant_id "
        "LEFT JOIN stores s ON s.id = r.store_id AND s.merchant_id = r.merchant_id "
        "LEFT JOIN feedback f ON f.receipt_id = r.id "
        "LEFT JOIN bonus_lots l ON l.id = f.lot_id "
        "WHERE r.id = :r AND r.kind = 'sale' AND r.customer_id IS NOT NULL",
        {"r": receipt_id},
    )
    if row is None:
        return None
    gift = None
    if row["version"] is not None:
        review = (await deps.programs.get(int(row["version"]))).program.gifts.review
        gift = None if review is None else to_kopecks(review.amount)
    return Page(
        receipt_id, str(row["merchant"]), row["store"], int(row["amount"]),
        str(row["local_date"]), gift, row["rating"], row["comment"], row["reply"],
        None if row["gifted"] is None else int(row["gifted"]),
    )  # fmt: skip


async def submit(deps: Deps, receipt_id: int, rating: int, comment: str | None) -> bool:
    """Store the rating and grant the review gift, once per receipt; False when the
    receipt was rated already (nothing changes)."""
    receipt = await deps.db.fetch_one(
        "SELECT r.merchant_id, r.customer_id, r.store_id, m.timezone, "
        "m.active_program_version_id AS version, c.blocked_at FROM receipts r "
        "JOIN merchants m ON m.id = r.merchant_id JOIN customers c ON c.id = r.customer_id "
        "WHERE r.id = :r AND r.kind = 'sale'",
        {"r": receipt_id},
    )
    assert receipt is not None
    merchant_id, customer_id = int(receipt["merchant_id"]), int(receipt["customer_id"])
    clock_now = deps.clock()
    tz = zone(str(receipt["timezone"]))
    now = to_epoch(clock_now)
    review = None
    lifetime = None
    live = await merchants_with_programs(deps, merchant_id)
    if live and receipt["blocked_at"] is None:
        program = (await deps.programs.get(live[0][1])).program
        review, lifetime = program.gifts.review, program.lifetime_days
    try:
        async with deps.db.transaction() as tx:
            if await tx.fetch_value(
                "SELECT id FROM feedback WHERE receipt_id = :r", {"r": receipt_id}
            ):
                return False
            feedback_id = await tx.insert(
                "INSERT INTO feedback (merchant_id, receipt_id, customer_id, store_id, rating, "
                "comment, local_date, created_at) VALUES (:m, :r, :c, :s, :rating, :comment, "
                ":day, :now) RETURNING id",
                {"m": merchant_id, "r": receipt_id, "c": customer_id, "s": receipt["store_id"],
                 "rating": rating, "comment": comment, "now": now,
                 "day": clock_now.astimezone(tz).date().isoformat()},
            )  # fmt: skip
            if review is not None:
                valid = review.valid_days if review.valid_days is not None else lifetime
                available, expires = lot_dates(clock_now, tz, review.activation_delay_days, valid)
                lot_id = await accrue(
                    tx, merchant_id=merchant_id, customer_id=customer_id, kind="review",
                    amount=to_kopecks(review.amount), available_from=to_epoch(available),
                    expires_at=None if expires is None else to_epoch(expires),
                    receipt_id=receipt_id, key=f"review:{receipt_id}", now=now,
                )  # fmt: skip
                await tx.execute(
                    "UPDATE feedback SET lot_id = :l WHERE id = :id",
                    {"l": lot_id, "id": feedback_id},
                )
    except IntegrityError:
        # Two submits at once: the other one's row and gift stand.
        return False
    return True
