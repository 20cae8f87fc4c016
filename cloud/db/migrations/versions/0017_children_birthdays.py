"""children's birthdays: month and day in clear for the birthday job's index

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customer_children", schema=None) as batch_op:
        batch_op.add_column(sa.Column("birthday_md", sa.Integer(), nullable=True))
        batch_op.create_index("ix_customer_children_birthday", ["merchant_id", "birthday_md"])


def downgrade() -> None:
    with op.batch_alter_table("customer_children", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_children_birthday")
        batch_op.drop_column("birthday_md")
