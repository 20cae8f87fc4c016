"""Programs with plastic cards (``card: physical_card``, programs 1, 13 and 14): a till
registration binds the card handed out, a self-registered customer gets the virtual card
and a plastic one later at the till or in the merchant's office, and the cashier is told
whenever a customer still has none. Phone programs are unchanged."""

from __future__ import annotations

import json
from typing import Any

from aiohttp.test_utils import TestClient

from cloud.api.app import create_app
from cloud.services import customers, programs
from cloud.services.customers import NO_PLASTIC_CARD_MESSAGE
from cloud.services.deps import Deps
from cloud.services.sms_codes import send_code, verify_code
from schemas.customers import Consent, RegisterCustomer
from schemas.program import Program
from tests import helpers
from tests.api.test_customers_api import registration, send, sms_code
from tests.conftest import FIXTURES, Tenant, make_tenant, merchant_client

PLASTIC = FIXTURES / "programs" / "01_centr_zolota.json"
PHONE = "+79161110001"


async def _till(aiohttp_client: Any, deps: Deps, tenant: Tenant) -> TestClient:
    client: TestClient = await aiohttp_client(
        create_app(deps.settings, deps=deps),
        headers={"Authorization": f"Bearer {tenant.token}"},
    )
    return client


async def _self_service(deps: Deps, tenant: Tenant, phone: str) -> int:
    code = await _code_id(deps, tenant, phone)
    return await customers.register_customer(
        deps, tenant.merchant_id,
        RegisterCustomer(phone=phone, consent=Consent(personal_data=True)),
        store_id=tenant.store_id, channel="self_service", sms_code=None, verified_code_id=code,
    )  # fmt: skip


async def _code_id(deps: Deps, tenant: Tenant, phone: str) -> int:
    await send_code(deps, tenant.merchant_id, phone, "registration")
    code = helpers.sms_code(deps, phone)
    return await verify_code(deps, tenant.merchant_id, phone, "registration", code, consume=False)


def _calculation(customer_id: int, receipt: str = "R1") -> dict[str, Any]:
    return {"receipt": {"id": receipt, "customer": {"customer_id": customer_id},
                        "lines": [{"id": "1", "price": 1000, "quantity": 1}]}}  # fmt: skip


async def _messages(till: TestClient, customer_id: int) -> tuple[list[str], list[str]]:
    """What the cashier reads: the quote's messages and the look-up's messages."""
    quote = await till.post("/api/v1/checkout/calculate", json=_calculation(customer_id))
    assert quote.status == 200, await quote.text()
    cards = (await (await till.get(f"/api/v1/customers/{customer_id}")).json())["cards"]
    virtual = next(c["number"] for c in cards if c["kind"] == "virtual")
    lookup = await till.get("/api/v1/customers/lookup", params={"card": virtual})
    assert lookup.status == 200
    return (await quote.json())["messages"], (await lookup.json())["messages"]


def test_the_plastic_card_programs_still_validate() -> None:
    """The three real programs with plastic cards (1, 13, 14) validate as documents."""
    for name in ("01_centr_zolota", "13_besheniye_tachki", "14_niarmedik"):
        document = json.loads((FIXTURES / "programs" / f"{name}.json").read_text())
        assert Program.model_validate(document).card == "physical_card", name


async def test_till_registration_needs_the_plastic_card(deps: Deps, aiohttp_client: Any) -> None:
    """Under a physical_card program a till registration without a card is 400
    ``physical_card_required`` in Russian and leaves the SMS code usable; with the card
    it registers the customer with the plastic card bound (and the virtual one)."""
    tenant = await make_tenant(deps, "Центр Золота", PLASTIC.read_text())
    till = await _till(aiohttp_client, deps, tenant)
    await send(till, PHONE)
    code = sms_code(deps, PHONE)
    refused = await till.post("/api/v1/customers", json=registration(code, PHONE))
    assert refused.status == 400
    body = await refused.json()
    assert body["code"] == "physical_card_required" and "пластиков" in body["message"]
    created = await till.post("/api/v1/customers", json=registration(code, PHONE, card="5000 01"))
    assert created.status == 201, await created.text()
    kinds = {c["kind"]: c["number"] for c in (await created.json())["cards"]}
    assert kinds["physical"] == "500001" and "virtual" in kinds


async def test_phone_program_registers_without_a_card(deps: Deps, aiohttp_client: Any) -> None:
    """In a phone program nothing changes: no card needed, and no message about one."""
    tenant = await make_tenant(deps, "Вейп")
    till = await _till(aiohttp_client, deps, tenant)
    await send(till, PHONE)
    created = await till.post("/api/v1/customers", json=registration(sms_code(deps, PHONE), PHONE))
    assert created.status == 201
    for _ in range(2):  # the first quote of a process guesses no program
        quote_messages, lookup_messages = await _messages(till, (await created.json())["id"])
        assert NO_PLASTIC_CARD_MESSAGE not in quote_messages and lookup_messages == []


async def test_self_registered_customer_gets_a_plastic_card_at_the_till(
    deps: Deps, aiohttp_client: Any
) -> None:
    """A self-registered customer has only the phone and the virtual card; the quote
    and the look-up tell the cashier to hand out a plastic card (first quote of the
    process and later ones alike); binding it at the till is 201, again 200, and then
    neither answer says so any more."""
    tenant = await make_tenant(deps, "Центр Золота", PLASTIC.read_text())
    till = await _till(aiohttp_client, deps, tenant)
    customer_id = await _self_service(deps, tenant, PHONE)
    profile = await customers.customer_profile(deps, tenant.merchant_id, customer_id)
    assert sorted(card.kind for card in profile.cards) == ["phone", "virtual"]
    for _ in range(2):
        quote_messages, lookup_messages = await _messages(till, customer_id)
        assert NO_PLASTIC_CARD_MESSAGE in quote_messages
        assert lookup_messages == [NO_PLASTIC_CARD_MESSAGE]

    bound = await till.post(f"/api/v1/customers/{customer_id}/cards", json={"number": "777"})
    assert bound.status == 201 and (await bound.json())["kind"] == "physical"
    again = await till.post(f"/api/v1/customers/{customer_id}/cards", json={"number": "777"})
    assert again.status == 200
    quote_messages, lookup_messages = await _messages(till, customer_id)
    assert NO_PLASTIC_CARD_MESSAGE not in quote_messages and lookup_messages == []
    found = await till.get("/api/v1/customers/lookup", params={"card": "777"})
    assert (await found.json())["id"] == customer_id


async def test_binding_taken_cards_and_tenancy(deps: Deps, aiohttp_client: Any) -> None:
    """A card bound to one customer is 409 ``card_taken`` for another of the same
    merchant (at the till and in the office); another merchant's till or key cannot
    bind to this merchant's customer (404) and their own customers may carry the same
    number (cards are unique per merchant). The office binds with the merchant key."""
    tenant = await make_tenant(deps, "Центр Золота", PLASTIC.read_text())
    other = await make_tenant(deps, "Бешеные тачки", PLASTIC.read_text())
    till = await _till(aiohttp_client, deps, tenant)
    stranger = await _till(aiohttp_client, deps, other)
    office = await merchant_client(aiohttp_client, deps, tenant, "Офис")
    foreign_office = await merchant_client(aiohttp_client, deps, other, "Чужой офис")
    first = await _self_service(deps, tenant, PHONE)
    second = await _self_service(deps, tenant, "+79161110002")
    theirs = await _self_service(deps, other, "+79161110003")

    assert (
        await till.post(f"/api/v1/customers/{first}/cards", json={"number": "9001"})
    ).status == 201
    taken = await till.post(f"/api/v1/customers/{second}/cards", json={"number": "9001"})
    assert taken.status == 409 and (await taken.json())["code"] == "card_taken"
    office_taken = await office.post(
        f"/api/v1/merchant/customers/{second}/cards", json={"number": "9-0-0-1"}
    )
    assert office_taken.status == 409 and (await office_taken.json())["code"] == "card_taken"
    by_office = await office.post(
        f"/api/v1/merchant/customers/{second}/cards", json={"number": "9002"}
    )
    assert by_office.status == 201 and (await by_office.json())["number"] == "9002"

    for client, path in (
        (stranger, f"/api/v1/customers/{first}/cards"),
        (foreign_office, f"/api/v1/merchant/customers/{first}/cards"),
    ):
        response = await client.post(path, json={"number": "9003"})
        assert response.status == 404 and (await response.json())["code"] == "customer_not_found"
    assert await deps.db.fetch_value(
        "SELECT COUNT(*) FROM cards WHERE customer_id = :c AND kind = 'physical'", {"c": first}
    ) == 1  # fmt: skip
    own = await stranger.post(f"/api/v1/customers/{theirs}/cards", json={"number": "9001"})
    assert own.status == 201
    assert (await office.post(f"/api/v1/merchant/customers/{theirs}/cards",
                              json={"number": "9004"})).status == 404  # fmt: skip


async def test_imports_and_programs_switching(deps: Deps, aiohttp_client: Any) -> None:
    """An import into a physical_card merchant needs no card (the base brings what it
    has); once the merchant switches to a phone program, the cashier is no longer told
    about plastic cards."""
    tenant = await make_tenant(deps, "Центр Золота", PLASTIC.read_text())
    till = await _till(aiohttp_client, deps, tenant)
    imported = await customers.register_customer(
        deps, tenant.merchant_id,
        RegisterCustomer(phone=PHONE, consent=Consent(personal_data=True)),
        store_id=None, channel="import", sms_code=None,
    )  # fmt: skip
    quote_messages, _ = await _messages(till, imported)
    assert NO_PLASTIC_CARD_MESSAGE in quote_messages
    document = json.loads(PLASTIC.read_text())
    document["card"] = "phone"
    await programs.publish(deps.db, tenant.merchant_id, document, deps.clock())
    for _ in range(2):
        quote_messages, lookup_messages = await _messages(till, imported)
        assert NO_PLASTIC_CARD_MESSAGE not in quote_messages and lookup_messages == []
