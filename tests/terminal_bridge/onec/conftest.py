"""Fixtures of the 1C API tests: the service with the 1C sub-app mounted, a merchant
whose store has a 1C terminal named «Касса 1» with the fixtures' token, the fixture
program and a customer with a plastic card; helpers that send the bytes 1C sends."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cloud.main import build_app
from cloud.services import customers, merchants, programs
from cloud.services.deps import Deps
from schemas.customers import Consent, RegisterCustomer
from tests.helpers import sms_code

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "onec"
TOKEN = "1c-fixture-token-0123456789abcdefKASSA"
LOGIN = "Касса 1"
PHONE = "+79161234567"
CARD = "7700123456789"
BOM = b"\xef\xbb\xbf"


@dataclass
class OnecTill:
    merchant_id: int
    store_id: int
    terminal_id: int
    token: str
    customer_id: int


async def onec_tenant(
    deps: Deps, name: str = "Кофейня «Зерно»", token: str = TOKEN, login: str = LOGIN
) -> OnecTill:
    now = deps.clock()
    merchant_id = await merchants.create_merchant(deps.db, name, now)
    store_id = await merchants.create_store(deps.db, merchant_id, "Магазин на Тверской", now)
    terminal_id = await merchants.create_terminal(
        deps.db, merchant_id, store_id, login, now, channel="1c"
    )
    token = await merchants.issue_terminal_token(deps.db, merchant_id, terminal_id, now, token)
    await programs.publish(deps.db, merchant_id, (FIXTURES / "program.json").read_text(), now)
    customer_id = await customers.register_customer(
        deps, merchant_id,
        RegisterCustomer(phone=PHONE, card=CARD, consent=Consent(personal_data=True)),
        store_id=store_id, channel="import", sms_code=None,
    )  # fmt: skip
    return OnecTill(merchant_id, store_id, terminal_id, token, customer_id)


@pytest.fixture
async def service(aiohttp_client, deps: Deps) -> TestClient:  # type: ignore[no-untyped-def]
    return await aiohttp_client(build_app(deps.settings, deps=deps))


@pytest.fixture
async def till(deps: Deps) -> OnecTill:
    return await onec_tenant(deps)


def auth(kind: str) -> str:
    """The Authorization header of the fixtures (``basic-cp1251``, ``basic-utf8``,
    ``bearer``), as 1C sends it."""
    return (FIXTURES / f"auth-{kind}.txt").read_bytes().decode("ascii")


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def encode(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


async def call(
    client: TestClient, path: str, body: Any, headers: dict[str, str] | None = None,
    status: int = 200,
) -> Any:  # fmt: skip
    raw = body if isinstance(body, bytes) else encode(body)
    response = await client.post(
        f"/1c/v1/{path}", data=raw,
        headers={"Content-Type": "application/json; charset=utf-8", **(headers or bearer())},
    )  # fmt: skip
    text = await response.text()
    assert response.status == status, f"{response.status}: {text}"
    return json.loads(text, parse_float=Decimal)


def with_code(deps: Deps, raw: bytes, phone: str) -> bytes:
    """The bytes as 1C sends them once the customer names the code: the fixture's
    placeholder ``000000`` replaced by the code the phone last received."""
    e164 = "+" + phone.lstrip("+") if phone.lstrip("+").startswith("7") else phone
    return raw.replace(b'"000000"', f'"{sms_code(deps, e164)}"'.encode())


def exchanges() -> list[dict[str, Any]]:
    return list(json.loads((FIXTURES / "exchanges.json").read_text()))
