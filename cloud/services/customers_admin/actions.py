"""What the merchant's staff do to a customer by hand: block and unblock the card, credit
or debit bonuses. Each runs in one transaction under the customer's lock and is
recorded in ``customer_actions`` with its reason and who did it.

An adjustment is idempotent by its key *inside* that transaction: the action row holds
the key, the request's digest and the answer, and commits with the journal entries or
not at all. (``cloud.services.idempotency`` claims a key and stores the answer in
separate transactions; a crash between the two would let a retry credit twice.)
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import orjson

from cloud.clock import to_epoch
from cloud.db.database import Transaction, is_unique_violation
from cloud.engine.lifecycle import local_midnight
from cloud.errors import BadRequest, Conflict
from cloud.ledger import adjustments
from cloud.ledger.balance import read_balance
from cloud.services import customers, referrals
from cloud.services.customers_admin.common import actor, check_customer_id, local
from cloud.services.customers_admin.reading import block_info
from cloud.services.deps import Deps
from cloud.services.merchants import MerchantContext
from schemas import customer_admin as wire
from schemas.money import to_kopecks, to_roubles


async def _lock(tx: Transaction, merchant_id: int, customer_id: int) -> None:
    check_customer_id(customer_id)
    if await tx.lock_customer(merchant_id, customer_id) is None:
        raise customers.not_found()


async def _record(
    tx: Transaction, merchant: MerchantContext, customer_id: int, action: str, reason: str,
    staff: str | None, now: int, *, amount: int | None = None, key: str | None = None,
    digest: str | None = None,
) -> int:  # fmt: skip
    return await tx.insert(
        "INSERT INTO customer_actions (merchant_id, customer_id, action, amount, reason, staff, "
        "credential_id, credential_label, idempotency_key, request_hash, response, created_at) "
        "VALUES (:m, :c, :action, :amount, :reason, :staff, :cred, :label, :key, :hash, NULL, "
        ":now) RETURNING id",
        {"m": merchant.merchant_id, "c": customer_id, "action": action, "amount": amount,
         "reason": reason, "staff": staff, "cred": merchant.credential_id,
         "label": merchant.label, "key": key, "hash": digest, "now": now},
    )  # fmt: skip


# ---- block / unblock -------------------------------------------------------------------


async def set_blocked(
    deps: Deps, merchant: MerchantContext, customer_id: int, blocked: bool,
    request: wire.BlockRequest,
) -> wire.BlockState:  # fmt: skip
    """Block or unblock the card. Doing what is already done changes and records
    nothing (a retry is harmless). Blocking releases the customer's active holds: a
    blocked card spends nothing, not even bonuses reserved a minute ago."""
    m = merchant.merchant_id
    now = to_epoch(deps.clock())
    async with deps.db.transaction() as tx:
        await _lock(tx, m, customer_id)
        current = await tx.fetch_value(
            "SELECT blocked_at FROM customers WHERE merchant_id = :m AND id = :c",
            {"m": m, "c": customer_id},
        )
        changed = (current is not None) != blocked
        if changed:
            await tx.execute(
                "UPDATE customers SET blocked_at = :at WHERE merchant_id = :m AND id = :c",
                {"at": now if blocked else None, "m": m, "c": customer_id},
            )
            await _record(
                tx, merchant, customer_id, "block" if blocked else "unblock",
                request.reason, request.staff, now,
            )  # fmt: skip
            if blocked:
                await tx.execute(
                    "UPDATE holds SET status = 'released' WHERE merchant_id = :m "
                    "AND customer_id = :c AND status = 'active'",
                    {"m": m, "c": customer_id},
                )
    return wire.BlockState(
        customer_id=customer_id,
        blocked=await block_info(deps, merchant, customer_id),
        changed=changed,
    )


# ---- manual adjustments ----------------------------------------------------------------


def _digest(customer_id: int, request: wire.AdjustmentRequest) -> str:
    body = {"customer_id": customer_id, **request.model_dump(mode="json")}
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _conflict(key: str) -> Conflict:
    return Conflict(
        "idempotency_conflict",
        f"Ключ идемпотентности «{key}» уже использован для другой корректировки",
    )


async def _stored(deps: Deps, merchant_id: int, key: str, digest: str) -> wire.AdjustmentResult | (
    None
):  # fmt: skip
    row = await deps.db.fetch_one(
        "SELECT request_hash, response FROM customer_actions "
        "WHERE merchant_id = :m AND idempotency_key = :k",
        {"m": merchant_id, "k": key},
    )
    if row is None:
        return None
    if row["request_hash"] != digest or row["response"] is None:
        raise _conflict(key)
    return wire.AdjustmentResult.model_validate_json(str(row["response"]))


_HORIZON_DAYS = 3650


async def _credit_dates(
    deps: Deps, merchant: MerchantContext, request: wire.AdjustmentRequest
) -> tuple[int, int | None]:
    """``(available_from, expires_at)``: from now (or the local midnight that starts
    ``activates_on``) until the local midnight after ``expires_on``, or ``lifetime_days``
    local days after the activation day (the rule purchase bonuses follow)."""
    tz = merchant.timezone
    now = deps.clock()
    today = now.astimezone(tz).date()
    start_day = request.activates_on or today
    if start_day < today:
        raise BadRequest("invalid_activation_date", "Дата активации не может быть в прошлом")
    horizon = today + timedelta(days=_HORIZON_DAYS)
    if start_day > horizon or (request.expires_on is not None and request.expires_on > horizon):
        raise BadRequest(
            "invalid_expiry", "Даты активации и сгорания — не дальше десяти лет от сегодня"
        )
    available_from = now if start_day == today else local_midnight(start_day, tz)
    if request.lifetime_days is not None and request.expires_on is not None:
        raise BadRequest(
            "invalid_expiry", "Укажите что-то одно: срок жизни в днях или дату сгорания"
        )
    if request.expires_on is not None:
        if request.expires_on < start_day:
            raise BadRequest(
                "invalid_expiry", "Дата сгорания не может быть раньше даты активации и сегодня"
            )
        expires: datetime | None = local_midnight(request.expires_on + timedelta(days=1), tz)
    else:
        lifetime = request.lifetime_days
        if lifetime is None:
            program = await customers.live_program(deps, merchant.merchant_id)
            lifetime = None if program is None else program.program.lifetime_days
        expires = None if lifetime is None else local_midnight(
            start_day + timedelta(days=lifetime), tz
        )  # fmt: skip
    return to_epoch(available_from.astimezone(UTC)), None if expires is None else to_epoch(expires)


async def adjust(
    deps: Deps, merchant: MerchantContext, customer_id: int, request: wire.AdjustmentRequest,
    key: str | None,
) -> wire.AdjustmentResult:  # fmt: skip
    """Credit or debit by hand. The same key with the same request answers what the
    first call did and moves nothing; with another request it is ``idempotency_conflict``."""
    if key is None:
        raise BadRequest(
            "idempotency_key_required", "Для корректировки нужен заголовок Idempotency-Key"
        )
    # Printable ASCII only: a header's other bytes reach us as lone surrogates, which no
    # database column can store.
    if not (0 < len(key) <= 200 and key.isascii() and key.isprintable()):
        raise BadRequest(
            "invalid_idempotency_key", "Ключ идемпотентности: от 1 до 200 печатных символов ASCII"
        )
    check_customer_id(customer_id)
    m = merchant.merchant_id
    digest = _digest(customer_id, request)
    stored = await _stored(deps, m, key, digest)
    if stored is not None:
        return stored
    dates: tuple[int, int | None] | None = None
    if request.kind == "credit":
        dates = await _credit_dates(deps, merchant, request)
    elif (request.lifetime_days, request.expires_on, request.activates_on) != (None,) * 3:
        raise BadRequest(
            "invalid_adjustment",
            "Сроки (lifetime_days, expires_on, activates_on) — только для начисления",
        )
    try:
        return await _adjust(deps, merchant, customer_id, request, key, digest, dates)
    except Exception as exc:
        # The same key raced us to the insert: answer as a replay (or a conflict).
        if not is_unique_violation(exc):
            raise
        stored = await _stored(deps, m, key, digest)
        if stored is None:
            raise
        return stored


async def _adjust(
    deps: Deps, merchant: MerchantContext, customer_id: int, request: wire.AdjustmentRequest,
    key: str, digest: str, dates: tuple[int, int | None] | None,
) -> wire.AdjustmentResult:  # fmt: skip
    m = merchant.merchant_id
    now = to_epoch(deps.clock())
    amount = to_kopecks(request.amount)
    async with deps.db.transaction() as tx:
        await _lock(tx, m, customer_id)
        action_id = await _record(
            tx, merchant, customer_id, request.kind, request.reason, request.staff, now,
            amount=amount, key=key, digest=digest,
        )  # fmt: skip
        lot_id, taken = None, []
        if dates is not None:
            lot_id = await adjustments.credit(
                tx, merchant_id=m, customer_id=customer_id, action_id=action_id, amount=amount,
                available_from=dates[0], expires_at=dates[1], now=now,
            )  # fmt: skip
        else:
            taken = await adjustments.debit(
                tx, merchant_id=m, customer_id=customer_id, action_id=action_id, amount=amount,
                now=now,
            )  # fmt: skip
        balance = await read_balance(tx, customer_id, now)
        created = local(now, merchant.timezone)
        assert created is not None
        result = wire.AdjustmentResult(
            id=action_id,
            customer_id=customer_id,
            kind=request.kind,
            amount=request.amount,
            reason=request.reason,
            by=actor(merchant, request.staff),
            lot_id=lot_id,
            lots=[lot for lot, _ in taken],
            available_from=None if dates is None else local(dates[0], merchant.timezone),
            expires_at=None if dates is None else local(dates[1], merchant.timezone),
            balance=to_roubles(balance.available),
            created_at=created,
        )
        await tx.execute(
            "UPDATE customer_actions SET response = :body WHERE merchant_id = :m AND id = :id",
            {"body": result.model_dump_json(), "m": m, "id": action_id},
        )
    return result


# ---- the referrer ----------------------------------------------------------------------


async def set_referrer(
    deps: Deps, merchant: MerchantContext, customer_id: int, request: wire.ReferrerChange
) -> wire.ReferrerState:
    """Name another referrer (or none) for the customer, under their lock, recorded with
    its reason. The new referrer must not be the customer nor anyone the customer
    invited, directly or through others: the graph stays free of cycles."""
    m = merchant.merchant_id
    now = to_epoch(deps.clock())
    async with deps.db.transaction() as tx:
        await _lock(tx, m, customer_id)
        row = await tx.fetch_one(
            "SELECT referrer_id, phone_enc FROM customers WHERE merchant_id = :m AND id = :c",
            {"m": m, "c": customer_id},
        )
        assert row is not None
        wanted = None
        if request.referrer is not None:
            ref = request.referrer
            wanted = await referrals.resolve_referrer(
                deps, tx, m, phone=ref.phone, card=ref.card, code=ref.code,
                own_phone=deps.cipher.decrypt(m, bytes(row["phone_enc"])), own_card=None,
            )  # fmt: skip
            await referrals.refuse_cycle(tx, m, customer_id, wanted)
        changed = row["referrer_id"] != wanted
        if changed:
            await tx.execute(
                "UPDATE customers SET referrer_id = :r WHERE merchant_id = :m AND id = :c",
                {"r": wanted, "m": m, "c": customer_id},
            )
            await _record(tx, merchant, customer_id, "referrer", request.reason, request.staff, now)
    return wire.ReferrerState(customer_id=customer_id, referrer_id=wanted, changed=changed)
