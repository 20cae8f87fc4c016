"""admin: merchant key roles, store addresses, the channel of every terminal and token

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("merchant_credentials", schema=None) as batch_op:
        # Keys issued before roles existed were the merchant's only key: its owner's.
        batch_op.add_column(
            sa.Column("role", sa.String(length=16), server_default="owner", nullable=False)
        )
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address", sa.String(length=500), nullable=True))
    with op.batch_alter_table("terminals", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("channel", sa.String(length=16), server_default="native", nullable=False)
        )
    with op.batch_alter_table("terminal_credentials", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("channel", sa.String(length=16), server_default="native", nullable=False)
        )
    # Only the Evotor sync gives a terminal a vendor id (the smart terminal's uuid).
    op.execute("UPDATE terminals SET channel = 'evotor' WHERE external_id IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("terminal_credentials", schema=None) as batch_op:
        batch_op.drop_column("channel")
    with op.batch_alter_table("terminals", schema=None) as batch_op:
        batch_op.drop_column("channel")
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.drop_column("address")
    with op.batch_alter_table("merchant_credentials", schema=None) as batch_op:
        batch_op.drop_column("role")
