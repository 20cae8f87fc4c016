"""Blocking a card: through the native checkout API a blocked card neither accrues nor
spends, and the cashier is told why; unblocking restores both."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from aiohttp.test_utils import TestClient

from cloud.services import checkout
from cloud.services.deps import Deps
from schemas import checkout as wire
from tests.conftest import Tenant
from tests.customer_admin.conftest import LINES, PHONE, credit, sale
from tests.helpers import money
from tests.ledger.helpers import terminal

BLOCKED = "Карта заблокирована"


def block_url(customer_id: int, action: str = "block") -> str:
    return f"/api/v1/merchant/customers/{customer_id}/{action}"


async def test_blocked_card_neither_accrues_nor_spends(
    admin: TestClient, client: TestClient, customer: int, deps: Deps
) -> None:
    """A blocked card is priced as if no card was shown: calculate offers no bonus
    payment and no accrual and says «Карта заблокирована…»; a hold or a confirm with a
    bonus payment is refused (422 card_blocked); a confirm without one records the sale
    with no accrual and no customer. After unblocking the card accrues again."""
    assert (await credit(admin, customer, 300, "k1")).status == 201
    blocked = await admin.post(
        block_url(customer), json={"reason": "Подозрение на мошенничество", "staff": "Анна"}
    )
    assert blocked.status == 200, await blocked.text()
    state = await blocked.json()
    assert state["changed"] is True
    assert state["blocked"]["reason"] == "Подозрение на мошенничество"
    assert state["blocked"]["by"] == "Анна (ключ API «Офис»)"

    receipt = {"id": "b-1", "customer": {"phone": PHONE}, "lines": LINES}
    quote = await (
        await client.post("/api/v1/checkout/calculate", json={"receipt": receipt})
    ).json()
    assert quote["customer"] is None
    assert money(quote["max_redeem"]) == 0 and money(quote["accrual"]) == 0
    assert quote["messages"][0].startswith(BLOCKED)

    hold = await client.post("/api/v1/checkout/hold", json={"receipt": receipt, "amount": 100})
    body = await hold.json()
    assert hold.status == 422 and body["code"] == "card_blocked" and BLOCKED in body["message"]

    refused = await sale(client, "b-1", redeemed=100)
    assert refused.status == 422 and (await refused.json())["code"] == "card_blocked"

    confirmed = await sale(client, "b-1")
    assert confirmed.status == 200, await confirmed.text()
    result = await confirmed.json()
    assert money(result["accrued"]) == 0 and result["customer"] is None
    assert result["messages"][0].startswith(BLOCKED)
    owner = await deps.db.fetch_value(
        "SELECT customer_id FROM receipts WHERE external_id = 'b-1'", {}
    )
    assert owner is None
    card = await (await admin.get(f"/api/v1/merchant/customers/{customer}")).json()
    assert money(card["balance"]) == Decimal(300) and card["purchases_count"] == 0
    assert card["blocked"]["reason"] == "Подозрение на мошенничество"

    unblocked = await admin.post(block_url(customer, "unblock"), json={"reason": "Проверено"})
    assert (await unblocked.json())["blocked"] is None
    after = await (await sale(client, "b-2", redeemed=100)).json()
    assert money(after["accrued"]) == Decimal("45.00") and money(after["redeemed"]) == 100
    assert not any(BLOCKED in line for line in after["messages"])


async def test_blocking_releases_holds_and_is_repeatable(
    admin: TestClient, client: TestClient, customer: int
) -> None:
    """Blocking releases the bonuses held for an open receipt (its confirm may not spend
    them); blocking again changes nothing (``changed`` false, no second record); the
    merchant's history of the card keeps who blocked and unblocked it."""
    await credit(admin, customer, 200, "k1")
    receipt = {"id": "h-1", "customer": {"phone": PHONE}, "lines": LINES}
    held = await client.post("/api/v1/checkout/hold", json={"receipt": receipt, "amount": 150})
    assert held.status == 200, await held.text()
    await admin.post(block_url(customer), json={"reason": "Утеряна"})
    again = await (await admin.post(block_url(customer), json={"reason": "Ещё раз"})).json()
    assert again["changed"] is False and again["blocked"]["reason"] == "Утеряна"
    card = await (await admin.get(f"/api/v1/merchant/customers/{customer}")).json()
    assert money(card["held"]) == 0 and money(card["balance"]) == 200
    refused = await sale(client, "h-1", redeemed=150)
    assert (await refused.json())["code"] == "card_blocked"


async def test_block_needs_a_reason_and_a_merchant_key(
    admin: TestClient, client: TestClient, customer: int
) -> None:
    """A block without a reason (or with a blank one) is a 400 in Russian; a till's
    token cannot reach the merchant's customer routes (401)."""
    for body in ({}, {"reason": "   "}):
        response = await admin.post(block_url(customer), json=body)
        assert response.status == 400 and (await response.json())["code"] == "validation_error"
    response = await client.post(block_url(customer), json={"reason": "Касса"})
    assert response.status == 401 and (await response.json())["code"] == "invalid_token"


async def test_blocked_card_by_card_number_and_tenant_isolation(
    admin: TestClient, other_admin: TestClient, client: TestClient, customer: int,
    other_tenant: Tenant,
) -> None:  # fmt: skip
    """A blocked card is refused by its card number too; another merchant's key can
    neither block nor unblock it (404) and does not see the block."""
    card = await (await admin.get(f"/api/v1/merchant/customers/{customer}")).json()
    virtual = next(c["number"] for c in card["cards"] if c["kind"] == "virtual")
    for action in ("block", "unblock"):
        response = await other_admin.post(block_url(customer, action), json={"reason": "Чужие"})
        assert response.status == 404 and (await response.json())["code"] == "customer_not_found"
    receipt = {"id": "c-1", "customer": {"card": virtual}, "lines": LINES}
    quote = await (
        await client.post("/api/v1/checkout/calculate", json={"receipt": receipt})
    ).json()
    assert quote["customer"] is not None
    await admin.post(block_url(customer), json={"reason": "Своя причина"})
    quote = await (
        await client.post("/api/v1/checkout/calculate", json={"receipt": receipt})
    ).json()
    assert quote["customer"] is None and quote["messages"][0].startswith(BLOCKED)


async def test_blocked_and_active_cards_price_in_one_query(
    admin: TestClient, customer: int, deps: Deps, demo_tenant: Tenant
) -> None:
    """The blocked flag rides in the snapshot query: a calculate reads the database
    once (program cached) for an active card and for a blocked one alike."""
    calls: list[str] = []
    real = deps.db

    class Counting:
        def __getattr__(self, name: str) -> Any:
            attribute = getattr(real, name)
            if name.startswith("fetch"):

                async def counted(*args: Any, **kwargs: Any) -> Any:
                    calls.append(args[0])
                    return await attribute(*args, **kwargs)

                return counted
            return attribute

    request = wire.CalculateRequest(
        receipt=wire.Receipt.model_validate(
            {"id": "q-1", "customer": {"phone": PHONE}, "lines": LINES}
        )
    )
    context = terminal(demo_tenant)
    await checkout.calculate(deps, context, request)  # warms the program cache
    counting = replace(deps, db=Counting())  # type: ignore[arg-type]
    for blocked in (False, True):
        if blocked:
            await admin.post(block_url(customer), json={"reason": "Проверка"})
        calls.clear()
        quote = await checkout.calculate(counting, context, request)
        assert len(calls) == 1, calls
        assert (quote.customer is None) == blocked
