"""The checkout protocol over HTTP: a sale and its returns leave balances exactly as the
program says; repeats are idempotent; bad input gets a clear 4xx and writes nothing.

The demo tenant runs BreezeVape (fixtures/programs/03_breezevape.json): Стандартная 5 %,
Серебряная 7 % over 5 000 ₽ of lifetime purchases, Золотая 10 % over 10 000 ₽; up to
100 % payable by bonuses; accrual on the part paid in money, floored to the kopeck;
bonuses active at once and valid 90 days.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiohttp.test_utils import TestClient

from cloud.clock import ManualClock
from cloud.services.deps import Deps
from tests.conftest import Tenant, make_tenant
from tests.helpers import money, register_over_api

PHONE = "+79161234567"


def receipt(receipt_id: str, lines: list[dict[str, Any]], phone: str | None = PHONE) -> dict:
    body: dict[str, Any] = {"id": receipt_id, "lines": lines}
    if phone is not None:
        body["customer"] = {"phone": phone}
    return body


FIRST = [
    {"id": "1", "name": "Жидкость 30 мл", "price": 450.00, "quantity": 2},
    {"id": "2", "name": "Кальян", "price": 1200.00, "quantity": 1},
]
SECOND = [
    {"id": "a", "name": "Под-система", "price": 3000.00, "quantity": 1},
    {"id": "b", "name": "Картридж", "price": 500.00, "quantity": 2},
]


async def post(client: TestClient, path: str, body: Any, status: int = 200) -> Any:
    response = await client.post(path, json=body)
    text = await response.text()
    assert response.status == status, text
    return await response.json()


async def balance(client: TestClient, customer_id: int) -> Decimal:
    response = await client.get(f"/api/v1/customers/{customer_id}")
    assert response.status == 200
    return money((await response.json())["balance"]["available"])


async def test_sale_then_partial_returns_leave_exact_balances(
    client: TestClient, deps: Deps
) -> None:
    """Sale 1 accrues 5 % of 2 100 = 105,00. Sale 2 (4 000,00) spends 100,00 spread 3:1
    over its lines (75,00 / 25,00) and accrues 5 % of the 3 900,00 paid in money
    (146,25 + 48,75 = 195,00): balance 200,00, and lifetime 6 100 makes the card
    Серебряная. Returning one of the two cartridges gives back 12,50 and reverses
    24,38 (half of 48,75, half-up): 188,12. Returning the other one settles the rest
    exactly (12,50 and 24,37): 176,25 = 105 - 75 + 146,25."""
    customer = await register_over_api(client, deps, PHONE)
    customer_id = customer["id"]

    first = await post(client, "/api/v1/checkout/confirm", {"receipt": receipt("s1", FIRST)})
    assert money(first["accrued"]) == Decimal("105.00")
    assert first["customer"]["tier"] == "standard"
    assert await balance(client, customer_id) == Decimal("105.00")

    quote = await post(client, "/api/v1/checkout/calculate", {"receipt": receipt("s2", SECOND)})
    assert money(quote["max_redeem"]) == Decimal("105.00")
    assert money(quote["accrual"]) == Decimal("200.00")
    held = await post(
        client, "/api/v1/checkout/hold", {"receipt": receipt("s2", SECOND), "amount": 100}
    )
    assert [money(line["redeem"]) for line in held["lines"]] == [Decimal(75), Decimal(25)]
    assert await balance(client, customer_id) == Decimal("5.00")

    second = await post(
        client, "/api/v1/checkout/confirm", {"receipt": receipt("s2", SECOND), "redeemed": 100}
    )
    assert [money(line["accrual"]) for line in second["lines"]] == [
        Decimal("146.25"),
        Decimal("48.75"),
    ]
    assert money(second["redeemed"]) == Decimal(100)
    assert second["customer"]["tier"] == "silver"
    assert "Новый уровень карты: Серебряная" in second["messages"]
    assert await balance(client, customer_id) == Decimal("200.00")

    part = await post(
        client,
        "/api/v1/checkout/refund",
        {"id": "r1", "receipt_id": "s2", "lines": [{"id": "b", "quantity": 1}]},
    )
    assert money(part["returned_bonuses"]) == Decimal("12.50")
    assert money(part["reversed_accrual"]) == Decimal("24.38")
    assert await balance(client, customer_id) == Decimal("188.12")

    rest = await post(
        client,
        "/api/v1/checkout/refund",
        {"id": "r2", "receipt_id": "s2", "lines": [{"id": "b", "quantity": 1}]},
    )
    assert money(rest["returned_bonuses"]) == Decimal("12.50")
    assert money(rest["reversed_accrual"]) == Decimal("24.37")
    assert await balance(client, customer_id) == Decimal("176.25")

    too_much = await post(
        client,
        "/api/v1/checkout/refund",
        {"id": "r3", "receipt_id": "s2", "lines": [{"id": "b", "quantity": 1}]},
        status=422,
    )
    assert too_much["code"] == "refund_exceeds_sale"


async def test_confirm_is_idempotent_and_needs_no_calculate(client: TestClient, deps: Deps) -> None:
    """A confirm with no prior calculate works; its repeat returns the same body and
    writes nothing more (one receipt, one accrual)."""
    await register_over_api(client, deps, PHONE)
    body = {"receipt": receipt("offline-1", FIRST)}
    first = await client.post("/api/v1/checkout/confirm", json=body)
    second = await client.post("/api/v1/checkout/confirm", json=body)
    assert first.status == second.status == 200
    assert await first.read() == await second.read()
    receipts = await deps.db.fetch_value("SELECT COUNT(*) FROM receipts")
    entries = await deps.db.fetch_value("SELECT COUNT(*) FROM ledger_entries")
    assert (receipts, entries) == (1, 1)


async def test_anonymous_receipt_is_priced_and_recorded_without_bonuses(
    client: TestClient, deps: Deps
) -> None:
    """A receipt without a customer gets a quote with no accrual and confirms without
    touching any balance."""
    quote = await post(
        client, "/api/v1/checkout/calculate", {"receipt": receipt("anon", FIRST, phone=None)}
    )
    assert money(quote["accrual"]) == 0 and quote["customer"] is None
    done = await post(
        client, "/api/v1/checkout/confirm", {"receipt": receipt("anon", FIRST, phone=None)}
    )
    assert money(done["accrued"]) == 0
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM bonus_lots") == 0


async def test_spending_more_than_the_balance_is_refused_and_writes_nothing(
    client: TestClient, deps: Deps
) -> None:
    """Holding more than the balance is a 422; a confirm that claims bonuses the
    customer does not have is a 422 and leaves no receipt."""
    await register_over_api(client, deps, PHONE)
    await post(client, "/api/v1/checkout/confirm", {"receipt": receipt("s1", FIRST)})
    refused = await post(
        client, "/api/v1/checkout/hold", {"receipt": receipt("s2", SECOND), "amount": 106},
        status=422,
    )  # fmt: skip
    assert refused["code"] == "insufficient_bonuses"
    overdrawn = await post(
        client, "/api/v1/checkout/confirm", {"receipt": receipt("s2", SECOND), "redeemed": 200},
        status=422,
    )  # fmt: skip
    assert overdrawn["code"] == "insufficient_bonuses"
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM receipts") == 1
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM receipt_lines") == 2


async def test_expired_hold_is_reported(client: TestClient, deps: Deps, clock: ManualClock) -> None:
    """A hold lapses after its TTL; if the bonuses went elsewhere meanwhile, closing the
    receipt with them says the hold expired."""
    await register_over_api(client, deps, PHONE)
    await post(client, "/api/v1/checkout/confirm", {"receipt": receipt("s1", FIRST)})
    await post(client, "/api/v1/checkout/hold", {"receipt": receipt("s2", SECOND), "amount": 100})
    clock.advance(seconds=deps.settings.hold_ttl_seconds + 1)
    # s3 spends all 105,00 and accrues 5 % of 1 995,00 = 99,75: not enough for s2.
    await post(
        client, "/api/v1/checkout/confirm", {"receipt": receipt("s3", FIRST), "redeemed": 105}
    )
    expired = await post(
        client, "/api/v1/checkout/confirm", {"receipt": receipt("s2", SECOND), "redeemed": 100},
        status=422,
    )  # fmt: skip
    assert expired["code"] == "hold_expired"


async def test_bad_input_gets_clear_errors(client: TestClient, deps: Deps) -> None:
    """Malformed JSON, wrong types, a negative quantity, too many decimals, an unknown
    customer and an unknown receipt each get a 4xx {code, message}, never a 500."""
    cases: list[tuple[bytes | dict, int, str]] = [
        (b"{not json", 400, "malformed_json"),
        (b"[]", 400, "validation_error"),
        ({"receipt": {"id": "x", "lines": [{"id": "1", "price": "abc", "quantity": 1}]}},
         400, "validation_error"),
        ({"receipt": {"id": "x", "lines": [{"id": "1", "price": 10, "quantity": -1}]}},
         400, "validation_error"),
        ({"receipt": {"id": "x", "lines": [{"id": "1", "price": 10.001, "quantity": 1}]}},
         400, "validation_error"),
        ({"receipt": {"id": "x", "lines": []}}, 400, "validation_error"),
        ({"receipt": receipt("x", FIRST, phone="+79990000000")}, 404, "customer_not_found"),
        ({"receipt": receipt("x", FIRST, phone="123456")}, 400, "invalid_phone"),
    ]  # fmt: skip
    for body, status, code in cases:
        if isinstance(body, bytes):
            response = await client.post("/api/v1/checkout/calculate", data=body)
        else:
            response = await client.post("/api/v1/checkout/calculate", json=body)
        payload = await response.json()
        assert (response.status, payload["code"]) == (status, code), payload
        assert payload["message"] and not any("a" <= ch <= "z" for ch in payload["message"][:9])
    missing = await post(
        client, "/api/v1/checkout/refund", {"id": "r", "receipt_id": "nope"}, status=404
    )
    assert missing["code"] == "receipt_not_found"


async def test_terminal_authentication(client: TestClient, deps: Deps) -> None:
    """No token or a wrong token is a 401 in the API's error shape; Basic with the token
    as the password works (1C)."""
    body = {"receipt": receipt("x", FIRST, phone=None)}
    bare = await client.post("/api/v1/checkout/calculate", json=body, headers={"Authorization": ""})
    assert bare.status == 401 and (await bare.json())["code"] == "missing_token"
    wrong = await client.post(
        "/api/v1/checkout/calculate", json=body, headers={"Authorization": "Bearer nope"}
    )
    assert wrong.status == 401 and (await wrong.json())["code"] == "invalid_token"


async def test_basic_auth_for_1c(aiohttp_client: Any, deps: Deps, demo_tenant: Tenant) -> None:
    """1C's HTTP client sends Basic auth: the token as the password is accepted."""
    import base64

    from cloud.api.app import create_app

    credentials = base64.b64encode(f"1c:{demo_tenant.token}".encode()).decode()
    client = await aiohttp_client(
        create_app(deps.settings, deps=deps), headers={"Authorization": f"Basic {credentials}"}
    )
    response = await client.post(
        "/api/v1/checkout/calculate", json={"receipt": receipt("x", FIRST, phone=None)}
    )
    assert response.status == 200


async def test_merchants_cannot_touch_each_others_customers_or_receipts(
    client: TestClient, other_client: TestClient, deps: Deps
) -> None:
    """Another merchant's terminal can't find our customer by phone, can't read them by
    id, and can't refund our receipt."""
    customer = await register_over_api(client, deps, PHONE)
    await post(client, "/api/v1/checkout/confirm", {"receipt": receipt("s1", FIRST)})
    foreign = await post(
        other_client, "/api/v1/checkout/calculate", {"receipt": receipt("s9", FIRST)}, status=404
    )
    assert foreign["code"] == "customer_not_found"
    by_id = {"receipt": {"id": "s9", "customer": {"customer_id": customer["id"]}, "lines": FIRST}}
    assert (await post(other_client, "/api/v1/checkout/calculate", by_id, status=404))[
        "code"
    ] == "customer_not_found"
    response = await other_client.get(f"/api/v1/customers/{customer['id']}")
    assert response.status == 404
    refund = await post(
        other_client, "/api/v1/checkout/refund", {"id": "x", "receipt_id": "s1"}, status=404
    )
    assert refund["code"] == "receipt_not_found"
    assert await balance(client, customer["id"]) == Decimal("105.00")


async def test_unit_price_exact_quote_reproduces_on_the_terminal(
    aiohttp_client: Any, deps: Deps
) -> None:
    """A discount program quoted in unit-price-exact mode: every line's unit price x
    quantity (half-up) equals its discounted amount, and the lines sum to the total."""
    from cloud.api.app import create_app

    program = {
        "name": "Скидка 7 %",
        "kind": "discount",
        "tier_assignment": "registration",
        "tiers": [{"code": "d7", "name": "Скидка 7 %", "discount_percent": "7"}],
    }
    tenant = await make_tenant(deps, "Клиника", program)
    client = await aiohttp_client(
        create_app(deps.settings, deps=deps), headers={"Authorization": f"Bearer {tenant.token}"}
    )
    lines = [
        {"id": "1", "price": 333.33, "quantity": 3},
        {"id": "2", "price": 99.99, "quantity": 0.455},
        {"id": "3", "price": 1000.00, "quantity": 1},
    ]
    quote = await post(
        client,
        "/api/v1/checkout/calculate",
        {"receipt": receipt("u1", lines, phone=None), "unit_price_exact": True},
    )
    total = Decimal(0)
    for sent, line in zip(lines, quote["lines"], strict=True):
        unit = money(line["unit_price_after_discount"])
        recomputed = (unit * Decimal(str(sent["quantity"]))).quantize(
            Decimal("0.01"), "ROUND_HALF_UP"
        )
        assert recomputed == money(line["amount_after_discount"])
        total += recomputed
    assert total == money(quote["amount_after_discount"])
    assert money(quote["discount"]) > 0


async def test_openapi_document_describes_the_checkout(client: TestClient) -> None:
    """The OpenAPI document is public and lists every checkout operation with schemas."""
    response = await client.get("/api/v1/openapi.json", headers={"Authorization": ""})
    document = await response.json()
    assert response.status == 200 and document["openapi"].startswith("3.")
    for operation in ("calculate", "hold", "confirm", "cancel", "refund"):
        assert f"/api/v1/checkout/{operation}" in document["paths"]
    assert "Quote" in document["components"]["schemas"]


async def test_program_can_require_the_customers_sms_code_to_spend(
    aiohttp_client: Any, deps: Deps
) -> None:
    """With redeem_requires_sms_code a hold needs the code the customer received; a
    wrong code is refused, the right one works once (it is used up by the hold)."""
    import json

    from cloud.api.app import create_app
    from tests.conftest import DEMO_PROGRAM
    from tests.helpers import sms_code

    document = json.loads(DEMO_PROGRAM.read_text())
    document["redeem_requires_sms_code"] = True
    tenant = await make_tenant(deps, "С кодом", document)
    till = await aiohttp_client(
        create_app(deps.settings, deps=deps), headers={"Authorization": f"Bearer {tenant.token}"}
    )
    await register_over_api(till, deps, PHONE)
    await post(till, "/api/v1/checkout/confirm", {"receipt": receipt("s1", FIRST)})
    body: dict[str, Any] = {"receipt": receipt("s2", SECOND), "amount": 50}
    assert (await post(till, "/api/v1/checkout/hold", body, status=422))["code"] == (
        "sms_code_required"
    )
    await post(till, "/api/v1/sms-codes", {"phone": PHONE, "purpose": "redeem"})
    code = sms_code(deps, PHONE)
    wrong = "000000" if code != "000000" else "111111"
    refused = await post(till, "/api/v1/checkout/hold", {**body, "sms_code": wrong}, status=422)
    assert refused["code"] == "sms_code_invalid"
    held = await post(till, "/api/v1/checkout/hold", {**body, "sms_code": code})
    assert money(held["amount"]) == Decimal(50)
    again = {"receipt": receipt("s3", SECOND), "amount": 10, "sms_code": code}
    assert (await post(till, "/api/v1/checkout/hold", again, status=422))["code"] == (
        "sms_code_not_found"
    )


async def test_calculate_answers_exactly_the_documented_quote(
    client: TestClient, deps: Deps
) -> None:
    """The hot path renders its JSON by hand; it must stay the OpenAPI's Quote document
    field for field, with amounts as numbers with two places."""
    from schemas import checkout as wire

    await register_over_api(client, deps, PHONE)
    await post(client, "/api/v1/checkout/confirm", {"receipt": receipt("s1", FIRST)})
    response = await client.post(
        "/api/v1/checkout/calculate",
        json={"receipt": receipt("s2", SECOND), "redeem": 10, "unit_price_exact": True},
    )
    text = await response.text()
    quote = wire.Quote.model_validate_json(text)
    assert quote.customer is not None and quote.customer.balance == Decimal("105.00")
    assert '"redeem":10.00' in text and '"balance":105.00' in text


async def test_spend_over_a_period_is_read_from_the_customers_receipts(
    aiohttp_client: Any, deps: Deps, clock: ManualClock
) -> None:
    """ "More than 3 000 ₽ over the last 30 days -> 15 % instead of 5 %": the first
    2 100 ₽ sale accrues 5 % (105,00); after a second sale of 4 000 ₽ (200,00) the
    customer has 6 100 ₽ in the window and the next quote accrues 15 % (150,00 of
    1 000 ₽); a new version with a one-day window sees no purchase today (50,00);
    31 days later the window is empty again (50,00)."""
    from cloud.api.app import create_app

    program = {
        "name": "Постоянным клиентам",
        "kind": "bonus",
        "spend_window_days": 30,
        "tiers": [{"code": "std", "name": "Стандартная", "accrual_percent": "5"}],
        "modifiers": [
            {"code": "regular", "name": "Постоянный клиент",
             "when": {"period_purchases": {"over": "3000"}}, "accrual_percent": "15"}
        ],
    }  # fmt: skip
    tenant = await make_tenant(deps, "Период", program)
    till = await aiohttp_client(
        create_app(deps.settings, deps=deps), headers={"Authorization": f"Bearer {tenant.token}"}
    )
    await register_over_api(till, deps, PHONE)
    one = [{"id": "1", "name": "Товар", "price": 1000.00, "quantity": 1}]
    first = await post(till, "/api/v1/checkout/confirm", {"receipt": receipt("p1", FIRST)})
    assert money(first["accrued"]) == Decimal("105.00")
    clock.advance(days=1)
    second = await post(till, "/api/v1/checkout/confirm", {"receipt": receipt("p2", SECOND)})
    assert money(second["accrued"]) == Decimal("200.00")
    clock.advance(days=1)
    quote = await post(till, "/api/v1/checkout/calculate", {"receipt": receipt("p3", one)})
    assert money(quote["accrual"]) == Decimal("150.00")
    # A new version counts only today's purchases: none today, so 5 % again, both on
    # the first quote after the switch and on the next one.
    from cloud.services import programs as program_versions

    await program_versions.publish(
        deps.db, tenant.merchant_id, {**program, "spend_window_days": 1}, clock()
    )
    for receipt_id in ("p3a", "p3b"):
        today = await post(
            till, "/api/v1/checkout/calculate", {"receipt": receipt(receipt_id, one)}
        )
        assert money(today["accrual"]) == Decimal("50.00")
    clock.advance(days=31)
    later = await post(till, "/api/v1/checkout/calculate", {"receipt": receipt("p4", one)})
    assert money(later["accrual"]) == Decimal("50.00")


# ---- issue 7: idempotency, the SMS door, one rule for what a cashier sees ----------------


async def test_a_used_receipt_id_with_another_receipt_answers_409(
    client: TestClient, deps: Deps
) -> None:
    """A till that restarts its numbering sends a new sale under a used id: 409
    ``idempotency_conflict`` with a Russian message, and nothing is written."""
    await register_over_api(client, deps, PHONE)
    await post(client, "/api/v1/checkout/confirm", {"receipt": receipt("s1", FIRST)})
    refused = await post(
        client, "/api/v1/checkout/confirm", {"receipt": receipt("s1", SECOND)}, status=409
    )
    assert refused["code"] == "idempotency_conflict" and "s1" in refused["message"]
    await post(client, "/api/v1/checkout/refund", {"id": "r1", "receipt_id": "s1"})
    partial = {"id": "r1", "receipt_id": "s1", "lines": [{"id": "1", "quantity": 1}]}
    again = await post(client, "/api/v1/checkout/refund", partial, status=409)
    assert again["code"] == "idempotency_conflict"
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM receipts") == 2


async def test_under_an_sms_program_only_a_hold_with_the_code_spends(
    aiohttp_client: Any, deps: Deps
) -> None:
    """With ``redeem_requires_sms_code`` a confirm that spends bonuses without a live hold
    (placed with the customer's code) covering them is refused with
    ``sms_code_required`` and writes nothing; with the hold it goes through, and a
    confirm spending more than was held is refused too."""
    import json

    from cloud.api.app import create_app
    from tests.conftest import DEMO_PROGRAM
    from tests.helpers import sms_code

    document = json.loads(DEMO_PROGRAM.read_text())
    document["redeem_requires_sms_code"] = True
    tenant = await make_tenant(deps, "С кодом", document)
    till = await aiohttp_client(
        create_app(deps.settings, deps=deps), headers={"Authorization": f"Bearer {tenant.token}"}
    )
    await register_over_api(till, deps, PHONE)
    await post(till, "/api/v1/checkout/confirm", {"receipt": receipt("s1", FIRST)})
    spend = {"receipt": receipt("s2", SECOND), "redeemed": 50}
    refused = await post(till, "/api/v1/checkout/confirm", spend, status=422)
    assert refused["code"] == "sms_code_required"
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM receipts") == 1
    await post(till, "/api/v1/sms-codes", {"phone": PHONE, "purpose": "redeem"})
    hold = {"receipt": receipt("s2", SECOND), "amount": 50, "sms_code": sms_code(deps, PHONE)}
    await post(till, "/api/v1/checkout/hold", hold)
    more = {"receipt": receipt("s2", SECOND), "redeemed": 60}
    assert (await post(till, "/api/v1/checkout/confirm", more, status=422))["code"] == (
        "sms_code_required"
    )
    done = await post(till, "/api/v1/checkout/confirm", spend)
    assert money(done["redeemed"]) == Decimal(50)
    # Without spending, no code is needed.
    await post(till, "/api/v1/checkout/confirm", {"receipt": receipt("s3", FIRST)})


async def test_phone_of_one_customer_and_card_of_another_is_refused(
    client: TestClient, deps: Deps
) -> None:
    """A receipt naming one customer's phone and another's card (or another's id) is
    refused with ``customer_mismatch`` in calculate, hold and confirm instead of being
    priced for either; phone and card of the same customer are fine."""
    other_phone = "+79161234568"
    one = await register_over_api(client, deps, PHONE, card="111222333")
    two = await register_over_api(client, deps, other_phone, card="444555666")
    await post(client, "/api/v1/checkout/confirm", {"receipt": receipt("s0", FIRST)})
    mixed = receipt("s1", SECOND)
    mixed["customer"] = {"phone": PHONE, "card": "444555666"}
    by_id = receipt("s1", SECOND)
    by_id["customer"] = {"phone": PHONE, "customer_id": two["id"]}
    for body in (mixed, by_id):
        for path, extra in (("calculate", {}), ("hold", {"amount": 10}), ("confirm", {})):
            refused = await post(
                client, f"/api/v1/checkout/{path}", {"receipt": body, **extra}, status=422
            )
            assert refused["code"] == "customer_mismatch", path
            assert "разных клиентов" in refused["message"]
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM receipts") == 1
    same = receipt("s1", SECOND)
    same["customer"] = {"phone": PHONE, "card": "111222333", "customer_id": one["id"]}
    quote = await post(client, "/api/v1/checkout/calculate", {"receipt": same})
    assert quote["customer"]["id"] == one["id"]


async def test_confirm_messages_and_slip_show_the_same_balance_after_the_sale(
    client: TestClient, deps: Deps
) -> None:
    """The cashier's ``messages`` and the printed ``slip`` of a confirm both show the
    balance after the sale (105,00 - 100,00 + 195,00 = 200,00)."""
    await register_over_api(client, deps, PHONE)
    await post(client, "/api/v1/checkout/confirm", {"receipt": receipt("s1", FIRST)})
    done = await post(
        client, "/api/v1/checkout/confirm", {"receipt": receipt("s2", SECOND), "redeemed": 100}
    )
    assert "Баланс: 200,00 бонусов" in done["messages"]
    assert "Баланс бонусов: 200,00" in done["slip"]
    assert money(done["customer"]["balance"]) == Decimal("200.00")


async def test_an_anonymous_receipt_names_no_tier(client: TestClient, deps: Deps) -> None:
    """A tier is named only for a customer: an anonymous receipt prints no «Уровень»
    line in calculate or confirm (``customer`` is null), while a customer's receipt
    names the tier that prices it, as ``tier`` and as the line."""
    for path in ("calculate", "confirm"):
        anonymous = await post(
            client, f"/api/v1/checkout/{path}", {"receipt": receipt(f"a-{path}", FIRST, None)}
        )
        assert not any(m.startswith("Уровень") for m in anonymous["messages"] + anonymous["slip"])
    await register_over_api(client, deps, PHONE)
    quote = await post(client, "/api/v1/checkout/calculate", {"receipt": receipt("c", FIRST)})
    assert quote["customer"]["tier"] == "standard"
    assert "Уровень: Стандартная" in quote["messages"]


async def test_confirm_times_are_store_local_to_the_second(
    client: TestClient, deps: Deps, clock: ManualClock
) -> None:
    """``accrual_available_from`` / ``accrual_expires_at`` of a confirm and the hold's
    ``expires_at`` are store-local ISO-8601 with the offset and no microseconds, the
    rule of the customer endpoints."""
    clock.now = clock.now.replace(microsecond=123456)
    customer = await register_over_api(client, deps, PHONE)
    await post(client, "/api/v1/checkout/confirm", {"receipt": receipt("s1", FIRST)})
    held = await post(
        client, "/api/v1/checkout/hold", {"receipt": receipt("s2", SECOND), "amount": 10}
    )
    done = await post(
        client, "/api/v1/checkout/confirm", {"receipt": receipt("s2", SECOND), "redeemed": 10}
    )
    profile = await (await client.get(f"/api/v1/customers/{customer['id']}")).json()
    stamps = [held["expires_at"], done["accrual_available_from"], done["accrual_expires_at"]]
    assert profile["registered_at"].endswith("+03:00")
    for stamp in stamps:
        assert stamp.endswith("+03:00") and "." not in stamp, stamp
    assert done["accrual_expires_at"] == "2027-02-18T00:00:00+03:00"


async def test_history_names_the_sale_on_a_refund(client: TestClient, deps: Deps) -> None:
    """A refund's history entries carry the sale's receipt id as ``receipt_id`` and the
    refund's own id as ``refund_id``; a sale's entries have no ``refund_id``."""
    customer = await register_over_api(client, deps, PHONE)
    await post(client, "/api/v1/checkout/confirm", {"receipt": receipt("s1", FIRST)})
    await post(client, "/api/v1/checkout/refund", {"id": "r1", "receipt_id": "s1"})
    response = await client.get(f"/api/v1/customers/{customer['id']}/history")
    entries = (await response.json())["entries"]
    assert [(e["kind"], e["receipt_id"], e["refund_id"]) for e in entries] == [
        ("reverse", "s1", "r1"),
        ("accrue", "s1", None),
    ]
