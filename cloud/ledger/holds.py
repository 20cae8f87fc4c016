"""Holds: bonuses reserved for an open receipt until they expire or the receipt closes."""

from __future__ import annotations

from dataclasses import dataclass

from cloud.db.database import Transaction
from cloud.errors import Unprocessable
from cloud.ledger.balance import read_balance


@dataclass(frozen=True, slots=True)
class ActiveHold:
    id: int
    amount: int
    program_version_id: int | None
    """The version that priced the held receipt (None on holds from before it was kept)."""


async def active_hold(
    tx: Transaction, merchant_id: int, source: str, receipt_external_id: str, now: int
) -> ActiveHold | None:
    """The receipt's live hold, if any."""
    row = await tx.fetch_one(
        "SELECT id, amount, program_version_id FROM holds WHERE merchant_id = :m AND source = :s "
        "AND receipt_external_id = :r AND status = 'active' AND expires_at > :now "
        "ORDER BY id DESC",
        {"m": merchant_id, "s": source, "r": receipt_external_id, "now": now},
    )
    if row is None:
        return None
    version = row["program_version_id"]
    return ActiveHold(int(row["id"]), int(row["amount"]), None if version is None else int(version))


async def release_holds(
    tx: Transaction, merchant_id: int, source: str, receipt_external_id: str, status: str
) -> int:
    """End every active hold of the receipt (``released`` or ``consumed``); returns the
    amount that was still reserved."""
    held = await tx.fetch_value(
        "SELECT COALESCE(SUM(amount), 0) FROM holds WHERE merchant_id = :m AND source = :s "
        "AND receipt_external_id = :r AND status = 'active'",
        {"m": merchant_id, "s": source, "r": receipt_external_id},
    )
    await tx.execute(
        "UPDATE holds SET status = :status WHERE merchant_id = :m AND source = :s "
        "AND receipt_external_id = :r AND status = 'active'",
        {"m": merchant_id, "s": source, "r": receipt_external_id, "status": status},
    )
    return int(held or 0)


async def place_hold(
    tx: Transaction,
    *,
    merchant_id: int,
    customer_id: int,
    source: str,
    receipt_external_id: str,
    amount: int,
    now: int,
    expires_at: int,
    program_version_id: int | None = None,
) -> int:
    """Reserve ``amount`` for the receipt, replacing its earlier hold. The caller holds
    the customer's lock, so the balance read here cannot change before the insert."""
    await release_holds(tx, merchant_id, source, receipt_external_id, "released")
    balance = await read_balance(tx, customer_id, now)
    if balance.available < amount:
        raise Unprocessable("insufficient_bonuses", "Недостаточно бонусов для резерва")
    return await tx.insert(
        "INSERT INTO holds (merchant_id, customer_id, source, receipt_external_id, amount, "
        "status, expires_at, created_at, program_version_id) "
        "VALUES (:m, :c, :s, :r, :a, 'active', :exp, :now, :pv) RETURNING id",
        {"m": merchant_id, "c": customer_id, "s": source, "r": receipt_external_id,
         "a": amount, "exp": expires_at, "now": now, "pv": program_version_id},
    )  # fmt: skip
