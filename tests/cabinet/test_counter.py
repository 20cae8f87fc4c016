"""The cashier's workplace (``/cabinet/counter``) over plain HTTP: a till of channel
``cabinet`` whose every step goes through the checkout services."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from aiohttp.test_utils import TestClient

from cloud.services import programs
from cloud.services.deps import Deps
from tests.cabinet.conftest import PHONE, Staff, cabinet_client, post_form
from tests.conftest import DEMO_PROGRAM, Tenant
from tests.helpers import sms_code

PAGE = "/cabinet/counter"


async def act(client: TestClient, path: str, data: dict[str, str] | None = None) -> str:
    """Post one of the page's forms, follow the redirect back, return the page."""
    response = await post_form(client, PAGE + path, data or {}, PAGE)
    assert response.status == 303, await response.text()
    assert response.headers["Location"] == PAGE
    page = await client.get(PAGE)
    assert page.status == 200
    return await page.text()


async def balance(deps: Deps, customer_id: int) -> Decimal:
    total = await deps.db.fetch_value(
        "SELECT COALESCE(SUM(remaining), 0) FROM bonus_lots WHERE customer_id = :c",
        {"c": customer_id},
    )
    return Decimal(int(total)) / 100


async def test_a_sale_with_bonuses_then_its_return_go_through_the_checkout(
    aiohttp_client: Any, deps: Deps, staff: Staff, customer: int
) -> None:
    """The manager finds the customer by phone, rings up 500 ₽, pays 30 ₽ with bonuses
    and closes: one sale of source ``cabinet`` at the store's cabinet till, 30 ₽ spent
    and 5 % of the money part accrued. The return from the page gives the 30 ₽ back
    and takes the accrual back; a second click returns nothing more."""
    before = await balance(deps, customer)
    manager = await cabinet_client(aiohttp_client, deps, staff.manager)
    page = await act(manager, "/find", {"q": "8 (916) 123-45-67"})
    assert "Анна Смирнова" in page
    page = await act(manager, "/receipt", {"amount": "500,00"})
    assert "Можно оплатить бонусами" in page, re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))[
        :3000
    ]
    page = await act(manager, "/hold", {"redeem": "30"})
    assert "Бонусами к оплате: 30,00 ₽" in page
    page = await act(manager, "/close")
    assert "закрыт" in page
    sale = await deps.db.fetch_one(
        "SELECT r.external_id, r.amount, r.redeemed, r.accrued, r.cashier_id, t.channel "
        "FROM receipts r JOIN terminals t ON t.id = r.terminal_id "
        "WHERE r.source = 'cabinet' AND r.kind = 'sale'"
    )
    assert sale is not None and sale["channel"] == "cabinet"
    assert (sale["amount"], sale["redeemed"], sale["accrued"]) == (50000, 3000, 2350)
    assert sale["cashier_id"] == staff.manager
    assert await balance(deps, customer) == before - 30 + Decimal("23.50")
    page = await act(manager, "/refund", {"receipt_id": sale["external_id"]})
    assert f"Возврат по чеку {sale['external_id']}" in page and "возвращён" in page
    assert await balance(deps, customer) == before
    await act(manager, "/refund", {"receipt_id": sale["external_id"]})
    assert await balance(deps, customer) == before
    refunds = await deps.db.fetch_value("SELECT COUNT(*) FROM receipts WHERE kind = 'refund'")
    assert refunds == 1


async def test_an_unknown_phone_is_registered_at_the_counter_with_its_sms_code(
    aiohttp_client: Any, deps: Deps, staff: Staff, demo_tenant: Tenant
) -> None:
    """A phone nobody has opens the registration; without consent it is refused, a wrong
    code is refused in Russian, the right code registers the customer (channel
    ``cabinet``, the chosen store) and makes them the receipt's customer."""
    manager = await cabinet_client(aiohttp_client, deps, staff.manager)
    phone = "+79035550011"
    page = await act(manager, "/find", {"q": phone})
    assert "не найден" in page and 'id="register-form"' in page
    await act(manager, "/register/code", {"phone": phone})
    code = sms_code(deps, phone)
    page = await act(manager, "/register", {"phone": phone, "code": code, "name": "Пётр"})
    assert "согласие" in page
    wrong = "000000" if code != "000000" else "111111"
    page = await act(
        manager, "/register", {"phone": phone, "code": wrong, "name": "Пётр", "consent": "yes"}
    )
    assert 'role="alert"' in page and "код" in page.lower()
    page = await act(
        manager, "/register", {"phone": phone, "code": code, "name": "Пётр", "consent": "yes"}
    )
    assert "Клиент зарегистрирован" in page and "Пётр" in page
    row = await deps.db.fetch_one(
        "SELECT registration_channel, registered_store_id FROM customers WHERE merchant_id = :m",
        {"m": demo_tenant.merchant_id},
    )
    assert row is not None
    assert (row["registration_channel"], row["registered_store_id"]) == (
        "cabinet",
        demo_tenant.store_id,
    )


async def test_receipt_lines_and_bad_input_are_refused_on_the_page(
    aiohttp_client: Any, deps: Deps, staff: Staff, customer: int
) -> None:
    """Lines with prices and quantities are priced line by line; an amount with three
    places, an amount together with lines, a price missing and a category the program
    does not have are each refused with a Russian message (never a 500), and the page
    stays usable."""
    manager = await cabinet_client(aiohttp_client, deps, staff.manager)
    await act(manager, "/find", {"q": PHONE})
    for form, text in (
        ({"amount": "10,005"}, "не больше двух знаков"),
        ({"amount": "100", "name1": "Стрижка", "price1": "100"}, "либо сумму чека"),
        ({"name1": "Стрижка"}, "укажите цену"),
        ({"name1": "Стрижка", "price1": "100", "category1": "нет"}, "нет такой категории"),
        ({}, "Укажите сумму чека"),
    ):
        page = await act(manager, "/receipt", form)
        assert 'id="counter-error"' in page and text in page, form
    page = await act(
        manager, "/receipt",
        {"name1": "Стрижка", "price1": "1 200,50", "name2": "Укладка", "price2": "300",
         "qty2": "2"},
    )  # fmt: skip
    assert "Стрижка" in page and "Укладка" in page
    assert "1\u00a0800,50 ₽" in page  # 1 200,50 + 2 × 300


async def test_a_program_asking_for_the_sms_code_spends_only_with_it(
    aiohttp_client: Any, deps: Deps, staff: Staff, customer: int, demo_tenant: Tenant
) -> None:
    """Under ``redeem_requires_sms_code`` the page offers to send the code; a hold
    without the right code is refused, with the code the customer received it holds."""
    document = json.loads(DEMO_PROGRAM.read_text())
    document["redeem_requires_sms_code"] = True
    await programs.publish(deps.db, demo_tenant.merchant_id, document, deps.clock())
    manager = await cabinet_client(aiohttp_client, deps, staff.manager)
    await act(manager, "/find", {"q": PHONE})
    page = await act(manager, "/receipt", {"amount": "200"})
    assert 'id="send-code"' in page
    page = await act(manager, "/hold", {"redeem": "10"})
    assert "код из SMS" in page
    page = await act(manager, "/code")
    assert "Код для оплаты бонусами отправлен" in page
    page = await act(manager, "/hold", {"redeem": "10", "code": sms_code(deps, PHONE)})
    assert "Бонусами к оплате: 10,00 ₽" in page
    await act(manager, "/close")
    redeemed = await deps.db.fetch_value(
        "SELECT redeemed FROM receipts WHERE source = 'cabinet' AND kind = 'sale'"
    )
    assert redeemed == 1000


async def test_a_cancelled_receipt_releases_its_bonus_hold(
    aiohttp_client: Any, deps: Deps, staff: Staff, customer: int
) -> None:
    """Cancelling a receipt that holds bonuses releases the hold; nothing is sold."""
    manager = await cabinet_client(aiohttp_client, deps, staff.manager)
    await act(manager, "/find", {"q": PHONE})
    await act(manager, "/receipt", {"amount": "300"})
    await act(manager, "/hold", {"redeem": "20"})
    page = await act(manager, "/cancel")
    assert "Чек отменён" in page
    assert not await deps.db.fetch_value("SELECT COUNT(*) FROM holds WHERE status = 'active'")
    assert not await deps.db.fetch_value("SELECT COUNT(*) FROM receipts WHERE source = 'cabinet'")


async def test_a_viewer_cannot_use_the_counter_nor_another_merchants_store(
    aiohttp_client: Any, deps: Deps, staff: Staff, other_tenant: Tenant
) -> None:
    """A viewer gets the 403 page on the counter and its forms; a manager choosing
    another merchant's store gets a 404 page and keeps no store of theirs."""
    viewer = await cabinet_client(aiohttp_client, deps, staff.viewer)
    assert (await viewer.get(PAGE)).status == 403
    response = await post_form(viewer, PAGE + "/receipt", {"amount": "100"}, "/cabinet/customers")
    assert response.status == 403
    manager = await cabinet_client(aiohttp_client, deps, staff.manager)
    response = await post_form(
        manager, PAGE + "/store", {"store": str(other_tenant.store_id)}, PAGE
    )
    assert response.status == 404
    assert not await deps.db.fetch_value(
        "SELECT COUNT(*) FROM terminals WHERE merchant_id = :m AND channel = 'cabinet'",
        {"m": other_tenant.merchant_id},
    )


async def test_lines_with_a_category_of_the_program_are_priced_by_its_rule(
    aiohttp_client: Any, deps: Deps, staff: Staff, customer: int, demo_tenant: Tenant
) -> None:
    """The receipt form offers the live program's categories; a line of category
    ``wash`` (10 % accrual) accrues by its rule, a line without one by the tier's 5 %,
    and the sale records both."""
    document = json.loads(DEMO_PROGRAM.read_text())
    document["categories"] = {"wash": {"accrual_percent": "10"}}
    await programs.publish(deps.db, demo_tenant.merchant_id, document, deps.clock())
    manager = await cabinet_client(aiohttp_client, deps, staff.manager)
    await act(manager, "/find", {"q": PHONE})
    assert '<option value="wash">' in await (await manager.get(PAGE)).text()
    page = await act(
        manager, "/receipt",
        {"name1": "Мойка", "price1": "1000", "category1": "wash",
         "name2": "Ароматизатор", "price2": "200"},
    )  # fmt: skip
    assert "110,00 ₽" in page  # 10 % of 1 000 + 5 % of 200
    await act(manager, "/close")
    accrued = await deps.db.fetch_value(
        "SELECT accrued FROM receipts WHERE source = 'cabinet' AND kind = 'sale'"
    )
    assert accrued == 11000
