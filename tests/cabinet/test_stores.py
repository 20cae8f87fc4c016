"""The stores & terminals page (``/cabinet/stores``, owner) over plain HTTP, and the
month's usage against the merchant's plan (``services.usage``)."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

from cloud.api.app import create_app
from cloud.clock import ManualClock, to_epoch
from cloud.services import usage
from cloud.services.deps import Deps
from tests.cabinet.conftest import LINES, Staff, cabinet_client, post_form
from tests.conftest import Tenant

PAGE = "/cabinet/stores"


def _token(html: str) -> str:
    match = re.search(r'<p class="token" id="token">([^<]+)</p>', html)
    assert match is not None, html[:2000]
    return match.group(1)


async def test_an_owner_issues_a_token_shown_once_that_works_until_revoked(
    aiohttp_client: Any, deps: Deps, staff: Staff, demo_tenant: Tenant
) -> None:
    """The owner adds a store and a native terminal in it, issues a token: it is on
    that page only (a reload does not show it), a till prices a receipt with it, and
    after «Отозвать» the same till is refused at once."""
    owner = await cabinet_client(aiohttp_client, deps, staff.owner)
    page = await (await post_form(owner, PAGE, {"name": "Салон на Арбате"}, PAGE)).text()
    assert "Магазин «Салон на Арбате» добавлен" in page
    store_id = await deps.db.fetch_value("SELECT id FROM stores WHERE name = 'Салон на Арбате'")
    form = {"store": str(store_id), "terminal_name": "Стойка", "channel": "native"}
    await post_form(owner, PAGE + "/terminals", form, PAGE)
    terminal_id = await deps.db.fetch_value("SELECT id FROM terminals WHERE name = 'Стойка'")
    issued = await post_form(owner, f"{PAGE}/terminals/{terminal_id}/token", {}, PAGE)
    token = _token(await issued.text())
    assert token not in await (await owner.get(PAGE)).text()
    till = await aiohttp_client(
        create_app(deps.settings, deps=deps), headers={"Authorization": f"Bearer {token}"}
    )
    body = {"receipt": {"id": "t-1", "lines": LINES}}
    assert (await till.post("/api/v1/checkout/calculate", json=body)).status == 200
    page = await (await post_form(owner, f"{PAGE}/terminals/{terminal_id}/revoke", {}, PAGE)).text()
    assert "Отозвано токенов: 1" in page
    assert (await till.post("/api/v1/checkout/calculate", json=body)).status == 401


async def test_bad_store_and_terminal_input_is_shown_on_the_page(
    aiohttp_client: Any, deps: Deps, staff: Staff, demo_tenant: Tenant, other_tenant: Tenant
) -> None:
    """An unknown time zone, a blank name, an unknown channel and another merchant's
    store are refused with a Russian message (422), nothing is created."""
    owner = await cabinet_client(aiohttp_client, deps, staff.owner)
    before = await deps.db.fetch_value("SELECT COUNT(*) FROM terminals")
    for path, form, text in (
        (PAGE, {"name": "Склад", "timezone": "Mars/Olympus"}, "часовой пояс"),
        (PAGE, {"name": "  "}, "Название"),
        (PAGE + "/terminals", {"store": str(demo_tenant.store_id), "terminal_name": "Х",
                               "channel": "teletype"}, "Неизвестный канал"),
        (PAGE + "/terminals", {"store": str(other_tenant.store_id), "terminal_name": "Х",
                               "channel": "native"}, "Магазин"),
    ):  # fmt: skip
        response = await post_form(owner, path, form, PAGE)
        assert response.status == 422, form
        assert text in await response.text(), form
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM terminals") == before
    assert not await deps.db.fetch_value("SELECT COUNT(*) FROM stores WHERE name = 'Склад'")


async def test_frontol_key_evotor_link_and_bridge_health_are_shown(
    aiohttp_client: Any, deps: Deps, staff: Staff, demo_tenant: Tenant
) -> None:
    """Issuing the Frontol key shows it once with the organisation's address; rotating
    gives another key (the organisation stays). Without Evotor the page says it is not
    linked; a bridge terminal that never called is flagged as out of touch."""
    owner = await cabinet_client(aiohttp_client, deps, staff.owner)
    page = await (await owner.get(PAGE)).text()
    assert "Frontol не подключён" in page and "Не связан" in page
    first = await (await post_form(owner, PAGE + "/frontol", {}, PAGE)).text()
    second = await (await post_form(owner, PAGE + "/frontol", {}, PAGE)).text()
    assert _token(first) != _token(second)
    organization = await deps.db.fetch_value(
        "SELECT organization FROM frontol_organizations WHERE merchant_id = :m",
        {"m": demo_tenant.merchant_id},
    )
    page = await (await owner.get(PAGE)).text()
    assert f"/frontol/v1/{organization}" in page and _token(second) not in page
    form = {"store": str(demo_tenant.store_id), "terminal_name": "Бридж", "channel": "bridge"}
    page = await (await post_form(owner, PAGE + "/terminals", form, PAGE)).text()
    assert "давно не на связи" in page


async def test_usage_this_month_is_shown_against_the_plan(
    aiohttp_client: Any, client: TestClient, deps: Deps, clock: ManualClock, staff: Staff,
    demo_tenant: Tenant, customer: int,
) -> None:  # fmt: skip
    """Sales and sent messages of the merchant's current month count (last month's and
    unsent ones do not) and show against the plan the operator set; without a plan the
    page says none is set."""
    owner = await cabinet_client(aiohttp_client, deps, staff.owner)
    assert "Тариф не назначен" in await (await owner.get(PAGE)).text()
    now = to_epoch(clock())
    for status, cost, sent_at in (
        ("sent", 350, now), ("delivered", 150, now), ("pending", 999, None),
        ("sent", 777, now - 40 * 86400),
    ):  # fmt: skip
        await deps.db.execute(
            "INSERT INTO notifications (merchant_id, channel, recipient_enc, body, status, "
            "cost, created_at, sent_at) VALUES (:m, 'sms', :r, 'x', :s, :c, :now, :sent)",
            {"m": demo_tenant.merchant_id, "r": b"x", "s": status, "c": cost, "now": now,
             "sent": sent_at},
        )  # fmt: skip
    await usage.set_plan(deps.db, demo_tenant.merchant_id, "Старт", 100, 50000, clock())
    month = await usage.month_usage(deps, demo_tenant.merchant_id)
    assert (month.month, month.receipts, month.messages, month.message_cost) == (
        "2026-11", 1, 3, 500,
    )  # fmt: skip  # 3: the customer's registration code was an SMS too
    assert (month.receipts_share, month.budget_share) == (1, 1)
    page = await (await owner.get(PAGE)).text()
    assert "Тариф «Старт»" in page and "1 из 100" in page and "5,00 ₽ из 500,00 ₽" in page
    clock.advance(days=15)  # December in Moscow: a new month starts from zero
    month = await usage.month_usage(deps, demo_tenant.merchant_id)
    assert (month.month, month.receipts, month.messages) == ("2026-12", 0, 0)


async def test_only_the_owner_opens_the_stores_page(
    aiohttp_client: Any, deps: Deps, staff: Staff, demo_tenant: Tenant
) -> None:
    """A manager and a viewer get the 403 page on the stores page and its forms, and
    no token is issued."""
    for login in (staff.manager, staff.viewer):
        user = await cabinet_client(aiohttp_client, deps, login)
        assert (await user.get(PAGE)).status == 403
        response = await post_form(
            user, f"{PAGE}/terminals/{demo_tenant.terminal_id}/token", {}, "/cabinet/customers"
        )
        assert response.status == 403
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM terminal_credentials") == 2
