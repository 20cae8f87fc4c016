"""One merchant's SIGMA credentials never reach another merchant's receipts, customers,
terminals or signing secrets."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from cloud.clock import to_epoch
from cloud.services import customers, merchants
from cloud.services.deps import Deps
from schemas.customers import Consent, RegisterCustomer
from tests.conftest import merchant_client
from tests.helpers import sms_code
from tests.webhooks.sigma.conftest import (
    SigmaTerminal,
    bearer,
    encode,
    hook,
    sigma_tenant,
    signed,
    signed_hook,
)

LINES = [{"id": "1", "price": "500.00", "quantity": 1}]
ONLY_B = "7700555000111"


async def test_hooks_stay_inside_their_merchant(
    sigma: TestClient, deps: Deps, till: SigmaTerminal
) -> None:
    """B's receipt S-1 cannot be refunded by A's terminal (404), A's S-1 is A's own sale;
    a card only B's customer has is nobody to A; A's secret cannot sign as B's terminal."""
    other = await sigma_tenant(deps, "Чужая кофейня")
    b_customer = await customers.register_customer(
        deps, other.merchant_id,
        RegisterCustomer(phone="+79035550011", card=ONLY_B, consent=Consent(personal_data=True)),
        store_id=other.store_id, channel="import", sms_code=None,
    )  # fmt: skip
    sale = {"event": "receipt.closed", "receipt_id": "S-1", "customer": {"card": ONLY_B},
            "lines": LINES}  # fmt: skip
    b_sale = await signed_hook(sigma, deps, other, sale)
    assert b_sale["accrued"] == "25.00"  # 5 % of what was charged
    b_before = await customers.customer_summary(deps, other.merchant_id, b_customer)

    refund = {"event": "receipt.refunded", "refund_id": "R-1", "receipt_id": "S-1"}
    answer = await hook(sigma, refund, bearer(till), 404)
    assert answer["code"] == "receipt_not_found"
    answer = await signed_hook(sigma, deps, till, refund, 404)
    assert answer["code"] == "receipt_not_found"

    quote = {"event": "receipt.opened", "receipt_id": "S-1", "customer": {"card": ONLY_B},
             "lines": LINES}  # fmt: skip
    priced = await hook(sigma, quote, bearer(till))
    assert priced["customer"] is None and priced["customer_found"] is False
    hold = {"event": "bonus.hold", "receipt_id": "S-1", "customer": {"card": ONLY_B},
            "lines": LINES, "amount": "1.00"}  # fmt: skip
    assert (await hook(sigma, hold, bearer(till), 404))["code"] == "customer_not_found"
    own: Any = await hook(sigma, {**sale, "customer": None}, bearer(till))
    assert own["customer"] is None and own["accrued"] == "0.00"

    raw = encode(refund)
    as_b = {**signed(till, raw, to_epoch(deps.clock())),
            "X-Sigma-Terminal": str(other.terminal_id)}  # fmt: skip
    answer = await hook(sigma, None, as_b, 401, raw=raw, event="receipt.refunded")
    assert answer["code"] == "sigma_bad_signature"
    after = await customers.customer_summary(deps, other.merchant_id, b_customer)
    assert after.available == b_before.available
    refunds = await deps.db.fetch_value("SELECT COUNT(*) FROM receipts WHERE kind = 'refund'", {})
    assert refunds == 0


async def test_signing_secrets_through_the_administration(
    aiohttp_client: Any, sigma: TestClient, deps: Deps, till: SigmaTerminal
) -> None:
    """A merchant key issues a SIGMA terminal's signing secret (201, shown once, and it
    signs), rotates it (the old one's grace is stated) and revokes it; another merchant's
    terminal is a 404 and a native terminal a 400, and neither gets a secret."""
    other = await sigma_tenant(deps, "Чужая кофейня")
    admin = await merchant_client(aiohttp_client, deps, till, "Офис")  # type: ignore[arg-type]
    path = f"/api/v1/terminals/{till.terminal_id}/signing-secret"
    response = await admin.post(path)
    assert response.status == 201, await response.text()
    issued = await response.json()
    assert issued["terminal_id"] == till.terminal_id and issued["secret"].startswith("ss_")
    assert issued["previous_valid_until"] == "2026-11-21T09:00:00+00:00"
    body = {"event": "receipt.cancelled", "receipt_id": "S-9"}
    raw = encode(body)
    headers = signed(till, raw, to_epoch(deps.clock()), issued["secret"])
    assert (await hook(sigma, None, headers, raw=raw, event="receipt.cancelled"))["released"] == (
        "0.00"
    )

    response = await admin.post(f"/api/v1/terminals/{other.terminal_id}/signing-secret")
    assert response.status == 404 and (await response.json())["code"] == "terminal_not_found"
    response = await admin.post(f"/api/v1/terminals/{other.terminal_id}/signing-secret/revoke")
    assert response.status == 404
    native = await merchants.create_terminal(
        deps.db, till.merchant_id, till.store_id, "Касса", deps.clock()
    )
    response = await admin.post(f"/api/v1/terminals/{native}/signing-secret")
    assert response.status == 400 and (await response.json())["code"] == "signing_not_supported"

    response = await admin.post(path + "/revoke")
    assert response.status == 200 and (await response.json()) == {"revoked": 2}
    deps.clock.advance(seconds=1)  # type: ignore[attr-defined]
    headers = signed(till, raw, to_epoch(deps.clock()), issued["secret"])
    await hook(sigma, None, headers, 401, raw=raw, event="receipt.cancelled")
    # The other merchant's secret still signs.
    assert (await signed_hook(sigma, deps, other, body))["receipt_id"] == "S-9"


async def test_customer_hooks_stay_inside_their_merchant(
    sigma: TestClient, deps: Deps, till: SigmaTerminal
) -> None:
    """A's till finds none of B's customers (by phone or card: 404), a registration code
    B's till sent is worthless at A's till, and A registering the same phone makes A's
    own customer while B's stays as it was."""
    other = await sigma_tenant(deps, "Чужая кофейня")
    phone = "+79035550022"
    b_customer = await customers.register_customer(
        deps, other.merchant_id,
        RegisterCustomer(phone=phone, card=ONLY_B, consent=Consent(personal_data=True)),
        store_id=other.store_id, channel="import", sms_code=None,
    )  # fmt: skip
    for ref in ({"phone": phone}, {"card": ONLY_B}, {"qr": ONLY_B}):
        lookup = {"event": "customer.lookup", "customer": ref}
        assert (await hook(sigma, lookup, bearer(till), 404))["code"] == "customer_not_found"
        assert (await hook(sigma, lookup, bearer(other)))["customer"]["id"] == b_customer

    newcomer = "+79035550033"
    code = {"event": "customer.sms_code", "phone": newcomer, "purpose": "registration"}
    await hook(sigma, code, bearer(other))
    register = {"event": "customer.register", "phone": newcomer,
                "sms_code": sms_code(deps, newcomer), "consent_personal_data": True,
                "consent_messages": False}  # fmt: skip
    refused = await hook(sigma, register, bearer(till), 422)
    assert refused["code"] == "sms_code_not_found"

    await hook(sigma, {**code, "phone": phone}, bearer(till))
    mine = await hook(sigma, {**register, "phone": phone, "sms_code": sms_code(deps, phone)},
                      bearer(till))  # fmt: skip
    assert mine["customer"]["id"] != b_customer
    assert (
        await customers.find_customer(deps, till.merchant_id, phone=phone)
        == (mine["customer"]["id"])
    )
    assert await customers.find_customer(deps, other.merchant_id, phone=phone) == b_customer
