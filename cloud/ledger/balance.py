"""Balance reads: what a customer may spend now, and what is still waiting to activate."""

from __future__ import annotations

from dataclasses import dataclass

from cloud.db.database import Executor

# Available = active, activated, unexpired lots minus active holds. Both sums are
# correlated subqueries so the statement can be embedded in the checkout snapshot.
LOTS_AVAILABLE_SQL = (
    "SELECT COALESCE(SUM(remaining), 0) FROM bonus_lots "
    "WHERE customer_id = {customer} AND remaining > 0 AND available_from <= :now "
    "AND (expires_at IS NULL OR expires_at > :now)"
)
HOLDS_ACTIVE_SQL = (
    "SELECT COALESCE(SUM(amount), 0) FROM holds "
    "WHERE customer_id = {customer} AND status = 'active' AND expires_at > :now"
)
LOTS_PENDING_SQL = (
    "SELECT COALESCE(SUM(remaining), 0) FROM bonus_lots "
    "WHERE customer_id = {customer} AND remaining > 0 AND available_from > :now "
    "AND (expires_at IS NULL OR expires_at > :now)"
)


@dataclass(frozen=True, slots=True)
class Balance:
    """Kopecks. ``available`` excludes held bonuses; ``pending`` waits for activation."""

    lots: int
    held: int
    pending: int

    @property
    def available(self) -> int:
        return max(self.lots - self.held, 0)


async def read_balance(executor: Executor, customer_id: int, now: int) -> Balance:
    row = await executor.fetch_one(
        f"SELECT ({LOTS_AVAILABLE_SQL.format(customer=':c')}) AS lots, "
        f"({HOLDS_ACTIVE_SQL.format(customer=':c')}) AS held, "
        f"({LOTS_PENDING_SQL.format(customer=':c')}) AS pending",
        {"c": customer_id, "now": now},
    )
    assert row is not None
    return Balance(lots=int(row["lots"]), held=int(row["held"]), pending=int(row["pending"]))


async def expiring(
    executor: Executor, customer_id: int, now: int, until: int
) -> list[tuple[int, int]]:
    """``(expires_at, kopecks)`` of the bonuses that lapse after ``now`` and by ``until``,
    soonest first (spendable and still-pending lots alike: both will be lost)."""
    rows = await executor.fetch_all(
        "SELECT expires_at, SUM(remaining) AS amount FROM bonus_lots WHERE customer_id = :c "
        "AND remaining > 0 AND expires_at > :now AND expires_at <= :until "
        "GROUP BY expires_at ORDER BY expires_at",
        {"c": customer_id, "now": now, "until": until},
    )
    return [(int(row["expires_at"]), int(row["amount"])) for row in rows]
