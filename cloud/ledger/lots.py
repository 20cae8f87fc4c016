"""Accruals as lots, and their expiry. Callers hold the customer's account lock."""

from __future__ import annotations

from cloud.db.database import Transaction


class LotOverdrawn(RuntimeError):
    """A debit found its lot with less left than the caller read: the transaction is
    rolled back instead of letting the journal and the lots disagree."""


async def accrue(
    tx: Transaction,
    *,
    merchant_id: int,
    customer_id: int,
    kind: str,
    amount: int,
    available_from: int,
    expires_at: int | None,
    receipt_id: int | None,
    key: str,
    now: int,
    entry_kind: str = "accrue",
) -> int:
    """Credit ``amount`` bonus units as a new lot with its journal entry (of
    ``entry_kind``); returns the lot."""
    if amount <= 0:
        raise ValueError("an accrual must be positive")
    lot_id = await tx.insert(
        "INSERT INTO bonus_lots (merchant_id, customer_id, kind, amount, remaining, "
        "available_from, expires_at, receipt_id, created_at) "
        "VALUES (:m, :c, :kind, :amount, :amount, :af, :exp, :r, :now) RETURNING id",
        {"m": merchant_id, "c": customer_id, "kind": kind, "amount": amount,
         "af": available_from, "exp": expires_at, "r": receipt_id, "now": now},
    )  # fmt: skip
    await journal(tx, merchant_id, customer_id, entry_kind, amount, lot_id, receipt_id, key, now)
    return lot_id


async def journal(
    tx: Transaction,
    merchant_id: int,
    customer_id: int,
    kind: str,
    amount: int,
    lot_id: int | None,
    receipt_id: int | None,
    key: str,
    now: int,
) -> None:
    await tx.execute(
        "INSERT INTO ledger_entries (merchant_id, customer_id, kind, amount, lot_id, "
        "receipt_id, idempotency_key, created_at) "
        "VALUES (:m, :c, :kind, :amount, :lot, :r, :key, :now)",
        {"m": merchant_id, "c": customer_id, "kind": kind, "amount": amount, "lot": lot_id,
         "r": receipt_id, "key": key, "now": now},
    )  # fmt: skip


async def take_from_lot(
    tx: Transaction,
    *,
    merchant_id: int,
    customer_id: int,
    lot_id: int,
    amount: int,
    kind: str,
    receipt_id: int | None,
    key: str,
    now: int,
) -> None:
    """Lower one lot's remainder with a matching negative journal entry. A lot that no
    longer covers ``amount`` (possible only if the customer's lock was bypassed) raises
    ``LotOverdrawn`` rather than journaling a debit no lot paid."""
    left = await tx.fetch_value(
        "UPDATE bonus_lots SET remaining = remaining - :a "
        "WHERE id = :lot AND merchant_id = :m AND remaining >= :a RETURNING remaining",
        {"a": amount, "lot": lot_id, "m": merchant_id},
    )
    if left is None:
        raise LotOverdrawn(f"bonus lot {lot_id} cannot cover {amount}")
    await journal(tx, merchant_id, customer_id, kind, -amount, lot_id, receipt_id, key, now)


async def give_to_lot(
    tx: Transaction,
    *,
    merchant_id: int,
    customer_id: int,
    lot_id: int,
    amount: int,
    kind: str,
    receipt_id: int | None,
    key: str,
    now: int,
) -> None:
    await tx.execute(
        "UPDATE bonus_lots SET remaining = remaining + :a WHERE id = :lot",
        {"a": amount, "lot": lot_id},
    )
    await journal(tx, merchant_id, customer_id, kind, amount, lot_id, receipt_id, key, now)


# ``+merchant_id``: the customer range is the selective term; without it SQLite's
# planner walks the merchant's whole expiry index once per batch.
LAPSED_SQL = (
    "+merchant_id = :m AND customer_id BETWEEN :lo AND :hi AND remaining > 0 "
    "AND expires_at IS NOT NULL AND expires_at <= :now"
)


async def expire_lots_between(
    tx: Transaction, merchant_id: int, lo: int, hi: int, now: int
) -> tuple[int, int]:
    """Expire every lapsed lot of the merchant's customers ``lo``..``hi`` (those with
    lapsed lots locked by the caller), whatever their number; returns ``(customers,
    bonus units)`` expired. Each lot gets one journal entry for exactly its remainder,
    so the journal still sums to the lots.

    The key names the lot and the instant: a lot lapses once per instant (a second run
    at the same instant finds nothing left), and no per-lot search of the journal for
    earlier expiries of the same lot is needed."""
    params = {"m": merchant_id, "lo": lo, "hi": hi, "now": now}
    if tx.dialect == "postgresql":
        # One statement, one pass over the lapsed lots: the journal is written from the
        # rows the UPDATE changed, with the remainder each had (``x``). A lot whose
        # remainder moved since the statement's snapshot is left alone (and unjournaled)
        # rather than expired for the wrong amount.
        row = await tx.fetch_one(
            f"WITH x AS (SELECT id, customer_id, remaining FROM bonus_lots WHERE {LAPSED_SQL}), "
            "gone AS (UPDATE bonus_lots l SET remaining = 0 FROM x "
            "WHERE l.id = x.id AND l.remaining = x.remaining "
            "RETURNING x.id, x.customer_id, x.remaining), "
            "j AS (INSERT INTO ledger_entries (merchant_id, customer_id, kind, amount, lot_id, "
            "receipt_id, idempotency_key, created_at) SELECT :m, customer_id, 'expire', "
            "-remaining, id, NULL, 'expire:' || id || ':' || CAST(:now AS BIGINT), "
            "CAST(:now AS BIGINT) FROM gone RETURNING customer_id, amount) "
            "SELECT COUNT(DISTINCT customer_id) AS customers, "
            "COALESCE(-SUM(amount), 0) AS units FROM j",
            params,
        )
        assert row is not None
        return int(row["customers"]), int(row["units"])
    # SQLite: this transaction is the only writer, so the journal rows it adds are the
    # ids after the largest one before, and the lots they name are the ones to zero.
    before = int(await tx.fetch_value("SELECT COALESCE(MAX(id), 0) FROM ledger_entries"))
    await tx.execute(
        "INSERT INTO ledger_entries (merchant_id, customer_id, kind, amount, lot_id, "
        "receipt_id, idempotency_key, created_at) "
        "SELECT merchant_id, customer_id, 'expire', -remaining, id, NULL, "
        "'expire:' || id || ':' || CAST(:now AS BIGINT), CAST(:now AS BIGINT) "
        f"FROM bonus_lots WHERE {LAPSED_SQL}",
        params,
    )
    if not await tx.fetch_value("SELECT changes()"):
        return 0, 0
    # The lots to zero are those the new journal rows name, found by primary key
    # rather than by searching the customers' lots a second time.
    await tx.execute(
        "UPDATE bonus_lots SET remaining = 0 WHERE id IN "
        "(SELECT lot_id FROM ledger_entries WHERE id > :before)",
        {"before": before},
    )
    row = await tx.fetch_one(
        "SELECT COUNT(DISTINCT customer_id) AS customers, -SUM(amount) AS units "
        "FROM ledger_entries WHERE id > :before",
        {"before": before},
    )
    assert row is not None
    return int(row["customers"]), int(row["units"])


async def expire_customer_lots(
    tx: Transaction, merchant_id: int, customer_id: int, now: int
) -> int:
    """Expire every lapsed lot of one customer (locked by the caller); returns the bonus
    units expired."""
    return (await expire_lots_between(tx, merchant_id, customer_id, customer_id, now))[1]


async def new_lot_ids(tx: Transaction, order_by: str) -> str:
    """SQL for a fresh ``bonus_lots`` id per row of an ``INSERT ... SELECT`` ordered by
    ``order_by``, so a job can record a gift's lot where it records the gift and write
    the lot and its journal entry with that id, instead of finding each new lot again.
    PostgreSQL draws from the table's sequence; on SQLite this transaction is the only
    writer, so the ids after the largest ever given (``sqlite_sequence``) are free."""
    if tx.dialect == "postgresql":
        return "nextval('bonus_lots_id_seq')"
    base = await tx.fetch_value(
        "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'bonus_lots'), 0), "
        "COALESCE((SELECT MAX(id) FROM bonus_lots), 0))"
    )
    return f"{int(base)} + ROW_NUMBER() OVER (ORDER BY {order_by})"
