"""Program versions over the API: a merchant key creates, validates, previews and
activates versions; receipts keep the version that priced them."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cloud.api.app import create_app
from cloud.services import merchants
from cloud.services.deps import Deps
from tests.conftest import DEMO_PROGRAM, Tenant
from tests.helpers import money, register_over_api

PHONE = "+79161234567"
LINES = [{"id": "1", "name": "Кальян", "price": 1000.00, "quantity": 1}]


def richer_program() -> dict[str, Any]:
    """BreezeVape with the entry tier at 10 % instead of 5 %."""
    document = json.loads(DEMO_PROGRAM.read_text())
    document["tiers"][0]["accrual_percent"] = "10"
    return document


@pytest.fixture
async def admin(aiohttp_client: Any, deps: Deps, demo_tenant: Tenant) -> TestClient:
    key = await merchants.issue_merchant_key(deps.db, demo_tenant.merchant_id, deps.clock())
    client: TestClient = await aiohttp_client(
        create_app(deps.settings, deps=deps), headers={"Authorization": f"Bearer {key}"}
    )
    return client


async def test_invalid_program_is_refused_naming_the_field(admin: TestClient) -> None:
    """A document whose second tier has no threshold is a 400 whose Russian message
    points at the field; validate and create agree."""
    document = richer_program()
    del document["tiers"][1]["purchases_over"]
    for path in ("/api/v1/programs/validate", "/api/v1/programs"):
        response = await admin.post(path, json=document)
        body = await response.json()
        assert response.status == 400 and body["code"] == "invalid_program"
        assert "Серебряная" in body["message"] and "порог" in body["message"]
    document = richer_program()
    document["tiers"][0]["accrual_percent"] = "150"
    body = await (await admin.post("/api/v1/programs/validate", json=document)).json()
    assert "tiers.0.accrual_percent" in body["message"] and "100" in body["message"]


async def test_draft_preview_then_activation(
    admin: TestClient, client: TestClient, deps: Deps
) -> None:
    """A draft prices a preview at 10 % while the till still gets 5 %; after activation
    the till gets 10 %. A sale made under version 1 keeps version 1, and its refund
    reverses the 5 % it earned."""
    await register_over_api(client, deps, PHONE)
    receipt = {"id": "old-1", "customer": {"phone": PHONE}, "lines": LINES}
    sale = await (await client.post("/api/v1/checkout/confirm", json={"receipt": receipt})).json()
    assert sale["program_version"] == 1 and money(sale["accrued"]) == Decimal(50)

    created = await admin.post("/api/v1/programs", json=richer_program())
    assert created.status == 201
    draft = await created.json()
    assert (draft["version"], draft["status"]) == (2, "draft")

    new_receipt = {"id": "new-1", "customer": {"phone": PHONE}, "lines": LINES}
    preview = await admin.post("/api/v1/programs/2/preview", json={"receipt": new_receipt})
    assert preview.status == 200, await preview.text()
    assert money((await preview.json())["accrual"]) == Decimal(100)
    live = await client.post("/api/v1/checkout/calculate", json={"receipt": new_receipt})
    assert money((await live.json())["accrual"]) == Decimal(50)

    activated = await admin.post("/api/v1/programs/2/activate")
    assert (await activated.json())["status"] == "active"
    live = await client.post("/api/v1/checkout/calculate", json={"receipt": new_receipt})
    quote = await live.json()
    assert quote["program_version"] == 2 and money(quote["accrual"]) == Decimal(100)

    listing = await (await admin.get("/api/v1/programs")).json()
    assert [(v["version"], v["status"]) for v in listing["versions"]] == [
        (2, "active"),
        (1, "archived"),
    ]
    refund = await client.post("/api/v1/checkout/refund", json={"id": "r-1", "receipt_id": "old-1"})
    assert money((await refund.json())["reversed_accrual"]) == Decimal(50)


async def test_keys_do_not_cross_roles_or_merchants(
    admin: TestClient, client: TestClient, other_tenant: Tenant, deps: Deps, aiohttp_client: Any
) -> None:
    """A till token can't manage programs, a merchant key can't act as a till, and
    another merchant's key sees only its own versions."""
    by_till = await client.post("/api/v1/programs", json=richer_program())
    assert by_till.status == 401 and (await by_till.json())["code"] == "invalid_token"
    as_till = await admin.post(
        "/api/v1/checkout/calculate", json={"receipt": {"id": "x", "lines": LINES}}
    )
    assert as_till.status == 401
    other_key = await merchants.issue_merchant_key(deps.db, other_tenant.merchant_id, deps.clock())
    other = await aiohttp_client(
        create_app(deps.settings, deps=deps), headers={"Authorization": f"Bearer {other_key}"}
    )
    await admin.post("/api/v1/programs", json=richer_program())
    theirs = await (await other.get("/api/v1/programs")).json()
    assert [v["version"] for v in theirs["versions"]] == [1]
    missing = await other.get("/api/v1/programs/2")
    assert missing.status == 404
