"""cabinet: the merchant's staff accounts and the sign-in failures that rate-limit them

Revision ID: 0036
Revises: 0035
Create Date: 2026-11-28

``cabinet_users`` are the people who sign in to the merchant cabinet (``/cabinet/``):
a login unique across the service (the sign-in form asks for no merchant), an argon2
hash, a role (owner / manager / viewer) and a disabled mark. ``cabinet_sign_in_failures``
keeps each refused password with its login and address, so the limits hold across every
worker of the service; rows older than the window are deleted as new ones come.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "cabinet_users",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("login", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("disabled_at", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_cabinet_users_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cabinet_users")),
        sa.UniqueConstraint("login", name=op.f("uq_cabinet_users_login")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_cabinet_users_merchant", "cabinet_users", ["merchant_id", "id"])
    op.create_table(
        "cabinet_sign_in_failures",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("login", sa.String(length=100), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cabinet_sign_in_failures")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_cabinet_sign_in_failures_login", "cabinet_sign_in_failures", ["login", "created_at"]
    )
    op.create_index(
        "ix_cabinet_sign_in_failures_ip", "cabinet_sign_in_failures", ["ip", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_cabinet_sign_in_failures_ip", table_name="cabinet_sign_in_failures")
    op.drop_index("ix_cabinet_sign_in_failures_login", table_name="cabinet_sign_in_failures")
    op.drop_table("cabinet_sign_in_failures")
    op.drop_index("ix_cabinet_users_merchant", table_name="cabinet_users")
    op.drop_table("cabinet_users")
