"""Liveness and readiness: ``/health`` answers without the database, ``/ready`` answers
only while the database does (503 with a code and a Russian message otherwise); neither
takes a credential."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from cloud.api import routes
from cloud.main import build_app
from cloud.services.deps import Deps
from tests.postgres_cluster import PostgresCluster


@pytest.fixture
async def service(aiohttp_client: Any, deps: Deps) -> Any:
    return await aiohttp_client(build_app(deps.settings, deps=deps))


async def test_probes_answer_without_credentials(service: Any) -> None:
    """Both probes answer 200 to a caller with no Authorization header."""
    health = await service.get("/health")
    assert health.status == 200 and await health.json() == {"status": "ok"}
    ready = await service.get("/ready")
    assert ready.status == 200 and await ready.json() == {"status": "ready"}


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_a_database_slower_than_the_timeout_is_not_ready(
    service: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When SELECT 1 does not come back within the timeout (here a microsecond), /ready
    is 503 ``database_unavailable``; /health stays 200 (it never asks the database).
    PostgreSQL only: SQLite answers in the calling thread, it cannot be late."""
    monkeypatch.setattr(routes, "READY_TIMEOUT_SECONDS", 1e-6)
    ready = await service.get("/ready")
    assert ready.status == 503
    assert await ready.json() == {
        "code": "database_unavailable",
        "message": "Сервис не готов: база данных не отвечает",
    }
    assert (await service.get("/health")).status == 200


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_readiness_follows_the_database_down_and_back(
    service: Any, database_url: str, postgres_cluster: PostgresCluster
) -> None:
    """With the database refusing connections and the service's connections cut, /ready
    is 503 and /health still 200; once the database accepts again, /ready is 200 without
    a restart."""
    name = database_url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(postgres_cluster.dsn("postgres"))
    try:
        await admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
        )
        down = await service.get("/ready")
        assert down.status == 503
        assert (await down.json())["code"] == "database_unavailable"
        assert (await service.get("/health")).status == 200
        await admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
        assert (await service.get("/ready")).status == 200
    finally:
        await admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
        await admin.close()


async def test_probes_are_in_the_openapi_document(service: Any) -> None:
    """/health and /ready are documented, with no security requirement, /ready with its
    503 code."""
    paths = (await (await service.get("/api/v1/openapi.json")).json())["paths"]
    for path in ("/health", "/ready"):
        assert paths[path]["get"]["security"] == []
    listed = paths["/ready"]["get"]["responses"]["503"]["content"]["application/json"]
    assert listed["schema"]["allOf"][1]["properties"]["code"]["enum"] == ["database_unavailable"]
