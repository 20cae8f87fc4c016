"""one channel-neutral receipt session: evotor_receipts becomes receipt_sessions (channel 'evotor')

Frontol, SIGMA, Modul-Kassa and 1C need the same tie of a terminal's receipt id to the
customer, the hold, the fiscal document and the state as Evotor: one table with the
channel in the key, not one per vendor.

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
COMMON = (
    "store_external_id, document_id, terminal_id, customer_id, positions_key, held, hold_id, "
    "state, unsettled, unsettled_reason, total, closed_at, number, created_at, updated_at"
)


def upgrade() -> None:
    op.create_table(
        "receipt_sessions",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", ID, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("store_external_id", sa.String(length=128), nullable=True),
        sa.Column("document_id", sa.String(length=128), nullable=True),
        sa.Column("terminal_id", ID, nullable=True),
        sa.Column("customer_id", ID, nullable=True),
        sa.Column("positions_key", sa.String(length=64), nullable=True),
        sa.Column("held", sa.BigInteger(), nullable=False),
        sa.Column("hold_id", ID, nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("program_version", sa.Integer(), nullable=True),
        sa.Column("unsettled", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("unsettled_reason", sa.String(length=64), nullable=True),
        sa.Column("total", sa.BigInteger(), nullable=True),
        sa.Column("closed_at", sa.BigInteger(), nullable=True),
        sa.Column("number", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_receipt_sessions_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipt_sessions")),
        sa.UniqueConstraint(
            "merchant_id", "channel", "external_id", name="uq_receipt_sessions_external"
        ),
        sa.UniqueConstraint(
            "merchant_id",
            "channel",
            "document_id",
            "store_external_id",
            name="uq_receipt_sessions_document",
        ),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("receipt_sessions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_receipt_sessions_positions", ["merchant_id", "channel", "positions_key"]
        )
    op.execute(
        f"INSERT INTO receipt_sessions (merchant_id, channel, external_id, {COMMON}) "
        f"SELECT merchant_id, 'evotor', receipt_uuid, {COMMON} FROM evotor_receipts ORDER BY id"
    )
    with op.batch_alter_table("evotor_receipts", schema=None) as batch_op:
        batch_op.drop_index("ix_evotor_receipts_positions")
    op.drop_table("evotor_receipts")


def downgrade() -> None:
    op.create_table(
        "evotor_receipts",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", ID, nullable=False),
        sa.Column("receipt_uuid", sa.String(length=128), nullable=False),
        sa.Column("store_external_id", sa.String(length=128), nullable=True),
        sa.Column("document_id", sa.String(length=128), nullable=True),
        sa.Column("terminal_id", ID, nullable=True),
        sa.Column("customer_id", ID, nullable=True),
        sa.Column("positions_key", sa.String(length=64), nullable=True),
        sa.Column("held", sa.BigInteger(), nullable=False),
        sa.Column("hold_id", ID, nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("unsettled", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("unsettled_reason", sa.String(length=64), nullable=True),
        sa.Column("total", sa.BigInteger(), nullable=True),
        sa.Column("closed_at", sa.BigInteger(), nullable=True),
        sa.Column("number", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_evotor_receipts_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evotor_receipts")),
        sa.UniqueConstraint("merchant_id", "receipt_uuid", name="uq_evotor_receipts_receipt"),
        sa.UniqueConstraint(
            "merchant_id", "store_external_id", "document_id", name="uq_evotor_receipts_document"
        ),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("evotor_receipts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_evotor_receipts_positions", ["merchant_id", "positions_key"], unique=False
        )
    # The sessions of other channels have nowhere to go in the older schema.
    op.execute(
        f"INSERT INTO evotor_receipts (merchant_id, receipt_uuid, {COMMON}) "
        f"SELECT merchant_id, external_id, {COMMON} FROM receipt_sessions "
        "WHERE channel = 'evotor' ORDER BY id"
    )
    with op.batch_alter_table("receipt_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_receipt_sessions_positions")
    op.drop_table("receipt_sessions")
