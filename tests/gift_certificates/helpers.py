"""Helpers for the gift certificate tests: issue over the merchant API, pay over the
native checkout API, read a certificate's ledger straight from the database."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from cloud.services.deps import Deps

ISSUE = "/api/v1/merchant/gift-certificates"
REPORT = "/api/v1/merchant/reports/gift-certificates"
STATUS = "/api/v1/gift-certificates/status"
SELL = "/api/v1/gift-certificates/sell"
HOLD = "/api/v1/checkout/gift-certificates/hold"
CONFIRM = "/api/v1/checkout/confirm"
REFUND = "/api/v1/checkout/refund"
CANCEL = "/api/v1/checkout/cancel"


async def call(
    client: TestClient, method: str, path: str, body: Any = None, status: int = 200
) -> Any:
    response = await client.request(method, path, json=body)
    text = await response.text()
    assert response.status == status, text
    return await response.json()


async def issue(admin: TestClient, **body: Any) -> Any:
    """Issue over the merchant API; returns the answer's certificates."""
    document = {"nominal": 3000, "valid_until": "2027-11-20", **body}
    if "count" not in document and "numbers" not in document:
        document["numbers"] = ["GC-0001"]
    return (await call(admin, "POST", ISSUE, document, 201))["certificates"]


def receipt(receipt_id: str, amount: int, phone: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": receipt_id,
        "lines": [{"id": "1", "name": "Кальян", "price": amount, "quantity": 1}],
    }
    if phone is not None:
        body["customer"] = {"phone": phone}
    return body


def paying(number: str, amount: float) -> list[dict[str, Any]]:
    return [{"number": number, "amount": amount}]


async def ledger(deps: Deps, number: str) -> dict[str, int]:
    """A certificate's row and its journal's sum (kopecks)."""
    row = await deps.db.fetch_one(
        "SELECT g.nominal, g.remaining, g.redeemed, g.expired, g.voided, g.status, "
        "(SELECT COALESCE(SUM(e.amount), 0) FROM gift_certificate_entries e "
        "WHERE e.certificate_id = g.id) AS journal FROM gift_certificates g WHERE g.number = :n",
        {"n": number},
    )
    assert row is not None
    return dict(row)


def assert_balanced(state: dict[str, Any]) -> None:
    """nominal = redeemed + remaining + expired + voided; the journal sums to remaining;
    nothing negative."""
    parts = ("remaining", "redeemed", "expired", "voided")
    assert all(int(state[p]) >= 0 for p in parts), state
    assert int(state["nominal"]) == sum(int(state[p]) for p in parts), state
    assert int(state["journal"]) == int(state["remaining"]), state
