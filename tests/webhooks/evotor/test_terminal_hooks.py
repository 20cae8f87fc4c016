"""Terminal receipt hooks (our published contract): the OpenAPI examples replay exactly,
quotes are unit-price exact, holds and closes are idempotent, and every bad call gets
Evotor's error shape with the right code, never a 500."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud.clock import to_epoch
from cloud.engine.distribution import fit_unit_prices
from cloud.ledger.lots import accrue
from cloud.services import customers, programs
from cloud.services.deps import Deps
from schemas.customers import Consent, RegisterCustomer
from schemas.money import line_amount
from tests.helpers import money, sms_code
from tests.webhooks.evotor.conftest import (
    DEVICE,
    DEVICE2,
    USER,
    app_auth,
    call,
    error_codes,
    fixture,
    install,
    user_auth,
)
from webhooks.evotor.openapi import EXAMPLES, OPERATIONS, hook_path, terminal_openapi

PHONE = "+79161234567"
FIVE_PERCENT = {
    "name": "Скидка 5 % и бонусы 5 %", "kind": "bonus_and_discount",
    "tier_assignment": "registration",
    "tiers": [{"code": "base", "name": "Базовая", "accrual_percent": "5",
               "discount_percent": "5", "max_redeem_percent": "50"}],
}  # fmt: skip


async def merchant_of(deps: Deps, user: str = USER) -> int:
    return int(
        await deps.db.fetch_value(
            "SELECT merchant_id FROM evotor_accounts WHERE evotor_user_id = :u", {"u": user}
        )
    )


async def customer_with_bonuses(deps: Deps, merchant_id: int, kopecks: int) -> int:
    customer_id = await customers.register_customer(
        deps, merchant_id, RegisterCustomer(phone=PHONE, consent=Consent(personal_data=True)),
        store_id=None, channel="import", sms_code=None,
    )  # fmt: skip
    now = to_epoch(deps.clock())
    async with deps.db.transaction() as tx:
        await accrue(
            tx, merchant_id=merchant_id, customer_id=customer_id, kind="welcome",
            amount=kopecks, available_from=now, expires_at=None, receipt_id=None,
            key=f"welcome:{customer_id}", now=now,
        )  # fmt: skip
    return customer_id


@pytest.fixture
async def token(evotor: TestClient, deps: Deps) -> str:
    """An installed merchant with synced devices and the 5 % discount program."""
    token = await install(evotor)
    await programs.publish(deps.db, await merchant_of(deps), FIVE_PERCENT, deps.clock())
    return token


def _request(deps: Deps, name: str) -> Any:
    """The example request, with the SMS code the example phone really received."""
    body = copy.deepcopy(EXAMPLES[name]["request"])
    if name == "customers/register":
        body["smsCode"] = sms_code(deps, body["phone"])
    return body


def _same_ids(name: str, body: Any) -> Any:
    """Drawn or sequential values (ids, the virtual card, referral codes) as the example
    has them, wherever they appear (messages and slip lines too)."""
    example = EXAMPLES[name]["response"]
    text = json.dumps(body, ensure_ascii=False)
    for field in ("card", "referralCode"):
        text = text.replace(body[field], example[field]) if field in body else text
    return {**json.loads(text), "id": example["id"]}


def _normalise(name: str, body: Any) -> Any:
    body = copy.deepcopy(body)
    if name.startswith("customers/") and "id" in body:
        body = _same_ids(name, body)
    if name == "calculate" and body.get("customer"):
        body["customer"]["id"] = 42
        body["extra"]["customerId"] = "42"
    if name == "bonus-payment":
        body["slip"] = [
            "Операция № 1017" if line.startswith("Операция №") else line for line in body["slip"]
        ]
        body["paymentInfo"] = body["paymentInfo"].replace(body["rrn"], "1017")
        body["rrn"] = "1017"
        body["expiresAt"] = "2026-11-20T09:15:00Z"
    return body


def _numbers(value: Any) -> Any:
    """JSON numbers compared as exact decimals (``3`` == ``3.000``)."""
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return money(value)
    return value


async def test_openapi_examples_replay_exactly(evotor: TestClient, deps: Deps, token: str) -> None:
    """Every example of the published hook contract, sent in order to a merchant with the
    5 % program and a customer holding 250 bonuses, gets exactly the example answer
    (ids, rrn, expiry, the drawn virtual card and referral codes aside); the registration
    example carries the code the SMS example really sent. Each example fits its schema."""
    await customer_with_bonuses(deps, await merchant_of(deps), 25000)
    for name, _, _, request_model, response_model in OPERATIONS:
        if name == "bonus-payment/cancel":
            continue  # replayed below, once the payment it cancels exists
        request_model.model_validate(EXAMPLES[name]["request"])
        response_model.model_validate(EXAMPLES[name]["response"])
        answer = await call(
            evotor, "POST", hook_path(name).removeprefix("/evotor"), _request(deps, name),
            user_auth(token),
        )  # fmt: skip
        assert _numbers(_normalise(name, answer)) == _numbers(EXAMPLES[name]["response"]), name
        if name == "bonus-payment":
            cancelled = await call(
                evotor, "POST", "/terminal/v1/receipts/bonus-payment/cancel",
                EXAMPLES["bonus-payment/cancel"]["request"], user_auth(token),
            )  # fmt: skip
            assert _numbers(cancelled) == _numbers(EXAMPLES["bonus-payment/cancel"]["response"])
            await call(evotor, "POST", f"/terminal/v1/receipts/{name}",
                       EXAMPLES[name]["request"], user_auth(token))  # fmt: skip


async def test_openapi_document_is_served_without_a_token(evotor: TestClient) -> None:
    """A terminal-app developer can fetch the hook contract; it names every hook with an
    example request and response and the Evotor error shape."""
    document = await call(evotor, "GET", "/terminal/v1/openapi.json")
    assert document == terminal_openapi()
    for name, *_ in OPERATIONS:
        operation = document["paths"][hook_path(name)]["post"]
        assert operation["requestBody"]["content"]["application/json"]["example"]
        assert operation["responses"]["200"]["content"]["application/json"]["example"]
        assert "EvotorErrorBody" in str(operation["responses"]["402"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=500_000),
            st.integers(min_value=1, max_value=20_000),
        ),
        min_size=1, max_size=8,
    ),
    st.sampled_from(["0", "3", "5", "7.5", "12.35", "33.333"]),
)  # fmt: skip
def test_unit_prices_reproduce_every_line(lines: list[tuple[int, int]], percent: str) -> None:
    """For any prices, quantities (to grams) and discount, the unit prices the hook
    answers give, with the terminal's arithmetic, exactly the line totals we quote."""
    prices = [price for price, _ in lines]
    quantities = [Decimal(q) / 1000 for _, q in lines]
    amounts = [line_amount(p, q) for p, q in zip(prices, quantities, strict=True)]
    targets = [a * int(Decimal(percent) * 1000) // 100_000 for a in amounts]
    discounts, units = fit_unit_prices(prices, quantities, amounts, targets, amounts)
    for amount, discount, unit, quantity in zip(amounts, discounts, units, quantities, strict=True):
        assert unit is not None
        assert line_amount(unit, quantity) == amount - discount


async def test_customer_by_phone_card_or_qr_and_unknown_card(
    evotor: TestClient, deps: Deps, token: str
) -> None:
    """The cashier's phone (any spelling), card or QR finds the customer; an unknown
    card still prices the receipt, without the customer, and says so."""
    merchant_id = await merchant_of(deps)
    customer_id = await customer_with_bonuses(deps, merchant_id, 1000)
    profile = await customers.customer_profile(deps, merchant_id, customer_id)
    virtual = next(c.number for c in profile.cards if c.kind == "virtual")
    body = {"receiptUuid": "r-1", "positions": [{"uuid": "p1", "price": 100, "quantity": 1}]}
    for customer in ({"phone": "8 916 123 45 67"}, {"card": virtual}, {"qr": virtual}):
        quote = await call(evotor, "POST", "/terminal/v1/receipts/calculate",
                           {**body, "customer": customer}, user_auth(token))  # fmt: skip
        assert quote["customerFound"] and quote["customer"]["id"] == customer_id
    unknown = await call(evotor, "POST", "/terminal/v1/receipts/calculate",
                         {**body, "customer": {"card": "999"}}, user_auth(token))  # fmt: skip
    assert unknown["customerFound"] is False and unknown["customer"] is None
    assert money(unknown["total"]) == Decimal("95.00")


async def test_bonus_payment_refusals_and_cancel(
    evotor: TestClient, deps: Deps, token: str
) -> None:
    """More than the balance is refused with a message for the cashier; a cancelled
    receipt releases its hold; a closed receipt cannot take a new payment."""
    await customer_with_bonuses(deps, await merchant_of(deps), 5000)
    body = {"receiptUuid": "r-2", "customer": {"phone": PHONE},
            "positions": [{"uuid": "p1", "price": 1000, "quantity": 1}]}  # fmt: skip
    refused = await call(evotor, "POST", "/terminal/v1/receipts/bonus-payment",
                         {**body, "sum": 60}, user_auth(token), status=422)  # fmt: skip
    assert error_codes(refused) == [2003] and refused["errors"][0]["message"]
    held = await call(evotor, "POST", "/terminal/v1/receipts/bonus-payment",
                      {**body, "sum": 50}, user_auth(token))  # fmt: skip
    assert money(held["balance"]) == 0
    released = await call(evotor, "POST", "/terminal/v1/receipts/cancel",
                          {"receiptUuid": "r-2"}, user_auth(token))  # fmt: skip
    assert money(released["released"]) == Decimal("50.00")
    await call(evotor, "POST", "/terminal/v1/receipts/close", body, user_auth(token))
    closed = await call(evotor, "POST", "/terminal/v1/receipts/bonus-payment",
                        {**body, "sum": 10}, user_auth(token), status=409)  # fmt: skip
    assert error_codes(closed) == [2003]


@pytest.mark.parametrize(
    ("headers", "raw", "status", "code"),
    [
        ({"Authorization": "Bearer wrong"}, None, 401, 1002),
        ({}, None, 401, 1002),
        ({"X-Evotor-Device-UUID": "20991231-0000-0000-0000-000000000000"}, None, 402, 1005),
        ({"X-Evotor-Device-UUID": ""}, None, 400, 2002),
        ({"X-Evotor-User-Id": "01-000000000000009"}, None, 401, 1002),
        ({}, b"{not json", 400, 2001),
        ({}, b"", 400, 2001),
        ({}, b'{"receiptUuid": "r"}', 400, 2002),
        ({}, b'{"receiptUuid": "r", "positions": [{"uuid": "p", "price": "x", '
             b'"quantity": 1}]}', 400, 2003),
        ({}, b'{"receiptUuid": "r", "positions": [{"uuid": "p", "price": 1.001, '
             b'"quantity": 1}]}', 400, 2003),
        ({}, b"[1, 2]", 400, 2003),
    ],
)  # fmt: skip
async def test_bad_calls_get_evotor_errors(
    evotor: TestClient, token: str, headers: dict[str, str], raw: bytes | None, status: int,
    code: int,
) -> None:  # fmt: skip
    """Wrong or missing tokens, a foreign user, unknown devices and malformed bodies get
    {"errors": [{"code": ...}]} with Evotor's code, never a 500."""
    sent = user_auth(token)
    if "Authorization" in headers or (not headers and raw is None):
        sent.pop("Authorization")
    sent.update(headers)
    body = raw if raw is not None else (
        b'{"receiptUuid": "r", "positions": [{"uuid": "p", "price": 1, "quantity": 1}]}'
    )  # fmt: skip
    answer = await call(evotor, "POST", "/terminal/v1/receipts/calculate", raw=body,
                        headers={**sent, "Content-Type": "application/json"},
                        status=status)  # fmt: skip
    assert error_codes(answer)[0] == code


async def test_unknown_paths_and_methods_keep_the_shape(evotor: TestClient, token: str) -> None:
    """Inside /evotor even a wrong address or method answers in Evotor's shape."""
    missing = await call(evotor, "POST", "/terminal/v1/nothing", {}, user_auth(token),
                         status=404)  # fmt: skip
    assert error_codes(missing) == [2003]
    wrong = await call(evotor, "GET", "/terminal/v1/receipts/calculate", None,
                       user_auth(token), status=405)  # fmt: skip
    assert error_codes(wrong) == [2003]


async def test_one_merchant_cannot_reach_anothers_customers(
    evotor: TestClient, deps: Deps, token: str
) -> None:
    """A second Evotor merchant with the same devices' ids and the same customer phone
    sees only its own customers and cannot spend or confirm into the first one's."""
    first = await merchant_of(deps)
    await customer_with_bonuses(deps, first, 10000)
    other = await install(evotor, user="01-000000000000002", company="Другая")
    headers = user_auth(other, user="01-000000000000002")
    body = {"receiptUuid": "r-x", "customer": {"phone": PHONE},
            "positions": [{"uuid": "p1", "price": 1000, "quantity": 1}]}  # fmt: skip
    quote = await call(evotor, "POST", "/terminal/v1/receipts/calculate", body, headers)
    assert quote["customerFound"] is False and money(quote["maxBonusPayment"]) == 0
    refused = await call(evotor, "POST", "/terminal/v1/receipts/bonus-payment",
                         {**body, "sum": 10}, headers, status=404)  # fmt: skip
    assert error_codes(refused) == [2003]
    # The first merchant's token with the second merchant's user id is refused.
    mixed = await call(evotor, "POST", "/terminal/v1/receipts/calculate", body,
                       {**user_auth(token), "X-Evotor-User-Id": "01-000000000000002"},
                       status=401)  # fmt: skip
    assert error_codes(mixed) == [1002]
    summary = await customers.customer_summary(
        deps, first, int(await deps.db.fetch_value(
            "SELECT id FROM customers WHERE merchant_id = :m", {"m": first}))
    )  # fmt: skip
    assert summary.available == 10000


async def test_devices_over_the_tariff_limit_get_1007(evotor: TestClient, token: str) -> None:
    """A subscription paid for one device serves the first synced device and answers the
    second with 402/1007 ("license overhead") in Evotor's error shape."""
    event = fixture("install/04_subscription_created.json")
    event["deviceNumber"] = 1
    await call(evotor, "POST", "/api/v1/subscription/event", event, app_auth())
    body = {"receiptUuid": "r-limit", "positions": [{"uuid": "p", "price": 100, "quantity": 1}]}
    await call(evotor, "POST", "/terminal/v1/receipts/calculate", body, user_auth(token, DEVICE))
    refused = await call(
        evotor, "POST", "/terminal/v1/receipts/calculate", body, user_auth(token, DEVICE2),
        status=402,
    )  # fmt: skip
    assert error_codes(refused) == [1007]
    assert refused["errors"][0]["reason"] == "license overhead"
