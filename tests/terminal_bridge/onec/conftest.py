"""Fixtures of the 1C API tests: the service with the 1C sub-app mounted, a merchant
whose store has a 1C terminal named «Касса 1» with the fixtures' token, the fixture
program and a customer with a plastic card; helpers that send the bytes 1C sends."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cloud.main import build_app
from cloud.services.deps import Deps
from tests.helpers import sms_code
from tests.terminal_bridge.tenants import CARD as CARD
from tests.terminal_bridge.tenants import PHONE as PHONE
from tests.terminal_bridge.tenants import Till, till_tenant

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "onec"
PROGRAM = (FIXTURES / "program.json").read_text()
TOKEN = "1c-fixture-token-0123456789abcdefKASSA"
LOGIN = "Касса 1"
BOM = b"\xef\xbb\xbf"


OnecTill = Till


async def onec_tenant(
    deps: Deps, name: str = "Кофейня «Зерно»", token: str = TOKEN, login: str = LOGIN
) -> OnecTill:
    return await till_tenant(
        deps, "1c", PROGRAM,
        name=name, store="Магазин на Тверской", terminal=login, token=token,
    )  # fmt: skip


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
