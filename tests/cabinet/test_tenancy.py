"""Another merchant's staff reach none of this merchant's customers or staff, on any
route of the cabinet."""

from __future__ import annotations

from typing import Any

from cloud.services.deps import Deps
from tests.cabinet.conftest import CARD, PHONE, Staff, cabinet_client, post_form


async def test_other_merchants_owner_cannot_open_or_act_on_anything_of_ours(
    aiohttp_client: Any, deps: Deps, staff: Staff, customer: int
) -> None:
    """Signed in as another merchant's owner: our customer's card and every action on
    it are 404 pages (as if absent), the search does not find our customer by phone or
    card, the list shows none of ours, and our staff cannot be disabled or enabled.
    Nothing is written."""
    stranger = await cabinet_client(aiohttp_client, deps, staff.stranger)
    card = f"/cabinet/customers/{customer}"
    page = await stranger.get(card)
    assert page.status == 404 and PHONE not in await page.text()
    for path, form in (
        (card + "/adjust", {"kind": "credit", "amount": "100", "reason": "Чужой"}),
        (card + "/block", {"reason": "Чужой"}),
        (card + "/unblock", {"reason": "Чужой"}),
    ):
        response = await post_form(stranger, path, form, "/cabinet/customers")
        assert response.status == 404, path
    for query in (PHONE, CARD):
        found = await (await stranger.get("/cabinet/customers", params={"q": query})).text()
        assert card not in found and "Никого не нашли" in found
    assert PHONE not in await (await stranger.get("/cabinet/customers")).text()
    ours = await deps.db.fetch_all(
        "SELECT id, login FROM cabinet_users WHERE login IN (:a, :b)",
        {"a": staff.manager, "b": staff.viewer},
    )
    for user in ours:
        for action in ("disable", "enable"):
            response = await post_form(
                stranger, f"/cabinet/staff/{user['id']}/{action}", {}, "/cabinet/staff"
            )
            assert response.status == 404, action
    staff_page = await (await stranger.get("/cabinet/staff")).text()
    assert staff.manager not in staff_page and staff.owner not in staff_page
    assert not await deps.db.fetch_value("SELECT COUNT(*) FROM customer_actions")
    assert not await deps.db.fetch_value(
        "SELECT COUNT(*) FROM cabinet_users WHERE disabled_at IS NOT NULL"
    )
    # Our own manager still works on the same customer: the refusals were tenancy.
    manager = await cabinet_client(aiohttp_client, deps, staff.manager)
    assert (await manager.get(card)).status == 200


async def test_unknown_pages_and_ids_are_html_404s(
    aiohttp_client: Any, deps: Deps, staff: Staff
) -> None:
    """An unknown cabinet page or a customer id nobody has is a Russian 404 page (a
    wrong method a 405 page, not the API's JSON), and an anonymous visitor is sent to
    the sign-in before learning either."""
    client = await cabinet_client(aiohttp_client, deps, staff.owner)
    for path in ("/cabinet/customers/999999", "/cabinet/nowhere"):
        response = await client.get(path)
        assert response.status == 404, path
        assert "text/html" in response.headers["Content-Type"] and "Не найдено" in (
            await response.text()
        )
    wrong_method = await client.get("/cabinet/logout")
    assert wrong_method.status == 405 and "text/html" in wrong_method.headers["Content-Type"]
    anonymous = await cabinet_client(aiohttp_client, deps, None)
    response = await anonymous.get("/cabinet/customers/999999", allow_redirects=False)
    assert response.status == 303
