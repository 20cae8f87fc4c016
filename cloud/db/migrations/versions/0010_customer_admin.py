"""customer administration: blocked cards and the staff's manual actions

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("blocked_at", sa.BigInteger(), nullable=True))
    op.create_table(
        "customer_actions",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("staff", sa.String(length=200), nullable=True),
        sa.Column("credential_id", _ID, nullable=True),
        sa.Column("credential_label", sa.String(length=100), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_actions_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_customer_actions_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_actions")),
        sa.UniqueConstraint(
            "merchant_id", "idempotency_key", name=op.f("uq_customer_actions_merchant_id")
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_customer_actions_customer",
        "customer_actions",
        ["merchant_id", "customer_id", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_customer_actions_customer", table_name="customer_actions")
    op.drop_table("customer_actions")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("blocked_at")
