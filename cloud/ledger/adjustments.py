"""Manual adjustments by the merchant's staff: a credit is a lot of its own, a debit
spends lots in the order a redemption does. Callers hold the customer's account lock.

Journal entries are of kind ``adjust`` and keyed ``adjust:<action id>`` (the credit) or
``adjust:<action id>:<lot id>`` (each lot a debit took from), so the history can name
the staff action behind every entry and a replay cannot journal twice.
"""

from __future__ import annotations

from cloud.db.database import Transaction
from cloud.errors import Unprocessable
from cloud.ledger.balance import read_balance
from cloud.ledger.lots import accrue, take_from_lot
from cloud.ledger.redemption import SPENDABLE_LOTS_SQL

ENTRY_KIND = "adjust"
LOT_KIND = "manual"


def action_of_key(key: str) -> int | None:
    """The staff action an ``adjust:`` journal key belongs to."""
    parts = key.split(":")
    if len(parts) < 2 or parts[0] != ENTRY_KIND or not parts[1].isdigit():
        return None
    return int(parts[1])


async def credit(
    tx: Transaction,
    *,
    merchant_id: int,
    customer_id: int,
    action_id: int,
    amount: int,
    available_from: int,
    expires_at: int | None,
    now: int,
) -> int:
    """Credit ``amount`` units as a new ``manual`` lot; returns the lot."""
    return await accrue(
        tx, merchant_id=merchant_id, customer_id=customer_id, kind=LOT_KIND, amount=amount,
        available_from=available_from, expires_at=expires_at, receipt_id=None,
        key=f"{ENTRY_KIND}:{action_id}", now=now, entry_kind=ENTRY_KIND,
    )  # fmt: skip


async def debit(
    tx: Transaction,
    *,
    merchant_id: int,
    customer_id: int,
    action_id: int,
    amount: int,
    now: int,
) -> list[tuple[int, int]]:
    """Take ``amount`` units soonest-expiring first, like a redemption; returns
    ``[(lot_id, amount)]``. Only what the customer could spend now may be taken: not
    bonuses still waiting to activate, nor those held for an open receipt (its confirm
    would then fail at the till)."""
    if amount <= 0:
        raise ValueError("a debit must be positive")
    balance = await read_balance(tx, customer_id, now)
    if balance.available < amount:
        raise Unprocessable(
            "insufficient_bonuses",
            f"Нельзя списать больше, чем доступно клиенту: доступно "
            f"{balance.available // 100}.{balance.available % 100:02d}",
        )
    lots = await tx.fetch_all(SPENDABLE_LOTS_SQL, {"m": merchant_id, "c": customer_id, "now": now})
    left = amount
    taken: list[tuple[int, int]] = []
    for lot in lots:
        if left == 0:
            break
        part = min(left, int(lot["remaining"]))
        await take_from_lot(
            tx, merchant_id=merchant_id, customer_id=customer_id, lot_id=int(lot["id"]),
            amount=part, kind=ENTRY_KIND, receipt_id=None,
            key=f"{ENTRY_KIND}:{action_id}:{lot['id']}", now=now,
        )  # fmt: skip
        taken.append((int(lot["id"]), part))
        left -= part
    # available <= the spendable lots' sum, so the loop always covers the amount.
    assert left == 0
    return taken
