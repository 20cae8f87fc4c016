"""Fixtures of the Модулькасса adapter tests: the whole service (adapters mounted), a
merchant whose store has a terminal of channel ``modulkassa`` with its token, the
fixture program live and one customer with a phone, a card and bonuses, plus helpers
that speak as our plugin does."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient

from cloud.main import build_app
from cloud.services.deps import Deps
from tests.terminal_bridge.tenants import CARD as CARD
from tests.terminal_bridge.tenants import PHONE as PHONE
from tests.terminal_bridge.tenants import Till, till_tenant

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "modulkassa"
PROGRAM = (FIXTURES / "program.json").read_text()


async def modulkassa_tenant(deps: Deps, name: str = "Магазин «Полка»") -> Till:
    return await till_tenant(
        deps, "modulkassa", PROGRAM,
        name=name, store="Полка на Арбате", terminal="Модулькасса 1",
    )  # fmt: skip


@pytest.fixture
async def service(aiohttp_client, deps: Deps) -> TestClient:  # type: ignore[no-untyped-def]
    return await aiohttp_client(build_app(deps.settings, deps=deps))


@pytest.fixture
async def till(deps: Deps) -> Till:
    return await modulkassa_tenant(deps)


def encode(body: Any) -> bytes:
    """JSON with every Decimal as a JSON number, written as it is (the SDK's BigDecimal)."""

    def number(value: Any) -> Any:
        if isinstance(value, Decimal):
            return orjson.Fragment(str(value))
        raise TypeError(type(value))

    return orjson.dumps(body, default=number)


async def call(
    client: TestClient, path: str, body: Any, headers: dict[str, str], status: int = 200,
    raw: bytes | None = None,
) -> Any:  # fmt: skip
    """POST to ``/modulkassa/v1/<path>`` and check the status; the parsed answer."""
    data = raw if raw is not None else encode(body)
    response = await client.post(f"/modulkassa/v1/{path}", data=data, headers=headers)
    text = await response.text()
    assert response.status == status, f"{response.status}: {text}"
    return json.loads(text, parse_float=Decimal)
