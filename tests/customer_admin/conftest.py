"""Merchant-key clients for the customer administration tests, one per tenant."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cloud.api.app import create_app
from cloud.services import merchants
from cloud.services.deps import Deps
from tests.conftest import Tenant
from tests.helpers import register_over_api

PHONE = "+79161234567"
LINES = [{"id": "1", "name": "Кальян", "price": 1000.00, "quantity": 1}]


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


@pytest.fixture
async def customer(client: TestClient, deps: Deps) -> int:
    """A registered customer of the demo merchant (no bonuses yet)."""
    body = await register_over_api(client, deps, PHONE)
    return int(body["id"])


async def sale(client: TestClient, receipt_id: str, redeemed: float = 0, phone: str = PHONE) -> Any:
    """Confirm a 1 000-rouble sale at the demo till; returns the response."""
    receipt = {"id": receipt_id, "customer": {"phone": phone}, "lines": LINES}
    return await client.post(
        "/api/v1/checkout/confirm", json={"receipt": receipt, "redeemed": redeemed}
    )


async def credit(admin: TestClient, customer_id: int, amount: float, key: str, **extra: Any) -> Any:
    body = {"kind": "credit", "amount": amount, "reason": "Компенсация", **extra}
    return await admin.post(
        f"/api/v1/merchant/customers/{customer_id}/adjustments",
        json=body,
        headers={"Idempotency-Key": key},
    )
