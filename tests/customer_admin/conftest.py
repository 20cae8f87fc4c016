"""Merchant-key clients for the customer administration tests, one per tenant."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cloud.services.deps import Deps
from tests.helpers import register_over_api

PHONE = "+79161234567"
LINES = [{"id": "1", "name": "Кальян", "price": 1000.00, "quantity": 1}]


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
