"""One merchant's Модулькасса token never reaches another merchant's receipts or
customers, on every route; a token of another channel is not accepted."""

from __future__ import annotations

from decimal import Decimal

from aiohttp.test_utils import TestClient

from cloud.services import customers, merchants
from cloud.services.deps import Deps
from schemas.customers import Consent, RegisterCustomer

from .conftest import PHONE, Till, call, modulkassa_tenant
from .helpers import cancelled, check_from, closed, item, loyalty, position

ONLY_B = "7700555000111"


async def test_each_route_stays_inside_its_merchant(
    service: TestClient, deps: Deps, till: Till
) -> None:
    """B's sale r-1 (with B's customer) is not A's: A's loyalty-request and close of
    its own r-1 are A's sale, A cannot return B's sale nor cancel B's open receipt, a
    card only B's customer has is nobody to A (priced without a customer, no spend, no
    SMS code sent)."""
    other = await modulkassa_tenant(deps, "Чужой магазин")
    await customers.register_customer(
        deps, other.merchant_id,
        RegisterCustomer(phone="+79035550011", card=ONLY_B, consent=Consent(personal_data=True)),
        store_id=other.store_id, channel="import", sms_code=None,
    )  # fmt: skip
    b_sale = loyalty("r-1", position("p1", "1000.00", "1"), customerCard=ONLY_B)
    b_answer = await call(service, "loyalty-request", b_sale, other.headers)
    assert b_answer["details"]["customerFound"] is True
    await call(service, "events", check_from(b_sale, b_answer, "c-1"), other.headers)
    b_return = closed("c-2", [item("code-p1", "950.00", "1")], doc="RETURN", saleId="r-1")
    await call(service, "events", b_return, till.headers, status=404)

    a_sale = loyalty("r-1", position("p1", "1000.00", "1"), customerCard=ONLY_B)
    a_answer = await call(service, "loyalty-request", a_sale, till.headers)
    assert a_answer["details"]["customerFound"] is False
    a_done = await call(service, "events", check_from(a_sale, a_answer, "c-1"), till.headers)
    assert a_done["accrued"] == 0
    spend = loyalty(
        "r-2", position("p1", "10.00", "1"), customerCard=ONLY_B, spendBonuses=Decimal(1)
    )
    refused = await call(service, "loyalty-request", spend, till.headers, status=400)
    assert refused["code"] == "customer_required"
    refused = await call(service, "sms-code", {"customerCard": ONLY_B}, till.headers, status=404)
    assert set(refused) == {"code", "message"}

    rows = await deps.db.fetch_all(
        "SELECT merchant_id, customer_id FROM receipts WHERE source = 'modulkassa' "
        "AND external_id = 'r-1' ORDER BY merchant_id"
    )
    assert [(r["merchant_id"], r["customer_id"] is None) for r in rows] == [
        (till.merchant_id, True), (other.merchant_id, False),
    ]  # fmt: skip
    b_open = loyalty("r-3", position("p1", "10.00", "1"), customerCard=ONLY_B)
    await call(service, "loyalty-request", b_open, other.headers)
    drop = cancelled("c-3", [item("x", "1.00", "1")], loyaltyData="r-3")
    await call(service, "events", drop, till.headers)
    b_rows = await deps.db.fetch_all(
        "SELECT state FROM receipt_sessions WHERE merchant_id = :m AND external_id = 'r-3'",
        {"m": other.merchant_id},
    )
    assert [r["state"] for r in b_rows] == ["quoted"]


async def test_only_modulkassa_tokens_are_accepted(
    service: TestClient, deps: Deps, till: Till
) -> None:
    """A native terminal's token, a revoked token, a wrong token or none: 401 in our
    shape on every route, before the body is read."""
    now = deps.clock()
    native = await merchants.create_terminal(
        deps.db, till.merchant_id, till.store_id, "API", now, channel="native"
    )
    token = await merchants.issue_terminal_token(deps.db, till.merchant_id, native, now)
    body = loyalty("r-1", position("p1", "10.00", "1"), customerPhone=PHONE)
    for path in ("loyalty-request", "events", "sms-code"):
        for headers in (
            {"Authorization": f"Bearer {token}"}, {"Authorization": "Bearer nope"}, {},
            {"Authorization": f"Basic {till.token}"},
        ):  # fmt: skip
            refused = await call(service, path, body, headers, status=401)
            assert set(refused) == {"code", "message"}
    await merchants.revoke_terminal_token(deps.db, till.merchant_id, now, token=till.token)
    await call(service, "loyalty-request", body, till.headers, status=401)
