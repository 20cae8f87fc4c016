"""frontol: one organization per merchant for the Frontol Priority API, its access key encrypted

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "frontol_organizations",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("organization", sa.String(length=64), nullable=False),
        sa.Column("key_enc", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_frontol_organizations_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_frontol_organizations")),
        sa.UniqueConstraint("merchant_id", name=op.f("uq_frontol_organizations_merchant_id")),
        sa.UniqueConstraint("organization", name=op.f("uq_frontol_organizations_organization")),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("frontol_organizations")
