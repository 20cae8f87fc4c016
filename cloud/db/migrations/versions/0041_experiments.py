"""experiments: A/B tests of a program parameter

Revision ID: 0041
Revises: 0036
Create Date: 2026-11-28

``experiments`` splits a merchant's customers by a hash of (experiment, customer) between
the live version (variant A) and a version with one parameter changed (variant B).
``merchants.running_experiment_id`` names the running one: the checkout's snapshot query
reads it beside the active version, so a merchant with no experiment pays no extra query.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0041"
down_revision: str | None = "0040"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("merchants", sa.Column("running_experiment_id", _ID, nullable=True))
    op.create_table(
        "experiments",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("parameter", sa.String(length=32), nullable=False),
        sa.Column("tier_code", sa.String(length=64), nullable=True),
        sa.Column("value", sa.String(length=32), nullable=False),
        sa.Column("control_version_id", _ID, nullable=False),
        sa.Column("variant_version_id", _ID, nullable=False),
        sa.Column("share_b", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=False),
        sa.Column("stopped_at", sa.BigInteger(), nullable=True),
        sa.Column("winner", sa.String(length=1), nullable=True),
        sa.Column("applied_version_id", _ID, nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_experiments_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiments")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_experiments_merchant", "experiments", ["merchant_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_experiments_merchant", table_name="experiments")
    op.drop_table("experiments")
    with op.batch_alter_table("merchants") as batch:
        batch.drop_column("running_experiment_id")
