"""The messages one customer was sent (the card's «Сообщения» block): newest first,
with their kind, channel, status and cost, and the totals over all of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from cloud.services.deps import Deps
from schemas.money import to_roubles

REACHED = "('sent', 'delivered', 'undelivered')"


@dataclass(frozen=True, slots=True)
class Sent:
    created_at: datetime
    sent_at: datetime | None
    kind: str | None
    channel: str
    status: str
    cost: Decimal
    mailing_id: int | None


@dataclass(slots=True)
class History:
    messages: list[Sent] = field(default_factory=list)
    total: int = 0
    reached: int = 0
    cost: Decimal = Decimal("0.00")


def _at(epoch: int | None, tz: ZoneInfo) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(int(epoch), tz)


async def customer_messages(
    deps: Deps, merchant_id: int, customer_id: int, tz: ZoneInfo, limit: int = 20
) -> History:
    """The latest ``limit`` messages and the customer's totals (all of them)."""
    params = {"m": merchant_id, "c": customer_id, "n": limit}
    rows = await deps.db.fetch_all(
        "SELECT created_at, sent_at, kind, channel, status, cost, mailing_id FROM notifications "
        "WHERE merchant_id = :m AND customer_id = :c ORDER BY id DESC LIMIT :n",
        params,
    )
    totals = await deps.db.fetch_one(
        "SELECT COUNT(*) AS total, "
        f"COALESCE(SUM(CASE WHEN status IN {REACHED} THEN 1 ELSE 0 END), 0) AS reached, "
        f"COALESCE(SUM(CASE WHEN status IN {REACHED} THEN cost ELSE 0 END), 0) AS cost "
        "FROM notifications WHERE merchant_id = :m AND customer_id = :c",
        params,
    )
    assert totals is not None
    messages = []
    for r in rows:
        created = _at(r["created_at"], tz)
        assert created is not None
        messages.append(Sent(
            created, _at(r["sent_at"], tz), r["kind"], str(r["channel"]), str(r["status"]),
            to_roubles(int(r["cost"])), r["mailing_id"],
        ))  # fmt: skip
    return History(messages, int(totals["total"]), int(totals["reached"]),
                   to_roubles(int(totals["cost"])))  # fmt: skip
