"""A return delivered before its sale, on the doors a till calls while the customer is
at the counter (native API, 1C): refused with a 4xx ``receipt_not_found`` in the door's
shape, never "ok", nothing written; once the sale has arrived, the same return lands, and
only once. (Evotor's documents, which come in any order, keep such a return waiting:
``tests/webhooks/evotor/test_documents_kept.py``.)"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cloud.main import build_app
from cloud.services import merchants
from cloud.services.deps import Deps
from tests.terminal_bridge.onec.conftest import bearer, onec_tenant

PHONE = "+79161234567"
LINES = [{"id": "1", "name": "Кофе", "price": 1250.00, "quantity": 2}]
DOORS: dict[str, dict[str, Any]] = {
    "native": {
        "sale": ("/api/v1/checkout/confirm",
                 {"receipt": {"id": "s1", "customer": {"phone": PHONE}, "lines": LINES}}),
        "return": ("/api/v1/checkout/refund", {"id": "ret-1", "receipt_id": "s1"}),
    },
    "1c": {
        "sale": ("/1c/v1/receipts/confirm",
                 {"receiptId": "s1", "phone": PHONE[1:], "lines": LINES}),
        "return": ("/1c/v1/receipts/return", {"returnId": "ret-1", "receiptId": "s1"}),
    },
}  # fmt: skip


async def _post(service: TestClient, token: str, call: tuple[str, Any]) -> tuple[int, Any]:
    path, body = call
    response = await service.post(path, json=body, headers=bearer(token))
    return response.status, await response.json()


async def _count(deps: Deps, merchant_id: int, kind: str) -> int:
    return int(
        await deps.db.fetch_value(
            "SELECT COUNT(*) FROM receipts WHERE merchant_id = :m AND kind = :k",
            {"m": merchant_id, "k": kind},
        )
    )


@pytest.mark.parametrize("door", sorted(DOORS))
async def test_a_return_before_its_sale_is_refused_then_lands_once(
    aiohttp_client: Any, deps: Deps, door: str
) -> None:
    """Return, sale, return, return: the first return is 404 ``receipt_not_found`` with
    a Russian message and writes nothing; after the sale the return is recorded, and its
    repeat answers the same and records nothing more."""
    till = await onec_tenant(deps)  # a merchant with a 1C till and a customer
    if door == "native":
        terminal = await merchants.create_terminal(
            deps.db, till.merchant_id, till.store_id, "Касса API", deps.clock()
        )
        till.token = await merchants.issue_terminal_token(
            deps.db, till.merchant_id, terminal, deps.clock()
        )
    service = await aiohttp_client(build_app(deps.settings, deps=deps))
    calls = DOORS[door]
    status, early = await _post(service, till.token, calls["return"])
    assert (status, early["code"]) == (404, "receipt_not_found") and early["message"]
    assert await _count(deps, till.merchant_id, "refund") == 0
    assert (await _post(service, till.token, calls["sale"]))[0] == 200
    status, returned = await _post(service, till.token, calls["return"])
    assert status == 200
    assert await _post(service, till.token, calls["return"]) == (200, returned)
    assert await _count(deps, till.merchant_id, "refund") == 1
