"""cabinet messages: an index on a customer's messages for the card's «Сообщения» block

Revision ID: 0040
Revises: 0036
Create Date: 2026-11-28

The customer card lists the latest messages of one customer and their totals; without
this index that read walks every message the merchant ever sent.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0040"
down_revision: str | None = "0039"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_notifications_customer", "notifications", ["merchant_id", "customer_id", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_customer", table_name="notifications")
