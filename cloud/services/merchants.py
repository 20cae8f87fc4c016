"""Tenants: merchants, their stores and terminals, and terminal authentication."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cloud.clock import to_epoch
from cloud.crypto import hash_token, new_token
from cloud.db.database import PostgresDatabase, SqliteDatabase
from cloud.errors import BadRequest, NotFound, PaymentRequired, Unauthorized

Db = SqliteDatabase | PostgresDatabase

CHANNELS = ("native", "1c", "sigma", "modulkassa", "frontol", "moysklad", "bridge")
"""Terminal kinds a merchant creates (and issues tokens for); ``evotor`` terminals come
from the Evotor sync only. A new channel adds a kind here, not a table."""
NATIVE_API_CHANNELS = frozenset({"native", "1c"})
"""Channels whose tokens the native API accepts (1C speaks the native API)."""
ROLES = ("owner", "manager")


@dataclass(frozen=True, slots=True)
class Liveness:
    """How a remembered terminal context proves itself still current inside the
    request's own first read: ``sql`` is a scalar subquery over ``merchants m`` that
    gives the till's store time zone, NULL once the credential no longer admits it
    (a revoked token, a rotated key, a removed till); ``params`` are its bind values.
    Every channel that remembers its tills states its proof here, so the hot path keeps
    one database read whatever the door."""

    sql: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TerminalContext:
    """Who is calling: a credential resolves to exactly one merchant, store, terminal."""

    merchant_id: int
    store_id: int
    terminal_id: int
    timezone: ZoneInfo
    merchant_status: str
    credential: Liveness | None = None
    """Set when this context came from a channel's memory: the request's own first
    query must then prove the credential still live (see ``credential_check``). None
    when the context was read from the database just now."""


class StaleCredential(Exception):
    """A remembered terminal context no longer matches the database (its credential was
    revoked or rotated, or its store changed time zone): authenticate afresh, which
    refuses what is no longer valid, and run the request again."""


# The liveness of a remembered credential, read inside a request's own query as a column
# (NULL when revoked): the hot path keeps one database read and revocation still takes
# effect at once, in every worker.
CREDENTIAL_ZONE_SQL = (
    "(SELECT s.timezone FROM terminal_credentials c "
    "JOIN terminals t ON t.id = c.terminal_id AND t.merchant_id = c.merchant_id "
    "JOIN stores s ON s.id = t.store_id AND s.merchant_id = c.merchant_id "
    "WHERE c.token_hash = :th AND c.merchant_id = m.id AND c.revoked_at IS NULL)"
)


def credential_check(terminal: TerminalContext, zone_name: str | None, status: str) -> None:
    """Refuse a remembered context whose merchant was suspended since it was
    remembered; a credential no longer valid or a moved time zone asks for a fresh
    authentication (which gives the channel's own refusal)."""
    if zone_name is None:
        raise StaleCredential()
    if status != "active":
        raise PaymentRequired(
            "merchant_suspended", "Обслуживание программы лояльности приостановлено"
        )
    if zone_name != terminal.timezone.key:
        raise StaleCredential()


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    # OSError: a directory of the zone database ("Europe") is not a zone either.
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise BadRequest("invalid_timezone", f"Неизвестный часовой пояс «{name}»") from exc


async def create_merchant(db: Db, name: str, now: datetime, timezone: str = "Europe/Moscow") -> int:
    zone(timezone)
    async with db.transaction() as tx:
        return await tx.insert(
            "INSERT INTO merchants (name, status, timezone, created_at) "
            "VALUES (:name, 'active', :tz, :now) RETURNING id",
            {"name": name, "tz": timezone, "now": to_epoch(now)},
        )


async def create_store(
    db: Db, merchant_id: int, name: str, now: datetime, timezone: str | None = None,
    external_id: str | None = None, address: str | None = None,
) -> int:  # fmt: skip
    async with db.transaction() as tx:
        if timezone is None:
            timezone = await tx.fetch_value(
                "SELECT timezone FROM merchants WHERE id = :m", {"m": merchant_id}
            )
        zone(str(timezone))
        return await tx.insert(
            "INSERT INTO stores (merchant_id, name, timezone, external_id, address, "
            "created_at) VALUES (:m, :name, :tz, :ext, :address, :now) RETURNING id",
            {"m": merchant_id, "name": name, "tz": timezone, "ext": external_id,
             "address": address, "now": to_epoch(now)},
        )  # fmt: skip


async def create_terminal(
    db: Db, merchant_id: int, store_id: int, name: str, now: datetime,
    external_id: str | None = None, channel: str = "native",
) -> int:  # fmt: skip
    if channel not in CHANNELS:
        raise BadRequest(
            "unknown_channel",
            f"Неизвестный канал «{channel}»: допустимы {', '.join(CHANNELS)}",
        )
    async with db.transaction() as tx:
        owner = await tx.fetch_value(
            "SELECT merchant_id FROM stores WHERE id = :s", {"s": store_id}
        )
        if owner != merchant_id:
            raise BadRequest("unknown_store", "Магазин не найден")
        return await tx.insert(
            "INSERT INTO terminals (merchant_id, store_id, name, external_id, channel, "
            "created_at) VALUES (:m, :s, :name, :ext, :channel, :now) RETURNING id",
            {"m": merchant_id, "s": store_id, "name": name, "ext": external_id,
             "channel": channel, "now": to_epoch(now)},
        )  # fmt: skip


async def issue_terminal_token(
    db: Db, merchant_id: int, terminal_id: int, now: datetime, token: str | None = None,
    label: str = "",
) -> str:  # fmt: skip
    """Issue a Bearer token for a terminal; only its hash is kept, so show it once. The
    token records the terminal's channel, so each adapter accepts only its own."""
    token = token or new_token()
    async with db.transaction() as tx:
        channel = await tx.fetch_value(
            "SELECT channel FROM terminals WHERE id = :t AND merchant_id = :m",
            {"t": terminal_id, "m": merchant_id},
        )
        if channel is None:
            raise NotFound("terminal_not_found", f"Терминал #{terminal_id} не найден")
        if channel not in CHANNELS:
            raise BadRequest(
                "terminal_read_only",
                "Терминал чеков по QR-коду виртуальный: токен ему не выдаётся"
                if channel == "fiscal_qr"
                else "Касса в кабинете работает по входу сотрудника: токен ей не выдаётся"
                if channel == "cabinet"
                else "Терминал Эвотор подключается через маркет Эвотор: токен ему не выдаётся",
            )
        await tx.insert(
            "INSERT INTO terminal_credentials "
            "(merchant_id, terminal_id, token_hash, label, channel, created_at) "
            "VALUES (:m, :t, :h, :label, :channel, :now) RETURNING id",
            {"m": merchant_id, "t": terminal_id, "h": hash_token(token), "label": label,
             "channel": channel, "now": to_epoch(now)},
        )  # fmt: skip
    return token


_AUTH_SQL = (
    "SELECT t.merchant_id, t.store_id, t.id AS terminal_id, s.timezone, m.status, c.channel "
    "FROM terminal_credentials c "
    "JOIN terminals t ON t.id = c.terminal_id AND t.merchant_id = c.merchant_id "
    "JOIN stores s ON s.id = t.store_id AND s.merchant_id = c.merchant_id "
    "JOIN merchants m ON m.id = c.merchant_id "
    "WHERE c.token_hash = :h AND c.revoked_at IS NULL"
)


class TerminalAuthenticator:
    """Resolves a terminal's token to its merchant, store and terminal.

    A revoked token or a suspended merchant must be refused at once, by every worker
    process on the database, so an accepted token is read from the database on every
    call — except where the caller asks for a ``deferred`` check: then a remembered
    context comes back carrying the token's hash, and the request's own first query
    proves the token still live (calculate's snapshot read, ``CREDENTIAL_ZONE_SQL``).
    That keeps the hot path at one query without a window for revoked tokens.

    ``channels``: the kinds of token this door accepts (a SIGMA token is for the SIGMA
    adapter, not the native API)."""

    MAX_REMEMBERED = 10_000

    def __init__(self, db: Db, channels: frozenset[str] = NATIVE_API_CHANNELS) -> None:
        self._db = db
        self._remembered: dict[str, TerminalContext] = {}
        self._channels = channels

    async def authenticate(self, token: str, *, deferred: bool = False) -> TerminalContext:
        token_hash = hash_token(token)
        if deferred:
            remembered = self._remembered.get(token_hash)
            if remembered is not None:
                return remembered
        row = await self._db.fetch_one(_AUTH_SQL, {"h": token_hash})
        if row is None:
            self._remembered.pop(token_hash, None)
            raise Unauthorized("invalid_token", "Неверный токен терминала")
        if row["channel"] not in self._channels:
            raise Unauthorized(
                "wrong_channel", f"Токен выдан для канала «{row['channel']}», не для этого API"
            )
        if row["status"] != "active":
            self._remembered.pop(token_hash, None)
            raise PaymentRequired(
                "merchant_suspended", "Обслуживание программы лояльности приостановлено"
            )
        context = TerminalContext(
            merchant_id=row["merchant_id"],
            store_id=row["store_id"],
            terminal_id=row["terminal_id"],
            timezone=zone(row["timezone"]),
            merchant_status=row["status"],
        )
        if len(self._remembered) >= self.MAX_REMEMBERED:
            self._remembered.clear()
        proof = Liveness(CREDENTIAL_ZONE_SQL, {"th": token_hash})
        self._remembered[token_hash] = replace(context, credential=proof)
        return context

    def forget(self, token: str) -> None:
        self._remembered.pop(hash_token(token), None)


async def revoke_terminal_token(
    db: Db, merchant_id: int, now: datetime, *, token: str | None = None,
    terminal_id: int | None = None,
) -> int:  # fmt: skip
    """Revoke a terminal token (by the token itself) or every live token of a terminal;
    return how many were revoked (0 when already revoked or not this merchant's). Takes
    effect on the next request, in every process: tokens are not cached."""
    if (token is None) == (terminal_id is None):
        raise ValueError("revoke by token or by terminal_id, exactly one")
    condition, params = (
        ("token_hash = :h", {"h": hash_token(token)})
        if token is not None
        else ("terminal_id = :t", {"t": terminal_id})
    )
    async with db.transaction() as tx:
        revoked = await tx.fetch_all(
            "UPDATE terminal_credentials SET revoked_at = :now "
            f"WHERE merchant_id = :m AND {condition} AND revoked_at IS NULL RETURNING id",
            {"m": merchant_id, "now": to_epoch(now), **params},
        )
    return len(revoked)


@dataclass(frozen=True, slots=True)
class MerchantContext:
    """A merchant-level caller (the cabinet or the merchant's own systems): may change
    the program, never acts as a till."""

    merchant_id: int
    timezone: ZoneInfo
    role: str = "owner"
    credential_id: int | None = None
    """The merchant key that called: manual actions are recorded under it."""
    label: str = ""

    def as_terminal(self) -> TerminalContext:
        """For previews: price in the merchant's zone, with no store or terminal."""
        return TerminalContext(self.merchant_id, 0, 0, self.timezone, "active")


async def issue_merchant_key(
    db: Db, merchant_id: int, now: datetime, token: str | None = None, label: str = "",
    role: str = "owner",
) -> str:  # fmt: skip
    """Issue a merchant API key (programs, stores, terminals); only its hash is kept."""
    if role not in ROLES:
        raise BadRequest("unknown_role", f"Неизвестная роль «{role}»: owner или manager")
    token = token or new_token("lm")
    async with db.transaction() as tx:
        await tx.insert(
            "INSERT INTO merchant_credentials (merchant_id, token_hash, label, role, created_at) "
            "VALUES (:m, :h, :label, :role, :now) RETURNING id",
            {"m": merchant_id, "h": hash_token(token), "label": label, "role": role,
             "now": to_epoch(now)},
        )  # fmt: skip
    return token


async def authenticate_merchant(db: Db, token: str) -> MerchantContext:
    row = await db.fetch_one(
        "SELECT m.id, m.timezone, c.role, c.id AS credential_id, c.label "
        "FROM merchant_credentials c "
        "JOIN merchants m ON m.id = c.merchant_id "
        "WHERE c.token_hash = :h AND c.revoked_at IS NULL",
        {"h": hash_token(token)},
    )
    if row is None:
        raise Unauthorized("invalid_token", "Неверный ключ API компании")
    return MerchantContext(
        merchant_id=int(row["id"]), timezone=zone(row["timezone"]), role=str(row["role"]),
        credential_id=int(row["credential_id"]), label=str(row["label"]),
    )  # fmt: skip
