"""lifecycle jobs: message kinds in the outbox, indexed birthdays, job locks and events,
reanimations

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _owned(table: str, with_customer: bool) -> list[Any]:
    items: list[Any] = [
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f(f"fk_{table}_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]
    if with_customer:
        items.append(
            sa.ForeignKeyConstraint(
                ["customer_id"],
                ["customers.id"],
                name=op.f(f"fk_{table}_customer_id_customers"),
                ondelete="CASCADE",
            )
        )
    return items


def upgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("params", sa.Text(), nullable=True))
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("birthday_md", sa.Integer(), nullable=True))
        batch_op.create_index("ix_customers_birthday", ["merchant_id", "birthday_md"])
    op.create_table(
        "job_locks",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("job", sa.String(length=32), nullable=False),
        *_owned("job_locks", with_customer=False),
        sa.UniqueConstraint("merchant_id", "job", name=op.f("uq_job_locks_merchant_id")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "job_events",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("event_key", sa.String(length=64), nullable=False),
        sa.Column("lot_id", _ID, nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        *_owned("job_events", with_customer=True),
        sa.UniqueConstraint(
            "merchant_id",
            "kind",
            "customer_id",
            "event_key",
            name=op.f("uq_job_events_merchant_id"),
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_job_events_created", "job_events", ["merchant_id", "kind", "created_at"])
    op.create_table(
        "reanimations",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("rule_code", sa.String(length=64), nullable=False),
        sa.Column("last_purchase_at", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("lot_id", _ID, nullable=True),
        sa.Column("run_date", sa.String(length=10), nullable=False),
        sa.Column("granted_at", sa.BigInteger(), nullable=False),
        *_owned("reanimations", with_customer=True),
        sa.UniqueConstraint(
            "merchant_id",
            "customer_id",
            "last_purchase_at",
            name=op.f("uq_reanimations_merchant_id"),
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_reanimations_granted", "reanimations", ["merchant_id", "granted_at"])


def downgrade() -> None:
    op.drop_index("ix_reanimations_granted", table_name="reanimations")
    op.drop_table("reanimations")
    op.drop_index("ix_job_events_created", table_name="job_events")
    op.drop_table("job_events")
    op.drop_table("job_locks")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("ix_customers_birthday")
        batch_op.drop_column("birthday_md")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_column("params")
        batch_op.drop_column("kind")
