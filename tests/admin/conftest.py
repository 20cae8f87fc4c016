"""Fixtures of the administration tests: a service with an operator token, and a
client per credential (operator, a merchant's key, a terminal's token)."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cloud.api.app import create_app
from cloud.services.deps import Deps

OPERATOR_TOKEN = "operator-token-for-tests-0123456789"

ClientFor = Callable[[str], Awaitable[TestClient]]


@pytest.fixture
def op_deps(deps: Deps) -> Deps:
    """The service's dependencies with the operator API turned on."""
    settings = deps.settings.model_copy(update={"operator_token": OPERATOR_TOKEN})
    return dataclasses.replace(deps, settings=settings)


@pytest.fixture
def client_for(aiohttp_client: Any, op_deps: Deps) -> ClientFor:
    """A test client of the service presenting the given Bearer credential."""

    async def make(token: str) -> TestClient:
        app = create_app(op_deps.settings, deps=op_deps)
        client: TestClient = await aiohttp_client(app, headers={"Authorization": f"Bearer {token}"})
        return client

    return make


async def onboard(client_for: ClientFor, name: str) -> tuple[int, TestClient]:
    """A merchant created over the operator API, and a client with its owner key."""
    operator = await client_for(OPERATOR_TOKEN)
    response = await operator.post("/api/v1/operator/merchants", json={"name": name})
    assert response.status == 201, await response.text()
    body = await response.json()
    return body["merchant_id"], await client_for(body["owner_key"])
