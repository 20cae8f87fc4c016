"""Several replicas start at once on one fresh PostgreSQL database: each runs the
migrations on start, under an advisory lock, and all of them come up on one schema."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pytest

from cloud.db import migrate
from tests.postgres_cluster import PostgresCluster

ROOT = Path(__file__).resolve().parents[2]
REPLICAS = 4

# The same upgrade as ``loyalty migrate``, with the lock switched off: what the replicas
# would do without it. Each waits, imports done, for the same instant (``sys.argv[2]``):
# on a busy machine processes started together may otherwise run one after another.
_UNLOCKED = (
    "import sys, time; from alembic import command; from cloud.db.migrate import alembic_config;"
    "config = alembic_config(sys.argv[1]); config.attributes['advisory_lock'] = False;"
    "time.sleep(max(0.0, float(sys.argv[2]) - time.time()));"
    "command.upgrade(config, 'head')"
)


def _start_all(
    commands: list[list[str]], database_url: str
) -> list[subprocess.CompletedProcess[str]]:
    """Start every command before waiting for any (the processes overlap)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    env.update(LOYALTY_DATABASE_URL=database_url, LOYALTY_LOG_LEVEL="WARNING")
    running = [
        subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for command in commands
    ]
    finished = []
    for process in running:
        out, err = process.communicate(timeout=300)
        finished.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return finished


async def _schema(cluster: PostgresCluster, database: str) -> list[tuple[str, ...]]:
    connection = await asyncpg.connect(cluster.dsn(database))
    try:
        rows = await connection.fetch(
            "SELECT table_name, column_name, data_type, is_nullable "
            "FROM information_schema.columns WHERE table_schema = 'public' "
            "ORDER BY table_name, column_name"
        )
        indexes = await connection.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
            "ORDER BY indexname"
        )
        versions = await connection.fetch("SELECT version_num FROM alembic_version")
    finally:
        await connection.close()
    return (
        [tuple(r) for r in rows] + [tuple(r) for r in indexes] + [("version", *v) for v in versions]
    )


@pytest.mark.postgres
async def test_replicas_migrating_at_once_all_succeed_on_one_schema(
    postgres_cluster: PostgresCluster, postgres_template: str
) -> None:
    """Four ``loyalty migrate`` started together on an empty database all exit 0; the
    database ends at head with exactly the schema of a database migrated alone (one
    alembic_version row)."""
    name = f"race_locked_{os.getpid()}"
    postgres_cluster.create_database(name)
    results = _start_all(
        [[sys.executable, "-m", "cloud.main", "migrate"]] * REPLICAS, postgres_cluster.url(name)
    )
    for result in results:
        assert result.returncode == 0, result.stderr[-2000:]
        assert "Database is at the latest migration" in result.stdout
    assert await _schema(postgres_cluster, name) == await _schema(
        postgres_cluster, postgres_template
    )


@pytest.mark.postgres
async def test_without_the_lock_the_same_start_fails(postgres_cluster: PostgresCluster) -> None:
    """The race is real: the same four upgrades with the advisory lock switched off do
    not all succeed (a second replica creates a table the first already made), so the
    test above would catch a lock that stopped working."""
    name = f"race_unlocked_{os.getpid()}"
    postgres_cluster.create_database(name)
    together = str(time.time() + 8)
    results = _start_all(
        [[sys.executable, "-c", _UNLOCKED, postgres_cluster.url(name), together]] * REPLICAS,
        postgres_cluster.url(name),
    )
    failed = [r for r in results if r.returncode != 0]
    assert failed, "every unlocked upgrade succeeded"
    assert any("already exists" in r.stderr or "duplicate key" in r.stderr for r in failed)


def test_sqlite_migrates_as_before(tmp_path: Path) -> None:
    """SQLite takes no advisory lock (it has none): an upgrade and a second one work."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"
    migrate.upgrade(url)
    migrate.upgrade(url)
