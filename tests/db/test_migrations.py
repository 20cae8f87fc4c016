"""Migrations: every revision upgrades, downgrades and upgrades again on an empty
database (the "stairway"), and the head schema is exactly what the models describe."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine

from cloud.db import migrate
from cloud.db.models import Base
from tests.postgres_cluster import PostgresCluster

_names = itertools.count()


def _revisions() -> list[Script]:
    """Every revision, oldest first."""
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    return list(reversed(list(script.walk_revisions("base", "heads"))))


@pytest.fixture
def empty_database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[str]:
    """A database with no tables at all, on the parametrised backend."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    name = f"stairway_{os.getpid()}_{next(_names)}"
    cluster.create_database(name)
    try:
        yield cluster.url(name)
    finally:
        cluster._run(
            "dropdb", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres",
            "--force", name,
        )  # fmt: skip


async def _inspect(url: str, action: Any) -> Any:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(action)
    finally:
        await engine.dispose()


def _schema(connection: sa.Connection) -> tuple[str | None, list[str]]:
    revision = MigrationContext.configure(connection).get_current_revision()
    tables = sorted(set(sa.inspect(connection).get_table_names()) - {"alembic_version"})
    return revision, tables


@pytest.mark.parametrize("revision", _revisions(), ids=lambda script: script.revision)
async def test_stairway(empty_database_url: str, revision: Script) -> None:
    """Each revision upgrades from its predecessor, downgrades back to exactly the
    predecessor's schema, and upgrades again, so every downgrade really undoes its
    upgrade and leaves nothing behind that would break a second upgrade."""
    url = empty_database_url
    down = revision.down_revision
    assert down is None or isinstance(down, str), "merge revisions are not expected"
    if down is not None:
        await migrate.upgrade_async(url, down)
    before = await _inspect(url, _schema)

    await migrate.upgrade_async(url, revision.revision)
    upgraded = await _inspect(url, _schema)
    assert upgraded[0] == revision.revision
    assert upgraded[1], "the revision created no tables?"

    await migrate.upgrade_async(url, revision.revision)  # at the target: a no-op
    await _downgrade(url, down or "base")
    assert await _inspect(url, _schema) == before

    await migrate.upgrade_async(url, revision.revision)
    assert await _inspect(url, _schema) == upgraded


async def _downgrade(url: str, revision: str) -> None:
    await asyncio.to_thread(migrate.downgrade, url, revision)


def _diff(connection: sa.Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={"compare_type": True, "render_as_batch": connection.dialect.name == "sqlite"},
    )
    return list(compare_metadata(context, Base.metadata))


async def test_head_schema_matches_models(database_url: str) -> None:
    """Autogenerate finds nothing to change between the migrated head and the models:
    no model change is missing a migration, and no migration drifted from the models."""
    assert await _inspect(database_url, _diff) == []
