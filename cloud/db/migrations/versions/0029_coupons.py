"""coupons: the merchant's campaigns (a program coupon rule, limits, validity, whether a
return frees the code), their codes, and one redemption per code and receipt

Revision ID: 0029
Revises: 0027
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
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


def upgrade() -> None:
    op.create_table(
        "coupon_campaigns",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("rule_code", sa.String(length=64), nullable=False),
        sa.Column("uses_per_code", sa.Integer(), nullable=True),
        sa.Column("total_uses", sa.Integer(), nullable=True),
        sa.Column("uses_per_customer", sa.Integer(), nullable=True),
        sa.Column("requires_customer", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.BigInteger(), nullable=True),
        sa.Column("valid_until", sa.BigInteger(), nullable=True),
        sa.Column("return_frees", sa.Integer(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        _merchant("coupon_campaigns"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_campaigns")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_coupon_campaigns_merchant", "coupon_campaigns", ["merchant_id", "id"])
    op.create_table(
        "coupons",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("campaign_id", _ID, nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        _merchant("coupons"),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["coupon_campaigns.id"],
            name=op.f("fk_coupons_campaign_id_coupon_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupons")),
        sa.UniqueConstraint("merchant_id", "code", name=op.f("uq_coupons_merchant_id")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_coupons_campaign", "coupons", ["campaign_id", "id"])
    op.create_table(
        "coupon_redemptions",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("campaign_id", _ID, nullable=False),
        sa.Column("coupon_id", _ID, nullable=False),
        sa.Column("receipt_id", _ID, nullable=False),
        sa.Column("customer_id", _ID, nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("freed_at", sa.BigInteger(), nullable=True),
        sa.Column("refund_receipt_id", _ID, nullable=True),
        _merchant("coupon_redemptions"),
        sa.ForeignKeyConstraint(
            ["coupon_id"],
            ["coupons.id"],
            name=op.f("fk_coupon_redemptions_coupon_id_coupons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["receipt_id"],
            ["receipts.id"],
            name=op.f("fk_coupon_redemptions_receipt_id_receipts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_redemptions")),
        sa.UniqueConstraint(
            "coupon_id", "receipt_id", name=op.f("uq_coupon_redemptions_coupon_id")
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_coupon_redemptions_receipt", "coupon_redemptions", ["receipt_id"])
    op.create_index(
        "ix_coupon_redemptions_customer",
        "coupon_redemptions",
        ["campaign_id", "customer_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_coupon_redemptions_customer", table_name="coupon_redemptions")
    op.drop_index("ix_coupon_redemptions_receipt", table_name="coupon_redemptions")
    op.drop_table("coupon_redemptions")
    op.drop_index("ix_coupons_campaign", table_name="coupons")
    op.drop_table("coupons")
    op.drop_index("ix_coupon_campaigns_merchant", table_name="coupon_campaigns")
    op.drop_table("coupon_campaigns")
