"""sigma hooks: per-terminal signing secrets (encrypted) and the signatures already seen

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fks(table: str) -> list[sa.ForeignKeyConstraint]:
    return [
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f(f"fk_{table}_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["terminal_id"], ["terminals.id"], name=op.f(f"fk_{table}_terminal_id_terminals"),
            ondelete="CASCADE",
        ),
    ]  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "terminal_signing_secrets",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("terminal_id", _ID, nullable=False),
        sa.Column("secret_enc", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=True),
        *_fks("terminal_signing_secrets"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_terminal_signing_secrets")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_terminal_signing_secrets_terminal", "terminal_signing_secrets",
        ["merchant_id", "terminal_id"], unique=False,
    )  # fmt: skip
    op.create_table(
        "signed_requests",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("terminal_id", _ID, nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.Column("seen_at", sa.BigInteger(), nullable=False),
        *_fks("signed_requests"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signed_requests")),
        sa.UniqueConstraint(
            "terminal_id", "signature", name=op.f("uq_signed_requests_terminal_id")
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_signed_requests_seen", "signed_requests", ["seen_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_signed_requests_seen", table_name="signed_requests")
    op.drop_table("signed_requests")
    op.drop_index("ix_terminal_signing_secrets_terminal", table_name="terminal_signing_secrets")
    op.drop_table("terminal_signing_secrets")
