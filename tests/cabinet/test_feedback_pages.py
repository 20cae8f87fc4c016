"""The feedback inbox in the cabinet: ratings and comments with NPS per store and
period, the reply queued to the customer once, roles and tenancy."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from cloud.messages import mailings
from cloud.messages.outbox import drain
from cloud.notify import LogSmsProvider
from cloud.services import feedback
from cloud.services.deps import Deps
from schemas import messages as wire
from tests.cabinet.conftest import Staff, cabinet_client, post_form
from tests.conftest import Tenant
from tests.helpers import register_over_api


async def _rated(deps: Deps, merchant_id: int, rating: int, comment: str | None) -> int:
    """The demo customer's purchase R-1 rated through the customer's own service."""
    receipt = await deps.db.fetch_value(
        "SELECT id FROM receipts WHERE merchant_id = :m AND external_id = 'R-1'",
        {"m": merchant_id},
    )
    assert await feedback.submit(deps, int(receipt), rating, comment)
    return int(await deps.db.fetch_value(
        "SELECT id FROM feedback WHERE receipt_id = :r", {"r": receipt}
    ))  # fmt: skip


async def _reply(client: TestClient, feedback_id: int, text: str) -> Any:
    return await post_form(
        client, f"/cabinet/feedback/{feedback_id}/reply", {"text": text}, "/cabinet/feedback"
    )


async def test_inbox_nps_and_one_reply(
    aiohttp_client: Any, deps: Deps, staff: Staff, customer: int, demo_tenant: Tenant
) -> None:
    """A 3-star review with a comment shows in the inbox with its store and NPS −100
    (one detractor); a period that excludes its day shows none; a bad date is a 400
    page; the manager's reply is stored, queued as an SMS to the customer and shown;
    a second reply is refused; an empty reply is refused beside the form."""
    feedback_id = await _rated(deps, demo_tenant.merchant_id, 3, "Долго ждали кальян")
    manager = await cabinet_client(aiohttp_client, deps, staff.manager)
    page = await manager.get("/cabinet/feedback")
    html = await page.text()
    assert page.status == 200 and "Долго ждали кальян" in html
    total = html[html.index('id="nps-total"') :]
    assert "<strong>-100.0</strong>" in total
    day = await deps.db.fetch_value("SELECT local_date FROM feedback WHERE id = :f",
                                    {"f": feedback_id})  # fmt: skip
    empty = await (await manager.get("/cabinet/feedback", params={"to": "2000-01-01"})).text()
    assert "Долго ждали" not in empty and "Отзывов за этот период пока нет" in empty
    same = await (await manager.get("/cabinet/feedback", params={"from": day, "to": day})).text()
    assert "Долго ждали" in same
    bad = await manager.get("/cabinet/feedback", params={"from": "вчера"})
    assert bad.status == 400 and "ГГГГ-ММ-ДД" in await bad.text()
    blank = await _reply(manager, feedback_id, "   ")
    assert blank.status == 422 and "от 1 до 500" in await blank.text()
    sent = await _reply(manager, feedback_id, "Простите, исправимся!")
    assert sent.status == 303
    queued = await deps.db.fetch_all(
        "SELECT customer_id FROM notifications WHERE kind = 'feedback_reply'"
    )
    assert [int(r["customer_id"]) for r in queued] == [customer]
    shown = await (await manager.get("/cabinet/feedback")).text()
    assert (
        "Простите, исправимся!" in shown and f"/cabinet/feedback/{feedback_id}/reply" not in shown
    )
    twice = await _reply(manager, feedback_id, "Ещё раз")
    assert twice.status == 409 and "уже ответили" in await twice.text()


async def test_viewer_reads_and_strangers_reach_nothing(
    aiohttp_client: Any, deps: Deps, staff: Staff, customer: int, demo_tenant: Tenant
) -> None:
    """A viewer sees the review but no reply form, and a reply posted anyway is 403;
    another merchant's owner sees neither the review nor our NPS and their reply to it
    is a 404 page; nothing is replied or queued; the signed-out go to the sign-in."""
    feedback_id = await _rated(deps, demo_tenant.merchant_id, 5, "Отлично")
    viewer = await cabinet_client(aiohttp_client, deps, staff.viewer)
    html = await (await viewer.get("/cabinet/feedback")).text()
    assert "Отлично" in html and f"/cabinet/feedback/{feedback_id}/reply" not in html
    assert (await _reply(viewer, feedback_id, "Спасибо")).status == 403
    stranger = await cabinet_client(aiohttp_client, deps, staff.stranger)
    theirs = await (await stranger.get("/cabinet/feedback")).text()
    assert "Отлично" not in theirs and "<strong>—</strong>" in theirs
    assert (await _reply(stranger, feedback_id, "Чужой ответ")).status == 404
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM feedback WHERE reply IS NOT NULL") == 0
    assert (
        await deps.db.fetch_value(
            "SELECT COUNT(*) FROM notifications WHERE kind = 'feedback_reply'"
        )
        == 0
    )
    anonymous = await cabinet_client(aiohttp_client, deps, None)
    assert (await anonymous.get("/cabinet/feedback", allow_redirects=False)).status == 303


async def test_the_card_shows_the_customers_messages_and_reviews(
    aiohttp_client: Any, client: TestClient, deps: Deps, staff: Staff, customer: int,
    demo_tenant: Tenant,
) -> None:  # fmt: skip
    """After a mailing is sent to the customer and they rate a purchase, their card's
    «Сообщения» block lists the mailing with its status and cost and the totals, and
    «Отзывы» shows the rating and comment; another customer's card shows neither."""
    deps.sms = LogSmsProvider(cost_kopecks=250)
    await mailings.send(deps, demo_tenant.merchant_id, wire.MailingRequest(
        segment=wire.Segment(), text="Новое меню"))  # fmt: skip
    assert (await drain(deps)).sent == 1
    await _rated(deps, demo_tenant.merchant_id, 4, "Вкусно, но шумно")
    manager = await cabinet_client(aiohttp_client, deps, staff.manager)
    html = await (await manager.get(f"/cabinet/customers/{customer}")).text()
    block = html[html.index('id="messages"') : html.index('id="reviews"')]
    assert "Рассылка" in block and "отправлено" in block and "2,50" in block
    assert "Всего 1, дошло до оператора 1, стоимость 2,50" in block
    reviews = html[html.index('id="reviews"') :]
    assert "★★★★☆" in reviews and "Вкусно, но шумно" in reviews
    other = await register_over_api(client, deps, "+79160000999", name="Другой")
    html = await (await manager.get(f"/cabinet/customers/{other['id']}")).text()
    assert "Вкусно, но шумно" not in html and "Сообщений не было" in html
