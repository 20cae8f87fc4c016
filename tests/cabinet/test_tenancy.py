"""Another merchant's staff reach none of this merchant's customers or staff, on any
route of the cabinet."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import load_workbook

from cloud.messages import mailings
from cloud.services import feedback
from cloud.services.deps import Deps
from schemas import messages as wire
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


async def test_other_merchants_staff_reach_nothing_of_ours_at_the_counter_or_stores(
    aiohttp_client: Any, deps: Deps, staff: Staff, customer: int, demo_tenant: Any,
    other_tenant: Any,
) -> None:  # fmt: skip
    """Another merchant's owner at the counter: our customer's phone is not found (the
    page offers to register it in their own base), our store cannot be chosen (404),
    our counter receipt cannot be returned. On the stores page none of our stores,
    terminals or Frontol details show, and issuing or revoking our terminal's tokens is
    a 404. Signed out, every counter and stores route sends to the sign-in. Nothing of
    ours is written."""
    manager = await cabinet_client(aiohttp_client, deps, staff.manager)
    for path, form in (("/find", {"q": PHONE}), ("/receipt", {"amount": "100"}),
                       ("/close", {})):  # fmt: skip
        await post_form(manager, "/cabinet/counter" + path, form, "/cabinet/counter")
    sale = await deps.db.fetch_value(
        "SELECT external_id FROM receipts WHERE source = 'cabinet' AND kind = 'sale'"
    )
    assert sale is not None
    stranger = await cabinet_client(aiohttp_client, deps, staff.stranger)
    counter = "/cabinet/counter"
    await post_form(stranger, counter + "/find", {"q": PHONE}, counter)
    page = await (await stranger.get(counter)).text()
    assert "не найден" in page and "Анна" not in page
    chosen = await post_form(stranger, counter + "/store", {"store": str(demo_tenant.store_id)},
                             counter)  # fmt: skip
    assert chosen.status == 404
    await post_form(stranger, counter + "/refund", {"receipt_id": sale}, counter)
    assert f"«{sale}» не найден" in await (await stranger.get(counter)).text()
    assert not await deps.db.fetch_value("SELECT COUNT(*) FROM receipts WHERE kind = 'refund'")

    owner = await cabinet_client(aiohttp_client, deps, staff.owner)
    await post_form(owner, "/cabinet/stores/frontol", {}, "/cabinet/stores")
    stores = await (await stranger.get("/cabinet/stores")).text()
    assert "Демо: магазин" not in stores
    assert f'id="terminal-{demo_tenant.terminal_id}"' not in stores
    org = await deps.db.fetch_value("SELECT organization FROM frontol_organizations")
    assert org not in stores
    tokens = await deps.db.fetch_value("SELECT COUNT(*) FROM terminal_credentials")
    for action in ("token", "revoke"):
        response = await post_form(
            stranger, f"/cabinet/stores/terminals/{demo_tenant.terminal_id}/{action}", {},
            "/cabinet/stores",
        )  # fmt: skip
        assert response.status == 404, action
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM terminal_credentials") == tokens
    assert not await deps.db.fetch_value(
        "SELECT COUNT(*) FROM terminal_credentials WHERE revoked_at IS NOT NULL"
    )
    anonymous = await cabinet_client(aiohttp_client, deps, None)
    for path in ("/cabinet/counter", "/cabinet/stores"):
        assert (await anonymous.get(path, allow_redirects=False)).status == 303
    for path in ("/cabinet/counter/find", "/cabinet/counter/close", "/cabinet/counter/refund",
                 "/cabinet/stores", "/cabinet/stores/frontol",
                 f"/cabinet/stores/terminals/{demo_tenant.terminal_id}/token"):  # fmt: skip
        response = await post_form(anonymous, path, {}, "/cabinet/login")
        assert response.status == 303, path


async def test_other_merchants_owner_reaches_none_of_our_messages_files_or_feedback(
    aiohttp_client: Any, deps: Deps, staff: Staff, customer: int
) -> None:
    """Area D's routes as another merchant's owner: our mailing's results and a reply to
    our feedback are 404 pages; the mailing list, the feedback inbox and the export
    (their own base) show nothing of ours; the import and templates pages open on their
    own merchant; nothing of ours is written."""
    merchant_id = int(await deps.db.fetch_value(
        "SELECT merchant_id FROM customers WHERE id = :c", {"c": customer}
    ))  # fmt: skip
    mailing = await mailings.send(deps, merchant_id, wire.MailingRequest(
        segment=wire.Segment(), text="Только для своих"))  # fmt: skip
    receipt = await deps.db.fetch_value(
        "SELECT id FROM receipts WHERE customer_id = :c", {"c": customer}
    )
    assert await feedback.submit(deps, int(receipt), 2, "Наш отзыв")
    feedback_id = await deps.db.fetch_value("SELECT id FROM feedback")
    stranger = await cabinet_client(aiohttp_client, deps, staff.stranger)
    assert (await stranger.get(f"/cabinet/mailings/{mailing.id}")).status == 404
    reply = await post_form(stranger, f"/cabinet/feedback/{feedback_id}/reply",
                            {"text": "Чужой"}, "/cabinet/feedback")  # fmt: skip
    assert reply.status == 404
    assert "Только для своих" not in await (await stranger.get("/cabinet/mailings")).text()
    assert "Наш отзыв" not in await (await stranger.get("/cabinet/feedback")).text()
    export = await stranger.get("/cabinet/export")
    sheet = load_workbook(io.BytesIO(await export.read()), read_only=True).worksheets[0]
    cells = [str(v) for row in sheet.iter_rows(values_only=True) for v in row if v is not None]
    assert export.status == 200 and not any(PHONE[2:] in cell for cell in cells)
    for page in ("/cabinet/import", "/cabinet/templates"):
        assert (await stranger.get(page)).status == 200, page
    assert not await deps.db.fetch_value("SELECT COUNT(*) FROM feedback WHERE reply IS NOT NULL")
    assert not await deps.db.fetch_value("SELECT COUNT(*) FROM message_templates")
