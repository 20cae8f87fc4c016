"""analytics rollup: the reports' closed months per merchant

Revision ID: 0042
Revises: 0041
Create Date: 2026-11-28

A year's report read every receipt of the year, and the repeat purchases all of them
(1-4 s each over 1 M receipts on PostgreSQL). The ``analytics`` job now keeps each
month's figures up to yesterday in ``analytics_months``; ``analytics_state`` says how far
it got (``cloud.services.analytics.rollup``); a report counts only the days after.
``analytics_customers`` holds each customer's sales up to the same day (all of them, and
those of the default period) for the reports by customer (``analytics.summary``).

``ix_receipts_customer`` (merchant, customer) grows into (merchant, customer, time, kind,
amount, id, local date): a repeat purchase's previous sale, a sale's next one (the lost),
a buyer's earlier sales of the month, a warned customer's sales in the days after the
warning are then read from the index alone, in time order, instead of every receipt row
of the customer. Still one index per insert.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0042"
down_revision: str | None = "0041"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_FIELDS = ("sales", "buyers", "amount", "refunds", "discount", "redeemed", "accrued",
           "repeats", "seconds", "lost", "active")  # fmt: skip


_CUSTOMER_FIELDS = ("sales", "revenue", "first_at", "last_at", "recent_sales", "recent_revenue")


def _merchant(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["merchant_id"], ["merchants.id"], name=op.f(f"fk_{table}_merchant_id_merchants"),
        ondelete="CASCADE",
    )  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "analytics_months",
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in _FIELDS),
        _merchant("analytics_months"),
        sa.PrimaryKeyConstraint("merchant_id", "month", name=op.f("pk_analytics_months")),
    )
    op.create_table(
        "analytics_state",
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("receipt_id", sa.BigInteger(), nullable=False),
        sa.Column("since", sa.String(length=7), nullable=False),
        sa.Column("through", sa.String(length=10), nullable=False),
        sa.Column("recent_from", sa.String(length=10), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("rolled_at", sa.BigInteger(), nullable=False),
        _merchant("analytics_state"),
        sa.PrimaryKeyConstraint("merchant_id", name=op.f("pk_analytics_state")),
    )
    op.create_table(
        "analytics_customers",
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in _CUSTOMER_FIELDS),
        _merchant("analytics_customers"),
        sa.PrimaryKeyConstraint("merchant_id", "customer_id", name=op.f("pk_analytics_customers")),
    )
    upgrade_index(_CUSTOMER_NEW)


_CUSTOMER_OLD = ["merchant_id", "customer_id"]
_CUSTOMER_NEW = [
    "merchant_id", "customer_id", "created_at", "kind", "amount", "id", "local_date",
]  # fmt: skip


def upgrade_index(columns: list[str]) -> None:
    op.drop_index("ix_receipts_customer", table_name="receipts")
    op.create_index("ix_receipts_customer", "receipts", columns)


def downgrade() -> None:
    upgrade_index(_CUSTOMER_OLD)
    op.drop_table("analytics_customers")
    op.drop_table("analytics_state")
    op.drop_table("analytics_months")
