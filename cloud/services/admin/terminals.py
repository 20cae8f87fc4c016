"""Terminals of every channel and their tokens.

One credentials model (``terminal_credentials``) with the channel recorded: a channel
adapter that lands later resolves its tokens through ``TerminalAuthenticator`` with its
own channel, so it adds a kind to ``merchants.CHANNELS``, not a table. Evotor terminals
are created by the Evotor sync and authenticate through the Evotor account: they are
listed here, read-only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cloud.errors import BadRequest, NotFound
from cloud.services import merchants
from cloud.services.admin import clean_name
from cloud.services.merchants import Db


@dataclass(frozen=True, slots=True)
class TerminalInfo:
    id: int
    store_id: int
    name: str
    channel: str
    live_tokens: int
    read_only: bool


_SELECT = (
    "SELECT t.id, t.store_id, t.name, t.channel, "
    "(SELECT COUNT(*) FROM terminal_credentials c WHERE c.merchant_id = t.merchant_id "
    " AND c.terminal_id = t.id AND c.revoked_at IS NULL) AS live_tokens "
    "FROM terminals t WHERE t.merchant_id = :m"
)


def _info(row: Any) -> TerminalInfo:
    return TerminalInfo(
        int(row["id"]), int(row["store_id"]), row["name"], row["channel"],
        int(row["live_tokens"]), row["channel"] not in merchants.CHANNELS,
    )  # fmt: skip


async def list_terminals(db: Db, merchant_id: int) -> list[TerminalInfo]:
    rows = await db.fetch_all(_SELECT + " ORDER BY t.id", {"m": merchant_id})
    return [_info(row) for row in rows]


async def get_terminal(db: Db, merchant_id: int, terminal_id: int) -> TerminalInfo:
    row = await db.fetch_one(_SELECT + " AND t.id = :t", {"m": merchant_id, "t": terminal_id})
    if row is None:
        raise NotFound("terminal_not_found", f"Терминал #{terminal_id} не найден")
    return _info(row)


async def add_terminal(
    db: Db, merchant_id: int, store_id: int, name: str, now: datetime, channel: str = "native"
) -> TerminalInfo:
    """A terminal of one of ``merchants.CHANNELS`` in one of this merchant's stores."""
    terminal_id = await merchants.create_terminal(
        db, merchant_id, store_id, clean_name(name), now, channel=channel
    )
    return await get_terminal(db, merchant_id, terminal_id)


async def issue_token(
    db: Db, merchant_id: int, terminal_id: int, now: datetime, label: str = ""
) -> str:
    """A new token for the terminal (others stay live until revoked); shown once."""
    return await merchants.issue_terminal_token(db, merchant_id, terminal_id, now, label=label)


async def revoke(
    db: Db, merchant_id: int, now: datetime, *, token: str | None = None,
    terminal_id: int | None = None,
) -> int:  # fmt: skip
    """Revoke one token or every live token of a terminal; effective on the next request.
    An unknown terminal is a 404 (an unknown token is 0 revoked: it reveals nothing)."""
    if (token is None) == (terminal_id is None):
        raise BadRequest("revoke_target", "Укажите либо токен, либо терминал (одно из двух)")
    if terminal_id is not None:
        await get_terminal(db, merchant_id, terminal_id)
    return await merchants.revoke_terminal_token(
        db, merchant_id, now, token=token, terminal_id=terminal_id
    )
