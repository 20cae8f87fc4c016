"""Program categories on Evotor: a position's product uuid finds its product group
(synced from the Evotor cloud or pushed by its products notification), the group gives
the category (the merchant's mapping, else the group's name), and a program written per
category answers on Evotor exactly as on the native API."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from aiohttp.test_utils import TestClient

from cloud.services import evotor_catalogue, merchants, programs
from cloud.services.deps import Deps
from tests.webhooks.evotor.conftest import (
    API,
    STORE,
    call,
    error_codes,
    fixture,
    install,
    user_auth,
)
from tests.webhooks.evotor.test_terminal_hooks import customer_with_bonuses, merchant_of
from webhooks.evotor.cloud_api import EvotorCloudClient
from webhooks.evotor.sync import pull_products

PROGRAMS = Path(__file__).resolve().parents[3] / "fixtures" / "programs"
PHONE = "+79161234567"
SERVICES, GOODS, WASH = (
    "0a000000-0000-4000-8000-0000000000a1",
    "0a000000-0000-4000-8000-0000000000a2",
    "0a000000-0000-4000-8000-0000000000a3",
)
MASSAGE, CREAM, CAR_WASH, AIR = (
    "0b000000-0000-4000-8000-0000000000b1",
    "0b000000-0000-4000-8000-0000000000b2",
    "0b000000-0000-4000-8000-0000000000b3",
    "0b000000-0000-4000-8000-0000000000b4",
)
CATALOGUE = [
    {"uuid": SERVICES, "name": "Услуги", "group": True, "parentUuid": None},
    {"uuid": GOODS, "name": "Товары", "group": True, "parentUuid": None},
    {"uuid": WASH, "name": "Wash", "group": True, "parentUuid": SERVICES},
    {"uuid": MASSAGE, "name": "Массаж", "group": False, "parentUuid": SERVICES, "type": "SERVICE"},
    {"uuid": CREAM, "name": "Крем", "group": False, "parentUuid": GOODS, "type": "NORMAL"},
    {"uuid": CAR_WASH, "name": "Мойка", "group": False, "parentUuid": WASH, "type": "SERVICE"},
    {"uuid": AIR, "name": "Ароматизатор", "group": False, "parentUuid": GOODS},
]  # fmt: skip
LINES = [(MASSAGE, "Массаж", 3000), (CREAM, "Крем", 1000),
         (CAR_WASH, "Мойка", 800), (AIR, "Ароматизатор", 200)]  # fmt: skip


async def evotor_merchant(evotor: TestClient, deps: Deps, program: str) -> tuple[str, int, str]:
    """An installed Evotor merchant on ``program``, its catalogue pushed by Evotor's
    products notification, a customer with 3 000 bonuses; returns (user token, merchant,
    merchant API key)."""
    token = await install(evotor)
    merchant_id = await merchant_of(deps)
    await programs.publish(deps.db, merchant_id, (PROGRAMS / program).read_text(), deps.clock())
    ack = await call(evotor, "POST", f"/api/v1/inventories/stores/{STORE}/products",
                     CATALOGUE, user_auth(token, device=None))  # fmt: skip
    assert ack == {"created": 7, "updated": 0}
    await customer_with_bonuses(deps, merchant_id, 300000)
    key = await merchants.issue_merchant_key(deps.db, merchant_id, deps.clock())
    return token, merchant_id, key


async def evotor_quote(evotor: TestClient, token: str) -> dict[str, Any]:
    body = {"receiptUuid": "r-1", "customer": {"phone": PHONE}, "positions": [
        {"uuid": f"p{i}", "productUuid": uuid, "name": name, "price": price, "quantity": 1}
        for i, (uuid, name, price) in enumerate(LINES)
    ]}  # fmt: skip
    return dict(await call(evotor, "POST", "/terminal/v1/receipts/calculate", body,
                           user_auth(token)))  # fmt: skip


async def native_quote(
    evotor: TestClient, deps: Deps, merchant_id: int, categories: list[str | None]
) -> dict[str, Any]:
    """The same receipt through the native API, categories given by hand."""
    store_id = await merchants.create_store(deps.db, merchant_id, "Native", deps.clock())
    terminal_id = await merchants.create_terminal(deps.db, merchant_id, store_id, "К", deps.clock())
    token = await merchants.issue_terminal_token(deps.db, merchant_id, terminal_id, deps.clock())
    lines = [
        {"id": f"p{i}", "name": name, "price": price, "quantity": 1, "category": category}
        for i, ((_, name, price), category) in enumerate(zip(LINES, categories, strict=True))
    ]
    response = await evotor.post(
        "/api/v1/checkout/calculate",
        json={"receipt": {"id": "n-1", "customer": {"phone": PHONE}, "lines": lines}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status == 200, await response.text()
    return dict(await response.json())


def same_answer(evotor_answer: dict[str, Any], native: dict[str, Any]) -> None:
    assert Decimal(str(evotor_answer["maxBonusPayment"])) == Decimal(str(native["max_redeem"]))
    assert Decimal(str(evotor_answer["accrual"])) == Decimal(str(native["accrual"]))
    for position, line in zip(evotor_answer["positions"], native["lines"], strict=True):
        assert Decimal(str(position["maxBonusPayment"])) == Decimal(str(line["max_redeem"]))
        assert Decimal(str(position["accrual"])) == Decimal(str(line["accrual"]))


async def test_lotos_on_evotor_answers_as_on_the_native_api(evotor: TestClient, deps: Deps) -> None:
    """Лотос: services payable by bonuses up to 50 %, goods up to 10 %. The merchant
    maps its groups «Услуги» -> services and «Товары» -> goods (the nested «Wash» group
    inherits services). Evotor's quote then equals the native one with categories
    services, goods, services, goods — and differs from the uncategorised one."""
    token, merchant_id, key = await evotor_merchant(evotor, deps, "06_lotos.json")
    before = await evotor_quote(evotor, token)
    mapped = await call(evotor, "PUT", "/merchant/v1/product-groups",
                        {"groups": {SERVICES: "services", GOODS: "goods"}},
                        {"Authorization": f"Bearer {key}"})  # fmt: skip
    effective = {g["uuid"]: g["effectiveCategory"] for g in mapped["groups"]}
    assert effective == {SERVICES: "services", GOODS: "goods", WASH: "services"}
    after = await evotor_quote(evotor, token)
    native = await native_quote(
        evotor, deps, merchant_id, ["services", "goods", "services", "goods"]
    )
    same_answer(after, native)
    uncategorised = await native_quote(evotor, deps, merchant_id, [None] * 4)
    same_answer(before, uncategorised)
    assert after["maxBonusPayment"] != before["maxBonusPayment"]


async def test_vip_service_by_group_name(evotor: TestClient, deps: Deps) -> None:
    """VIP сервис: bonuses spend only on «wash». With no mapping at all, the group named
    «Wash» gives its products the category ``wash``: only the car wash is payable by
    bonuses, as on the native API."""
    token, merchant_id, _ = await evotor_merchant(evotor, deps, "09_vip_service.json")
    answer = await evotor_quote(evotor, token)
    native = await native_quote(evotor, deps, merchant_id, ["услуги", "товары", "wash", "товары"])
    same_answer(answer, native)
    payable = [Decimal(str(p["maxBonusPayment"])) for p in answer["positions"]]
    assert payable[2] > 0 and payable[0] == payable[1] == payable[3] == 0


async def test_mapping_needs_the_merchant_key(evotor: TestClient, deps: Deps) -> None:
    """The user token Evotor holds (or nothing) cannot change the mapping: 401/1002."""
    token, _, _ = await evotor_merchant(evotor, deps, "06_lotos.json")
    for auth in ({"Authorization": f"Bearer {token}"}, {}):
        answer = await call(evotor, "PUT", "/merchant/v1/product-groups",
                            {"groups": {SERVICES: "x"}}, auth, status=401)  # fmt: skip
        assert error_codes(answer) == [1002]


async def test_products_pulled_from_the_evotor_cloud(deps: Deps) -> None:
    """The pull reads a store's product groups and products (v2 API) into the
    catalogue; a product's category then follows its group."""
    merchant_id = await merchants.create_merchant(deps.db, "M", deps.clock(), "Europe/Moscow")
    with respx.mock(base_url=API, assert_all_called=True) as api:
        api.get(f"/stores/{STORE}/product-groups").mock(return_value=httpx.Response(200, json={
            "items": [{"id": SERVICES, "name": "services", "parent_id": None}]}))  # fmt: skip
        api.get(f"/stores/{STORE}/products").mock(return_value=httpx.Response(200, json={
            "items": [{"id": MASSAGE, "name": "Массаж", "parent_id": SERVICES,
                       "type": "SERVICE"}]}))  # fmt: skip
        async with EvotorCloudClient("t", base_url=API) as client:
            assert await pull_products(deps, merchant_id, client, STORE) == 2
    found = await evotor_catalogue.categories_of(deps, merchant_id, STORE, [MASSAGE, CREAM])
    assert found == {MASSAGE: "services"}


@pytest.mark.parametrize("status", [403, 404])
async def test_products_not_allowed_do_not_break_the_pull(deps: Deps, status: int) -> None:
    """An app without the products scope: the product pull counts nothing, no error."""
    merchant_id = await merchants.create_merchant(deps.db, "M", deps.clock(), "Europe/Moscow")
    with respx.mock(base_url=API) as api:
        api.get(f"/stores/{STORE}/product-groups").mock(return_value=httpx.Response(status))
        async with EvotorCloudClient("t", base_url=API) as client:
            assert await pull_products(deps, merchant_id, client, STORE) == 0


async def test_documents_and_close_carry_categories(evotor: TestClient, deps: Deps) -> None:
    """A SELL document and a close hook record each line with its product's category,
    so returns and reports see the same categories as the quote did."""
    token, merchant_id, key = await evotor_merchant(evotor, deps, "06_lotos.json")
    await call(evotor, "PUT", "/merchant/v1/product-groups",
               {"groups": {SERVICES: "services", GOODS: "goods"}},
               {"Authorization": f"Bearer {key}"})  # fmt: skip
    closed = await call(evotor, "POST", "/terminal/v1/receipts/close", {
        "receiptUuid": "r-close", "positions": [
            {"uuid": "c1", "productUuid": CAR_WASH, "name": "Мойка", "price": 800,
             "quantity": 1}]}, user_auth(token))  # fmt: skip
    assert closed["status"] == "confirmed"
    document = fixture("documents/sell_v2.json")
    document["body"]["positions"][0]["product_id"] = CREAM
    await call(evotor, "PUT", "/api/v2/documents", document, user_auth(token, device=None))
    rows = await deps.db.fetch_all(
        "SELECT l.sku, l.category FROM receipt_lines l WHERE l.merchant_id = :m ORDER BY l.id",
        {"m": merchant_id},
    )
    assert [(r["sku"], r["category"]) for r in rows] == [
        (CAR_WASH, "services"), (CREAM, "goods"), (None, None)
    ]  # fmt: skip
