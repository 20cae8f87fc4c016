"""Spending bonuses lot by lot, and giving them back on a refund."""

from __future__ import annotations

from cloud.db.database import Transaction
from cloud.errors import Unprocessable
from cloud.ledger.lots import give_to_lot, take_from_lot

# Soonest-expiring first, then oldest, never-expiring last.
_SPENDABLE_LOTS = (
    "SELECT id, remaining FROM bonus_lots "
    "WHERE merchant_id = :m AND customer_id = :c AND remaining > 0 "
    "AND available_from <= :now AND (expires_at IS NULL OR expires_at > :now) "
    "ORDER BY CASE WHEN expires_at IS NULL THEN 1 ELSE 0 END, expires_at, available_from, id"
)


async def redeem(
    tx: Transaction,
    *,
    merchant_id: int,
    customer_id: int,
    amount: int,
    receipt_id: int,
    now: int,
) -> list[tuple[int, int]]:
    """Spend ``amount`` units FIFO by expiry, recording which lots paid; returns
    ``[(lot_id, amount)]``. The caller has checked holds of other receipts."""
    if amount <= 0:
        return []
    lots = await tx.fetch_all(_SPENDABLE_LOTS, {"m": merchant_id, "c": customer_id, "now": now})
    if sum(int(lot["remaining"]) for lot in lots) < amount:
        raise Unprocessable("insufficient_bonuses", "Недостаточно бонусов на счёте")
    left = amount
    taken: list[tuple[int, int]] = []
    for lot in lots:
        if left == 0:
            break
        part = min(left, int(lot["remaining"]))
        await take_from_lot(
            tx, merchant_id=merchant_id, customer_id=customer_id, lot_id=lot["id"],
            amount=part, kind="redeem", receipt_id=receipt_id,
            key=f"redeem:{receipt_id}:{lot['id']}", now=now,
        )  # fmt: skip
        taken.append((lot["id"], part))
        left -= part
    await tx.execute_many(
        "INSERT INTO redemption_allocations (merchant_id, receipt_id, lot_id, amount, returned) "
        "VALUES (:m, :r, :lot, :amount, 0)",
        [{"m": merchant_id, "r": receipt_id, "lot": lot_id, "amount": part}
         for lot_id, part in taken],
    )  # fmt: skip
    return taken


async def give_back(
    tx: Transaction,
    *,
    merchant_id: int,
    customer_id: int,
    sale_receipt_id: int,
    refund_receipt_id: int,
    amount: int,
    now: int,
) -> int:
    """Return ``amount`` redeemed units to the lots the sale spent them from, the last
    lot spent first; returns what was given back (never more than was spent)."""
    allocations = await tx.fetch_all(
        "SELECT id, lot_id, amount, returned FROM redemption_allocations "
        "WHERE merchant_id = :m AND receipt_id = :r ORDER BY id DESC",
        {"m": merchant_id, "r": sale_receipt_id},
    )
    left = amount
    for allocation in allocations:
        if left == 0:
            break
        part = min(left, int(allocation["amount"]) - int(allocation["returned"]))
        if part <= 0:
            continue
        await tx.execute(
            "UPDATE redemption_allocations SET returned = returned + :p WHERE id = :id",
            {"p": part, "id": allocation["id"]},
        )
        await give_to_lot(
            tx, merchant_id=merchant_id, customer_id=customer_id, lot_id=allocation["lot_id"],
            amount=part, kind="return", receipt_id=refund_receipt_id,
            key=f"return:{refund_receipt_id}:{allocation['lot_id']}", now=now,
        )  # fmt: skip
        left -= part
    return amount - left


async def reverse_accrual(
    tx: Transaction,
    *,
    merchant_id: int,
    customer_id: int,
    sale_receipt_id: int,
    refund_receipt_id: int,
    amount: int,
    now: int,
) -> int:
    """Take back ``amount`` accrued units: from the sale's own accrual lot first, then
    from the customer's other spendable lots (FIFO). Returns what could be taken; a
    customer who already spent everything keeps the difference (reported, not forced
    below zero: no lot remainder is ever negative)."""
    if amount <= 0:
        return 0
    own = await tx.fetch_all(
        "SELECT id, remaining FROM bonus_lots WHERE merchant_id = :m AND customer_id = :c "
        "AND receipt_id = :r AND kind = 'purchase' AND remaining > 0 ORDER BY id",
        {"m": merchant_id, "c": customer_id, "r": sale_receipt_id},
    )
    others = await tx.fetch_all(_SPENDABLE_LOTS, {"m": merchant_id, "c": customer_id, "now": now})
    own_ids = {lot["id"] for lot in own}
    left = amount
    for lot in [*own, *(lot for lot in others if lot["id"] not in own_ids)]:
        if left == 0:
            break
        part = min(left, int(lot["remaining"]))
        if part <= 0:
            continue
        await take_from_lot(
            tx, merchant_id=merchant_id, customer_id=customer_id, lot_id=lot["id"],
            amount=part, kind="reverse", receipt_id=refund_receipt_id,
            key=f"reverse:{refund_receipt_id}:{lot['id']}", now=now,
        )  # fmt: skip
        left -= part
    return amount - left
