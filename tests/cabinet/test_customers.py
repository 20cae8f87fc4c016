"""The customer pages: search, the card, manual adjustment, block / unblock, roles."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from cloud.services.deps import Deps
from tests.cabinet.conftest import CARD, PHONE, Staff, cabinet_client, csrf_of, post_form


def _card(customer: int) -> str:
    return f"/cabinet/customers/{customer}"


async def _adjust(client: TestClient, customer: int, **form: str) -> Any:
    html = await (await client.get(_card(customer))).text()
    key = html.split('name="key" value="', 1)[1].split('"', 1)[0]
    return await client.post(
        _card(customer) + "/adjust",
        data={"csrf": csrf_of(html), "key": key, **form},
        allow_redirects=False,
    )


async def test_search_finds_a_customer_by_phone_in_any_spelling_and_by_card(
    aiohttp_client: Any, deps: Deps, staff: Staff, customer: int
) -> None:
    """The search box takes a phone as people write it or a card number; a name is
    answered with why it cannot be searched (names are stored encrypted)."""
    client = await cabinet_client(aiohttp_client, deps, staff.viewer)
    for query in ("8 (916) 123-45-67", PHONE, CARD):
        page = await client.get("/cabinet/customers", params={"q": query})
        html = await page.text()
        assert page.status == 200 and f'href="/cabinet/customers/{customer}"' in html, query
    missing = await (await client.get("/cabinet/customers", params={"q": "+79990000000"})).text()
    assert "Никого не нашли" in missing
    by_name = await (await client.get("/cabinet/customers", params={"q": "Анна"})).text()
    assert "Поиск по имени недоступен" in by_name
    listed = await (await client.get("/cabinet/customers")).text()
    assert PHONE in listed


async def test_the_card_shows_balance_lots_with_expiry_and_the_purchase(
    aiohttp_client: Any, deps: Deps, staff: Staff, customer: int
) -> None:
    """The card shows the tier, the purchase's receipt in the movements and the lot it
    earned with its activation and expiry dates."""
    client = await cabinet_client(aiohttp_client, deps, staff.viewer)
    page = await client.get(_card(customer))
    html = await page.text()
    assert page.status == 200
    assert "R-1" in html and "Бонусы по партиям" in html and "за покупку" in html
    assert 'id="tier"' in html and CARD in html
    assert "Начислить или списать" not in html  # a viewer gets no forms


async def test_a_manager_credits_and_debits_with_a_reason_seen_in_the_history(
    aiohttp_client: Any, deps: Deps, staff: Staff, customer: int
) -> None:
    """A manual credit goes through the adjustment service: the balance grows, the
    movement shows the reason and who did it from the cabinet; a debit beyond the
    balance is refused beside the amount."""
    client = await cabinet_client(aiohttp_client, deps, staff.manager)
    before = await (await client.get(_card(customer))).text()
    done = await _adjust(client, customer, kind="credit", amount="250,50", reason="Компенсация")
    assert done.status == 303
    html = await (await client.get(_card(customer))).text()
    assert "Начислено 250,50 ₽" in html and "Компенсация" in html
    assert f"{staff.manager} (личный кабинет)" in html
    assert html.count("вручную") == before.count("вручную") + 1
    too_much = await _adjust(client, customer, kind="debit", amount="999999", reason="Ошибка")
    text = await too_much.text()
    assert too_much.status == 422 and "Нельзя списать больше" in text


async def test_a_double_submitted_adjustment_credits_once(
    aiohttp_client: Any, deps: Deps, staff: Staff, customer: int
) -> None:
    """The form carries an idempotency key: posting the same form twice (a double
    click, a reload) credits once."""
    client = await cabinet_client(aiohttp_client, deps, staff.manager)
    html = await (await client.get(_card(customer))).text()
    key = html.split('name="key" value="', 1)[1].split('"', 1)[0]
    form = {"csrf": csrf_of(html), "key": key, "kind": "credit", "amount": "100",
            "reason": "Подарок"}  # fmt: skip
    for _ in range(2):
        response = await client.post(_card(customer) + "/adjust", data=form, allow_redirects=False)
        assert response.status == 303
    count = await deps.db.fetch_value(
        "SELECT COUNT(*) FROM customer_actions WHERE customer_id = :c AND action = 'credit'",
        {"c": customer},
    )
    assert count == 1


async def test_bad_adjustment_input_is_shown_beside_its_field(
    aiohttp_client: Any, deps: Deps, staff: Staff, customer: int
) -> None:
    """A bad amount, a missing reason and a debit with an expiry date are 422 pages with
    the message beside the field, and nothing moves."""
    client = await cabinet_client(aiohttp_client, deps, staff.owner)
    for form, message in (
        ({"kind": "credit", "amount": "abc", "reason": "x"}, "Сумма: больше нуля"),
        ({"kind": "credit", "amount": "1.005", "reason": "x"}, "Сумма: больше нуля"),
        ({"kind": "credit", "amount": "-5", "reason": "x"}, "Сумма: больше нуля"),
        ({"kind": "credit", "amount": "5", "reason": ""}, "Укажите причину"),
        ({"kind": "debit", "amount": "5", "reason": "x", "expires_on": "2030-01-01"},
         "только для начисления"),
        ({"kind": "gift", "amount": "5", "reason": "x"}, "начислить или списать"),
    ):  # fmt: skip
        response = await _adjust(client, customer, **form)
        assert response.status == 422 and message in await response.text(), form
    assert not await deps.db.fetch_value(
        "SELECT COUNT(*) FROM customer_actions WHERE customer_id = :c", {"c": customer}
    )


async def test_a_viewer_reads_but_cannot_adjust_block_or_manage_staff(
    aiohttp_client: Any, deps: Deps, staff: Staff, customer: int
) -> None:
    """Roles hold on the server, not only in the page: a viewer's posts are 403."""
    client = await cabinet_client(aiohttp_client, deps, staff.viewer)
    page = _card(customer)
    for path, form in (
        (page + "/adjust", {"kind": "credit", "amount": "100", "reason": "Хочу"}),
        (page + "/block", {"reason": "Хочу"}),
        (page + "/unblock", {"reason": "Хочу"}),
        ("/cabinet/staff", {"login": "new@demo.ru", "password": "password123", "role": "owner"}),
    ):
        response = await post_form(client, path, form, page)
        assert response.status == 403 and "Нет доступа" in await response.text(), path
    assert (await client.get("/cabinet/staff")).status == 403
    assert not await deps.db.fetch_value("SELECT COUNT(*) FROM customer_actions")


async def test_a_manager_blocks_and_unblocks_the_card_with_a_reason(
    aiohttp_client: Any, deps: Deps, staff: Staff, customer: int
) -> None:
    """Block needs a reason; the card then says who blocked it and why; unblock lifts
    it. A manager cannot open the staff page."""
    client = await cabinet_client(aiohttp_client, deps, staff.manager)
    page = _card(customer)
    assert (await post_form(client, page + "/block", {"reason": ""}, page)).status == 422
    assert (
        await post_form(client, page + "/block", {"reason": "Мошенничество"}, page)
    ).status == 303
    html = await (await client.get(page)).text()
    assert "заблокирован" in html and "Мошенничество" in html and "Разблокировать" in html
    assert (
        await post_form(client, page + "/unblock", {"reason": "Разобрались"}, page)
    ).status == 303
    assert "Заблокировать карту" in await (await client.get(page)).text()
    assert (await client.get("/cabinet/staff")).status == 403


async def test_an_owner_adds_staff_who_sign_in_and_disables_them(
    aiohttp_client: Any, deps: Deps, staff: Staff
) -> None:
    """The owner adds a manager from the staff page (bad input beside its field), the
    manager signs in; disabled, the manager is signed out. The only owner cannot
    disable themself (no button) nor be disabled through the form."""
    owner = await cabinet_client(aiohttp_client, deps, staff.owner)
    form = {"login": "Cashier@Demo.ru", "password": "password123", "role": "manager"}
    short = await post_form(
        owner, "/cabinet/staff", {**form, "password": "short"}, "/cabinet/staff"
    )
    assert short.status == 422 and "Пароль: от 8" in await short.text()
    added = await post_form(owner, "/cabinet/staff", form, "/cabinet/staff")
    assert added.status == 303
    taken = await post_form(owner, "/cabinet/staff", form, "/cabinet/staff")
    assert taken.status == 422 and "уже занят" in await taken.text()
    cashier = await cabinet_client(aiohttp_client, deps, None)
    from tests.cabinet.conftest import sign_in

    assert (await sign_in(cashier, "cashier@demo.ru", "password123")).status == 303
    user_id = await deps.db.fetch_value(
        "SELECT id FROM cabinet_users WHERE login = 'cashier@demo.ru'"
    )
    off = await post_form(owner, f"/cabinet/staff/{user_id}/disable", {}, "/cabinet/staff")
    assert off.status == 303
    assert (await cashier.get("/cabinet/customers", allow_redirects=False)).status == 303
    on = await post_form(owner, f"/cabinet/staff/{user_id}/enable", {}, "/cabinet/staff")
    assert on.status == 303
    owner_id = await deps.db.fetch_value(
        "SELECT id FROM cabinet_users WHERE login = :l", {"l": staff.owner}
    )
    alone = await post_form(owner, f"/cabinet/staff/{owner_id}/disable", {}, "/cabinet/staff")
    assert alone.status == 409 and "единственного владельца" in await alone.text()
