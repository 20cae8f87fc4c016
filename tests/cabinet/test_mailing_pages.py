"""The mailing builder and message templates in the cabinet: the preview's count and
cost, one mailing per form however often it is posted, the results with the sale a
participant made, field errors beside the field, roles and tenancy."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

from cloud.clock import ManualClock
from cloud.messages.outbox import drain
from cloud.notify import LogSmsProvider
from cloud.services.deps import Deps
from tests.cabinet.conftest import Staff, cabinet_client, csrf_of
from tests.customer_admin.conftest import sale

TEXT = "Скидка 20 % на всё в выходные"


async def _form(client: TestClient, page: str = "/cabinet/mailings") -> tuple[str, str]:
    html = await (await client.get(page)).text()
    key = re.search(r'name="key" value="([^"]+)"', html)
    return csrf_of(html), key.group(1) if key else ""


async def _post(client: TestClient, data: dict[str, str], key: str | None = None) -> Any:
    csrf, fresh = await _form(client)
    body = {"csrf": csrf, "key": key or fresh, "text": TEXT, "channel": "sms", **data}
    return await client.post("/cabinet/mailings", data=body, allow_redirects=False)


async def test_preview_send_once_and_results(
    aiohttp_client: Any, client: TestClient, deps: Deps, staff: Staff, customer: int,
    clock: ManualClock,
) -> None:  # fmt: skip
    """The preview of buyers with at least one purchase counts our customer at two SMS
    parts of 2.50 ₽ (the text and the refusal link) and offers the send; sending the
    same form twice queues one mailing; after the worker sends it and the customer
    buys, the results page shows the participant, the cost, the buyer and the
    revenue."""
    deps.sms = LogSmsProvider(cost_kopecks=250)
    clock.advance(hours=1)  # the fixture's purchase came before the mailing
    manager = await cabinet_client(aiohttp_client, deps, staff.manager)
    segment = {"purchase_count_min": "1", "attribution_days": "7"}
    preview = await _post(manager, {**segment, "action": "preview"})
    html = await preview.text()
    assert preview.status == 200, html
    assert 'id="participants">1<' in html and 'id="cost">5,00' in html
    assert 'value="send"' in html
    key = re.search(r'name="key" value="([^"]+)"', html)
    assert key is not None
    first = await _post(manager, {**segment, "action": "send"}, key.group(1))
    again = await _post(manager, {**segment, "action": "send"}, key.group(1))
    assert first.status == again.status == 303
    assert first.headers["Location"] == again.headers["Location"]
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM mailings") == 1
    assert (await drain(deps)).sent == 1
    assert (await sale(client, "after-mailing")).status == 200
    clock.advance(days=1)
    results = await manager.get(first.headers["Location"])
    html = await results.text()
    assert results.status == 200 and TEXT in html
    assert 'id="participants">1<' in html and 'id="buyers">1<' in html
    assert 'id="cost">5,00' in html and 'id="revenue">1\u00a0000,00' in html
    listed = await (await manager.get("/cabinet/mailings")).text()
    assert first.headers["Location"] in listed


async def test_bad_fields_are_shown_beside_them_and_nothing_is_sent(
    aiohttp_client: Any, deps: Deps, staff: Staff, customer: int
) -> None:
    """Letters in a range, a reversed range, an empty text, a window of 200 days and an
    empty segment are 4xx pages naming the field, in Russian; no mailing is created."""
    manager = await cabinet_client(aiohttp_client, deps, staff.manager)
    for data, said in (
        ({"revenue_min": "сто"}, "Число"),
        ({"purchase_count_min": "5", "purchase_count_max": "1"}, "«от» не больше «до»"),
        ({"text": "  "}, "Напишите текст"),
        ({"attribution_days": "200"}, "от 1 до 90 дней"),
        ({"registration_channels": "x" * 70}, "каждый до 64 символов"),
    ):
        response = await _post(manager, {**data, "action": "send"})
        assert response.status == 422 and said in await response.text(), data
    nobody = await _post(manager, {"purchase_count_min": "50", "action": "send"})
    assert nobody.status == 422 and "В сегменте нет клиентов" in await nobody.text()
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM mailings") == 0


async def test_viewer_reads_and_strangers_see_nothing_of_ours(
    aiohttp_client: Any, deps: Deps, staff: Staff, customer: int
) -> None:
    """A viewer sees the list and a mailing's results but no builder and cannot send;
    another merchant's owner gets 404 for our mailing, does not see it listed, and their
    preview does not count our customer; the signed-out are sent to the sign-in."""
    manager = await cabinet_client(aiohttp_client, deps, staff.manager)
    sent = await _post(manager, {"action": "send"})
    location = sent.headers["Location"]
    viewer = await cabinet_client(aiohttp_client, deps, staff.viewer)
    page = await (await viewer.get("/cabinet/mailings")).text()
    assert location in page and 'id="mailing"' not in page
    assert (await viewer.get(location)).status == 200
    refused = await _post(viewer, {"action": "send"})
    assert refused.status == 403
    stranger = await cabinet_client(aiohttp_client, deps, staff.stranger)
    assert (await stranger.get(location)).status == 404
    assert location not in await (await stranger.get("/cabinet/mailings")).text()
    theirs = await _post(stranger, {"action": "preview"})
    assert 'id="participants">0<' in await theirs.text()
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM mailings") == 1
    anonymous = await cabinet_client(aiohttp_client, deps, None)
    for path in ("/cabinet/mailings", location, "/cabinet/templates"):
        assert (await anonymous.get(path, allow_redirects=False)).status == 303, path


async def _template(client: TestClient, data: dict[str, str]) -> Any:
    csrf, _ = await _form(client, "/cabinet/templates")
    return await client.post(
        "/cabinet/templates", data={"csrf": csrf, **data}, allow_redirects=False
    )


async def test_templates_edit_check_and_reset(
    aiohttp_client: Any, deps: Deps, staff: Staff, demo_tenant: Any
) -> None:
    """A manager's text for «new tier» is saved and shown; an unknown placeholder is
    refused beside that template; «reset» brings the default back; a viewer cannot
    save; another merchant's edit leaves ours as it was."""
    manager = await cabinet_client(aiohttp_client, deps, staff.manager)
    body = "{merchant}: поздравляем, теперь вы «{tier}»!"
    saved = await _template(manager, {"kind": "tier_changed", "body": body})
    assert saved.status == 303
    page = await (await manager.get("/cabinet/templates")).text()
    assert "поздравляем, теперь вы «{tier}»!" in page.replace("&#34;", '"').replace(
        "&laquo;", "«")  # fmt: skip
    wrong = await _template(manager, {"kind": "tier_changed", "body": "{merchant}: {bonus}"})
    assert wrong.status == 422 and "Шаблон" in await wrong.text()
    viewer = await cabinet_client(aiohttp_client, deps, staff.viewer)
    assert (await _template(viewer, {"kind": "tier_changed", "body": "x"})).status == 403
    stranger = await cabinet_client(aiohttp_client, deps, staff.stranger)
    assert (await _template(stranger, {"kind": "tier_changed", "body": "{tier}"})).status == 303
    stored = await deps.db.fetch_value(
        "SELECT body FROM message_templates WHERE merchant_id = :m AND kind = 'tier_changed'",
        {"m": demo_tenant.merchant_id},
    )
    assert stored == body
    reset = await _template(manager, {"kind": "tier_changed", "body": body, "reset": "1"})
    assert reset.status == 303
    assert (
        await deps.db.fetch_value(
            "SELECT COUNT(*) FROM message_templates WHERE merchant_id = :m",
            {"m": demo_tenant.merchant_id},
        )
        == 0
    )
