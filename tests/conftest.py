"""Shared fixtures: a temporary database per test at the migrations' head, on SQLite
and on PostgreSQL (a temporary cluster), plus the application and its test client."""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from cloud.db import migrate
from tests.postgres_cluster import PostgresCluster, find_bindir

TEMPLATE = "loyalty_template"
_counter = itertools.count()


def _postgres_required() -> bool:
    return os.environ.get("LOYALTY_TEST_POSTGRES", "") == "required" or bool(os.environ.get("CI"))


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    bindir = find_bindir()
    if bindir is None:
        if _postgres_required():
            pytest.fail("PostgreSQL server binaries (initdb, pg_ctl) not found")
        pytest.skip("PostgreSQL server binaries not found")
    cluster = PostgresCluster.start(bindir)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def postgres_template(postgres_cluster: PostgresCluster) -> str:
    """A database migrated to head once; each test clones it (fast, and isolated)."""
    postgres_cluster.create_database(TEMPLATE)
    migrate.upgrade(postgres_cluster.url(TEMPLATE))
    return TEMPLATE


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[str]:
    """A fresh database at the migrations' head on the parametrised backend."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    template_name: str = request.getfixturevalue("postgres_template")
    name = f"test_{os.getpid()}_{next(_counter)}"
    async with database_from_template(cluster, template_name, name) as url:
        yield url


@contextlib.asynccontextmanager
async def database_from_template(
    cluster: PostgresCluster, template: str, name: str
) -> AsyncIterator[str]:
    """A PostgreSQL database ``name`` copied from ``template`` (at the migrations' head),
    dropped afterwards even while connections to it remain."""
    admin = await asyncpg.connect(cluster.dsn("postgres"))
    try:
        await admin.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    finally:
        await admin.close()
    try:
        yield cluster.url(name)
    finally:
        admin = await asyncpg.connect(cluster.dsn("postgres"))
        try:
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            await admin.close()


# ---- service and API fixtures -----------------------------------------------------------

from dataclasses import dataclass  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from typing import Any  # noqa: E402

from aiohttp.test_utils import TestClient  # noqa: E402

from cloud.api.app import create_app  # noqa: E402
from cloud.clock import ManualClock  # noqa: E402
from cloud.db.database import open_database  # noqa: E402
from cloud.notify import LogSmsProvider  # noqa: E402
from cloud.services import merchants, programs  # noqa: E402
from cloud.services.deps import Deps  # noqa: E402
from cloud.settings import Settings  # noqa: E402

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DEMO_PROGRAM = FIXTURES / "programs" / "03_breezevape.json"
START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@dataclass
class Tenant:
    merchant_id: int
    store_id: int
    terminal_id: int
    token: str
    program_version_id: int


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, env="test", load_demo=False)


@pytest.fixture
async def deps(settings: Settings, clock: ManualClock) -> AsyncIterator[Deps]:
    db = await open_database(settings.database_url)
    try:
        yield Deps.build(settings, db, sms=LogSmsProvider(), clock=clock)
    finally:
        await db.close()


async def make_tenant(
    deps: Deps, name: str, program: object | None = None, timezone: str = "Europe/Moscow"
) -> Tenant:
    """A merchant with one store, one terminal, a token and a live program."""
    now = deps.clock()
    merchant_id = await merchants.create_merchant(deps.db, name, now, timezone)
    store_id = await merchants.create_store(deps.db, merchant_id, f"{name}: магазин", now)
    terminal_id = await merchants.create_terminal(deps.db, merchant_id, store_id, "Касса 1", now)
    token = await merchants.issue_terminal_token(deps.db, merchant_id, terminal_id, now)
    document = program if program is not None else DEMO_PROGRAM.read_text()
    loaded = await programs.publish(deps.db, merchant_id, document, now)
    return Tenant(merchant_id, store_id, terminal_id, token, loaded.id)


@pytest.fixture
async def demo_tenant(deps: Deps) -> Tenant:
    return await make_tenant(deps, "Демо")


@pytest.fixture
async def other_tenant(deps: Deps) -> Tenant:
    return await make_tenant(deps, "Чужая компания")


async def _client_for(aiohttp_client, deps: Deps, tenant: Tenant) -> TestClient:  # type: ignore[no-untyped-def]
    app = create_app(deps.settings, deps=deps)
    return await aiohttp_client(app, headers={"Authorization": f"Bearer {tenant.token}"})


@pytest.fixture
async def client(aiohttp_client, deps: Deps, demo_tenant: Tenant) -> TestClient:  # type: ignore[no-untyped-def]
    return await _client_for(aiohttp_client, deps, demo_tenant)


@pytest.fixture
async def other_client(aiohttp_client, deps: Deps, other_tenant: Tenant) -> TestClient:  # type: ignore[no-untyped-def]
    return await _client_for(aiohttp_client, deps, other_tenant)


# ---- a merchant's administration, through its API key ----


async def merchant_client(aiohttp_client: Any, deps: Deps, tenant: Tenant, label: str) -> Any:
    key = await merchants.issue_merchant_key(deps.db, tenant.merchant_id, deps.clock(), label=label)
    return await aiohttp_client(
        create_app(deps.settings, deps=deps), headers={"Authorization": f"Bearer {key}"}
    )


@pytest.fixture
async def admin(aiohttp_client: Any, deps: Deps, demo_tenant: Tenant) -> TestClient:
    client: TestClient = await merchant_client(aiohttp_client, deps, demo_tenant, "Офис")
    return client


@pytest.fixture
async def other_admin(aiohttp_client: Any, deps: Deps, other_tenant: Tenant) -> TestClient:
    client: TestClient = await merchant_client(aiohttp_client, deps, other_tenant, "Чужой офис")
    return client


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A browser test runs once, on SQLite. It proves what Chromium shows; the queries
    behind every cabinet page run on both databases in the cabinet's HTTP tests, and a
    second Chromium story per page on PostgreSQL would cost CI minutes and prove nothing
    more about the database."""
    twice = [
        item for item in items
        if item.get_closest_marker("browser") is not None and "[postgresql" in item.nodeid
    ]  # fmt: skip
    if twice:
        config.hook.pytest_deselected(items=twice)
        dropped = set(map(id, twice))
        items[:] = [item for item in items if id(item) not in dropped]
