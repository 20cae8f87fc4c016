"""Customers and queued messages written the way registration and the jobs write them."""

from __future__ import annotations

import json
from typing import Any

from cloud.clock import to_epoch
from cloud.services.deps import Deps


async def add_customer(
    deps: Deps,
    merchant_id: int,
    phone: str,
    *,
    consent: bool = True,
    chat: int | None = None,
    email: str | None = None,
    store_id: int | None = None,
    tier: str | None = None,
    lifetime: int = 0,
    purchases: int = 0,
) -> int:
    now = to_epoch(deps.clock())
    async with deps.db.transaction() as tx:
        return await tx.insert(
            "INSERT INTO customers (merchant_id, phone_index, phone_enc, email_enc, tier_code, "
            "lifetime_purchases, purchase_count, registration_channel, registered_store_id, "
            "consent_messages_at, consent_personal_data_at, created_at, telegram_chat_id) "
            "VALUES (:m, :pi, :pe, :ee, :tier, :life, :count, 'native', :store, :consent, :now, "
            ":now, :chat) RETURNING id",
            {"m": merchant_id, "pi": deps.index.of(merchant_id, "phone", phone),
             "pe": deps.cipher.encrypt(merchant_id, phone),
             "ee": deps.cipher.encrypt_optional(merchant_id, email), "tier": tier,
             "life": lifetime, "count": purchases, "store": store_id,
             "consent": now if consent else None, "now": now, "chat": chat},
        )  # fmt: skip


async def queue(
    deps: Deps,
    merchant_id: int,
    customer_id: int,
    kind: str,
    params: dict[str, Any],
    channel: str = "sms",
) -> int:
    """A message as a job queues it: kind and params, no body, due now."""
    phone = await deps.db.fetch_value(
        "SELECT phone_enc FROM customers WHERE id = :c", {"c": customer_id}
    )
    async with deps.db.transaction() as tx:
        return await tx.insert(
            "INSERT INTO notifications (merchant_id, customer_id, channel, recipient_enc, body, "
            "status, cost, created_at, sent_at, kind, params) VALUES (:m, :c, :ch, :r, '', "
            "'pending', 0, :now, NULL, :kind, :params) RETURNING id",
            {"m": merchant_id, "c": customer_id, "ch": channel, "r": phone,
             "now": to_epoch(deps.clock()), "kind": kind, "params": json.dumps(params)},
        )  # fmt: skip


async def row(deps: Deps, notification_id: int) -> dict[str, Any]:
    found = await deps.db.fetch_one(
        "SELECT * FROM notifications WHERE id = :id", {"id": notification_id}
    )
    assert found is not None
    return dict(found)
