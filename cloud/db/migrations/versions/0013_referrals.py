"""referrals: who invited whom, the rewards of each level, and the registration profile

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete="CASCADE"
    )


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("referrer_id", _ID, nullable=True))
        batch_op.add_column(sa.Column("gender", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("acquisition_channel", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("campaign", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("consent_messages_version", sa.String(length=32), nullable=True)
        )
        batch_op.add_column(
            sa.Column("consent_personal_data_version", sa.String(length=32), nullable=True)
        )
        batch_op.create_index("ix_customers_referrer", ["merchant_id", "referrer_id"], unique=False)
    op.create_table(
        "customer_children",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("name_enc", sa.LargeBinary(), nullable=True),
        sa.Column("birthday_enc", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        _fk("customer_children", "customer_id", "customers"),
        _fk("customer_children", "merchant_id", "merchants"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_children")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_customer_children_customer",
        "customer_children",
        ["merchant_id", "customer_id"],
        unique=False,
    )
    op.create_table(
        "referral_rewards",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("receipt_id", _ID, nullable=False),
        sa.Column("recipient_id", _ID, nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("rate", sa.String(length=24), nullable=False),
        sa.Column("base", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("lot_id", _ID, nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        _fk("referral_rewards", "merchant_id", "merchants"),
        _fk("referral_rewards", "recipient_id", "customers"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_rewards")),
        sa.UniqueConstraint(
            "merchant_id", "receipt_id", "level", name=op.f("uq_referral_rewards_merchant_id")
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_referral_rewards_recipient",
        "referral_rewards",
        ["merchant_id", "recipient_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_referral_rewards_recipient", table_name="referral_rewards")
    op.drop_table("referral_rewards")
    op.drop_index("ix_customer_children_customer", table_name="customer_children")
    op.drop_table("customer_children")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("ix_customers_referrer")
        batch_op.drop_column("consent_personal_data_version")
        batch_op.drop_column("consent_messages_version")
        batch_op.drop_column("campaign")
        batch_op.drop_column("acquisition_channel")
        batch_op.drop_column("gender")
        batch_op.drop_column("referrer_id")
