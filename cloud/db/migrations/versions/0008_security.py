"""security: the terminal that asked for each SMS code, for per-till and per-merchant
rate limits

Revision ID: 0008
Revises: 0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sms_codes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "terminal_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch_op.create_index(
            "ix_sms_codes_merchant_created", ["merchant_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_sms_codes_terminal_created",
            ["merchant_id", "terminal_id", "created_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("sms_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_sms_codes_terminal_created")
        batch_op.drop_index("ix_sms_codes_merchant_created")
        batch_op.drop_column("terminal_id")
