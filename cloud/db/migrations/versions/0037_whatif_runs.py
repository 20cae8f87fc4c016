"""whatif_runs: the cabinet's what-if replays of a draft program, with their progress

Revision ID: 0037
Revises: 0036
Create Date: 2026-11-28

A what-if run re-prices a merchant's receipts of the last 30 or 90 days under a draft
version and under the live one. It runs in the background of one worker; its progress
(``done`` of ``total`` receipts) and, at the end, its figures (JSON) live in this row,
so any worker can show the page. ``heartbeat_at`` tells a run whose worker died (no
progress for minutes) from one still going.

``ix_receipts_merchant_created``: the replay reads a merchant's sales of a period in the
order they happened, a page at a time; without it every page would read all of the
merchant's receipts (or all receipts) again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0037"
down_revision: str | None = "0036"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "whatif_runs",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("draft_version_id", _ID, nullable=False),
        sa.Column("live_version_id", _ID, nullable=True),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("heartbeat_at", sa.BigInteger(), nullable=False),
        sa.Column("finished_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_whatif_runs_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whatif_runs")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_whatif_runs_merchant", "whatif_runs", ["merchant_id", "id"])
    op.create_index("ix_receipts_merchant_created", "receipts", ["merchant_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_receipts_merchant_created", table_name="receipts")
    op.drop_index("ix_whatif_runs_merchant", table_name="whatif_runs")
    op.drop_table("whatif_runs")
