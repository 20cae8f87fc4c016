"""The merchant reads its customers: search, the card, the lots, the movements.

Every query is filtered by the calling merchant; another merchant's customer is a 404,
indistinguishable from one that does not exist.

Search is by phone or card number only. Names are AES-GCM ciphertext with no index
(a blind index finds only exact equality, and a name is typed in many spellings), so
a name search could only decrypt the whole base row by row: it is refused with a clear
message rather than answered slowly or partially.
"""

from __future__ import annotations

from cloud.clock import to_epoch
from cloud.db.database import Row
from cloud.errors import BadRequest
from cloud.ledger.adjustments import ENTRY_KIND, action_of_key
from cloud.ledger.balance import HOLDS_ACTIVE_SQL, LOTS_AVAILABLE_SQL
from cloud.services import customers
from cloud.services.customers_admin.common import (
    check_customer_id,
    check_limit,
    described_actor,
    local,
    local_in,
)
from cloud.services.deps import Deps
from cloud.services.merchants import MerchantContext
from schemas import customer_admin as wire
from schemas.money import to_roubles

_ROW_SQL = (
    "SELECT c.id, c.phone_enc, c.name_enc, c.tier_code, c.blocked_at, c.created_at, "
    f"({LOTS_AVAILABLE_SQL.format(customer='c.id')}) AS lots, "
    f"({HOLDS_ACTIVE_SQL.format(customer='c.id')}) AS held "
    "FROM customers c WHERE c.merchant_id = :m "
)


def name_search_refused() -> BadRequest:
    return BadRequest(
        "name_search_unsupported",
        "Поиск по имени недоступен: имена клиентов хранятся зашифрованными. "
        "Ищите по телефону (?phone=) или номеру карты (?card=)",
    )


async def search(
    deps: Deps,
    merchant: MerchantContext,
    *,
    phone: str | None = None,
    card: str | None = None,
    name: str | None = None,
    limit: int = 20,
    after: int | None = None,
) -> wire.CustomerList:
    """One customer by phone or card, or the whole base page by page (oldest first,
    ``after`` is the cursor)."""
    check_limit(limit)
    if name is not None:
        raise name_search_refused()
    if phone is not None and card is not None:
        raise BadRequest("customer_ref_required", "Укажите что-то одно: phone или card")
    m = merchant.merchant_id
    params: dict[str, object] = {"m": m, "now": to_epoch(deps.clock())}
    if phone is not None or card is not None:
        found = await customers.find_customer(deps, m, phone=phone, card=card)
        if found is None:
            return wire.CustomerList(customers=[], next=None)
        rows = await deps.db.fetch_all(_ROW_SQL + "AND c.id = :c", {**params, "c": found})
        return wire.CustomerList(customers=[_row(deps, merchant, r) for r in rows], next=None)
    cursor = "" if after is None else "AND c.id > :after "
    if after is not None:
        params["after"] = after
    rows = await deps.db.fetch_all(
        _ROW_SQL + cursor + "ORDER BY c.id LIMIT :limit", {**params, "limit": limit + 1}
    )
    page = [_row(deps, merchant, row) for row in rows[:limit]]
    return wire.CustomerList(customers=page, next=page[-1].id if len(rows) > limit else None)


def _row(deps: Deps, merchant: MerchantContext, r: Row) -> wire.CustomerRow:
    m = merchant.merchant_id
    registered = local(r["created_at"], merchant.timezone)
    assert registered is not None
    return wire.CustomerRow(
        id=int(r["id"]),
        phone=deps.cipher.decrypt(m, bytes(r["phone_enc"])),
        name=deps.cipher.decrypt_optional(m, r["name_enc"]),
        tier=r["tier_code"],
        balance=to_roubles(max(int(r["lots"]) - int(r["held"]), 0)),
        blocked=r["blocked_at"] is not None,
        registered_at=registered,
    )


async def block_info(deps: Deps, merchant: MerchantContext, customer_id: int) -> (
    wire.BlockInfo | None
):  # fmt: skip
    """The standing block of the card: the last ``block`` action while it is blocked."""
    row = await deps.db.fetch_one(
        "SELECT c.blocked_at, a.reason, a.staff, a.credential_label, a.credential_id "
        "FROM customers c LEFT JOIN customer_actions a ON a.id = (SELECT MAX(id) FROM "
        "customer_actions WHERE merchant_id = :m AND customer_id = :c AND action = 'block') "
        "WHERE c.merchant_id = :m AND c.id = :c",
        {"m": merchant.merchant_id, "c": customer_id},
    )
    if row is None or row["blocked_at"] is None:
        return None
    blocked_at = local(row["blocked_at"], merchant.timezone)
    assert blocked_at is not None
    return wire.BlockInfo(
        blocked_at=blocked_at,
        reason=str(row["reason"] or ""),
        by=described_actor(row["staff"], str(row["credential_label"] or ""), row["credential_id"]),
    )


async def customer_card(
    deps: Deps, merchant: MerchantContext, customer_id: int
) -> wire.CustomerCard:
    check_customer_id(customer_id)
    profile = await customers.customer_profile(deps, merchant.merchant_id, customer_id)
    tz = merchant.timezone
    registered = local(profile.created_at, tz)
    assert registered is not None
    return wire.CustomerCard(
        id=profile.id,
        phone=profile.phone,
        name=profile.name,
        email=profile.email,
        birthday=profile.birthday,
        tier=profile.tier_code,
        tier_name=profile.tier_name,
        balance=to_roubles(profile.balance.available),
        held=to_roubles(profile.balance.held),
        pending=to_roubles(profile.balance.pending),
        purchases_count=profile.purchase_count,
        purchases_total=to_roubles(profile.lifetime_purchases),
        last_purchase_at=local(profile.last_purchase_at, tz),
        registered_at=registered,
        registration_channel=profile.registration_channel,
        cards=[wire.CardRow(kind=card.kind, number=card.number) for card in profile.cards],
        blocked=await block_info(deps, merchant, customer_id),
        referral_code=profile.referral_code,
        referrer_id=profile.referrer_id,
        acquisition_channel=profile.acquisition_channel,
        campaign=profile.campaign,
    )


async def _require(deps: Deps, merchant: MerchantContext, customer_id: int) -> None:
    check_customer_id(customer_id)
    if await customers.find_customer(deps, merchant.merchant_id, customer_id=customer_id) is None:
        raise customers.not_found()


async def lots(
    deps: Deps, merchant: MerchantContext, customer_id: int, limit: int = 50,
    before: int | None = None,
) -> wire.LotList:  # fmt: skip
    """Every lot, newest first, with its activation and expiry in the zone of the store
    whose sale earned it (the merchant's zone for gifts and manual credits)."""
    check_limit(limit)
    await _require(deps, merchant, customer_id)
    now = to_epoch(deps.clock())
    cursor = "" if before is None else "AND l.id < :before "
    rows = await deps.db.fetch_all(
        "SELECT l.id, l.kind, l.amount, l.remaining, l.available_from, l.expires_at, "
        "r.external_id, s.timezone FROM bonus_lots l "
        "LEFT JOIN receipts r ON r.id = l.receipt_id AND r.merchant_id = l.merchant_id "
        "LEFT JOIN stores s ON s.id = r.store_id AND s.merchant_id = l.merchant_id "
        "WHERE l.merchant_id = :m AND l.customer_id = :c " + cursor +
        "ORDER BY l.id DESC LIMIT :limit",
        {"m": merchant.merchant_id, "c": customer_id, "limit": limit + 1,
         **({} if before is None else {"before": before})},
    )  # fmt: skip
    page = []
    for row in rows[:limit]:
        zone_name, tz = row["timezone"], merchant.timezone
        expires_at = row["expires_at"]
        if expires_at is not None and int(expires_at) <= now:
            state = "expired"
        elif int(row["remaining"]) == 0:
            state = "spent"
        elif int(row["available_from"]) > now:
            state = "pending"
        else:
            state = "active"
        page.append(
            wire.LotRow(
                id=int(row["id"]),
                kind=str(row["kind"]),
                amount=to_roubles(int(row["amount"])),
                remaining=to_roubles(int(row["remaining"])),
                available_from=local_in(row["available_from"], zone_name, tz),
                expires_at=None if expires_at is None else local_in(expires_at, zone_name, tz),
                state=state,
                receipt_id=row["external_id"],
            )
        )
    return wire.LotList(lots=page, next=page[-1].id if len(rows) > limit else None)


async def movements(
    deps: Deps, merchant: MerchantContext, customer_id: int, limit: int = 50,
    before: int | None = None,
) -> wire.MovementList:  # fmt: skip
    """The whole journal, newest first: receipts with the till that made them, expiry,
    refunds, gifts and the staff's manual adjustments with who made them and why."""
    check_limit(limit)
    await _require(deps, merchant, customer_id)
    m = merchant.merchant_id
    cursor = "" if before is None else "AND e.id < :before "
    rows = await deps.db.fetch_all(
        "SELECT e.id, e.kind, e.amount, e.lot_id, e.idempotency_key, e.created_at, "
        "r.kind AS receipt_kind, r.external_id, r.source, o.external_id AS sale_external_id, "
        "r.cashier_id, r.cashier_name, "
        "s.name AS store_name, s.timezone, t.name AS terminal_name FROM ledger_entries e "
        "LEFT JOIN receipts r ON r.id = e.receipt_id AND r.merchant_id = e.merchant_id "
        "LEFT JOIN receipts o ON o.id = r.original_receipt_id AND o.merchant_id = r.merchant_id "
        "LEFT JOIN stores s ON s.id = r.store_id AND s.merchant_id = e.merchant_id "
        "LEFT JOIN terminals t ON t.id = r.terminal_id AND t.merchant_id = e.merchant_id "
        "WHERE e.merchant_id = :m AND e.customer_id = :c " + cursor +
        "ORDER BY e.id DESC LIMIT :limit",
        {"m": m, "c": customer_id, "limit": limit + 1,
         **({} if before is None else {"before": before})},
    )  # fmt: skip
    rows = list(rows)
    action_ids = {
        action_of_key(str(row["idempotency_key"]))
        for row in rows[:limit]
        if row["kind"] == ENTRY_KIND
    } - {None}
    actions: dict[int, Row] = {}
    if action_ids:
        listed = ", ".join(str(int(a)) for a in action_ids if a is not None)
        for action in await deps.db.fetch_all(
            "SELECT id, reason, staff, credential_label, credential_id FROM customer_actions "
            f"WHERE merchant_id = :m AND customer_id = :c AND id IN ({listed})",
            {"m": m, "c": customer_id},
        ):
            actions[int(action["id"])] = action
    page = []
    for row in rows[:limit]:
        refund = row["receipt_kind"] == "refund"
        by, reason = _who(row), None
        if row["kind"] == ENTRY_KIND:
            found = actions.get(action_of_key(str(row["idempotency_key"])) or 0)
            if found is not None:
                reason = str(found["reason"])
                by = described_actor(
                    found["staff"], str(found["credential_label"]), found["credential_id"]
                )
        page.append(
            wire.Movement(
                id=int(row["id"]),
                kind=str(row["kind"]),
                amount=to_roubles(int(row["amount"])),
                at=local_in(row["created_at"], row["timezone"], merchant.timezone),
                lot_id=row["lot_id"],
                receipt_id=row["sale_external_id"] if refund else row["external_id"],
                refund_id=row["external_id"] if refund else None,
                by=by,
                reason=reason,
                cashier=row["cashier_name"] or row["cashier_id"],
            )
        )
    return wire.MovementList(movements=page, next=page[-1].id if len(rows) > limit else None)


def _who(r: Row) -> str:
    if r["terminal_name"] is not None:
        return f"{r['store_name']}, {r['terminal_name']}"
    if r["source"] is not None:
        return f"касса ({r['source']})"
    if r["kind"] == "expire":
        return "сгорание по сроку"
    key = str(r["idempotency_key"])
    if key.startswith("welcome:"):
        return "подарок при регистрации"
    if key.startswith("birthday:"):
        return "подарок ко дню рождения"
    if key.startswith("reanimation:"):
        return "подарок за возвращение"
    if key.startswith("import:"):  # import:<customer_imports.id>:<lot>
        return f"загрузка базы №{key.split(':')[1]}"
    return "система"
