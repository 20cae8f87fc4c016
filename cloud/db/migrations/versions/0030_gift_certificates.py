"""gift certificates: the certificates (an account of their own), their journal and
their holds

Revision ID: 0030
Revises: 0027
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
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


def _certificate(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["certificate_id"],
        ["gift_certificates.id"],
        name=op.f(f"fk_{table}_certificate_id_gift_certificates"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "gift_certificates",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("batch", sa.String(length=64), nullable=True),
        sa.Column("nominal", sa.BigInteger(), nullable=False),
        sa.Column("redemption", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("remaining", sa.BigInteger(), nullable=False),
        sa.Column("redeemed", sa.BigInteger(), nullable=False),
        sa.Column("expired", sa.BigInteger(), nullable=False),
        sa.Column("voided", sa.BigInteger(), nullable=False),
        sa.Column("valid_days", sa.Integer(), nullable=True),
        sa.Column("expires_at", sa.BigInteger(), nullable=True),
        sa.Column("activated_at", sa.BigInteger(), nullable=True),
        sa.Column("sold_receipt", sa.String(length=128), nullable=True),
        sa.Column("sold_terminal_id", _ID, nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        _merchant("gift_certificates"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gift_certificates")),
        sa.UniqueConstraint("merchant_id", "number", name=op.f("uq_gift_certificates_merchant_id")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_gift_certificates_status",
        "gift_certificates",
        ["merchant_id", "status", "expires_at"],
    )
    op.create_index("ix_gift_certificates_batch", "gift_certificates", ["merchant_id", "batch"])
    op.create_table(
        "gift_certificate_entries",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("certificate_id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("receipt_id", _ID, nullable=True),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        _merchant("gift_certificate_entries"),
        _certificate("gift_certificate_entries"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gift_certificate_entries")),
        sa.UniqueConstraint(
            "merchant_id", "key", name=op.f("uq_gift_certificate_entries_merchant_id")
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_gift_certificate_entries_certificate",
        "gift_certificate_entries",
        ["certificate_id", "id"],
    )
    op.create_index(
        "ix_gift_certificate_entries_receipt",
        "gift_certificate_entries",
        ["merchant_id", "receipt_id"],
    )
    op.create_table(
        "gift_certificate_holds",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("certificate_id", _ID, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("receipt_external_id", sa.String(length=128), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        _merchant("gift_certificate_holds"),
        _certificate("gift_certificate_holds"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gift_certificate_holds")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_gift_certificate_holds_certificate",
        "gift_certificate_holds",
        ["certificate_id", "status"],
    )
    op.create_index(
        "ix_gift_certificate_holds_receipt",
        "gift_certificate_holds",
        ["merchant_id", "source", "receipt_external_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_gift_certificate_holds_receipt", table_name="gift_certificate_holds")
    op.drop_index("ix_gift_certificate_holds_certificate", table_name="gift_certificate_holds")
    op.drop_table("gift_certificate_holds")
    op.drop_index("ix_gift_certificate_entries_receipt", table_name="gift_certificate_entries")
    op.drop_index("ix_gift_certificate_entries_certificate", table_name="gift_certificate_entries")
    op.drop_table("gift_certificate_entries")
    op.drop_index("ix_gift_certificates_batch", table_name="gift_certificates")
    op.drop_index("ix_gift_certificates_status", table_name="gift_certificates")
    op.drop_table("gift_certificates")
