"""Who is calling a SIGMA hook: a terminal of channel ``sigma``, by either of

* ``Authorization: Bearer <token>``: a terminal token from the merchant administration
  (``POST /api/v1/terminals/{id}/tokens``), resolved by the same ``TerminalAuthenticator``
  the native API uses, accepting only ``sigma`` tokens;
* a webhook-style signature: ``X-Sigma-Terminal: <terminal id>``,
  ``X-Sigma-Timestamp: <unix seconds>``, ``X-Sigma-Signature: v1=<hex>`` where ``<hex>``
  is HMAC-SHA256(signing secret, ``timestamp + "." + raw body``). The signature is
  checked on the raw bytes before the body is parsed, in constant time, against every
  live secret of the terminal (two during a rotation); the timestamp must be within
  ``WINDOW`` of our clock; an accepted signature is remembered for twice the window, so
  the same signed request sent again is refused (``sigma_replayed``, 409).

Both given: both must hold and name the same terminal.
"""

from __future__ import annotations

import hashlib
import hmac

from aiohttp import web

from cloud.clock import to_epoch
from cloud.errors import Conflict, PaymentRequired, Unauthorized
from cloud.services.admin.signing import signing_keys
from cloud.services.deps import Deps
from cloud.services.merchants import TerminalAuthenticator, TerminalContext

CHANNEL = "sigma"
WINDOW = 300
"""Seconds a signed request's timestamp may differ from our clock (either way)."""
SCHEME = "v1="


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Sigma-Signature`` value for a body (what the terminal app computes)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return SCHEME + digest.hexdigest()


def _bad_signature() -> Unauthorized:
    return Unauthorized("sigma_bad_signature", "Неверная подпись запроса")


def _digits(value: str | None, limit: int) -> int | None:
    text = (value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= limit else None


async def _bearer(authenticator: TerminalAuthenticator, header: str) -> TerminalContext:
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "sigma_missing_credentials", "Нужен заголовок Authorization: Bearer <токен>"
        )
    return await authenticator.authenticate(token.strip())


async def _signed(deps: Deps, request: web.Request, body: bytes) -> TerminalContext:
    terminal_id = _digits(request.headers.get("X-Sigma-Terminal"), 18)
    timestamp_text = (request.headers.get("X-Sigma-Timestamp") or "").strip()
    timestamp = _digits(timestamp_text, 12)
    presented = [
        part.strip()[len(SCHEME):].encode()
        for part in request.headers.get("X-Sigma-Signature", "").split(",")
        if part.strip().startswith(SCHEME)
    ]  # fmt: skip
    if terminal_id is None or timestamp is None or not presented:
        raise Unauthorized(
            "sigma_missing_credentials",
            "Нужны заголовки X-Sigma-Terminal, X-Sigma-Timestamp и X-Sigma-Signature: v1=…",
        )
    now = deps.clock()
    if abs(to_epoch(now) - timestamp) > WINDOW:
        raise Unauthorized(
            "sigma_stale_timestamp", "Время подписи расходится с нашим больше чем на 5 минут"
        )
    found = await signing_keys(deps, terminal_id, CHANNEL, now)
    if found is None:
        raise _bad_signature()
    terminal, keys = found
    message = timestamp_text.encode() + b"." + body
    matched = None
    for key in keys:
        expected = hmac.new(key, message, hashlib.sha256).hexdigest().encode()
        for candidate in presented:
            # Every pair is compared (no early exit on the first match).
            if hmac.compare_digest(expected, candidate):
                matched = expected.decode()
    if matched is None:
        raise _bad_signature()
    if terminal.merchant_status != "active":
        raise PaymentRequired(
            "merchant_suspended", "Обслуживание программы лояльности приостановлено"
        )
    await _remember(deps, terminal, matched, to_epoch(now))
    return terminal


async def _remember(deps: Deps, terminal: TerminalContext, signature: str, now: int) -> None:
    async with deps.db.transaction() as tx:
        # Signatures older than twice the window can no longer be replayed: forget them.
        await tx.execute(
            "DELETE FROM signed_requests WHERE merchant_id = :m AND terminal_id = :t "
            "AND seen_at < :old",
            {"m": terminal.merchant_id, "t": terminal.terminal_id, "old": now - 2 * WINDOW},
        )
        new = await tx.fetch_value(
            "INSERT INTO signed_requests (merchant_id, terminal_id, signature, seen_at) "
            "VALUES (:m, :t, :s, :now) ON CONFLICT (terminal_id, signature) DO NOTHING "
            "RETURNING id",
            {"m": terminal.merchant_id, "t": terminal.terminal_id, "s": signature, "now": now},
        )
    if new is None:
        raise Conflict(
            "sigma_replayed",
            "Этот подписанный запрос уже получен: повтор подпишите заново с новым временем",
        )


def has_signature(request: web.Request) -> bool:
    return any(
        name in request.headers
        for name in ("X-Sigma-Signature", "X-Sigma-Timestamp", "X-Sigma-Terminal")
    )


async def authenticate(
    deps: Deps, authenticator: TerminalAuthenticator, request: web.Request, body: bytes
) -> TerminalContext:
    """The calling terminal, or a 401 (402 for a suspended merchant, 409 for a replay)."""
    header = request.headers.get("Authorization")
    bearer = None if header is None else await _bearer(authenticator, header)
    if not has_signature(request):
        if bearer is None:
            raise Unauthorized(
                "sigma_missing_credentials",
                "Нужен заголовок Authorization: Bearer <токен> или подпись X-Sigma-Signature",
            )
        return bearer
    signed = await _signed(deps, request, body)
    if bearer is not None and bearer.terminal_id != signed.terminal_id:
        raise Unauthorized("sigma_bad_signature", "Токен и подпись принадлежат разным терминалам")
    return signed
