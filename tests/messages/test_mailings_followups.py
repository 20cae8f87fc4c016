"""Mailings, continued: the refusal link on advertising messages and the cost of the text
with it, the idempotency key of POST /mailings, results net of returns and counting only
messages that went out."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiohttp.test_utils import TestClient

from cloud.clock import ManualClock
from cloud.messages import unsubscribe
from cloud.messages.outbox import drain
from cloud.messages.providers import sms_parts
from cloud.notify import LogSmsProvider
from cloud.services.deps import Deps
from tests.conftest import Tenant
from tests.helpers import register_over_api
from tests.messages.conftest import add_customer, queue, row

BASE = "/api/v1/merchant/mailings"
PHONE = "+79160000001"
# 60 Cyrillic characters: one SMS part alone, two with the refusal line.
SHORT = "Скидка 20 % на всё в эти выходные! Ждём вас в нашем магазине"


async def _post(client: TestClient, body: dict[str, Any], key: str | None = None) -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    response = await client.post(BASE, json=body, headers=headers)
    return response.status, await response.json()


async def test_advertising_carries_the_link_and_pays_for_it(
    admin: TestClient, deps: Deps, demo_tenant: Tenant
) -> None:
    """A 60-character mailing fits one SMS alone; with the refusal line it takes two, and
    the preview, the stored body and the recorded cost all say two. A service message
    (an expiry warning) gets no link."""
    assert len(SHORT) == 60 and sms_parts(SHORT) == 1
    deps.settings.public_url = "https://loyalty.example.ru"
    deps.sms = LogSmsProvider(cost_kopecks=250)
    customer = await add_customer(deps, demo_tenant.merchant_id, PHONE)
    body = {"segment": {}, "text": SHORT}
    preview = await (await admin.post(BASE + "/preview", json=body)).json()
    assert (preview["parts"], preview["estimated_cost"]) == (2, 5.0)
    status, created = await _post(admin, body)
    assert status == 201
    warning = await queue(deps, demo_tenant.merchant_id, customer, "expiry_warning",
                          {"amount": 15000, "expires_on": "2026-12-31"})  # fmt: skip
    await drain(deps)

    link = unsubscribe.opt_out_link(deps.settings, demo_tenant.merchant_id, customer)
    assert link.startswith("https://loyalty.example.ru/m/stop/")
    sent = await deps.db.fetch_one(
        "SELECT body, cost FROM notifications WHERE mailing_id = :id", {"id": created["id"]}
    )
    assert sent is not None
    assert sent["body"] == f"{SHORT}\nОтказ от рассылки: {link}"
    assert int(sent["cost"]) == 2 * 250
    service = await row(deps, warning)
    assert "Отказ" not in service["body"] and int(service["cost"]) == 250


async def test_the_refusal_page_opts_out_and_the_outbox_honours_it(
    client: TestClient, deps: Deps, demo_tenant: Tenant, other_tenant: Tenant
) -> None:
    """GET of the link shows a form with the merchant's name and changes nothing; POST
    opts out at once and a message queued before is then skipped, not sent or billed;
    a tampered link, or a genuine one of another merchant's id, is a 404 page."""
    customer = await add_customer(deps, demo_tenant.merchant_id, PHONE)
    queued = await queue(deps, demo_tenant.merchant_id, customer, "mailing", {"text": "Акция"})
    path = unsubscribe.opt_out_path(deps.settings, demo_tenant.merchant_id, customer)
    page = await client.get(path)
    text = await page.text()
    assert page.status == 200 and 'method="post"' in text and "Демо" in text
    assert "<script" not in text and 'name="viewport"' in text
    state = "SELECT messages_opt_out_at FROM customers WHERE id = :c"
    assert await deps.db.fetch_value(state, {"c": customer}) is None

    wrong = unsubscribe.opt_out_path(deps.settings, other_tenant.merchant_id, customer)
    for bad in (wrong, path[:-3] + "AAA", "/m/stop/1.2", "/m/stop/x.y.z"):
        response = await client.post(bad)
        assert response.status == 404 and "недействительна" in await response.text()
    assert await deps.db.fetch_value(state, {"c": customer}) is None

    done = await client.post(path)
    assert done.status == 200 and "отписались" in await done.text()
    assert await deps.db.fetch_value(state, {"c": customer}) is not None
    report = await drain(deps)
    assert (report.sent, report.skipped, report.cost) == (0, 1, 0)
    assert (await row(deps, queued))["status"] == "skipped_opt_out"


async def test_a_repeated_key_sends_nothing_twice(
    admin: TestClient, other_admin: TestClient, deps: Deps, demo_tenant: Tenant,
    other_tenant: Tenant,
) -> None:  # fmt: skip
    """The same key and body return the first answer (same mailing id) and queue no
    second message; the same key with another body is a 409 in the API's error shape;
    another merchant may use the same key for its own mailing; a bad key is a 400."""
    await add_customer(deps, demo_tenant.merchant_id, PHONE)
    await add_customer(deps, other_tenant.merchant_id, PHONE)
    body = {"segment": {}, "text": "Акция"}
    status, first = await _post(admin, body, "mailing-1")
    assert status == 201
    status, again = await _post(admin, {"text": "Акция", "segment": {}}, "mailing-1")
    assert (status, again) == (201, first)
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM mailings") == 1
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM notifications") == 1

    status, refused = await _post(admin, {**body, "text": "Другая"}, "mailing-1")
    assert status == 409 and refused["code"] == "idempotency_key_reused"
    assert set(refused) >= {"code", "message"} and "Ключ" in refused["message"]
    status, theirs = await _post(other_admin, body, "mailing-1")
    assert status == 201 and theirs["id"] != first["id"]
    status, bad = await _post(admin, body, "ключ")
    assert (status, bad["code"]) == (400, "invalid_idempotency_key")
    # Without a key every call is a new mailing.
    assert (await _post(admin, body))[0] == 201
    assert (
        await deps.db.fetch_value(
            "SELECT COUNT(*) FROM mailings WHERE merchant_id = :m", {"m": demo_tenant.merchant_id}
        )
        == 2
    )


async def test_a_refused_send_keeps_the_key_free(
    admin: TestClient, deps: Deps, demo_tenant: Tenant
) -> None:
    """A send refused for an empty segment stores no answer: the same key works once
    the segment has someone."""
    body = {"segment": {}, "text": "Акция"}
    status, refused = await _post(admin, body, "k-empty")
    assert (status, refused["code"]) == (422, "mailing_no_recipients")
    await add_customer(deps, demo_tenant.merchant_id, PHONE)
    assert (await _post(admin, body, "k-empty"))[0] == 201


LINES = [{"id": "1", "name": "Кальян", "price": 500.00, "quantity": 2}]


async def test_revenue_is_net_of_returns_and_counts_only_messages_sent(
    admin: TestClient, client: TestClient, deps: Deps, demo_tenant: Tenant, clock: ManualClock
) -> None:
    """A participant buys 2 × 500 ₽ after the mailing and returns one: revenue 500 ₽,
    returned 500 ₽, one sale. A participant who opted out before the send is queued but
    is no participant and costs nothing."""
    deps.sms = LogSmsProvider(cost_kopecks=250)
    await register_over_api(client, deps, PHONE)
    stopped = await add_customer(deps, demo_tenant.merchant_id, "+79160000002")
    status, created = await _post(admin, {"segment": {}, "text": "Акция", "attribution_days": 3})
    assert status == 201 and created["participants"] == 2
    await deps.db.execute(
        "UPDATE customers SET messages_opt_out_at = 1 WHERE id = :c", {"c": stopped}
    )
    await drain(deps)
    receipt = {"id": "after", "customer": {"phone": PHONE}, "lines": LINES}
    confirm = await client.post("/api/v1/checkout/confirm", json={"receipt": receipt})
    assert confirm.status == 200
    clock.advance(days=5)  # the return may come after the window: it still counts
    refund = {"id": "back", "receipt_id": "after", "lines": [{"id": "1", "quantity": 1}]}
    assert (await client.post("/api/v1/checkout/refund", json=refund)).status == 200

    results = await (await admin.get(f"{BASE}/{created['id']}")).json()
    assert {k: results[k] for k in ("participants", "queued", "sent", "skipped", "buyers",
                                    "sales")} == {
        "participants": 1, "queued": 2, "sent": 1, "skipped": 1, "buyers": 1, "sales": 1
    }  # fmt: skip
    assert Decimal(str(results["revenue"])) == Decimal("500.00")
    assert Decimal(str(results["returned"])) == Decimal("500.00")
    assert Decimal(str(results["cost"])) == Decimal("2.50")  # one SMS, the one sent
