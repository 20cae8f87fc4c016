"""Signing secrets of terminals whose hooks may be HMAC-signed instead of carrying a
Bearer token (SIGMA).

A token is stored only as its SHA-256, which is enough to check a token presented but not
to recompute an HMAC keyed by it. So a signed terminal gets a secret of its own, kept
encrypted with the merchant bound (``PersonalDataCipher``), issued and rotated through
the merchant administration. A rotation leaves the previous secret working for
``ROTATION_GRACE`` seconds, so the app can be reconfigured without a gap; a revocation
ends every secret of the terminal at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cloud.clock import to_epoch
from cloud.crypto import new_token
from cloud.errors import BadRequest, NotFound
from cloud.services.deps import Deps
from cloud.services.merchants import TerminalContext, zone

SIGNED_CHANNELS = frozenset({"sigma"})
ROTATION_GRACE = 24 * 3600


@dataclass(frozen=True, slots=True)
class Issued:
    secret: str
    previous_valid_until: int | None
    """Epoch seconds until which the secrets it replaced still sign (None: none)."""


async def _terminal_channel(deps: Deps, merchant_id: int, terminal_id: int) -> str:
    channel = await deps.db.fetch_value(
        "SELECT channel FROM terminals WHERE id = :t AND merchant_id = :m",
        {"t": terminal_id, "m": merchant_id},
    )
    if channel is None:
        raise NotFound("terminal_not_found", f"Терминал #{terminal_id} не найден")
    if channel not in SIGNED_CHANNELS:
        raise BadRequest(
            "signing_not_supported",
            f"Подпись запросов есть только у терминалов SIGMA, а этот — «{channel}»",
        )
    return str(channel)


async def issue_secret(deps: Deps, merchant_id: int, terminal_id: int, now: datetime) -> Issued:
    """A new signing secret (shown once); live ones keep working for the grace period."""
    await _terminal_channel(deps, merchant_id, terminal_id)
    secret = new_token("ss")
    epoch = to_epoch(now)
    until = epoch + ROTATION_GRACE
    async with deps.db.transaction() as tx:
        previous = await tx.fetch_all(
            "UPDATE terminal_signing_secrets SET expires_at = :until "
            "WHERE merchant_id = :m AND terminal_id = :t "
            "AND (expires_at IS NULL OR expires_at > :until) RETURNING id",
            {"m": merchant_id, "t": terminal_id, "until": until},
        )
        await tx.insert(
            "INSERT INTO terminal_signing_secrets "
            "(merchant_id, terminal_id, secret_enc, created_at) "
            "VALUES (:m, :t, :s, :now) RETURNING id",
            {"m": merchant_id, "t": terminal_id, "s": deps.cipher.encrypt(merchant_id, secret),
             "now": epoch},
        )  # fmt: skip
    return Issued(secret=secret, previous_valid_until=until if previous else None)


async def revoke_secrets(deps: Deps, merchant_id: int, terminal_id: int, now: datetime) -> int:
    """End every signing secret of the terminal now; how many were live."""
    await _terminal_channel(deps, merchant_id, terminal_id)
    epoch = to_epoch(now)
    async with deps.db.transaction() as tx:
        ended = await tx.fetch_all(
            "UPDATE terminal_signing_secrets SET expires_at = :now "
            "WHERE merchant_id = :m AND terminal_id = :t "
            "AND (expires_at IS NULL OR expires_at > :now) RETURNING id",
            {"m": merchant_id, "t": terminal_id, "now": epoch},
        )
    return len(ended)


_TERMINAL_SQL = (
    "SELECT t.merchant_id, t.store_id, t.id AS terminal_id, t.channel, s.timezone, m.status "
    "FROM terminals t "
    "JOIN stores s ON s.id = t.store_id AND s.merchant_id = t.merchant_id "
    "JOIN merchants m ON m.id = t.merchant_id WHERE t.id = :t"
)


async def signing_keys(
    deps: Deps, terminal_id: int, channel: str, now: datetime
) -> tuple[TerminalContext, list[bytes]] | None:
    """The terminal (of ``channel``) and its live secrets, as HMAC keys; None when there
    is no such terminal of that channel."""
    row: Any = await deps.db.fetch_one(_TERMINAL_SQL, {"t": terminal_id})
    if row is None or row["channel"] != channel:
        return None
    merchant_id = int(row["merchant_id"])
    blobs = await deps.db.fetch_all(
        "SELECT secret_enc FROM terminal_signing_secrets WHERE merchant_id = :m "
        "AND terminal_id = :t AND (expires_at IS NULL OR expires_at > :now) ORDER BY id DESC",
        {"m": merchant_id, "t": terminal_id, "now": to_epoch(now)},
    )
    keys = [deps.cipher.decrypt(merchant_id, bytes(b["secret_enc"])).encode() for b in blobs]
    context = TerminalContext(
        merchant_id=merchant_id, store_id=int(row["store_id"]),
        terminal_id=int(row["terminal_id"]), timezone=zone(row["timezone"]),
        merchant_status=str(row["status"]),
    )  # fmt: skip
    return context, keys
