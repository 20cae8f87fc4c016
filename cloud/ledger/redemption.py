"""Spending bonuses lot by lot, and giving them back on a refund."""

from __future__ import annotations

from dataclasses import dataclass

from cloud.db.database import Transaction
from cloud.errors import Unprocessable
from cloud.ledger.lots import accrue, give_to_lot, take_from_lot

# Soonest-expiring first, then oldest, never-expiring last.
SPENDABLE_LOTS_SQL = (
    "SELECT id, remaining FROM bonus_lots "
    "WHERE merchant_id = :m AND customer_id = :c AND remaining > 0 "
    "AND available_from <= :now AND (expires_at IS NULL OR expires_at > :now) "
    "ORDER BY CASE WHEN expires_at IS NULL THEN 1 ELSE 0 END, expires_at, available_from, id"
)
_SPENDABLE_LOTS = SPENDABLE_LOTS_SQL


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


@dataclass(frozen=True, slots=True)
class GivenBack:
    total: int
    """Given back in all (never more than the sale spent)."""
    reissued: int
    """The part whose lot has expired since the sale: credited as a new lot instead."""
    reissued_lot: int | None


async def give_back(
    tx: Transaction,
    *,
    merchant_id: int,
    customer_id: int,
    sale_receipt_id: int,
    refund_receipt_id: int,
    amount: int,
    now: int,
    reissue_expires_at: int | None = None,
) -> GivenBack:
    """Return ``amount`` redeemed units to the lots the sale spent them from, the last
    lot spent first. A lot that has expired meanwhile does not take them back silently
    (they would lapse at once, or wait for the expiry job): that part becomes one new
    lot of kind ``return``, spendable now and expiring at ``reissue_expires_at``."""
    allocations = await tx.fetch_all(
        "SELECT a.id, a.lot_id, a.amount, a.returned, l.expires_at "
        "FROM redemption_allocations a JOIN bonus_lots l ON l.id = a.lot_id "
        "WHERE a.merchant_id = :m AND a.receipt_id = :r ORDER BY a.id DESC",
        {"m": merchant_id, "r": sale_receipt_id},
    )
    left = amount
    reissued = 0
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
        left -= part
        expires_at = allocation["expires_at"]
        if expires_at is not None and int(expires_at) <= now:
            reissued += part
            continue
        await give_to_lot(
            tx, merchant_id=merchant_id, customer_id=customer_id, lot_id=allocation["lot_id"],
            amount=part, kind="return", receipt_id=refund_receipt_id,
            key=f"return:{refund_receipt_id}:{allocation['lot_id']}", now=now,
        )  # fmt: skip
    lot = None
    if reissued:
        lot = await accrue(
            tx, merchant_id=merchant_id, customer_id=customer_id, kind="return",
            amount=reissued, available_from=now, expires_at=reissue_expires_at,
            receipt_id=refund_receipt_id, key=f"return:{refund_receipt_id}:reissued",
            now=now, entry_kind="return",
        )  # fmt: skip
    return GivenBack(total=amount - left, reissued=reissued, reissued_lot=lot)


@dataclass(frozen=True, slots=True)
class Reversed:
    taken: int
    """Taken back from lots: the sale's own lot, then others."""
    lapsed: int
    """No longer on the account and never spent by the customer (it expired, or another
    refund already took it): nothing to take back."""
    unrecovered: int
    """Spent by the customer, but no lot has enough left to take it back."""


async def reverse_accrual(
    tx: Transaction,
    *,
    merchant_id: int,
    customer_id: int,
    sale_receipt_id: int,
    refund_receipt_id: int,
    amount: int,
    now: int,
    lot_kind: str = "purchase",
) -> Reversed:
    """Take back ``amount`` accrued units: from the sale's own accrual lot first, then,
    for what the customer actually spent of that lot, from their other spendable lots
    (FIFO). What lapsed unspent is not taken from other lots: the customer never
    benefited from it. The caller has expired lapsed lots first, so the answer does
    not depend on whether the expiry job has run. No remainder goes below zero.
    ``lot_kind`` names the sale's own lots: ``purchase`` for the buyer's accrual,
    ``referral`` for a referrer's reward from the sale."""
    if amount <= 0:
        return Reversed(0, 0, 0)
    own = await tx.fetch_all(
        "SELECT id, remaining FROM bonus_lots WHERE merchant_id = :m AND customer_id = :c "
        "AND receipt_id = :r AND kind = :kind ORDER BY id",
        {"m": merchant_id, "c": customer_id, "r": sale_receipt_id, "kind": lot_kind},
    )
    own_ids = {int(lot["id"]) for lot in own}
    left = amount
    for lot in own:
        part = min(left, int(lot["remaining"]))
        if part > 0:
            await _reverse(
                tx, merchant_id, customer_id, int(lot["id"]), part, refund_receipt_id, now
            )
            left -= part
    if left == 0:
        return Reversed(amount, 0, 0)
    spent, clawed_before = await _spent_and_clawed(
        tx, merchant_id, customer_id, sale_receipt_id, own_ids, lot_kind
    )
    claim = min(left, max(spent - clawed_before, 0))
    lapsed = left - claim
    others = await tx.fetch_all(_SPENDABLE_LOTS, {"m": merchant_id, "c": customer_id, "now": now})
    for lot in others:
        if claim == 0:
            break
        if int(lot["id"]) in own_ids:
            continue
        part = min(claim, int(lot["remaining"]))
        if part > 0:
            await _reverse(
                tx, merchant_id, customer_id, int(lot["id"]), part, refund_receipt_id, now
            )
            claim -= part
            left -= part
    return Reversed(amount - left, lapsed, left - lapsed)


async def _reverse(
    tx: Transaction, merchant_id: int, customer_id: int, lot_id: int, amount: int,
    refund_receipt_id: int, now: int,
) -> None:  # fmt: skip
    await take_from_lot(
        tx, merchant_id=merchant_id, customer_id=customer_id, lot_id=lot_id,
        amount=amount, kind="reverse", receipt_id=refund_receipt_id,
        key=f"reverse:{refund_receipt_id}:{lot_id}", now=now,
    )  # fmt: skip


async def _spent_and_clawed(
    tx: Transaction,
    merchant_id: int,
    customer_id: int,
    sale_receipt_id: int,
    own: set[int],
    lot_kind: str,
) -> tuple[int, int]:
    """What the customer spent of the sale's own lots (net of bonuses given back to
    them), and what earlier refunds of the sale already took from other lots."""
    spent = 0
    if own:
        rows = await tx.fetch_all(
            "SELECT lot_id, COALESCE(SUM(amount), 0) AS total FROM ledger_entries "
            "WHERE merchant_id = :m AND customer_id = :c AND kind IN ('redeem', 'return') "
            "AND lot_id IN (SELECT id FROM bonus_lots WHERE merchant_id = :m "
            "AND customer_id = :c AND receipt_id = :r AND kind = :kind) GROUP BY lot_id",
            {"m": merchant_id, "c": customer_id, "r": sale_receipt_id, "kind": lot_kind},
        )
        spent = -sum(int(row["total"]) for row in rows)
    rows = await tx.fetch_all(
        "SELECT e.lot_id, COALESCE(SUM(e.amount), 0) AS total FROM ledger_entries e "
        "JOIN receipts r ON r.id = e.receipt_id AND r.merchant_id = e.merchant_id "
        "WHERE r.merchant_id = :m AND r.original_receipt_id = :r AND r.kind = 'refund' "
        "AND e.kind = 'reverse' AND e.customer_id = :c GROUP BY e.lot_id",
        {"m": merchant_id, "c": customer_id, "r": sale_receipt_id},
    )
    clawed = -sum(int(row["total"]) for row in rows if int(row["lot_id"]) not in own)
    return spent, clawed
