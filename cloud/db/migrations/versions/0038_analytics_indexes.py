"""analytics indexes: receipts by day, customers by registration, messages by kind

Revision ID: 0038
Revises: 0036
Create Date: 2026-11-28

The cabinet's reports (``cloud.services.analytics``) read a merchant's receipts of a
period of local days, its customers registered in a period, and its messages of one kind
(the expiry warnings) sent in a period. Without these they scan every row of the
merchant (the receipts by customer, the customers by phone).

A sale's refunds were found by ``original_receipt_id`` with no index: every report that
nets a sale of its returns (mailings, reanimation, campaigns) and the refund path itself
read all the merchant's receipts once per sale. ``ix_receipts_original`` holds refunds
only (a partial index on both databases: sales, the most rows, are not in it).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0038"
down_revision: str | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = (
    # Covering: a report reads a period's receipts from the index alone (an index-only
    # scan on PostgreSQL once vacuumed), never the wide rows with their stored responses.
    (
        "receipts",
        "ix_receipts_merchant_date",
        [
            "merchant_id",
            "local_date",
            "customer_id",
            "kind",
            "created_at",
            "amount",
            "discount",
            "redeemed",
            "accrued",
        ],
    ),
    ("customers", "ix_customers_merchant_created", ["merchant_id", "created_at"]),
    ("notifications", "ix_notifications_kind", ["merchant_id", "kind", "created_at"]),
)


_REFUNDS = "original_receipt_id IS NOT NULL"


def upgrade() -> None:
    for table, name, columns in _INDEXES:
        op.create_index(name, table, columns)
    op.create_index(
        "ix_receipts_original", "receipts", ["merchant_id", "original_receipt_id"],
        postgresql_where=sa.text(_REFUNDS), sqlite_where=sa.text(_REFUNDS),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_receipts_original", table_name="receipts")
    for table, name, _ in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
