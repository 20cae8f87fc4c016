"""A merchant whose program (BreezeVape, 5 % accrual) carries coupon rules, its till and
its office, and helpers to issue a batch and ring up receipts with codes."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cloud.api.app import create_app
from cloud.services.deps import Deps
from tests.conftest import DEMO_PROGRAM, Tenant, make_tenant, merchant_client

RULES = [
    {"code": "minus10", "name": "Купон −10 %", "discount_percent": "10"},
    {"code": "minus300", "name": "Купон −300 ₽", "discount_amount": "300"},
    {"code": "double", "name": "Двойные бонусы", "accrual_multiplier": "2"},
    {"code": "gift", "name": "Подарок 100 бонусов", "gift_bonuses": "100"},
]
PHONE = "+79161112233"
OTHER_PHONE = "+79162223344"
LINES = [{"id": "1", "name": "Жидкость", "price": 500.00, "quantity": 2}]
"""1 000 ₽: −10 % is 100 ₽ off; 5 % accrual on 900 ₽ is 45 bonuses."""


def coupon_program() -> str:
    document = json.loads(DEMO_PROGRAM.read_text())
    document["coupons"] = RULES
    return json.dumps(document)


@pytest.fixture
async def tenant(deps: Deps) -> Tenant:
    return await make_tenant(deps, "Купоны", coupon_program())


@pytest.fixture
async def till(aiohttp_client: Any, deps: Deps, tenant: Tenant) -> TestClient:
    client: TestClient = await aiohttp_client(
        create_app(deps.settings, deps=deps), headers={"Authorization": f"Bearer {tenant.token}"}
    )
    return client


@pytest.fixture
async def office(aiohttp_client: Any, deps: Deps, tenant: Tenant) -> TestClient:
    client: TestClient = await merchant_client(aiohttp_client, deps, tenant, "Офис")
    return client


async def call(
    client: TestClient, method: str, path: str, body: Any = None, status: int = 200
) -> Any:
    response = await client.request(method, path, json=body)
    text = await response.text()
    assert response.status == status, text
    return json.loads(text) if response.content_type == "application/json" else text


async def issue(office: TestClient, count: int = 1, **fields: Any) -> tuple[int, list[str]]:
    """A campaign of ``count`` codes (single-use of ``minus10`` unless told)."""
    body = {"name": "Акция", "rule": "minus10", "count": count, **fields}
    created = await call(office, "POST", "/api/v1/merchant/coupon-campaigns", body, 201)
    return created["campaign"]["id"], created["codes"]


def receipt(
    receipt_id: str, coupons: list[str], phone: str | None = PHONE, lines: Any = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"id": receipt_id, "lines": lines or LINES, "coupons": coupons}
    if phone is not None:
        body["customer"] = {"phone": phone}
    return body


async def quote(till: TestClient, body: dict[str, Any]) -> Any:
    return await call(till, "POST", "/api/v1/checkout/calculate", {"receipt": body})


async def sell(till: TestClient, body: dict[str, Any], discount: str = "0") -> Any:
    """Confirm the receipt as charged after ``discount`` roubles off its one line."""
    charged = dict(body)
    line = dict(body["lines"][0] if "lines" in body else LINES[0])
    line["amount"] = float(Decimal(str(line["price"])) * line["quantity"] - Decimal(discount))
    charged["lines"] = [line]
    return await call(till, "POST", "/api/v1/checkout/confirm", {"receipt": charged})


def outcome(answer: Any) -> list[tuple[str, bool, str]]:
    return [(c["code"], c["applied"], c["message"]) for c in answer["coupons"]]
