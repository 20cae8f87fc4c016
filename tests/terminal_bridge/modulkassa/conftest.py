"""Fixtures of the Модулькасса adapter tests: the whole service (adapters mounted), a
merchant whose store has a terminal of channel ``modulkassa`` with its token, the
fixture program live and one customer with a phone, a card and bonuses, plus helpers
that speak as our plugin does."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient

from cloud.main import build_app
from cloud.services import customers, merchants, programs
from cloud.services.deps import Deps
from schemas.customers import Consent, RegisterCustomer

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "modulkassa"
PHONE = "+79161234567"
CARD = "7700123456789"


@dataclass
class Till:
    merchant_id: int
    store_id: int
    terminal_id: int
    token: str
    customer_id: int

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}


async def modulkassa_tenant(deps: Deps, name: str = "Магазин «Полка»") -> Till:
    now = deps.clock()
    merchant_id = await merchants.create_merchant(deps.db, name, now)
    store_id = await merchants.create_store(deps.db, merchant_id, "Полка на Арбате", now)
    terminal_id = await merchants.create_terminal(
        deps.db, merchant_id, store_id, "Модулькасса 1", now, channel="modulkassa"
    )
    token = await merchants.issue_terminal_token(deps.db, merchant_id, terminal_id, now)
    await programs.publish(deps.db, merchant_id, (FIXTURES / "program.json").read_text(), now)
    customer_id = await customers.register_customer(
        deps, merchant_id,
        RegisterCustomer(phone=PHONE, card=CARD, consent=Consent(personal_data=True)),
        store_id=store_id, channel="import", sms_code=None,
    )  # fmt: skip
    return Till(merchant_id, store_id, terminal_id, token, customer_id)


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
