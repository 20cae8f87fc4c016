"""Alembic environment: async drivers (aiosqlite / asyncpg), URL from the config.

On PostgreSQL the upgrade runs under a session advisory lock: every replica migrates on
start, and the ones that come second wait, then find the schema at head and do nothing
(without it two replicas creating the same tables fail one of them, or worse). SQLite is
one file on one machine: its own write lock serialises writers.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from cloud.db.models import Base

target_metadata = Base.metadata

MIGRATION_LOCK = 0x6C6F79616C7479  # "loyalty": the advisory lock key of migrations


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            # attributes["advisory_lock"] = False exists only for the test that shows the
            # race the lock prevents (tests/ops/test_migration_lock.py).
            locked = connection.dialect.name == "postgresql" and context.config.attributes.get(
                "advisory_lock", True
            )
            if locked:
                # Taken and committed before Alembic reads the current revision, so a
                # waiter reads what the holder committed.
                await connection.execute(
                    text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK}
                )
                await connection.commit()
            try:
                await connection.run_sync(_run)
                await connection.commit()
            finally:
                if locked:
                    await connection.rollback()
                    await connection.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK}
                    )
                    await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(_run_async(context.config.get_main_option("sqlalchemy.url") or ""))
