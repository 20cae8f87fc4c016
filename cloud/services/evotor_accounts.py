"""Evotor marketplace lifecycle: accounts, tokens, subscription state and entity sync.

An Evotor user (``01-000000000000001``) installs our app from the Evotor market. Evotor
asks us to create an account (``/user/create``) or to link an existing one
(``/user/verify``); either way we answer a **user token** that Evotor then sends on every
notification, document and proxied terminal call. It is stored as SHA-256 (to resolve
calls) and as AES-GCM ciphertext bound to the merchant (so a repeated ``/user/create``
answers the same token). The Evotor **cloud token** (``/user/token``) is only ever
stored encrypted.

Billing events are applied strictly in ``sequenceNumber`` order per subscription, each
once: an event that arrives early waits (``pending``) until its predecessors come; a
repeat changes nothing. ``SubscriptionTerminated`` suspends the merchant (terminal calls
get Evotor's 1004); ``Created``/``Activated``/``Renewed`` lift a suspension we imposed.

Evotor is the master of stores, devices and employees: the notifications and the cloud
API pull both land in ``sync_stores``/``sync_devices``/``sync_employees``, which create
or update our stores, terminals and cashiers by their Evotor ids.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from cloud.clock import to_epoch
from cloud.crypto import hash_token, new_token
from cloud.db.database import Executor, Transaction, is_unique_violation
from cloud.errors import BadRequest, Conflict, NotFound, PaymentRequired, Unauthorized
from cloud.services import programs
from cloud.services.deps import Deps
from cloud.services.merchants import TerminalContext, zone

log = structlog.get_logger("loyalty.evotor")

SOURCE = "evotor"
DEFAULT_TIMEZONE = "Europe/Moscow"

DEFAULT_PROGRAM: dict[str, Any] = {
    "name": "Бонусная программа",
    "kind": "bonus",
    "tier_assignment": "registration",
    "tiers": [
        {"code": "base", "name": "Базовая", "accrual_percent": "5", "max_redeem_percent": "50"},
        {"code": "silver", "name": "Серебряная", "accrual_percent": "7",
         "max_redeem_percent": "50", "purchases_over": "20000"},
        {"code": "gold", "name": "Золотая", "accrual_percent": "10",
         "max_redeem_percent": "50", "purchases_over": "50000"},
    ],
    "accrual_base": "money_paid",
    "accrual_rounding": "floor_kopeck",
    "activation_delay_days": 0,
    "lifetime_days": 365,
    "expiry_warning_days": 14,
}  # fmt: skip
"""Published for every merchant created from the Evotor market, so its terminals work at
once: 5 / 7 / 10 % accrual (tiers over 20 000 and 50 000 ₽ of purchases), up to half of
a receipt payable by bonuses, bonuses live a year. The merchant edits it in the cabinet."""


@dataclass(frozen=True, slots=True)
class Account:
    merchant_id: int
    evotor_user_id: str
    merchant_status: str
    suspended_at: int | None
    device_limit: int | None = None
    """Devices the subscription pays for (``deviceNumber``); None while unknown."""


@dataclass(frozen=True, slots=True)
class LinkResult:
    user_id: str
    token: str
    merchant_id: int
    created: bool


@dataclass(frozen=True, slots=True)
class StoreRecord:
    external_id: str
    name: str


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    external_id: str
    name: str
    store_external_id: str
    utc_offset_seconds: int | None


@dataclass(frozen=True, slots=True)
class EmployeeRecord:
    external_id: str
    name: str
    role: str | None
    phone: str | None
    store_external_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SyncCounts:
    created: int = 0
    updated: int = 0


# ---- errors the adapter maps to Evotor's codes ---------------------------------------------


def wrong_credentials() -> Unauthorized:
    return Unauthorized("evotor_wrong_credentials", "Неверный логин или пароль")


def already_linked() -> Conflict:
    return Conflict("evotor_already_linked", "Аккаунт уже привязан к другому пользователю Эвотор")


def unknown_user(user_id: str) -> NotFound:
    return NotFound("evotor_unknown_user", f"Пользователь Эвотор «{user_id}» у нас не найден")


def payment_required(user_id: str) -> PaymentRequired:
    return PaymentRequired(
        "evotor_payment_required",
        f"Подписка на программу лояльности прекращена ({user_id}): обслуживание приостановлено",
    )


# ---- accounts ----------------------------------------------------------------------------


_ACCOUNT_BY_USER = (
    "SELECT a.id, a.merchant_id, a.user_token_enc, a.origin, m.active_program_version_id "
    "FROM evotor_accounts a JOIN merchants m ON m.id = a.merchant_id "
    "WHERE a.evotor_user_id = :u"
)


async def create_account(
    deps: Deps, user_id: str, company_name: str | None, timezone: str = DEFAULT_TIMEZONE
) -> LinkResult:
    """A merchant for the Evotor user, with the default program. A repeat for the same
    user answers the same token and creates nothing."""
    existing = await _answer_for(deps, user_id)
    if existing is not None:
        return existing
    now = deps.clock()
    epoch = to_epoch(now)
    token = new_token("ev")
    name = (company_name or "").strip()[:200] or f"Эвотор {user_id}"
    try:
        async with deps.db.transaction() as tx:
            merchant_id = await tx.insert(
                "INSERT INTO merchants (name, status, timezone, created_at) "
                "VALUES (:name, 'active', :tz, :now) RETURNING id",
                {"name": name, "tz": timezone, "now": epoch},
            )
            await _insert_account(tx, deps, merchant_id, user_id, token, "created", epoch)
    except Exception as exc:
        # A twin request created the account between our look-up and our insert.
        if not is_unique_violation(exc):
            raise
        again = await _answer_for(deps, user_id)
        if again is None:
            raise
        return again
    await programs.publish(deps.db, merchant_id, DEFAULT_PROGRAM, now)
    log.info("evotor_account_created", merchant=merchant_id, evotor_user=user_id)
    return LinkResult(user_id, token, merchant_id, created=True)


async def _answer_for(deps: Deps, user_id: str) -> LinkResult | None:
    row = await deps.db.fetch_one(_ACCOUNT_BY_USER, {"u": user_id})
    if row is None:
        return None
    merchant_id = int(row["merchant_id"])
    if row["active_program_version_id"] is None and row["origin"] == "created":
        # The first attempt died between the account and the program: finish it.
        await programs.publish(deps.db, merchant_id, DEFAULT_PROGRAM, deps.clock())
    token = deps.cipher.decrypt(merchant_id, bytes(row["user_token_enc"]))
    return LinkResult(user_id, token, merchant_id, created=False)


async def _insert_account(
    tx: Transaction, deps: Deps, merchant_id: int, user_id: str, token: str, origin: str,
    now: int,
) -> None:  # fmt: skip
    installed_at = await tx.fetch_value(
        "SELECT MAX(received_at) FROM evotor_installation_events "
        "WHERE evotor_user_id = :u AND type = 'ApplicationInstalled'",
        {"u": user_id},
    )
    await tx.insert(
        "INSERT INTO evotor_accounts (merchant_id, evotor_user_id, user_token_hash, "
        "user_token_enc, origin, installed_at, created_at) "
        "VALUES (:m, :u, :h, :enc, :origin, :inst, :now) RETURNING id",
        {"m": merchant_id, "u": user_id, "h": hash_token(token),
         "enc": deps.cipher.encrypt(merchant_id, token), "origin": origin,
         "inst": installed_at, "now": now},
    )  # fmt: skip
    await tx.execute(
        "UPDATE evotor_installation_events SET merchant_id = :m "
        "WHERE evotor_user_id = :u AND merchant_id IS NULL",
        {"m": merchant_id, "u": user_id},
    )


async def verify_account(
    deps: Deps, user_id: str, username: str | None, password: str | None
) -> LinkResult:
    """Link an existing merchant to the Evotor user. Until the cabinet has merchant
    logins, the credentials are the merchant's number (``username``) and a live
    merchant API key (``password``). A till's token never links: it would turn one
    terminal's secret into a merchant-level Evotor token (and the development app token
    is public). Linking the same pair again answers the same token; a merchant or an
    Evotor user already linked elsewhere is refused."""
    if not username or not password or not username.strip().isdigit():
        raise wrong_credentials()
    if len(username.strip()) > 18:
        raise wrong_credentials()
    merchant_id = int(username.strip())
    owner = await deps.db.fetch_value(
        "SELECT merchant_id FROM merchant_credentials WHERE token_hash = :h AND revoked_at IS NULL",
        {"h": hash_token(password)},
    )
    if owner is None or int(owner) != merchant_id:
        raise wrong_credentials()
    linked = await deps.db.fetch_one(
        "SELECT merchant_id, evotor_user_id, user_token_enc FROM evotor_accounts "
        "WHERE merchant_id = :m OR evotor_user_id = :u",
        {"m": merchant_id, "u": user_id},
    )
    if linked is not None:
        if int(linked["merchant_id"]) == merchant_id and linked["evotor_user_id"] == user_id:
            token = deps.cipher.decrypt(merchant_id, bytes(linked["user_token_enc"]))
            return LinkResult(user_id, token, merchant_id, created=False)
        raise already_linked()
    token = new_token("ev")
    try:
        async with deps.db.transaction() as tx:
            await _insert_account(
                tx, deps, merchant_id, user_id, token, "verified", to_epoch(deps.clock())
            )
    except Exception as exc:
        if is_unique_violation(exc):
            raise already_linked() from exc
        raise
    log.info("evotor_account_linked", merchant=merchant_id, evotor_user=user_id)
    return LinkResult(user_id, token, merchant_id, created=True)


async def store_cloud_token(deps: Deps, user_id: str, token: str) -> int:
    """Upsert the Evotor cloud token of the user (encrypted); returns the merchant."""
    merchant_id = await deps.db.fetch_value(
        "SELECT merchant_id FROM evotor_accounts WHERE evotor_user_id = :u", {"u": user_id}
    )
    if merchant_id is None:
        raise unknown_user(user_id)
    merchant_id = int(merchant_id)
    async with deps.db.transaction() as tx:
        await tx.execute(
            "UPDATE evotor_accounts SET cloud_token_enc = :enc, cloud_token_at = :now "
            "WHERE merchant_id = :m",
            {"enc": deps.cipher.encrypt(merchant_id, token), "now": to_epoch(deps.clock()),
             "m": merchant_id},
        )  # fmt: skip
    return merchant_id


async def cloud_token(deps: Deps, merchant_id: int) -> str | None:
    blob = await deps.db.fetch_value(
        "SELECT cloud_token_enc FROM evotor_accounts WHERE merchant_id = :m", {"m": merchant_id}
    )
    return None if blob is None else deps.cipher.decrypt(merchant_id, bytes(blob))


async def active_merchant_of_user(deps: Deps, user_id: str) -> tuple[int, str] | None:
    """The merchant (id and name) of the Evotor user's account, while it is active."""
    row = await deps.db.fetch_one(
        "SELECT a.merchant_id, m.name FROM evotor_accounts a "
        "JOIN merchants m ON m.id = a.merchant_id "
        "WHERE a.evotor_user_id = :u AND m.status = 'active'",
        {"u": user_id},
    )
    return None if row is None else (int(row["merchant_id"]), str(row["name"]))


async def merchant_of_user(deps: Deps, user_id: str) -> int | None:
    value = await deps.db.fetch_value(
        "SELECT merchant_id FROM evotor_accounts WHERE evotor_user_id = :u", {"u": user_id}
    )
    return None if value is None else int(value)


# ---- authentication of user tokens ---------------------------------------------------------


_ACCOUNT_BY_TOKEN = (
    "SELECT a.merchant_id, a.evotor_user_id, a.suspended_at, a.device_limit, m.status "
    "FROM evotor_accounts a JOIN merchants m ON m.id = a.merchant_id "
    "WHERE a.user_token_hash = :h"
)


async def authenticate(deps: Deps, token: str) -> Account:
    """The account a user token belongs to (401 ``evotor_bad_user_token`` otherwise)."""
    row = await deps.db.fetch_one(_ACCOUNT_BY_TOKEN, {"h": hash_token(token)})
    if row is None:
        raise Unauthorized("evotor_bad_user_token", "Неверный токен пользователя")
    return Account(
        merchant_id=int(row["merchant_id"]),
        evotor_user_id=str(row["evotor_user_id"]),
        merchant_status=str(row["status"]),
        suspended_at=row["suspended_at"],
        device_limit=row["device_limit"],
    )


def ensure_serving(account: Account, happened_at: int | None = None) -> None:
    """Refuse a suspended merchant (Evotor's 1004). A document of a receipt closed before
    the suspension (``happened_at`` <= ``suspended_at``) is still applied."""
    if account.merchant_status == "active":
        return
    if (
        happened_at is not None
        and account.suspended_at is not None
        and happened_at <= account.suspended_at
    ):
        return
    raise payment_required(account.evotor_user_id)


_TERMINAL_SQL = (
    "SELECT t.id AS terminal_id, t.store_id, s.timezone, s.external_id AS store_external_id "
    "FROM terminals t JOIN stores s ON s.id = t.store_id AND s.merchant_id = t.merchant_id "
    "WHERE t.merchant_id = :m AND t.external_id = :d ORDER BY t.id LIMIT 1"
)


async def terminal_for_device(
    deps: Deps, account: Account, device_external_id: str | None
) -> tuple[TerminalContext, str | None]:
    """The terminal of an Evotor device we know; an unknown device is refused (1005), a
    call without the device header is malformed (400/2002: the proxy always adds it)."""
    if not device_external_id:
        raise BadRequest("evotor_missing_device", "Нет заголовка X-Evotor-Device-UUID")
    row = await deps.db.fetch_one(
        _TERMINAL_SQL, {"m": account.merchant_id, "d": device_external_id}
    )
    if row is None:
        raise unknown_device(device_external_id)
    if account.device_limit is not None:
        # The tariff pays for N devices: the first N synced (by our id) are served.
        rank = await deps.db.fetch_value(
            "SELECT COUNT(*) FROM terminals WHERE merchant_id = :m "
            "AND external_id IS NOT NULL AND id < :t",
            {"m": account.merchant_id, "t": row["terminal_id"]},
        )
        if int(rank) >= account.device_limit:
            raise PaymentRequired(
                "evotor_device_limit",
                f"Тариф оплачен на {account.device_limit} смарт-терминал(а): "
                "этот терминал сверх лимита",
            )
    return _context(account, row), row["store_external_id"]


def unknown_device(device_external_id: str | None) -> PaymentRequired:
    """Evotor's 1005 (device not licensed): we serve only the devices Evotor synced."""
    return PaymentRequired(
        "evotor_unknown_device",
        f"Смарт-терминал «{device_external_id or ''}» не подключён к программе лояльности",
    )


def _context(account: Account, row: Any) -> TerminalContext:
    return TerminalContext(
        merchant_id=account.merchant_id,
        store_id=int(row["store_id"]),
        terminal_id=int(row["terminal_id"]),
        timezone=zone(str(row["timezone"])),
        merchant_status=account.merchant_status,
    )


async def terminal_for_document(
    deps: Deps, account: Account, store_external_id: str | None, device_external_id: str | None,
    utc_offset_seconds: int | None = None,
) -> TerminalContext:  # fmt: skip
    """The terminal a cloud document came from. Evotor is the master of devices, so a
    device we have not synced yet is created (a document is proof that it exists). A
    document that names no device (V1 ``deviceUuid: null``) belongs to its store: the
    store's first device, else one terminal standing for the store's documents. One
    that names neither is refused (the caller keeps it as rejected)."""
    if not device_external_id:
        if not store_external_id:
            raise BadRequest(
                "evotor_document_without_device", "В документе нет ни терминала, ни магазина"
            )
        row = await deps.db.fetch_one(
            "SELECT t.id AS terminal_id, t.store_id, s.timezone, "
            "s.external_id AS store_external_id FROM terminals t JOIN stores s "
            "ON s.id = t.store_id AND s.merchant_id = t.merchant_id WHERE t.merchant_id = :m "
            "AND s.external_id = :s AND t.external_id IS NOT NULL ORDER BY t.id LIMIT 1",
            {"m": account.merchant_id, "s": store_external_id},
        )
        if row is not None:
            return _context(account, row)
        device_external_id = f"store:{store_external_id}"[:128]
    device = device_external_id
    row = await deps.db.fetch_one(_TERMINAL_SQL, {"m": account.merchant_id, "d": device})
    if row is None:
        if not store_external_id:
            raise BadRequest(
                "evotor_document_without_store",
                f"Смарт-терминал «{device}» ещё не известен, а магазин в документе не указан",
            )
        store = store_external_id
        await sync_devices(
            deps, account.merchant_id,
            [DeviceRecord(device, f"Смарт-терминал {device}", store, utc_offset_seconds)],
        )  # fmt: skip
        row = await deps.db.fetch_one(_TERMINAL_SQL, {"m": account.merchant_id, "d": device})
        assert row is not None
    return _context(account, row)


# ---- installation and subscription events -------------------------------------------------


async def record_installation_event(
    deps: Deps, event_id: str, event_type: str, user_id: str, payload: str
) -> tuple[bool, int | None]:
    """Store an install/uninstall event once (by its id). Returns whether it was new and
    the merchant, when the Evotor user already has an account."""
    now = to_epoch(deps.clock())
    merchant_id = await merchant_of_user(deps, user_id)
    try:
        async with deps.db.transaction() as tx:
            seen = await tx.fetch_value(
                "SELECT id FROM evotor_installation_events WHERE event_id = :e", {"e": event_id}
            )
            if seen is not None:
                return False, merchant_id
            await tx.insert(
                "INSERT INTO evotor_installation_events (event_id, evotor_user_id, merchant_id, "
                "type, payload, received_at) VALUES (:e, :u, :m, :t, :p, :now) RETURNING id",
                {"e": event_id, "u": user_id, "m": merchant_id, "t": event_type, "p": payload,
                 "now": now},
            )  # fmt: skip
            if merchant_id is not None:
                column = (
                    "installed_at" if event_type == "ApplicationInstalled" else "uninstalled_at"
                )
                await tx.execute(
                    f"UPDATE evotor_accounts SET {column} = :now WHERE merchant_id = :m",
                    {"now": now, "m": merchant_id},
                )
    except Exception as exc:
        if is_unique_violation(exc):
            return False, merchant_id
        raise
    return True, merchant_id


_STATE_AFTER = {
    "SubscriptionActivated": "active",
    "SubscriptionRenewed": "active",
    "SubscriptionTerminationRequested": "termination_requested",
    "SubscriptionTerminated": "terminated",
}


async def receive_subscription_event(
    deps: Deps,
    *,
    user_id: str,
    subscription_id: str,
    sequence_number: int,
    event_type: str,
    payload: dict[str, Any],
) -> list[int]:
    """Store the event, then apply every stored event of the subscription that is next in
    sequence. Returns the sequence numbers applied now (empty for a repeat or an event
    that waits for its predecessors)."""
    merchant_id = await merchant_of_user(deps, user_id)
    if merchant_id is None:
        raise unknown_user(user_id)
    now = to_epoch(deps.clock())
    params = {"m": merchant_id, "s": subscription_id}
    try:
        async with deps.db.transaction() as tx:
            # The account row is the per-merchant lock: events apply one at a time.
            await tx.execute(
                "UPDATE evotor_accounts SET synced_at = synced_at WHERE merchant_id = :m",
                {"m": merchant_id},
            )
            seen = await tx.fetch_value(
                "SELECT id FROM evotor_subscription_events WHERE merchant_id = :m "
                "AND subscription_id = :s AND sequence_number = :n",
                {**params, "n": sequence_number},
            )
            if seen is not None:
                return []
            await tx.insert(
                "INSERT INTO evotor_subscription_events (merchant_id, subscription_id, "
                "sequence_number, type, payload, status, received_at) "
                "VALUES (:m, :s, :n, :t, :p, 'pending', :now) RETURNING id",
                {**params, "n": sequence_number, "t": event_type,
                 "p": json.dumps(payload, ensure_ascii=False, default=str), "now": now},
            )  # fmt: skip
            return await _apply_in_order(tx, merchant_id, subscription_id, now)
    except Exception as exc:
        if is_unique_violation(exc):
            return []
        raise


async def _apply_in_order(
    tx: Transaction, merchant_id: int, subscription_id: str, now: int
) -> list[int]:
    params = {"m": merchant_id, "s": subscription_id}
    last = await tx.fetch_value(
        "SELECT MAX(sequence_number) FROM evotor_subscription_events WHERE merchant_id = :m "
        "AND subscription_id = :s AND status = 'applied'",
        params,
    )
    applied: list[int] = []
    expected = int(last or 0) + 1
    while True:
        row = await tx.fetch_one(
            "SELECT id, type, payload FROM evotor_subscription_events WHERE merchant_id = :m "
            "AND subscription_id = :s AND sequence_number = :n AND status = 'pending'",
            {**params, "n": expected},
        )
        if row is None:
            return applied
        state = await _apply_event(
            tx, merchant_id, subscription_id, str(row["type"]), json.loads(row["payload"]), now
        )
        await tx.execute(
            "UPDATE evotor_subscription_events SET status = 'applied', state_after = :st, "
            "applied_at = :now WHERE id = :id",
            {"st": state, "now": now, "id": row["id"]},
        )
        applied.append(expected)
        expected += 1


async def _apply_event(
    tx: Transaction, merchant_id: int, subscription_id: str, event_type: str,
    payload: dict[str, Any], now: int,
) -> str:  # fmt: skip
    account = await tx.fetch_one(
        "SELECT subscription_id, subscription_status, plan_id, device_limit, suspended_at "
        "FROM evotor_accounts WHERE merchant_id = :m",
        {"m": merchant_id},
    )
    assert account is not None
    current = account["subscription_id"]
    if event_type != "SubscriptionCreated" and current not in (None, subscription_id):
        # A late event of a subscription the merchant has since replaced (reinstall).
        return "superseded"
    state = account["subscription_status"]
    if event_type == "SubscriptionCreated":
        state = "trial" if payload.get("trialPeriodDuration") else "created"
    state = _STATE_AFTER.get(event_type, state)
    plan_id = payload.get("planId") or account["plan_id"]
    device_limit = payload.get("deviceNumber", account["device_limit"])
    await tx.execute(
        "UPDATE evotor_accounts SET subscription_id = :s, subscription_status = :st, "
        "plan_id = :plan, device_limit = :dev WHERE merchant_id = :m",
        {"s": subscription_id, "st": state, "plan": plan_id, "dev": device_limit,
         "m": merchant_id},
    )  # fmt: skip
    if state == "terminated":
        await tx.execute(
            "UPDATE merchants SET status = 'suspended' WHERE id = :m", {"m": merchant_id}
        )
        await tx.execute(
            "UPDATE evotor_accounts SET suspended_at = :now WHERE merchant_id = :m",
            {"now": now, "m": merchant_id},
        )
    elif state in ("trial", "created", "active") and account["suspended_at"] is not None:
        # Only a suspension we imposed is lifted by Evotor's billing.
        await tx.execute("UPDATE merchants SET status = 'active' WHERE id = :m", {"m": merchant_id})
        await tx.execute(
            "UPDATE evotor_accounts SET suspended_at = NULL WHERE merchant_id = :m",
            {"m": merchant_id},
        )
    return str(state)


# ---- entity sync --------------------------------------------------------------------------


def offset_seconds(value: int | None) -> int | None:
    """A UTC offset from Evotor: milliseconds (documents), seconds or minutes (the unit of
    ``timezoneOffset`` in notifications is not documented; all three are accepted)."""
    if value is None:
        return None
    magnitude = abs(value)
    if magnitude > 14 * 3600:
        return int(value / 1000)
    if magnitude > 14 * 60:
        return value
    return value * 60


def zone_for_offset(seconds: int) -> str | None:
    """A fixed IANA zone for a whole-hour offset (Russia keeps no summer time)."""
    if seconds % 3600 or abs(seconds) > 14 * 3600:
        return None
    hours = seconds // 3600
    return "UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"


async def _lock_sync(tx: Transaction, merchant_id: int, now: int) -> None:
    """Serialise syncs of one merchant (the account row is the lock on PostgreSQL)."""
    await tx.execute(
        "UPDATE evotor_accounts SET synced_at = :now WHERE merchant_id = :m",
        {"now": now, "m": merchant_id},
    )


async def _store_ids(executor: Executor, merchant_id: int) -> dict[str, int]:
    rows = await executor.fetch_all(
        "SELECT id, external_id FROM stores WHERE merchant_id = :m AND external_id IS NOT NULL "
        "ORDER BY id",
        {"m": merchant_id},
    )
    ids: dict[str, int] = {}
    for row in rows:
        ids.setdefault(str(row["external_id"]), int(row["id"]))
    return ids


async def _ensure_store(
    tx: Transaction, merchant_id: int, ids: dict[str, int], external_id: str, name: str | None,
    now: int,
) -> tuple[int, bool]:  # fmt: skip
    if external_id in ids:
        return ids[external_id], False
    timezone = await tx.fetch_value(
        "SELECT timezone FROM merchants WHERE id = :m", {"m": merchant_id}
    )
    store_id = await tx.insert(
        "INSERT INTO stores (merchant_id, name, timezone, external_id, created_at) "
        "VALUES (:m, :name, :tz, :ext, :now) RETURNING id",
        {"m": merchant_id, "name": (name or f"Магазин {external_id}")[:200],
         "tz": timezone or DEFAULT_TIMEZONE, "ext": external_id, "now": now},
    )  # fmt: skip
    ids[external_id] = store_id
    return store_id, True


async def sync_stores(deps: Deps, merchant_id: int, stores: list[StoreRecord]) -> SyncCounts:
    now = to_epoch(deps.clock())
    created = updated = 0
    async with deps.db.transaction() as tx:
        await _lock_sync(tx, merchant_id, now)
        ids = await _store_ids(tx, merchant_id)
        for store in stores:
            store_id, new = await _ensure_store(
                tx, merchant_id, ids, store.external_id, store.name, now
            )
            if new:
                created += 1
            else:
                await tx.execute(
                    "UPDATE stores SET name = :name WHERE id = :id AND merchant_id = :m",
                    {"name": store.name[:200], "id": store_id, "m": merchant_id},
                )
                updated += 1
    return SyncCounts(created, updated)


async def sync_devices(deps: Deps, merchant_id: int, devices: list[DeviceRecord]) -> SyncCounts:
    now = to_epoch(deps.clock())
    created = updated = 0
    async with deps.db.transaction() as tx:
        await _lock_sync(tx, merchant_id, now)
        ids = await _store_ids(tx, merchant_id)
        for device in devices:
            store_id, _ = await _ensure_store(
                tx, merchant_id, ids, device.store_external_id, None, now
            )
            if device.utc_offset_seconds is not None:
                await _align_store_zone(tx, merchant_id, store_id, device.utc_offset_seconds)
            terminal_id = await tx.fetch_value(
                "SELECT id FROM terminals WHERE merchant_id = :m AND external_id = :d "
                "ORDER BY id LIMIT 1",
                {"m": merchant_id, "d": device.external_id},
            )
            if terminal_id is None:
                await tx.insert(
                    "INSERT INTO terminals (merchant_id, store_id, name, external_id, channel, "
                    "created_at) VALUES (:m, :s, :name, :ext, 'evotor', :now) RETURNING id",
                    {"m": merchant_id, "s": store_id, "name": device.name[:200],
                     "ext": device.external_id, "now": now},
                )  # fmt: skip
                created += 1
            else:
                await tx.execute(
                    "UPDATE terminals SET name = :name, store_id = :s "
                    "WHERE id = :id AND merchant_id = :m",
                    {"name": device.name[:200], "s": store_id, "id": terminal_id,
                     "m": merchant_id},
                )  # fmt: skip
                updated += 1
    return SyncCounts(created, updated)


async def _align_store_zone(tx: Transaction, merchant_id: int, store_id: int, offset: int) -> None:
    """Give the store a zone with the device's offset, unless its zone already has it."""
    current = await tx.fetch_value(
        "SELECT timezone FROM stores WHERE id = :s AND merchant_id = :m",
        {"s": store_id, "m": merchant_id},
    )
    now = datetime.now(UTC)
    if current is not None:
        current_offset = now.astimezone(zone(str(current))).utcoffset()
        if current_offset == timedelta(seconds=offset):
            return
    name = zone_for_offset(offset)
    if name is None:
        return
    await tx.execute(
        "UPDATE stores SET timezone = :tz WHERE id = :s AND merchant_id = :m",
        {"tz": name, "s": store_id, "m": merchant_id},
    )


_NON_DIGITS = re.compile(r"[^\d+]")


async def sync_employees(
    deps: Deps, merchant_id: int, employees: list[EmployeeRecord]
) -> SyncCounts:
    now = to_epoch(deps.clock())
    created = updated = 0
    async with deps.db.transaction() as tx:
        await _lock_sync(tx, merchant_id, now)
        ids = await _store_ids(tx, merchant_id)
        for employee in employees:
            store_id = next((ids[s] for s in employee.store_external_ids if s in ids), None)
            phone = _NON_DIGITS.sub("", employee.phone or "") or None
            values = {
                "m": merchant_id, "ext": employee.external_id, "store": store_id,
                "name": employee.name[:300], "role": (employee.role or None),
                "phone": deps.cipher.encrypt_optional(merchant_id, phone),
                "stores": json.dumps(list(employee.store_external_ids)), "now": now,
            }  # fmt: skip
            existing = await tx.fetch_value(
                "SELECT id FROM cashiers WHERE merchant_id = :m AND external_id = :ext",
                {"m": merchant_id, "ext": employee.external_id},
            )
            if existing is None:
                await tx.insert(
                    "INSERT INTO cashiers (merchant_id, store_id, external_id, name, role, "
                    "phone_enc, store_external_ids, created_at, updated_at) VALUES (:m, "
                    ":store, :ext, :name, :role, :phone, :stores, :now, :now) RETURNING id",
                    values,
                )
                created += 1
            else:
                await tx.execute(
                    "UPDATE cashiers SET store_id = :store, name = :name, role = :role, "
                    "phone_enc = :phone, store_external_ids = :stores, updated_at = :now "
                    "WHERE merchant_id = :m AND external_id = :ext",
                    values,
                )
                updated += 1
    return SyncCounts(created, updated)


def full_name(*parts: str | None) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip()) or "Сотрудник"
