"""One merchant's 1C credentials never reach another merchant's rows, on every route:
customers, receipts, holds, returns and idempotency keys are per merchant."""

from __future__ import annotations

from decimal import Decimal

from aiohttp.test_utils import TestClient

from cloud.services.deps import Deps
from tests.helpers import sms_code
from tests.terminal_bridge.onec.conftest import CARD, PHONE, OnecTill, bearer, call, onec_tenant

LINES = [{"id": "1", "price": 1000.00, "quantity": 1}]


async def test_another_merchants_token_sees_only_its_own_rows(
    service: TestClient, deps: Deps, till: OnecTill
) -> None:
    """Merchant B (same phone and card registered, same receipt and request ids) gets
    its own customer, its own sale and key space; it cannot return, cancel or release
    A's receipt; A's balance and hold are untouched."""
    other = await onec_tenant(deps, "Другая компания", token="other-1c-token-abcdef0123456789",
                              login="Касса Б")  # fmt: skip
    a, b = bearer(till.token), bearer(other.token)
    await call(service, "receipts/confirm", {"receiptId": "S", "phone": PHONE[1:],
               "lines": LINES}, a)  # fmt: skip
    await call(service, "sms-codes", {"requestId": "k", "phone": PHONE[1:], "purpose": "redeem"}, a)
    await call(service, "receipts/hold", {"requestId": "h", "receiptId": "H", "card": CARD,
               "lines": LINES, "amount": 20, "smsCode": sms_code(deps, PHONE)}, a)  # fmt: skip
    seen_by_b = await call(service, "customers/lookup", {"card": CARD}, b)
    assert seen_by_b["customerId"] == other.customer_id != till.customer_id
    assert seen_by_b["balance"] == 0
    refused = await call(service, "receipts/return", {"returnId": "r", "receiptId": "S"}, b, 404)
    assert refused["code"]
    assert (await call(service, "receipts/cancel", {"receiptId": "H"}, b))["released"] == 0
    # A's key "k" with another body: B's own first use, not A's "key reused".
    reused = {"requestId": "k", "phone": PHONE[1:], "purpose": "registration"}
    assert (await call(service, "sms-codes", reused, b))["sentTo"]
    sold_b = await call(service, "receipts/confirm", {"receiptId": "S", "lines": LINES}, b)
    assert sold_b["accrued"] == 0
    seen_by_a = await call(service, "customers/lookup", {"phone": PHONE[1:]}, a)
    assert seen_by_a["customerId"] == till.customer_id
    assert seen_by_a["balance"] == Decimal("30.00")  # 5 % of the 1000.00 charged, less the hold
    rows = await deps.db.fetch_all(
        "SELECT merchant_id, customer_id FROM receipts WHERE external_id = 'S' ORDER BY merchant_id"
    )
    assert [(r["merchant_id"], r["customer_id"]) for r in rows] == [
        (till.merchant_id, till.customer_id),
        (other.merchant_id, None),
    ]
