"""fiscal QR claims: the merchant's INN and verification provider, the fiscal drives of
its stores, and one claim per fiscal document

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _merchant(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["merchant_id"],
        ["merchants.id"],
        name=op.f(f"fk_{table}_merchant_id_merchants"),
        ondelete="CASCADE",
    )


def _store(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["store_id"],
        ["stores.id"],
        name=op.f(f"fk_{table}_store_id_stores"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "fiscal_settings",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("inn", sa.String(length=12), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("credentials_enc", sa.LargeBinary(), nullable=True),
        sa.Column("claim_window_days", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        _merchant("fiscal_settings"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fiscal_settings")),
        sa.UniqueConstraint("merchant_id", name=op.f("uq_fiscal_settings_merchant_id")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "fiscal_drives",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("store_id", _ID, nullable=False),
        sa.Column("fn", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        _merchant("fiscal_drives"),
        _store("fiscal_drives"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fiscal_drives")),
        sa.UniqueConstraint("fn", name=op.f("uq_fiscal_drives_fn")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_fiscal_drives_merchant", "fiscal_drives", ["merchant_id", "store_id"])
    op.create_table(
        "fiscal_claims",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("store_id", _ID, nullable=False),
        sa.Column("fn", sa.String(length=16), nullable=False),
        sa.Column("fd", sa.BigInteger(), nullable=False),
        sa.Column("fp", sa.String(length=10), nullable=False),
        sa.Column("operation", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("receipt_time", sa.String(length=19), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("lease_until", sa.BigInteger(), nullable=True),
        sa.Column("receipt_id", _ID, nullable=True),
        sa.Column("accrued", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        _merchant("fiscal_claims"),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_fiscal_claims_customer_id_customers"),
            ondelete="CASCADE",
        ),
        _store("fiscal_claims"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fiscal_claims")),
        sa.UniqueConstraint("fn", "fd", "fp", name=op.f("uq_fiscal_claims_fn")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_fiscal_claims_due", "fiscal_claims", ["status", "next_attempt_at"])
    op.create_index(
        "ix_fiscal_claims_customer", "fiscal_claims", ["merchant_id", "customer_id", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_fiscal_claims_customer", table_name="fiscal_claims")
    op.drop_index("ix_fiscal_claims_due", table_name="fiscal_claims")
    op.drop_table("fiscal_claims")
    op.drop_index("ix_fiscal_drives_merchant", table_name="fiscal_drives")
    op.drop_table("fiscal_drives")
    op.drop_table("fiscal_settings")
