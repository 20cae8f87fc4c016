"""The cashier's workplace in the cabinet: each store's till of channel ``cabinet``.

A merchant with no integrated till rings receipts up in the cabinet; the page is one
more till, so everything it does goes through ``receipt_sessions`` and ``checkout``
with the channel ``cabinet`` (the sale's idempotency namespace, ``receipts.source``).
The till itself is a row of ``terminals`` made on first use in the chosen store; it
takes no token (the staff member's session is its credential), so it is not one of
``merchants.CHANNELS``."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from cloud.clock import to_epoch
from cloud.errors import NotFound, PaymentRequired
from cloud.services.deps import Deps
from cloud.services.merchants import TerminalContext, zone
from schemas.money import to_roubles

CHANNEL = "cabinet"
TILL_NAME = "Рабочее место кассира (кабинет)"
RECENT = 10


@dataclass(frozen=True, slots=True)
class StoreChoice:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class RecentSale:
    receipt_id: str
    customer_id: int | None
    amount: Decimal
    redeemed: Decimal
    accrued: Decimal
    created_at: datetime
    returned: bool


async def stores(deps: Deps, merchant_id: int) -> list[StoreChoice]:
    rows = await deps.db.fetch_all(
        "SELECT id, name FROM stores WHERE merchant_id = :m ORDER BY id", {"m": merchant_id}
    )
    return [StoreChoice(int(row["id"]), str(row["name"])) for row in rows]


async def till(deps: Deps, merchant_id: int, store_id: int) -> TerminalContext:
    """The store's cabinet till as a terminal context, made on first use. Another
    merchant's store is not found; a suspended merchant sells nothing here either."""
    row = await deps.db.fetch_one(
        "SELECT s.timezone, m.status, (SELECT MIN(t.id) FROM terminals t "
        " WHERE t.merchant_id = s.merchant_id AND t.store_id = s.id "
        " AND t.channel = :ch) AS till FROM stores s JOIN merchants m ON m.id = s.merchant_id "
        "WHERE s.id = :s AND s.merchant_id = :m",
        {"s": store_id, "m": merchant_id, "ch": CHANNEL},
    )
    if row is None:
        raise NotFound("store_not_found", f"Магазин #{store_id} не найден")
    if row["status"] != "active":
        raise PaymentRequired(
            "merchant_suspended", "Обслуживание программы лояльности приостановлено"
        )
    terminal_id = row["till"]
    if terminal_id is None:
        async with deps.db.transaction() as tx:
            # Two first sales at once may both make one; MIN(id) above picks the same.
            terminal_id = await tx.insert(
                "INSERT INTO terminals (merchant_id, store_id, name, external_id, channel, "
                "created_at) VALUES (:m, :s, :name, NULL, :ch, :now) RETURNING id",
                {"m": merchant_id, "s": store_id, "name": TILL_NAME, "ch": CHANNEL,
                 "now": to_epoch(deps.clock())},
            )  # fmt: skip
    return TerminalContext(merchant_id, store_id, int(terminal_id), zone(row["timezone"]), "active")


def new_receipt_id(terminal: TerminalContext, now: datetime) -> str:
    """A receipt number a cashier can read out: the store, the local time, a random tail
    (the sale's idempotency key: a repeated close of the same page is one sale)."""
    local = now.astimezone(terminal.timezone)
    return f"К{terminal.store_id}-{local:%y%m%d-%H%M}-{secrets.token_hex(2).upper()}"


async def recent_sales(deps: Deps, terminal: TerminalContext) -> list[RecentSale]:
    """The store's last sales rung up here, newest first, and whether each was returned."""
    rows = await deps.db.fetch_all(
        "SELECT r.external_id, r.customer_id, r.amount, r.redeemed, r.accrued, r.created_at, "
        "EXISTS (SELECT 1 FROM receipts f WHERE f.merchant_id = r.merchant_id "
        " AND f.kind = 'refund' AND f.original_receipt_id = r.id) AS returned "
        "FROM receipts r WHERE r.merchant_id = :m AND r.source = :ch AND r.kind = 'sale' "
        "AND r.store_id = :s ORDER BY r.id DESC LIMIT :n",
        {"m": terminal.merchant_id, "ch": CHANNEL, "s": terminal.store_id, "n": RECENT},
    )
    return [_sale(row, terminal) for row in rows]


def _sale(row: Any, terminal: TerminalContext) -> RecentSale:
    return RecentSale(
        str(row["external_id"]), row["customer_id"], to_roubles(int(row["amount"])),
        to_roubles(int(row["redeemed"])), to_roubles(int(row["accrued"])),
        datetime.fromtimestamp(int(row["created_at"]), terminal.timezone),
        bool(row["returned"]),
    )  # fmt: skip
