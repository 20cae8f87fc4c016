"""Alembic driven from code: the CLI, the server start and the tests share it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url)
    return config


def _prepare_sqlite_dir(database_url: str) -> None:
    if database_url.startswith("sqlite") and ":///" in database_url:
        path = database_url.split(":///", 1)[1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def _off_the_loop(action: Callable[[], None]) -> None:
    """env.py runs its own event loop for the async driver; when a loop is already
    running in this thread (an async caller), run Alembic in a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        action()
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(action).result()


def upgrade(database_url: str, revision: str = "head") -> None:
    _prepare_sqlite_dir(database_url)
    _off_the_loop(lambda: command.upgrade(alembic_config(database_url), revision))


def downgrade(database_url: str, revision: str) -> None:
    _off_the_loop(lambda: command.downgrade(alembic_config(database_url), revision))


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    await asyncio.to_thread(upgrade, database_url, revision)
