"""The cashier on receipts: the native confirm and refund take an optional ``cashier``,
the merchant sees it in the feedback list and in the customer's movements, and a retry
from another cashier is the same receipt (the first cashier stays)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient

from cloud.api.app import create_app
from cloud.clock import ManualClock
from cloud.services import feedback
from cloud.services.deps import Deps
from tests.conftest import Tenant, make_tenant, merchant_client
from tests.feedback.test_feedback import FEEDBACK, PROGRAM, _receipt
from tests.services.test_lifecycle_jobs import _register

ANNA = {"id": "emp-17", "name": "Анна Иванова"}


async def _till(aiohttp_client: Any, deps: Deps, tenant: Tenant) -> TestClient:
    client: TestClient = await aiohttp_client(
        create_app(deps.settings, deps=deps), headers={"Authorization": f"Bearer {tenant.token}"}
    )
    return client


def _confirm(rid: str, customer_id: int, cashier: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "receipt": {"id": rid, "customer": {"customer_id": customer_id},
                    "lines": [{"id": "1", "price": 1000, "quantity": 2}]},
    }  # fmt: skip
    if cashier is not None:
        body["cashier"] = cashier
    return body


async def _cashier(deps: Deps, merchant_id: int, rid: str, kind: str) -> tuple[Any, Any]:
    row = await deps.db.fetch_one(
        "SELECT cashier_id, cashier_name FROM receipts WHERE merchant_id = :m "
        "AND external_id = :e AND kind = :k",
        {"m": merchant_id, "e": rid, "k": kind},
    )
    assert row is not None
    return row["cashier_id"], row["cashier_name"]


async def test_confirm_with_cashier_shows_in_feedback_and_movements(
    deps: Deps, clock: ManualClock, aiohttp_client: Any
) -> None:
    """A confirm naming its cashier stores it; the merchant's feedback list shows the
    cashier's name (and id) beside store, till, amount and date, the movements show it
    on the receipt's entries; a confirm without a cashier shows null. A retry of the
    same receipt from another cashier replays the first answer and keeps Анна; another
    merchant's key sees none of it."""
    clock.now = datetime(2026, 5, 4, 7, tzinfo=UTC)
    tenant = await make_tenant(deps, "Кофейня", PROGRAM)
    other = await make_tenant(deps, "Чужая", PROGRAM)
    till = await _till(aiohttp_client, deps, tenant)
    customer = await _register(deps, tenant, "+79160000901")
    first = await till.post("/api/v1/checkout/confirm", json=_confirm("S1", customer, ANNA))
    assert first.status == 200, await first.text()
    retry = await till.post(
        "/api/v1/checkout/confirm", json=_confirm("S1", customer, {"name": "Борис"})
    )
    assert retry.status == 200 and await retry.json() == await first.json()
    assert await _cashier(deps, tenant.merchant_id, "S1", "sale") == ("emp-17", "Анна Иванова")
    plain = await till.post("/api/v1/checkout/confirm", json=_confirm("S2", customer))
    assert plain.status == 200

    page: TestClient = await aiohttp_client(create_app(deps.settings, deps=deps))
    for rid in ("S1", "S2"):
        token = feedback.token_for(
            deps.settings.secret_key, await _receipt(deps, tenant.merchant_id, rid)
        )
        assert (await page.post(f"/feedback/{token}", data={"rating": "5"})).status == 200
    office = await merchant_client(aiohttp_client, deps, tenant, "Офис")
    rows = (await (await office.get(FEEDBACK)).json())["feedback"]
    by_receipt = {row["receipt_id"]: row for row in rows}
    assert by_receipt["S1"]["cashier"] == "Анна Иванова"
    assert by_receipt["S1"]["cashier_id"] == "emp-17"
    assert by_receipt["S1"]["store"] == "Кофейня: магазин"
    assert by_receipt["S1"]["terminal"] == "Касса 1"
    assert by_receipt["S2"]["cashier"] is None and by_receipt["S2"]["cashier_id"] is None

    movements = await (await office.get(f"/api/v1/merchant/customers/{customer}/movements")).json()
    cashiers = {m["receipt_id"]: m["cashier"] for m in movements["movements"]}
    assert cashiers == {"S1": "Анна Иванова", "S2": None}

    stranger = await merchant_client(aiohttp_client, deps, other, "Чужой офис")
    assert (await (await stranger.get(FEEDBACK)).json())["feedback"] == []


async def test_refund_keeps_its_own_cashier(
    deps: Deps, clock: ManualClock, aiohttp_client: Any
) -> None:
    """A refund names the cashier who took the goods back (an id alone shows as the
    id); its movements show that cashier, not the sale's; a retry of the refund from
    someone else changes nothing."""
    clock.now = datetime(2026, 5, 4, 7, tzinfo=UTC)
    tenant = await make_tenant(deps, "Кофейня", PROGRAM)
    till = await _till(aiohttp_client, deps, tenant)
    customer = await _register(deps, tenant, "+79160000902")
    sold = await till.post("/api/v1/checkout/confirm", json=_confirm("S1", customer, ANNA))
    assert sold.status == 200
    refund = {"id": "B1", "receipt_id": "S1", "lines": [{"id": "1", "quantity": 1}],
              "cashier": {"id": "emp-42"}}  # fmt: skip
    first = await till.post("/api/v1/checkout/refund", json=refund)
    assert first.status == 200, await first.text()
    again = await till.post("/api/v1/checkout/refund", json={**refund, "cashier": {"id": "x"}})
    assert again.status == 200 and await again.json() == await first.json()
    assert await _cashier(deps, tenant.merchant_id, "B1", "refund") == ("emp-42", None)

    office = await merchant_client(aiohttp_client, deps, tenant, "Офис")
    movements = await (await office.get(f"/api/v1/merchant/customers/{customer}/movements")).json()
    by_refund = {(m["refund_id"], m["cashier"]) for m in movements["movements"]}
    assert ("B1", "emp-42") in by_refund and (None, "Анна Иванова") in by_refund


async def test_bad_cashiers_are_400(deps: Deps, aiohttp_client: Any) -> None:
    """An empty cashier object, blank or over-long id or name, or an unknown field is
    400 ``validation_error`` with a Russian message; nothing is recorded."""
    tenant = await make_tenant(deps, "Кофейня", PROGRAM)
    till = await _till(aiohttp_client, deps, tenant)
    customer = await _register(deps, tenant, "+79160000903")
    for cashier in ({}, {"id": ""}, {"name": "   "}, {"id": "x" * 65}, {"name": "я" * 201},
                    {"id": "1", "role": "admin"}, {"name": "Анна\u0007"}):  # fmt: skip
        response = await till.post(
            "/api/v1/checkout/confirm", json=_confirm("S1", customer, cashier)
        )
        assert response.status == 400, cashier
        body = await response.json()
        assert body["code"] == "validation_error" and "cashier" in body["message"]
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM receipts") == 0
