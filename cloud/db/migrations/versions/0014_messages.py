"""messages: the outbox's retries and templates, Telegram chats, opt-out, mailings

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "mailings",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("segment", sa.Text(), nullable=False),
        sa.Column("attribution_days", sa.Integer(), nullable=False),
        sa.Column("participants", sa.Integer(), nullable=False),
        sa.Column("estimated_cost", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_mailings_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailings")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_mailings_merchant", "mailings", ["merchant_id", "id"], unique=False)
    op.create_table(
        "message_templates",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_message_templates_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_templates")),
        sa.UniqueConstraint("merchant_id", "kind", name=op.f("uq_message_templates_merchant_id")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        # ``kind`` and ``params`` come with 0012 (the jobs write them first).
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("next_attempt_at", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("last_error", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("provider", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("provider_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("mailing_id", _ID, nullable=True))
        batch_op.create_index("ix_notifications_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(
            "ix_notifications_provider_id", ["provider", "provider_id"], unique=False
        )
        batch_op.create_index(
            "ix_notifications_mailing", ["merchant_id", "mailing_id"], unique=False
        )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("telegram_chat_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("messages_opt_out_at", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("messages_opt_out_at")
        batch_op.drop_column("telegram_chat_id")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_mailing")
        batch_op.drop_index("ix_notifications_provider_id")
        batch_op.drop_index("ix_notifications_due")
        for column in ("mailing_id", "provider_id", "provider", "last_error",
                       "next_attempt_at", "attempts"):  # fmt: skip
            batch_op.drop_column(column)
    op.drop_table("message_templates")
    op.drop_index("ix_mailings_merchant", table_name="mailings")
    op.drop_table("mailings")
