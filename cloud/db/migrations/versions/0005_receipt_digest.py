"""receipt digest and the program version of a hold

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("receipts") as batch:
        batch.add_column(sa.Column("digest", sa.String(length=64), nullable=True))
    with op.batch_alter_table("holds") as batch:
        batch.add_column(
            sa.Column(
                "program_version_id",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("holds") as batch:
        batch.drop_column("program_version_id")
    with op.batch_alter_table("receipts") as batch:
        batch.drop_column("digest")
