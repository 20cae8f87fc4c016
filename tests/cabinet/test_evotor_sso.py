"""Single sign-on from the Evotor marketplace: Evotor frames ``/cabinet/evotor`` with the
app's cloud token and the user id; the framed page hands a short-lived ticket to a new
window, which signs in as the merchant's Evotor owner account."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

from cloud.cabinet import accounts as cabinet_accounts
from cloud.cabinet import evotor_sso
from cloud.clock import ManualClock
from cloud.services import evotor_accounts
from cloud.services.deps import Deps
from tests.cabinet.conftest import PASSWORD, cabinet_client, post_form

USER = "01-000000000000001"
OTHER_USER = "01-000000000000002"
CLOUD_TOKEN = "f46b89a5-8e80-4591-b0aa-94551790444b"
OTHER_TOKEN = "0b8e1a6c-3d1f-4a52-9d9e-1f2a3b4c5d6e"


async def linked_merchant(deps: Deps, user: str, token: str, name: str) -> int:
    """An Evotor install as Evotor makes it: user/create, then user/token."""
    created = await evotor_accounts.create_account(deps, user, name)
    await evotor_accounts.store_cloud_token(deps, user, token)
    return created.merchant_id


def ticket_of(html: str) -> str:
    match = re.search(r'name="ticket" value="([^"]+)"', html)
    assert match is not None, html[:800]
    return match.group(1)


async def open_frame(client: TestClient, user: str, token: str) -> Any:
    return await client.get("/cabinet/evotor", params={"token": token, "user_id": user})


async def test_the_framed_page_signs_the_evotor_owner_in_through_a_new_window(
    aiohttp_client: Any, deps: Deps
) -> None:
    """The right cloud token opens a page Evotor may frame (and only Evotor), naming the
    merchant; its ticket, posted from the new window, signs in as the merchant's owner
    ``evotor-<user id>`` (made on first use, once however often it is used) and lands
    on the customers page of that merchant."""
    merchant = await linked_merchant(deps, USER, CLOUD_TOKEN, "ООО Ромашка")
    frame = await cabinet_client(aiohttp_client, deps, None)
    page = await open_frame(frame, USER, CLOUD_TOKEN)
    html = await page.text()
    assert page.status == 200 and "ООО Ромашка" in html
    assert "X-Frame-Options" not in page.headers
    assert "frame-ancestors https://*.evotor.ru" in page.headers["Content-Security-Policy"]
    ticket = ticket_of(html)

    for _ in range(2):  # a second click signs in the same account, creates none
        window = await cabinet_client(aiohttp_client, deps, None)
        entered = await window.post(
            "/cabinet/evotor/enter", data={"ticket": ticket}, allow_redirects=False
        )
        assert entered.status == 303 and entered.headers["Location"] == "/cabinet/customers"
        customers = await window.get("/cabinet/customers")
        text = await customers.text()
        assert customers.status == 200 and "ООО Ромашка" in text and "evotor-" + USER in text
    accounts = await deps.db.fetch_all(
        "SELECT merchant_id, role FROM cabinet_users WHERE login = :l", {"l": "evotor-" + USER}
    )
    assert [(int(r["merchant_id"]), r["role"]) for r in accounts] == [(merchant, "owner")]


async def test_a_wrong_or_borrowed_token_opens_nothing(aiohttp_client: Any, deps: Deps) -> None:
    """A token that is not the user's stored cloud token (another user's, a made-up one,
    an unknown user, a malformed id, none at all) gets a refusal page with no ticket;
    every other cabinet page still refuses framing."""
    await linked_merchant(deps, USER, CLOUD_TOKEN, "ООО Ромашка")
    await linked_merchant(deps, OTHER_USER, OTHER_TOKEN, "ИП Другой")
    client = await cabinet_client(aiohttp_client, deps, None)
    for user, token in (
        (USER, OTHER_TOKEN),
        (USER, CLOUD_TOKEN[:-1] + "0"),
        ("01-000000000000009", CLOUD_TOKEN),
        ("not-an-id", CLOUD_TOKEN),
        (USER, ""),
    ):
        page = await open_frame(client, user, token)
        html = await page.text()
        assert page.status == 403 and 'name="ticket"' not in html, (user, token)
        assert "Ромашка" not in html
    login = await client.get("/cabinet/login")
    assert login.headers["X-Frame-Options"] == "DENY"


async def test_a_forged_or_stale_ticket_signs_in_nobody(
    aiohttp_client: Any, deps: Deps, clock: ManualClock
) -> None:
    """A ticket altered to name another merchant, or used after its two minutes, is
    refused and leaves the window signed out."""
    await linked_merchant(deps, USER, CLOUD_TOKEN, "ООО Ромашка")
    other = await linked_merchant(deps, OTHER_USER, OTHER_TOKEN, "ИП Другой")
    frame = await cabinet_client(aiohttp_client, deps, None)
    ticket = ticket_of(await (await open_frame(frame, USER, CLOUD_TOKEN)).text())
    forged = f"{other}.{ticket.split('.', 1)[1]}"

    async def refused(sent: str) -> None:
        window = await cabinet_client(aiohttp_client, deps, None)
        answer = await window.post(
            "/cabinet/evotor/enter", data={"ticket": sent}, allow_redirects=False
        )
        assert answer.status == 403, sent
        after = await window.get("/cabinet/customers", allow_redirects=False)
        assert after.status == 303 and after.headers["Location"] == "/cabinet/login"

    await refused(forged)
    await refused("garbage")
    clock.advance(seconds=evotor_sso.TICKET_SECONDS + 1)
    await refused(ticket)


async def test_the_owner_can_switch_the_evotor_sign_in_off(aiohttp_client: Any, deps: Deps) -> None:
    """The Evotor account is staff like any other: once another owner disables it on the
    staff page, a fresh ticket no longer signs in, and nothing re-creates it."""
    merchant = await linked_merchant(deps, USER, CLOUD_TOKEN, "ООО Ромашка")
    frame = await cabinet_client(aiohttp_client, deps, None)
    ticket = ticket_of(await (await open_frame(frame, USER, CLOUD_TOKEN)).text())
    window = await cabinet_client(aiohttp_client, deps, None)
    await window.post("/cabinet/evotor/enter", data={"ticket": ticket})
    evotor_user = await deps.db.fetch_value(
        "SELECT id FROM cabinet_users WHERE login = :l", {"l": "evotor-" + USER}
    )
    await cabinet_accounts.create_user(deps, merchant, "boss@romashka.ru", PASSWORD, "owner")
    boss = await cabinet_client(aiohttp_client, deps, "boss@romashka.ru")
    disabled = await post_form(boss, f"/cabinet/staff/{evotor_user}/disable", {}, "/cabinet/staff")
    assert disabled.status == 303, await disabled.text()

    fresh = ticket_of(await (await open_frame(frame, USER, CLOUD_TOKEN)).text())
    again = await cabinet_client(aiohttp_client, deps, None)
    refused = await again.post(
        "/cabinet/evotor/enter", data={"ticket": fresh}, allow_redirects=False
    )
    assert refused.status == 403 and "отключил" in await refused.text()
    assert (
        await deps.db.fetch_value(
            "SELECT COUNT(*) FROM cabinet_users WHERE login = :l", {"l": "evotor-" + USER}
        )
        == 1
    )
