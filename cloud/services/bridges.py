"""Store bridges: what a store server syncs to price offline, and its health.

A bridge is a terminal of channel ``bridge`` in its store. It pulls the active program
and a snapshot of the customers (id, tier, blocked, keyed hashes of phones and cards)
and reports its outbox by heartbeat; the merchant reads each bridge's last report.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from itertools import groupby

from cloud.clock import from_epoch, to_epoch
from cloud.errors import Conflict
from cloud.services.deps import Deps
from cloud.services.merchants import TerminalContext
from schemas import bridge as wire

STALE_SECONDS = 300
"""A bridge silent this long is flagged: it heartbeats every 30 s while running."""
MAX_PAGE = 1000


def lookup_key(deps: Deps, terminal: TerminalContext) -> bytes:
    """The bridge's own hashing key, derived from the blind-index key: a store server's
    disk never holds a key that would open another store's snapshot (nor the cloud's)."""
    root = base64.b64decode(deps.settings.index_key)
    label = f"bridge:{terminal.merchant_id}:{terminal.terminal_id}".encode()
    return hmac.new(root, label, hashlib.sha256).digest()


async def active_program(deps: Deps, terminal: TerminalContext) -> wire.BridgeProgram:
    row = await deps.db.fetch_one(
        "SELECT v.id, v.version, v.document FROM merchants m "
        "JOIN program_versions v ON v.id = m.active_program_version_id "
        "AND v.merchant_id = m.id WHERE m.id = :m",
        {"m": terminal.merchant_id},
    )
    if row is None:
        raise Conflict("no_program", "У компании нет активной программы лояльности")
    return wire.BridgeProgram(
        version=int(row["version"]), program_version_id=int(row["id"]),
        timezone=terminal.timezone.key, document=json.loads(row["document"]),
        lookup_key=base64.b64encode(lookup_key(deps, terminal)).decode(),
    )  # fmt: skip


async def customer_page(
    deps: Deps, terminal: TerminalContext, after: int, limit: int
) -> wire.CustomerPage:
    """Customers with an id above ``after``, in id order, each with the keyed hashes of
    their phones and cards (two set-based reads per page)."""
    merchant_id = terminal.merchant_id
    rows = await deps.db.fetch_all(
        "SELECT id, tier_code, blocked_at FROM customers WHERE merchant_id = :m AND id > :a "
        "ORDER BY id LIMIT :n",
        {"m": merchant_id, "a": after, "n": limit},
    )
    if not rows:
        return wire.CustomerPage(customers=[], next_after=None)
    last = int(rows[-1]["id"])
    cards = await deps.db.fetch_all(
        "SELECT customer_id, kind, number_enc FROM cards WHERE merchant_id = :m "
        "AND customer_id > :a AND customer_id <= :last ORDER BY customer_id, id",
        {"m": merchant_id, "a": after, "last": last},
    )
    key = lookup_key(deps, terminal)
    keys: dict[int, list[str]] = {}
    for customer_id, group in groupby(cards, key=lambda card: int(card["customer_id"])):
        keys[customer_id] = [
            wire.keyed_hash(
                key,
                "phone" if card["kind"] == "phone" else "card",
                deps.cipher.decrypt(merchant_id, bytes(card["number_enc"])),
            )
            for card in group
        ]
    program = await deps.db.fetch_one(
        "SELECT m.active_program_version_id AS id FROM merchants m WHERE m.id = :m",
        {"m": merchant_id},
    )
    names: dict[str, str] = {}
    if program is not None and program["id"] is not None:
        loaded = await deps.programs.get(int(program["id"]))
        names = {tier.code: tier.name for tier in loaded.program.tiers}
    customers = [
        wire.SnapshotCustomer(
            id=int(row["id"]),
            tier=row["tier_code"],
            tier_name=names.get(row["tier_code"] or ""),
            blocked=row["blocked_at"] is not None,
            keys=keys.get(int(row["id"]), []),
        )
        for row in rows
    ]
    return wire.CustomerPage(customers=customers, next_after=last if len(rows) == limit else None)


async def heartbeat(
    deps: Deps, terminal: TerminalContext, beat: wire.Heartbeat
) -> wire.HeartbeatAck:
    now = deps.clock()
    params = {
        "t": terminal.terminal_id, "m": terminal.merchant_id, "now": to_epoch(now),
        "depth": beat.outbox_depth, "rejected": beat.rejected_count, "version": beat.version,
        "oldest": None if beat.oldest_unsent_at is None else to_epoch(beat.oldest_unsent_at),
    }  # fmt: skip
    async with deps.db.transaction() as tx:
        await tx.execute(
            "INSERT INTO bridge_health (terminal_id, merchant_id, last_contact_at, "
            "outbox_depth, oldest_unsent_at, rejected_count, version) VALUES (:t, :m, :now, "
            ":depth, :oldest, :rejected, :version) ON CONFLICT (terminal_id) DO UPDATE SET "
            "last_contact_at = excluded.last_contact_at, outbox_depth = excluded.outbox_depth, "
            "oldest_unsent_at = excluded.oldest_unsent_at, "
            "rejected_count = excluded.rejected_count, version = excluded.version",
            params,
        )
    return wire.HeartbeatAck(received_at=now)


async def bridges_of(deps: Deps, merchant_id: int) -> wire.BridgeList:
    now = to_epoch(deps.clock())
    rows = await deps.db.fetch_all(
        "SELECT t.id, t.store_id, t.name, h.last_contact_at, h.outbox_depth, "
        "h.oldest_unsent_at, h.rejected_count, h.version FROM terminals t "
        "LEFT JOIN bridge_health h ON h.terminal_id = t.id AND h.merchant_id = t.merchant_id "
        "WHERE t.merchant_id = :m AND t.channel = 'bridge' ORDER BY t.id",
        {"m": merchant_id},
    )
    return wire.BridgeList(
        bridges=[
            wire.BridgeStatus(
                terminal_id=int(row["id"]),
                store_id=int(row["store_id"]),
                name=row["name"],
                last_contact_at=from_epoch(row["last_contact_at"]),
                outbox_depth=row["outbox_depth"],
                oldest_unsent_at=from_epoch(row["oldest_unsent_at"]),
                rejected_count=row["rejected_count"],
                version=row["version"],
                stale=row["last_contact_at"] is None
                or now - int(row["last_contact_at"]) > STALE_SECONDS,
            )
            for row in rows
        ]
    )
