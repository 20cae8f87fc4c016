"""Mailings and templates over the merchant API: preview equals what is sent, segments,
refusals, results with sales in the attribution window, tenancy, the «СТОП» link."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiohttp.test_utils import TestClient

from cloud.clock import ManualClock
from cloud.messages.callbacks import opt_out_path
from cloud.messages.outbox import drain
from cloud.notify import LogSmsProvider
from cloud.services.deps import Deps
from tests.conftest import Tenant
from tests.customer_admin.conftest import sale
from tests.helpers import register_over_api
from tests.messages.conftest import add_customer

BASE = "/api/v1/merchant/mailings"
TEMPLATES = "/api/v1/merchant/message-templates"
GOLD = "+79160000001"


async def _base(deps: Deps, merchant_id: int, till: TestClient | None = None) -> dict[str, int]:
    """Two gold buyers, a silver one, a gold one without consent, a gold one who said
    «СТОП», a gold one with a blocked card. With a till, the first one registers there
    (so the till finds them by phone)."""
    if till is None:
        gold = await add_customer(deps, merchant_id, GOLD)
    else:
        gold = int((await register_over_api(till, deps, GOLD))["id"])
    await deps.db.execute(
        "UPDATE customers SET tier_code = 'gold', lifetime_purchases = 500000, "
        "purchase_count = 5 WHERE id = :c", {"c": gold})  # fmt: skip
    ids = {
        "gold": gold,
        "gold2": await add_customer(deps, merchant_id, "+79160000002", tier="gold",
                                    lifetime=90000, purchases=1),
        "silver": await add_customer(deps, merchant_id, "+79160000003", tier="silver",
                                     lifetime=20000, purchases=4),
        "no_consent": await add_customer(deps, merchant_id, "+79160000004", tier="gold",
                                         consent=False),
        "stopped": await add_customer(deps, merchant_id, "+79160000005", tier="gold"),
        "blocked": await add_customer(deps, merchant_id, "+79160000006", tier="gold"),
    }  # fmt: skip
    await deps.db.execute("UPDATE customers SET messages_opt_out_at = 1 WHERE id = :c",
                          {"c": ids["stopped"]})  # fmt: skip
    await deps.db.execute("UPDATE customers SET blocked_at = 1 WHERE id = :c",
                          {"c": ids["blocked"]})  # fmt: skip
    return ids


async def _post(client: TestClient, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    response = await client.post(path, json=body)
    return response.status, await response.json()


async def test_preview_equals_sent_and_results_count_sales_in_the_window(
    admin: TestClient, client: TestClient, deps: Deps, demo_tenant: Tenant, clock: ManualClock
) -> None:
    """The preview's count and cost (2 gold customers × 2 SMS parts × 2.50 ₽) is what
    the send queues; the worker sends them; results show the cost and the one sale a
    participant made within 7 days, not the one after."""
    ids = await _base(deps, demo_tenant.merchant_id, client)
    deps.sms = LogSmsProvider(cost_kopecks=250)
    text = "Только в эти выходные скидка 20 % на все жидкости и кальяны! Ждём вас в магазине."
    body = {"segment": {"tiers": ["gold"]}, "text": text, "attribution_days": 7}
    status, preview = await _post(admin, BASE + "/preview", body)
    assert status == 200
    assert preview == {"participants": 2, "by_telegram": 0, "parts": 2, "estimated_cost": 10.0}
    status, created = await _post(admin, BASE, body)
    assert status == 201 and created["participants"] == preview["participants"]
    assert Decimal(str(created["estimated_cost"])) == Decimal("10.00")

    report = await drain(deps)
    assert (report.sent, report.cost) == (2, 1000)
    # An advertising message ends with the customer's own refusal link.
    stop = opt_out_path(deps, demo_tenant.merchant_id, ids["gold"])
    assert cast_text(deps) == f"{text}\nОтказ от рассылки: {stop}"
    assert (await sale(client, "after-mailing", phone=GOLD)).status == 200
    clock.advance(days=8)
    assert (await sale(client, "too-late", phone=GOLD)).status == 200

    response = await admin.get(f"{BASE}/{created['id']}")
    results = await response.json()
    assert response.status == 200
    assert {k: results[k] for k in ("participants", "queued", "sent", "delivered", "pending",
                                    "failed", "skipped", "cost", "buyers", "sales")} == {
        "participants": 2, "queued": 2, "sent": 2, "delivered": 0, "pending": 0, "failed": 0,
        "skipped": 0, "cost": 10.0, "buyers": 1, "sales": 1}  # fmt: skip
    assert Decimal(str(results["revenue"])) > 0


def cast_text(deps: Deps) -> str | None:
    sms = deps.sms
    assert isinstance(sms, LogSmsProvider)
    return sms.last_to(GOLD)


async def test_segment_fields_filter(admin: TestClient, deps: Deps, demo_tenant: Tenant) -> None:
    """Average receipt, revenue, purchase count, balance and days without purchase each
    narrow the segment; a reversed range is a validation error; an empty segment sends
    nothing."""
    await _base(deps, demo_tenant.merchant_id)

    async def count(segment: dict[str, Any]) -> int:
        status, body = await _post(admin, BASE + "/preview", {"segment": segment, "text": "т"})
        assert status == 200, body
        return int(body["participants"])

    assert await count({}) == 3
    assert await count({"average_receipt": {"min": 900}}) == 2
    assert await count({"average_receipt": {"min": 900, "max": 999}}) == 1
    assert await count({"revenue": {"max": 1000}}) == 2
    assert await count({"purchase_count": {"min": 2, "max": 4}}) == 1
    assert await count({"balance": {"min": 0.01}}) == 0
    assert await count({"balance": {"max": 0}}) == 3
    assert await count({"days_without_purchase": {"min": 1}}) == 0
    assert await count({"registration_channels": ["native"], "tiers": ["silver"]}) == 1
    reversed_range = {"segment": {"revenue": {"min": 10, "max": 5}}, "text": "т"}
    status, body = await _post(admin, BASE + "/preview", reversed_range)
    assert (status, body["code"]) == (400, "validation_error")
    status, body = await _post(admin, BASE, {"segment": {"tiers": ["platinum"]}, "text": "т"})
    assert (status, body["code"]) == (422, "mailing_no_recipients")
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM mailings") == 0


async def test_templates_are_listed_and_overridden(
    admin: TestClient, deps: Deps, demo_tenant: Tenant
) -> None:
    """GET lists every kind with its default; PUT stores the merchant's text (used by
    the worker), refuses unknown variables and kinds; the default's text resets it."""
    listed = await (await admin.get(TEMPLATES)).json()
    kinds = {t["kind"]: t for t in listed["templates"]}
    assert set(kinds) >= {"birthday_gift", "expiry_warning", "mailing"}
    assert kinds["mailing"] == {"kind": "mailing", "body": "{text}", "default": "{text}",
                                "custom": False, "variables": ["merchant", "text"]}  # fmt: skip
    response = await admin.put(TEMPLATES, json={"kind": "mailing", "body": "{merchant}: {text}"})
    assert response.status == 200 and (await response.json())["custom"] is True
    bad = await admin.put(TEMPLATES, json={"kind": "mailing", "body": "{balance}"})
    assert (bad.status, (await bad.json())["code"]) == (400, "invalid_template")
    unknown = await admin.put(TEMPLATES, json={"kind": "spam", "body": "x"})
    assert (unknown.status, (await unknown.json())["code"]) == (400, "unknown_message_kind")
    status, _ = await _post(admin, BASE, {"segment": {}, "text": "Привет"})
    assert status == 422  # nobody yet
    customer = await add_customer(deps, demo_tenant.merchant_id, GOLD)
    status, _ = await _post(admin, BASE, {"segment": {}, "text": "Привет"})
    assert status == 201
    await drain(deps)
    sent = await deps.db.fetch_value(
        "SELECT body FROM notifications WHERE customer_id = :c", {"c": customer}
    )
    assert sent.split("\n") == [
        "Демо: Привет",
        "Отказ от рассылки: " + opt_out_path(deps, demo_tenant.merchant_id, customer),
    ]
    reset = await admin.put(TEMPLATES, json={"kind": "mailing", "body": "{text}"})
    assert (await reset.json())["custom"] is False
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM message_templates") == 0


async def test_other_merchant_reaches_none_of_our_mailings_or_templates(
    admin: TestClient, other_admin: TestClient, deps: Deps, demo_tenant: Tenant,
    other_tenant: Tenant,
) -> None:  # fmt: skip
    """Merchant B's key: its preview and send count only B's customers; our mailing's
    results are a 404 to B; B's template is B's alone and never renders our messages."""
    ours = await _base(deps, demo_tenant.merchant_id)
    theirs = await add_customer(deps, other_tenant.merchant_id, GOLD, tier="gold")
    status, mine = await _post(admin, BASE, {"segment": {"tiers": ["gold"]}, "text": "Наша"})
    assert status == 201
    status, preview = await _post(other_admin, BASE + "/preview",
                                  {"segment": {"tiers": ["gold"]}, "text": "Их"})  # fmt: skip
    assert preview["participants"] == 1
    put = await other_admin.put(TEMPLATES, json={"kind": "mailing", "body": "ЧУЖОЕ {text}"})
    assert put.status == 200
    status, their_mailing = await _post(other_admin, BASE, {"segment": {}, "text": "Их"})
    assert (status, their_mailing["participants"]) == (201, 1)
    response = await other_admin.get(f"{BASE}/{mine['id']}")
    assert (response.status, (await response.json())["code"]) == (404, "mailing_not_found")
    assert (await (await admin.get(TEMPLATES)).json())["templates"][-1]["custom"] is False

    await drain(deps)
    bodies = {
        int(r["customer_id"]): r["body"]
        for r in await deps.db.fetch_all("SELECT customer_id, body FROM notifications")
    }
    assert bodies[ours["gold"]].split("\n")[0] == "Наша"
    assert bodies[theirs].split("\n")[0] == "ЧУЖОЕ Их"
    results = await (await admin.get(f"{BASE}/{mine['id']}")).json()
    assert results["participants"] == 2


async def test_stop_link_opts_out_at_once(
    client: TestClient, deps: Deps, demo_tenant: Tenant, other_tenant: Tenant
) -> None:
    """The signed link shows a button (GET changes nothing); POST opts the customer out;
    a forged or another merchant's link does nothing."""
    customer = await add_customer(deps, demo_tenant.merchant_id, GOLD)
    path = opt_out_path(deps, demo_tenant.merchant_id, customer)
    page = await client.get(path)
    assert page.status == 200 and "Отписаться" in await page.text()
    forged = path.replace(f"/{demo_tenant.merchant_id}.", f"/{other_tenant.merchant_id}.")
    assert "недействительна" in await (await client.post(forged)).text()
    assert "недействительна" in await (await client.post(path[:-2] + "AA")).text()
    state = "SELECT messages_opt_out_at FROM customers WHERE id = :c"
    assert await deps.db.fetch_value(state, {"c": customer}) is None
    assert "отписались" in await (await client.post(path)).text()
    assert await deps.db.fetch_value(state, {"c": customer}) is not None
