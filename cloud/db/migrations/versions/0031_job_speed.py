"""job speed: one foreign key per ledger row instead of two; live lots only in the lots'
expiry and activation indexes on PostgreSQL

Revision ID: 0031
Revises: 0027
Create Date: 2026-11-28

The tables the jobs write by the hundred thousand (``bonus_lots``, ``ledger_entries``,
``reanimations``, ``tier_changes``) had a foreign key to the customer and one to the
merchant. On PostgreSQL each is a query per inserted row, together two thirds of the
cost of a journal row (bench/RESULTS.md). They become one key, (``customer_id``,
``merchant_id``) to the customer of that merchant (a unique index on ``customers``
(``id``, ``merchant_id``) is its parent key): one query per row, and it also holds that
the row's merchant is its customer's, which the two keys did not. Deleting a customer
deletes its rows as before; deleting a merchant deletes its customers and so their rows.
On SQLite the four tables are rebuilt (batch mode) to change their keys.

Both lots indexes serve searches of lots with something left (``remaining > 0``): the
expiry job, the expiry warnings, the activation notices. On PostgreSQL an update that
cannot be HOT (``remaining`` is in ``ix_bonus_lots_customer``) inserts a new entry into
every index whose predicate the new row version satisfies: with ``WHERE remaining > 0``
a lot's expiry (or a spend down to zero) writes two index entries instead of four.
SQLite keeps them whole: it would delete the old entry from each partial index instead,
which costs its expiry more than the smaller index saves.

For the same reason, on PostgreSQL the customers' indexes of values many customers lack
(referrer, birthday, Telegram chat) hold only those who have one: the tier job moving
most of a merchant's customers at once cannot keep every update on its page, and each
update that leaves it inserts an entry into every index that takes the row.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("bonus_lots", "ledger_entries", "reanimations", "tier_changes")
# On PostgreSQL: (table, index, columns, predicate).
_PARTIAL = (
    ("bonus_lots", "ix_bonus_lots_expiry", ["merchant_id", "expires_at"], "remaining > 0"),
    ("bonus_lots", "ix_bonus_lots_available", ["merchant_id", "available_from"],
     "remaining > 0"),
    ("customers", "ix_customers_referrer", ["merchant_id", "referrer_id"],
     "referrer_id IS NOT NULL"),
    ("customers", "ix_customers_birthday", ["merchant_id", "birthday_md"],
     "birthday_md IS NOT NULL"),
    ("customers", "ix_customers_telegram", ["merchant_id", "telegram_chat_id"],
     "telegram_chat_id IS NOT NULL"),
)  # fmt: skip


def _keys(table: str, tenant: bool) -> None:
    """Two keys to one (``tenant``) or back."""
    customer = f"fk_{table}_customer_id_customers"
    merchant = f"fk_{table}_merchant_id_merchants"
    with op.batch_alter_table(table) as batch:
        if tenant:
            batch.drop_constraint(merchant, type_="foreignkey")
            batch.drop_constraint(customer, type_="foreignkey")
            batch.create_foreign_key(
                customer, "customers", ["customer_id", "merchant_id"], ["id", "merchant_id"],
                ondelete="CASCADE",
            )  # fmt: skip
        else:
            batch.drop_constraint(customer, type_="foreignkey")
            batch.create_foreign_key(
                customer, "customers", ["customer_id"], ["id"], ondelete="CASCADE"
            )
            batch.create_foreign_key(
                merchant, "merchants", ["merchant_id"], ["id"], ondelete="CASCADE"
            )


def upgrade() -> None:
    op.create_index("uq_customers_id_merchant", "customers", ["id", "merchant_id"], unique=True)
    for table in _TABLES:
        _keys(table, tenant=True)
    if op.get_bind().dialect.name == "postgresql":
        for table, name, columns, where in _PARTIAL:
            op.drop_index(name, table_name=table)
            op.create_index(name, table, columns, postgresql_where=sa.text(where))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, name, columns, _ in _PARTIAL:
            op.drop_index(name, table_name=table)
            op.create_index(name, table, columns)
    for table in _TABLES:
        _keys(table, tenant=False)
    op.drop_index("uq_customers_id_merchant", table_name="customers")
