"""plans: what a merchant's subscription includes each month (usage is shown against it)

Revision ID: 0039
Revises: 0036
Create Date: 2026-11-28

``merchant_plans`` holds, per merchant, the receipts included in a month and the
message budget in kopecks, set by the platform operator (CLI or operator API). The
cabinet shows the month's usage against it; it never blocks a sale or a message.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0039"
down_revision: str | None = "0038"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "merchant_plans",
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("included_receipts", sa.BigInteger(), nullable=False),
        sa.Column("message_budget", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_merchant_plans_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("merchant_id", name=op.f("pk_merchant_plans")),
    )


def downgrade() -> None:
    op.drop_table("merchant_plans")
