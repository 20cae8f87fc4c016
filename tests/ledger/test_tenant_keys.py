"""The ledger's rows name their customer *of their merchant* (migration 0031): one
foreign key (``customer_id``, ``merchant_id``) where there were two, on both databases."""

from __future__ import annotations

import sqlite3

import asyncpg
import pytest

from cloud.clock import to_epoch
from cloud.services.deps import Deps
from tests.conftest import Tenant
from tests.ledger.helpers import create_customer, give_lot

_REFUSED = (sqlite3.IntegrityError, asyncpg.ForeignKeyViolationError)

_ROWS = {
    "bonus_lots": "INSERT INTO bonus_lots (merchant_id, customer_id, kind, amount, remaining, "
    "available_from, expires_at, receipt_id, created_at) "
    "VALUES (:m, :c, 'manual', 100, 100, :now, NULL, NULL, :now)",
    "ledger_entries": "INSERT INTO ledger_entries (merchant_id, customer_id, kind, amount, "
    "lot_id, receipt_id, idempotency_key, created_at) "
    "VALUES (:m, :c, 'accrue', 100, NULL, NULL, 'tenant-key-test', :now)",
    "reanimations": "INSERT INTO reanimations (merchant_id, customer_id, rule_code, "
    "last_purchase_at, amount, lot_id, run_date, granted_at) "
    "VALUES (:m, :c, 'r', 0, 100, NULL, '2026-06-01', :now)",
    "tier_changes": "INSERT INTO tier_changes (merchant_id, customer_id, from_tier, to_tier, "
    "reason, receipt_id, created_at) VALUES (:m, :c, NULL, 'base', 'import', NULL, :now)",
}


@pytest.mark.parametrize("table", sorted(_ROWS))
async def test_a_row_for_another_merchants_customer_is_refused(
    deps: Deps, demo_tenant: Tenant, other_tenant: Tenant, table: str
) -> None:
    """A lot, journal entry, reanimation or tier change naming one merchant and another
    merchant's customer (or a customer that does not exist) is refused by the database,
    and the same row for the customer's own merchant is accepted."""
    customer = await create_customer(deps, demo_tenant.merchant_id)
    now = to_epoch(deps.clock())
    for merchant, customer_id in (
        (other_tenant.merchant_id, customer.id),
        (demo_tenant.merchant_id, customer.id + 1_000_000),
    ):
        with pytest.raises(_REFUSED):
            async with deps.db.transaction() as tx:
                await tx.execute(_ROWS[table], {"m": merchant, "c": customer_id, "now": now})
    async with deps.db.transaction() as tx:
        await tx.execute(_ROWS[table], {"m": demo_tenant.merchant_id, "c": customer.id, "now": now})
    count = await deps.db.fetch_value(
        f"SELECT COUNT(*) FROM {table}  WHERE customer_id = :c", {"c": customer.id}
    )
    assert count == 1


async def test_deleting_a_customer_or_merchant_deletes_their_ledger(
    deps: Deps, demo_tenant: Tenant, other_tenant: Tenant
) -> None:
    """Deleting a customer still deletes its lots and journal entries (the one key
    cascades as the two did); deleting a merchant deletes its customers and so their
    ledger, and leaves another merchant's alone."""
    gone = await create_customer(deps, demo_tenant.merchant_id)
    orphan = await create_customer(deps, demo_tenant.merchant_id)
    kept = await create_customer(deps, other_tenant.merchant_id)
    members = ((gone, demo_tenant), (orphan, demo_tenant), (kept, other_tenant))
    for member, tenant in members:
        await give_lot(deps, tenant.merchant_id, member.id, 500)

    async def rows(customer_id: int) -> int:
        lots = await deps.db.fetch_value(
            "SELECT COUNT(*) FROM bonus_lots WHERE customer_id = :c", {"c": customer_id}
        )
        entries = await deps.db.fetch_value(
            "SELECT COUNT(*) FROM ledger_entries WHERE customer_id = :c", {"c": customer_id}
        )
        return int(lots) + int(entries)

    assert [await rows(member.id) for member, _ in members] == [2, 2, 2]
    async with deps.db.transaction() as tx:
        await tx.execute("DELETE FROM customers WHERE id = :c", {"c": gone.id})
    assert [await rows(member.id) for member, _ in members] == [0, 2, 2]
    async with deps.db.transaction() as tx:
        await tx.execute("DELETE FROM merchants WHERE id = :m", {"m": demo_tenant.merchant_id})
    assert [await rows(member.id) for member, _ in members] == [0, 0, 2]
