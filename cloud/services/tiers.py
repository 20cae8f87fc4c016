"""Tiers read from what is left of the customer's receipts after their refunds.

A sale's *net* is its sum after the program's discount minus everything refunded from
it: a fully refunded receipt nets 0, a partly refunded one what remains. Both the
rolling tier job (``cloud.services.jobs``) and a refund (``after_refund``) compare tier
thresholds with nets, never with the sum as sold.

What a refund does to a tier (also in the README): a partial return leaves the tier
alone (lifetime purchases go down, the tier does not). A return that completes the
return of a whole receipt (at once or in parts) recomputes the tier, which may only go
down. On the ``lifetime`` basis: the highest of what the lifetime purchases after the
refund reach and what the largest net receipt left reaches by the single-receipt
thresholds. On the ``rolling`` basis: what the last scheduled recomputation would have
assigned had the refund come before it (the same sums as the job: purchases of its
window, the largest net receipt since the window's start). So a tier reached only
through a receipt that was returned goes with the return, and a tier earned by other
purchases stays. A change is recorded in ``tier_changes`` with the reason
``refund_downgrade`` and the refund receipt's id.
"""

from __future__ import annotations

from datetime import date

from cloud.db.database import Transaction
from cloud.engine.tiers import last_recompute_date, rolling_window, tier_after_refund
from cloud.services.deps import Deps

# One row per sale of the customers ``:lo``..``:hi`` of merchant ``:m``: its local date
# and its net. Refunds carry the sale's customer, so both sides use the customer index.
NET_SALES_SQL = (
    "SELECT s.customer_id, s.local_date, s.amount - COALESCE(f.returned, 0) AS net "
    "FROM receipts s LEFT JOIN ("
    "  SELECT original_receipt_id, SUM(amount) AS returned FROM receipts "
    "  WHERE merchant_id = :m AND kind = 'refund' AND customer_id BETWEEN :lo AND :hi "
    "  GROUP BY original_receipt_id"
    ") f ON f.original_receipt_id = s.id "
    "WHERE s.merchant_id = :m AND s.kind = 'sale' AND s.customer_id BETWEEN :lo AND :hi"
)

# Per customer of ``:lo``..``:hi``: the nets of the local dates ``:first``..``:last``
# summed (a return counts against the day of the sale it returns), and the largest net
# since ``:first`` -- receipts after the window included, so a single-receipt tier
# earned at a till after the window closed is not taken away by the recomputation.
# ``+c.merchant_id`` keeps SQLite on the id range (not a scan of the merchant's rows).
ROLLING_SQL = (
    "SELECT c.id, c.tier_code, "
    "COALESCE(SUM(CASE WHEN n.local_date <= :last THEN n.net ELSE 0 END), 0) AS total, "
    "COALESCE(MAX(n.net), 0) AS largest "
    f"FROM customers c LEFT JOIN ({NET_SALES_SQL}) n "
    "ON n.customer_id = c.id AND n.local_date >= :first "
    "WHERE +c.merchant_id = :m AND c.id BETWEEN :lo AND :hi "
    "GROUP BY c.id, c.tier_code ORDER BY c.id"
)

_LARGEST_NET_SQL = f"SELECT COALESCE(MAX(n.net), 0) FROM ({NET_SALES_SQL}) n"


async def after_refund(
    deps: Deps,
    tx: Transaction,
    merchant_id: int,
    customer_id: int,
    refund_receipt_id: int,
    today: date,
    now: int,
) -> str | None:
    """After a refund that completes the return of its receipt, lower the customer's
    tier to what remains earned (see the module docstring); returns the tier code. The
    caller holds the customer's lock and has already written the refund receipt (with
    its sum) and lowered the lifetime purchases."""
    left = await tx.fetch_value(
        "SELECT COALESCE(SUM(l.quantity_milli - l.returned_quantity_milli), 0) "
        "FROM receipts f JOIN receipt_lines l ON l.receipt_id = f.original_receipt_id "
        "WHERE f.id = :r AND f.merchant_id = :m",
        {"r": refund_receipt_id, "m": merchant_id},
    )
    row = await tx.fetch_one(
        "SELECT c.tier_code, c.lifetime_purchases, m.active_program_version_id AS version "
        "FROM customers c JOIN merchants m ON m.id = c.merchant_id "
        "WHERE c.id = :c AND c.merchant_id = :m",
        {"c": customer_id, "m": merchant_id},
    )
    if row is None or row["tier_code"] is None or row["version"] is None or int(left) > 0:
        return None if row is None else row["tier_code"]
    loaded = await deps.programs.get(int(row["version"]))
    params = {"m": merchant_id, "lo": customer_id, "hi": customer_id}
    recompute = last_recompute_date(loaded.compiled, today)
    if recompute is None:
        largest, total = await tx.fetch_value(_LARGEST_NET_SQL, params), 0
    else:
        first, last = rolling_window(loaded.compiled, recompute)
        sums = await tx.fetch_one(
            ROLLING_SQL, {**params, "first": first.isoformat(), "last": last.isoformat()}
        )
        assert sums is not None
        largest, total = sums["largest"], sums["total"]
    tier_code, reason = tier_after_refund(
        loaded.compiled,
        row["tier_code"],
        lifetime_purchases=int(row["lifetime_purchases"]),
        largest_receipt=int(largest),
        period_sum=int(total),
    )
    if reason == "unchanged":
        return tier_code
    await tx.execute(
        "UPDATE customers SET tier_code = :t WHERE id = :c AND merchant_id = :m",
        {"t": tier_code, "c": customer_id, "m": merchant_id},
    )
    await tx.execute(
        "INSERT INTO tier_changes (merchant_id, customer_id, from_tier, to_tier, reason, "
        "receipt_id, created_at) VALUES (:m, :c, :f, :t, :reason, :r, :now)",
        {"m": merchant_id, "c": customer_id, "f": row["tier_code"], "t": tier_code,
         "reason": reason, "r": refund_receipt_id, "now": now},
    )  # fmt: skip
    return tier_code
