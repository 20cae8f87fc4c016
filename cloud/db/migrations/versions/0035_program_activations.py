"""program activations: when each version went live, every time it did

Revision ID: 0035
Revises: 0034
Create Date: 2026-11-28

A sale recorded late (a store bridge replaying what it kept while the cloud was away, a
fiscal document arriving hours after the receipt) is priced by the version that was live
when it was sold. ``program_versions.activated_at`` keeps only a version's latest
activation, so a version switched off and on again would hide the periods between; this
journal keeps each one. Existing activations are carried over.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0035"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "program_activations",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("version_id", _ID, nullable=False),
        sa.Column("activated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_program_activations_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["program_versions.id"],
            name=op.f("fk_program_activations_version_id_program_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_activations")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_program_activations_merchant_time",
        "program_activations",
        ["merchant_id", "activated_at"],
    )
    op.execute(
        "INSERT INTO program_activations (merchant_id, version_id, activated_at) "
        "SELECT merchant_id, id, activated_at FROM program_versions "
        "WHERE activated_at IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index("ix_program_activations_merchant_time", table_name="program_activations")
    op.drop_table("program_activations")
