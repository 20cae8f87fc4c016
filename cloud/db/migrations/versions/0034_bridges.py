"""Store bridges: the last heartbeat of each bridge terminal (health for the merchant)

Revision ID: 0034
Revises: 0031
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0034"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_bridge_health_{column}_{target}"),
        ondelete="CASCADE",
    )  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "bridge_health",
        sa.Column("terminal_id", _ID, nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("last_contact_at", sa.BigInteger(), nullable=False),
        sa.Column("outbox_depth", sa.Integer(), nullable=False),
        sa.Column("oldest_unsent_at", sa.BigInteger(), nullable=True),
        sa.Column("rejected_count", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        _fk("terminal_id", "terminals"),
        _fk("merchant_id", "merchants"),
        sa.PrimaryKeyConstraint("terminal_id", name=op.f("pk_bridge_health")),
    )
    op.create_index("ix_bridge_health_merchant", "bridge_health", ["merchant_id"])


def downgrade() -> None:
    op.drop_index("ix_bridge_health_merchant", table_name="bridge_health")
    op.drop_table("bridge_health")
