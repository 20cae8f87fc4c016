"""МойСклад Loyalty API: installation tokens, counterparty ids and verification codes

Revision ID: 0028
Revises: 0027
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "moysklad_installations",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        _fk("moysklad_installations", "merchant_id", "merchants"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moysklad_installations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_moysklad_installations_token_hash")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_moysklad_installations_merchant", "moysklad_installations", ["merchant_id", "id"]
    )
    op.create_table(
        "moysklad_counterparties",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("ms_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        _fk("moysklad_counterparties", "merchant_id", "merchants"),
        _fk("moysklad_counterparties", "customer_id", "customers"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moysklad_counterparties")),
        sa.UniqueConstraint(
            "merchant_id", "ms_id", name=op.f("uq_moysklad_counterparties_merchant_id")
        ),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "moysklad_codes",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("phone_index", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("code_enc", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        _fk("moysklad_codes", "merchant_id", "merchants"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moysklad_codes")),
        sa.UniqueConstraint(
            "merchant_id", "phone_index", "purpose", name=op.f("uq_moysklad_codes_merchant_id")
        ),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("moysklad_codes")
    op.drop_table("moysklad_counterparties")
    op.drop_index("ix_moysklad_installations_merchant", table_name="moysklad_installations")
    op.drop_table("moysklad_installations")
