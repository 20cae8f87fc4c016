"""indexes for the expiry and hold-expiry jobs

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bonus_lots", schema=None) as batch_op:
        batch_op.create_index("ix_bonus_lots_expiry", ["merchant_id", "expires_at"], unique=False)
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.create_index("ix_holds_status_expires", ["status", "expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_index("ix_holds_status_expires")
    with op.batch_alter_table("bonus_lots", schema=None) as batch_op:
        batch_op.drop_index("ix_bonus_lots_expiry")
