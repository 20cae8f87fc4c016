"""Replaying API calls made with an idempotency key.

1C sends the key in the body (``idempotency_key``), other callers in the
``Idempotency-Key`` header. The first call with a key runs the action and stores its
status and body; a repeat with the same key and the same request gets the stored answer
without running the action again; the same key with a different request is refused.

The key is claimed *before* the action runs (a row with ``status_code = 0``), so two
concurrent calls with one key cannot both run it: the second is told to retry. Only
answers the action returns are stored; when it raises (a wrong SMS code, say) the claim
is dropped, so a retry with the same key runs the action again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

import orjson

from cloud.clock import to_epoch
from cloud.db.database import is_unique_violation
from cloud.errors import Conflict
from cloud.services.deps import Deps

Action = Callable[[], Awaitable[tuple[int, bytes]]]

_PENDING = 0
# A claim older than this is from a process that died mid-action; it may be taken over.
STALE_CLAIM_SECONDS = 120


def request_hash(body: bytes) -> str:
    """SHA-256 of the request; JSON is hashed in a canonical form (sorted keys, no
    whitespace) so a client that re-serialises the same request still matches."""
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS)
    except orjson.JSONDecodeError:
        canonical = body
    return hashlib.sha256(canonical).hexdigest()


def _reused() -> Conflict:
    return Conflict(
        "idempotency_key_reused",
        "Ключ идемпотентности уже использован для другого запроса",
    )


def _in_progress() -> Conflict:
    return Conflict(
        "idempotency_in_progress",
        "Запрос с этим ключом идемпотентности ещё выполняется, повторите позже",
    )


async def run_idempotent(
    deps: Deps,
    merchant_id: int,
    scope: str,
    key: str | None,
    request_body_bytes: bytes,
    action: Action,
) -> tuple[int, bytes]:
    """Run ``action`` once per (merchant, scope, key); without a key, just run it."""
    if key is None:
        return await action()
    digest = request_hash(request_body_bytes)
    params = {"m": merchant_id, "scope": scope, "key": key}
    claim_id = await _claim(deps, merchant_id, scope, key, digest)
    if claim_id is None:
        row = await deps.db.fetch_one(
            "SELECT request_hash, status_code, response FROM idempotency_records "
            "WHERE merchant_id = :m AND scope = :scope AND key = :key",
            params,
        )
        assert row is not None  # claims are only deleted by the call that made them
        if row["request_hash"] != digest:
            raise _reused()
        if int(row["status_code"]) == _PENDING:
            raise _in_progress()
        return int(row["status_code"]), str(row["response"]).encode()
    try:
        status, body = await action()
    except BaseException:
        async with deps.db.transaction() as tx:
            await tx.execute(
                "DELETE FROM idempotency_records WHERE merchant_id = :m AND id = :id",
                {"m": merchant_id, "id": claim_id},
            )
        raise
    async with deps.db.transaction() as tx:
        await tx.execute(
            "UPDATE idempotency_records SET status_code = :status, response = :response "
            "WHERE merchant_id = :m AND id = :id",
            {"status": status, "response": body.decode(), "m": merchant_id, "id": claim_id},
        )
    return status, body


async def _claim(deps: Deps, merchant_id: int, scope: str, key: str, digest: str) -> int | None:
    """Insert the pending row; ``None`` if the key is already there (and not stale)."""
    now = to_epoch(deps.clock())
    params = {"m": merchant_id, "scope": scope, "key": key}
    try:
        async with deps.db.transaction() as tx:
            await tx.execute(
                "DELETE FROM idempotency_records WHERE merchant_id = :m AND scope = :scope "
                "AND key = :key AND status_code = :pending AND created_at < :stale "
                "AND request_hash = :hash",
                {**params, "pending": _PENDING, "stale": now - STALE_CLAIM_SECONDS,
                 "hash": digest},
            )  # fmt: skip
            return await tx.insert(
                "INSERT INTO idempotency_records "
                "(merchant_id, scope, key, request_hash, status_code, response, created_at) "
                "VALUES (:m, :scope, :key, :hash, :pending, '', :now) RETURNING id",
                {**params, "hash": digest, "pending": _PENDING, "now": now},
            )
    except Exception as exc:
        if is_unique_violation(exc):
            return None
        raise
