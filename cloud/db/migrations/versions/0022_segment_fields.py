"""mailing segments by age and card-number range: birth year and a card's numeric value in clear

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("birth_year", sa.Integer(), nullable=True))
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.add_column(sa.Column("number_value", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_cards_number_value", ["merchant_id", "number_value"])


def downgrade() -> None:
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.drop_index("ix_cards_number_value")
        batch_op.drop_column("number_value")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("birth_year")
