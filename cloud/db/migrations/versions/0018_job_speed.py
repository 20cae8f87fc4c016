"""job speed: room on the customers' pages for in-place (HOT) updates on PostgreSQL

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-27

Every sale updates its customer (purchases, last purchase), the tier job updates up to
every customer of a merchant, and none of those columns is indexed: with free room on
the page PostgreSQL rewrites the row in place without touching the four indexes of
``customers``. A full page (the default fillfactor of 100, a freshly loaded table) makes
each such update insert a new entry into every index. Pages written from now on keep
10 % free; existing pages get it when the table is rewritten (``VACUUM FULL``, a
restore). SQLite has no such setting.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE customers SET (fillfactor = 90)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE customers RESET (fillfactor)")
