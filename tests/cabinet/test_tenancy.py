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


async def test_other_merchants_owner_reaches_none_of_our_messages_files_or_feedback(
    aiohttp_client: Any, deps: Deps, staff: Staff, customer: int
) -> None:
    """Area D's routes as another merchant's owner: our mailing's results and a reply to
    our feedback are 404 pages; the mailing list, the feedback inbox and the export
    (their own base) show nothing of ours; the import and templates pages open on their
    own merchant; nothing of ours is written."""
    import io

    from openpyxl import load_workbook

    from cloud.messages import mailings
    from cloud.services import feedback
    from schemas import messages as wire

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
