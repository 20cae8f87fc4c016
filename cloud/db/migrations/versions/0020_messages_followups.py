"""messages follow-ups: tier changes handled per row by the notice job, lots found by
the day they become spendable (activation notices)

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tier_changes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notified_at", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_tier_changes_notice", ["merchant_id", "notified_at"])
    # The changes made before the upgrade were covered by the old id watermark: none of
    # them is announced again.
    op.execute("UPDATE tier_changes SET notified_at = created_at")
    with op.batch_alter_table("bonus_lots", schema=None) as batch_op:
        batch_op.create_index("ix_bonus_lots_available", ["merchant_id", "available_from"])


def downgrade() -> None:
    with op.batch_alter_table("bonus_lots", schema=None) as batch_op:
        batch_op.drop_index("ix_bonus_lots_available")
    with op.batch_alter_table("tier_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_tier_changes_notice")
        batch_op.drop_column("notified_at")
