"""One-time SMS codes: registration and confirmation of a bonus redemption.

A code is six digits from ``secrets``; only its HMAC is stored (a leaked table does not
reveal live codes, and a 6-digit space is too small for a plain hash). The HMAC binds
the merchant, the phone's blind index and the purpose, so a code sent for one purpose
or tenant is worthless for another.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Literal

import structlog

from cloud.clock import to_epoch
from cloud.db.database import Executor, Transaction
from cloud.errors import DomainError, TooManyRequests, Unprocessable
from cloud.phones import normalize_phone
from cloud.services.deps import Deps

log = structlog.get_logger(__name__)

Purpose = Literal["registration", "redeem", "fiscal_claim"]
PURPOSES: frozenset[str] = frozenset({"registration", "redeem", "fiscal_claim"})
"""``fiscal_claim``: the self-service page's sign-in of a customer who claims a receipt
by its QR code (not accepted by the API's ``/sms-codes``, whose purposes are its own)."""


class SmsDeliveryFailed(DomainError):
    status = 502


@dataclass(frozen=True, slots=True)
class SentCode:
    phone: str
    """E.164."""
    expires_at: int
    expires_in: int
    resend_at: int = 0
    """Unix seconds from which another code for the phone may be asked for from the same
    till (now, unless this code filled one of the rate limits)."""
    code: str = field(default="", repr=False)
    """The code itself, for the one protocol whose till checks it (МойСклад's
    ``verificationCode``); every other caller ignores it and never shows it."""


def phone_key(deps: Deps, merchant_id: int, phone: str) -> tuple[str, str]:
    """The E.164 form of a phone and its blind index."""
    e164 = normalize_phone(phone)
    return e164, deps.index.of(merchant_id, "phone", e164)


def _code_hash(deps: Deps, merchant_id: int, phone_index: str, purpose: str, code: str) -> str:
    message = f"{merchant_id}:{phone_index}:{purpose}:{code}".encode()
    return hmac.new(deps.settings.secret_key.encode(), message, hashlib.sha256).hexdigest()


def _check_purpose(purpose: str) -> None:
    if purpose not in PURPOSES:
        raise Unprocessable("invalid_purpose", f"Неизвестное назначение кода «{purpose}»")


def code_text(code: str) -> str:
    return f"Код подтверждения: {code}. Никому не сообщайте его."


MASKED_CODE = "******"
"""What the outbox and the logs show in place of a code: a stored or logged message must
not be a way to read a live code."""


async def send_code(
    deps: Deps, merchant_id: int, phone: str, purpose: str, *, terminal_id: int | None = None
) -> SentCode:
    """Issue a fresh code for ``phone`` and send it by SMS; earlier unused codes for the
    same phone and purpose stop working. ``terminal_id`` is the till that asks (None for
    a merchant-level caller): codes are limited per phone, per till and per merchant."""
    _check_purpose(purpose)
    e164, phone_index = phone_key(deps, merchant_id, phone)
    now = to_epoch(deps.clock())
    ttl = deps.settings.sms_code_ttl_seconds
    code = f"{secrets.randbelow(1_000_000):06d}"
    text = code_text(code)
    masked = code_text(MASKED_CODE)
    async with deps.db.transaction() as tx:
        limits = _limits(deps, terminal_id, phone_index)
        await _enforce_limits(tx, deps, merchant_id, limits, now)
        # Superseded codes are marked consumed rather than deleted so they still count
        # towards the rate limits.
        await tx.execute(
            "UPDATE sms_codes SET consumed_at = :now "
            "WHERE merchant_id = :m AND phone_index = :p AND purpose = :purpose "
            "AND consumed_at IS NULL",
            {"m": merchant_id, "p": phone_index, "purpose": purpose, "now": now},
        )
        await tx.insert(
            "INSERT INTO sms_codes (merchant_id, terminal_id, phone_index, purpose, code_hash, "
            "expires_at, attempts_left, consumed_at, created_at) "
            "VALUES (:m, :t, :p, :purpose, :hash, :expires, :attempts, NULL, :now) RETURNING id",
            {
                "m": merchant_id,
                "t": terminal_id,
                "p": phone_index,
                "purpose": purpose,
                "hash": _code_hash(deps, merchant_id, phone_index, purpose, code),
                "expires": now + ttl,
                "attempts": deps.settings.sms_code_attempts,
                "now": now,
            },
        )
        # Counted with the code just stored: when this one filled a limit, the next waits.
        full = await _full(tx, deps, merchant_id, limits, now)
        resend_at = max([now, *(frees_at for _, frees_at in full)])
        customer_id = await tx.fetch_value(
            "SELECT id FROM customers WHERE merchant_id = :m AND phone_index = :p",
            {"m": merchant_id, "p": phone_index},
        )
        notification_id = await tx.insert(
            "INSERT INTO notifications (merchant_id, customer_id, channel, recipient_enc, body, "
            "status, cost, created_at, sent_at, kind, provider) "
            "VALUES (:m, :c, 'sms', :recipient, :body, 'sending', :cost, :now, NULL, "
            "'sms_code', :provider) RETURNING id",
            {
                "m": merchant_id,
                "c": customer_id,
                "recipient": deps.cipher.encrypt(merchant_id, e164),
                "body": masked,
                "cost": 0,
                "now": now,
                "provider": deps.sms.name,
            },
        )
    # Sent after the commit: a gateway call inside the transaction would hold SQLite's
    # single writer (and a PostgreSQL connection) for the length of a network round trip.
    # Sent now through the outbox's SMS provider (a till is waiting), never queued:
    # the worker leaves 'sending' rows alone, and a late code is worthless anyway.
    try:
        delivery = await deps.sms.send(e164, text, masked=masked)
    except Exception as exc:
        log.warning("sms.failed", merchant=merchant_id, notification=notification_id)
        await _mark(deps, merchant_id, notification_id, "failed", None, error=str(exc))
        raise SmsDeliveryFailed(
            "sms_delivery_failed", "Не удалось отправить SMS, повторите попытку позже"
        ) from exc
    await _mark(
        deps, merchant_id, notification_id, "sent", to_epoch(deps.clock()),
        cost=delivery.cost, provider_id=delivery.provider_id,
    )  # fmt: skip
    return SentCode(
        phone=e164, expires_at=now + ttl, expires_in=ttl, resend_at=resend_at, code=code
    )


def _limits(deps: Deps, terminal_id: int | None, phone_index: str) -> list[_Limit]:
    """The three rolling-window limits. Every code is an SMS the merchant pays for, so
    all purposes count, and superseded codes too."""
    settings = deps.settings
    limits = [
        _Limit(" AND phone_index = :p", {"p": phone_index}, settings.sms_codes_per_phone,
               "sms_rate_limited", "Слишком много кодов на этот номер"),
    ]  # fmt: skip
    if terminal_id is not None:
        limits.append(
            _Limit(" AND terminal_id = :t", {"t": terminal_id}, settings.sms_codes_per_terminal,
                   "too_many_codes", "Слишком много SMS-кодов с этой кассы")
        )  # fmt: skip
    limits.append(
        _Limit("", {}, settings.sms_codes_per_merchant,
               "too_many_codes", "Слишком много SMS-кодов по компании")
    )  # fmt: skip
    return limits


async def _full(
    tx: Transaction, deps: Deps, merchant_id: int, limits: list[_Limit], now: int
) -> list[tuple[_Limit, int]]:
    """The limits that are full, in order, each with the unix second a place frees up."""
    window = deps.settings.sms_rate_window_seconds
    found: list[tuple[_Limit, int]] = []
    for limit in limits:
        # The limit-th newest code in the window: when it leaves, a place frees up.
        recent = await tx.fetch_all(
            "SELECT created_at FROM sms_codes "
            "WHERE merchant_id = :m AND created_at > :since" + limit.condition + " "
            "ORDER BY created_at DESC LIMIT :limit",
            {"m": merchant_id, "since": now - window, "limit": limit.count, **limit.params},
        )
        if len(recent) >= limit.count:
            frees_at = int(recent[-1]["created_at"]) + window
            found.append((limit, frees_at))
    return found


async def _enforce_limits(
    tx: Transaction, deps: Deps, merchant_id: int, limits: list[_Limit], now: int
) -> None:
    """Refuse a code past any of the rolling-window limits (429)."""
    if tx.dialect == "postgresql":
        # Counting and inserting under the merchant's row lock: parallel requests from a
        # pumping till would otherwise all see the same count and all pass. NO KEY UPDATE
        # leaves inserts that merely reference the merchant unblocked.
        await tx.execute(
            "SELECT id FROM merchants WHERE id = :m FOR NO KEY UPDATE", {"m": merchant_id}
        )
    full = await _full(tx, deps, merchant_id, limits, now)
    if full:
        limit, frees_at = full[0]
        wait_minutes = max(1, -(-(frees_at - now) // 60))
        window = _window_text(deps.settings.sms_rate_window_seconds)
        raise TooManyRequests(
            limit.code, f"{limit.text} за {window}. Повторите через {wait_minutes} мин."
        )


@dataclass(frozen=True, slots=True)
class _Limit:
    condition: str
    params: dict[str, object]
    count: int
    code: str
    text: str


def _window_text(seconds: int) -> str:
    if seconds == 3600:
        return "час"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} ч"
    return f"{-(-seconds // 60)} мин"


async def _mark(
    deps: Deps,
    merchant_id: int,
    notification_id: int,
    status: str,
    sent_at: int | None,
    *,
    cost: int = 0,
    provider_id: str | None = None,
    error: str | None = None,
) -> None:
    async with deps.db.transaction() as tx:
        await tx.execute(
            "UPDATE notifications SET status = :status, sent_at = :sent_at, cost = :cost, "
            "provider_id = :pid, last_error = :error, attempts = 1 "
            "WHERE merchant_id = :m AND id = :id",
            {"status": status, "sent_at": sent_at, "m": merchant_id, "id": notification_id,
             "cost": cost, "pid": provider_id, "error": error and error[:500]},
        )  # fmt: skip


async def verify_code(
    deps: Deps,
    merchant_id: int,
    phone: str,
    purpose: str,
    code: str,
    *,
    consume: bool = True,
) -> int:
    """Check the latest code sent to ``phone`` for ``purpose``; return its id.

    With ``consume=False`` the code stays usable, so the operation it authorises can
    consume it atomically with its own writes (``consume_code``). A wrong code costs an
    attempt even though an error is raised: the decrement commits on its own."""
    _check_purpose(purpose)
    _, phone_index = phone_key(deps, merchant_id, phone)
    now = to_epoch(deps.clock())
    attempted = "".join(code.split())
    failure: Unprocessable | None = None
    async with deps.db.transaction() as tx:
        lock = " FOR UPDATE" if tx.dialect == "postgresql" else ""
        row = await tx.fetch_one(
            "SELECT id, code_hash, expires_at, attempts_left FROM sms_codes "
            "WHERE merchant_id = :m AND phone_index = :p AND purpose = :purpose "
            "AND consumed_at IS NULL ORDER BY id DESC LIMIT 1" + lock,
            {"m": merchant_id, "p": phone_index, "purpose": purpose},
        )
        if row is None:
            raise Unprocessable(
                "sms_code_not_found",
                "Код не запрашивался или уже использован. Запросите новый код.",
            )
        if int(row["expires_at"]) <= now:
            raise Unprocessable(
                "sms_code_expired", "Срок действия кода истёк. Запросите новый код."
            )
        attempts_left = int(row["attempts_left"])
        if attempts_left <= 0:
            raise _attempts_exceeded()
        expected = _code_hash(deps, merchant_id, phone_index, purpose, attempted)
        if not hmac.compare_digest(expected, str(row["code_hash"])):
            attempts_left -= 1
            await tx.execute(
                "UPDATE sms_codes SET attempts_left = :left WHERE id = :id",
                {"left": attempts_left, "id": row["id"]},
            )
            failure = (
                _attempts_exceeded()
                if attempts_left == 0
                else Unprocessable(
                    "sms_code_invalid",
                    f"Неверный код. Осталось попыток: {attempts_left}.",
                )
            )
        elif consume:
            await consume_code(tx, merchant_id, int(row["id"]), now)
    # Raised outside the block so the spent attempt is committed, not rolled back.
    if failure is not None:
        raise failure
    return int(row["id"])


def _attempts_exceeded() -> Unprocessable:
    return Unprocessable(
        "sms_code_attempts_exceeded",
        "Превышено число попыток ввода кода. Запросите новый код.",
    )


async def consume_code(tx: Executor, merchant_id: int, code_id: int, now: int) -> None:
    """Use up a verified code inside the caller's transaction; fails if another request
    used it first, so one code authorises one operation."""
    used = await tx.fetch_value(
        "UPDATE sms_codes SET consumed_at = :now "
        "WHERE merchant_id = :m AND id = :id AND consumed_at IS NULL RETURNING id",
        {"now": now, "m": merchant_id, "id": code_id},
    )
    if used is None:
        raise Unprocessable(
            "sms_code_not_found", "Код не запрашивался или уже использован. Запросите новый код."
        )
