"""Evotor receipts carry their cashier: the SELL / PAYBACK document's ``close_user_id``,
the simplified receipt's ``employeeId`` and the close hook's ``employeeId``, named as
the employees notification stored the employee (the id alone before it did). A sale the
close hook recorded without one learns it from its document."""

from __future__ import annotations

import json
from typing import Any

from aiohttp.test_utils import TestClient

from cloud.services.deps import Deps
from tests.webhooks.evotor.conftest import APP_ID, STORE, call, fixture, user_auth
from tests.webhooks.evotor.test_documents_and_sync import PHONE, headers, setup
from tests.webhooks.evotor.test_published_samples import PUBLISHED

EMPLOYEE = "20170222-E0E0-4A1B-9C2D-3E4F5A6B7C8D"
NAME = "Иванова Анна Петровна"


async def _cashiers(deps: Deps, merchant_id: int) -> dict[tuple[str, str], tuple[Any, Any]]:
    rows = await deps.db.fetch_all(
        "SELECT kind, external_id, cashier_id, cashier_name FROM receipts WHERE merchant_id = :m",
        {"m": merchant_id},
    )
    return {(r["kind"], r["external_id"]): (r["cashier_id"], r["cashier_name"]) for r in rows}


async def _employees(evotor: TestClient, token: str) -> None:
    await call(evotor, "PUT", "/api/v1/inventories/employees",
               fixture("inventories/employees.json"), headers(token))  # fmt: skip


async def test_documents_name_the_cashier(evotor: TestClient, deps: Deps) -> None:
    """After the employees notification, a SELL document's ``close_user_id`` records the
    employee's id and full name on the sale, and its PAYBACK's on the refund."""
    token, merchant_id, _ = await setup(evotor, deps)
    await _employees(evotor, token)
    sell = fixture("documents/sell_v2.json")
    await call(evotor, "PUT", "/api/v2/documents", sell, headers(token))
    payback = fixture("documents/payback_v2_partial.json")
    ack = await call(evotor, "PUT", "/api/v2/documents", payback, headers(token))
    assert ack["results"][0]["status"] == "refunded"
    assert await _cashiers(deps, merchant_id) == {
        ("sale", sell["id"]): (EMPLOYEE, NAME),
        ("refund", payback["id"]): (EMPLOYEE, NAME),
    }


async def test_unknown_employee_and_simplified_receipt(evotor: TestClient, deps: Deps) -> None:
    """Before the employees are synced the simplified receipt's ``employeeId`` is kept
    as the id alone; a document naming no employee records no cashier."""
    token, merchant_id, _ = await setup(evotor, deps)
    event = json.loads((PUBLISHED / "receipt_v2.json").read_text())
    await call(evotor, "POST", "/api/v2/receipts", event, headers(token))
    sell = fixture("documents/sell_v2.json")
    sell["close_user_id"] = None
    await call(evotor, "PUT", "/api/v2/documents", sell, headers(token))
    assert await _cashiers(deps, merchant_id) == {
        ("sale", event["data"]["id"]): (EMPLOYEE, None),
        ("sale", sell["id"]): (None, None),
    }


def _hook(receipt_uuid: str) -> dict[str, Any]:
    position = {"uuid": f"{receipt_uuid}-p1", "price": 1000, "quantity": 1}
    return {"receiptUuid": receipt_uuid, "customer": {"phone": PHONE}, "positions": [position]}


def _document(receipt_uuid: str, document_id: str, employee: str | None) -> dict[str, Any]:
    document = fixture("documents/sell_v2.json")
    document.update(id=document_id, close_user_id=employee,
                    extras={APP_ID: {"receiptUuid": receipt_uuid}})  # fmt: skip
    return document


async def test_close_hook_cashier_and_the_document_filling_in(
    evotor: TestClient, deps: Deps
) -> None:
    """The close hook's ``employeeId`` names the sale's cashier and its document later
    changes nothing; a sale closed by the hook without one takes the cashier from its
    document (a duplicate otherwise)."""
    token, merchant_id, _ = await setup(evotor, deps)
    await _employees(evotor, token)
    other = await call(evotor, "PUT", "/api/v1/inventories/employees",
                       [{"uuid": "20170222-E1E1-4A1B-9C2D-3E4F5A6B7C8E", "name": "Борис",
                         "lastName": "Петров", "stores": [STORE], "role": "CASHIER"}],
                       headers(token))  # fmt: skip
    assert other == {"created": 1, "updated": 0}
    closed = {**_hook("r-1"), "employeeId": "20170222-E1E1-4A1B-9C2D-3E4F5A6B7C8E"}
    await call(evotor, "POST", "/terminal/v1/receipts/close", closed, user_auth(token))
    await call(evotor, "POST", "/terminal/v1/receipts/close", _hook("r-2"), user_auth(token))
    assert (await _cashiers(deps, merchant_id))[("sale", "r-2")] == (None, None)
    for receipt_uuid, document_id in (("r-1", "d-1"), ("r-2", "d-2")):
        document = _document(receipt_uuid, document_id, EMPLOYEE)
        ack = await call(evotor, "PUT", "/api/v2/documents", document, headers(token))
        assert ack["results"][0]["status"] == "duplicate"
    assert await _cashiers(deps, merchant_id) == {
        ("sale", "r-1"): ("20170222-E1E1-4A1B-9C2D-3E4F5A6B7C8E", "Петров Борис"),
        ("sale", "r-2"): (EMPLOYEE, NAME),
    }


async def test_close_hook_refuses_a_bad_employee_id(evotor: TestClient, deps: Deps) -> None:
    """An empty or over-long ``employeeId`` is refused in Evotor's error shape (400),
    never a 500, and records nothing."""
    token, merchant_id, _ = await setup(evotor, deps)
    for employee in ("", "x" * 65, 17):
        body = {**_hook("r-9"), "employeeId": employee}
        await call(
            evotor, "POST", "/terminal/v1/receipts/close", body, user_auth(token), status=400
        )
    assert await _cashiers(deps, merchant_id) == {}
