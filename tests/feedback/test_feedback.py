"""Feedback: the request job after a purchase, the customer's page and its review gift,
the merchant's list, reply and NPS, tenancy."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from aiohttp.test_utils import TestClient

from cloud import main
from cloud.api.app import create_app
from cloud.clock import ManualClock, to_epoch
from cloud.services import feedback
from cloud.services.deps import Deps
from tests.conftest import Tenant, make_tenant, merchant_client
from tests.ledger.helpers import assert_ledger_consistent, ledger_state
from tests.services.test_lifecycle_jobs import _register
from tests.services.test_tier_job import _buy

PROGRAM: dict[str, Any] = {
    "name": "Кофейня: отзывы",
    "tiers": [{"code": "base", "name": "Базовый", "accrual_percent": "5"}],
    "lifetime_days": 180,
    "gifts": {"review": {"amount": "100", "request_after_hours": 3, "valid_days": 30,
                         "activation_delay_days": 1}},
}  # fmt: skip
FEEDBACK = "/api/v1/merchant/feedback"


async def _receipt(deps: Deps, merchant_id: int, external_id: str) -> int:
    return int(
        await deps.db.fetch_value(
            "SELECT id FROM receipts WHERE merchant_id = :m AND external_id = :e AND kind = 'sale'",
            {"m": merchant_id, "e": external_id},
        )
    )


async def _requests(deps: Deps, merchant_id: int) -> list[tuple[int, dict[str, Any]]]:
    rows = await deps.db.fetch_all(
        "SELECT customer_id, params FROM notifications WHERE merchant_id = :m "
        "AND kind = 'feedback_request' ORDER BY id",
        {"m": merchant_id},
    )
    return [(int(r["customer_id"]), json.loads(r["params"])) for r in rows]


async def _page(deps: Deps, aiohttp_client: Any) -> TestClient:
    client: TestClient = await aiohttp_client(create_app(deps.settings, deps=deps))
    return client


async def _sold(deps: Deps, clock: ManualClock, tenant: Tenant, phone: str, rid: str) -> int:
    customer = await _register(deps, tenant, phone)
    await _buy(deps, tenant, customer, rid, 1000)
    return customer


async def test_request_queued_after_the_hours_once_only_with_consent(
    deps: Deps, clock: ManualClock
) -> None:
    """A sale at 10:00 is not asked about at 12:00 (three hours not passed), is asked at
    13:00 with a signed link to its receipt, and never again (a rerun and the next day's
    run queue nothing); a customer without consent to messages is not asked; a
    merchant whose program has no review gift asks nobody. The CLI knows the job."""
    clock.now = datetime(2026, 5, 4, 7, tzinfo=UTC)  # 10:00 in Moscow
    tenant = await make_tenant(deps, "Кофейня", PROGRAM)
    plain = await make_tenant(deps, "Без отзывов", {**PROGRAM, "gifts": {}})
    buyer = await _sold(deps, clock, tenant, "+79160000701", "S1")
    silent = await _register(deps, tenant, "+79160000702", messages=False)
    await _buy(deps, tenant, silent, "S2", 500)
    await _sold(deps, clock, plain, "+79160000703", "P1")

    clock.now += timedelta(hours=2)
    report = await feedback.run_feedback_requests(deps)
    assert report.details[str(tenant.merchant_id)]["requested"] == 0
    assert await _requests(deps, tenant.merchant_id) == []

    clock.now += timedelta(hours=1)
    report = await main.JOBS["feedback_requests"](deps, clock.now.date() + timedelta(days=1), None)
    assert report.details[str(tenant.merchant_id)]["requested"] == 1
    receipt = await _receipt(deps, tenant.merchant_id, "S1")
    token = feedback.token_for(deps.settings.secret_key, receipt)
    assert await _requests(deps, tenant.merchant_id) == [(buyer, {"link": f"/feedback/{token}"})]
    assert report.details[str(plain.merchant_id)]["configured"] is False
    assert await _requests(deps, plain.merchant_id) == []

    await feedback.run_feedback_requests(deps, clock.now.date() + timedelta(days=1))
    clock.now += timedelta(days=1)
    await feedback.run_feedback_requests(deps)
    assert len(await _requests(deps, tenant.merchant_id)) == 1


async def test_page_renders_and_a_rating_grants_the_review_gift_once(
    deps: Deps, clock: ManualClock, aiohttp_client: Any
) -> None:
    """The link's page shows the merchant, the purchase and the gift in Russian without
    JavaScript; a rating of 4 with a comment is stored and grants 100 ₽ as a ``review``
    lot (active from the next local midnight, 30 days) through the ledger; a second
    submit changes nothing and shows the stored rating; a bad rating gets a 400 page;
    a forged or altered token gets a 404 page."""
    clock.now = datetime(2026, 5, 4, 7, tzinfo=UTC)
    tenant = await make_tenant(deps, "Кофейня", PROGRAM)
    customer = await _sold(deps, clock, tenant, "+79160000711", "S1")
    receipt = await _receipt(deps, tenant.merchant_id, "S1")
    path = f"/feedback/{feedback.token_for(deps.settings.secret_key, receipt)}"
    page = await _page(deps, aiohttp_client)

    response = await page.get(path)
    text = await response.text()
    assert response.status == 200 and "text/html" in response.headers["Content-Type"]
    assert "Кофейня" in text and "1\u00a0000 ₽" in text and "100 ₽" in text
    assert "<script" not in text and 'name="rating"' in text

    bad = await page.post(path, data={"rating": "7"})
    assert bad.status == 400 and "от 1 до 5" in await bad.text()

    done = await page.post(path, data={"rating": "4", "comment": "  Вкусно <b>!</b> "})
    text = await done.text()
    assert done.status == 200 and "4 из 5" in text and "Вкусно &lt;b&gt;!&lt;/b&gt;" in text
    lots = await deps.db.fetch_all(
        "SELECT amount, available_from, expires_at, receipt_id FROM bonus_lots "
        "WHERE customer_id = :c AND kind = 'review'",
        {"c": customer},
    )
    midnight = datetime(2026, 5, 4, 21, tzinfo=UTC)  # 5 May 00:00 in Moscow
    assert [tuple(r) for r in lots] == [
        (10_000, to_epoch(midnight), to_epoch(midnight + timedelta(days=30)), receipt)
    ]
    before = await ledger_state(deps, customer)
    assert_ledger_consistent(before)

    again = await page.post(path, data={"rating": "1", "comment": "Передумал"})
    assert again.status == 200 and "4 из 5" in await again.text()
    assert await ledger_state(deps, customer) == before
    rows = await deps.db.fetch_all("SELECT rating, comment FROM feedback")
    assert [tuple(r) for r in rows] == [(4, "Вкусно <b>!</b>")]

    forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    for wrong in (forged, f"/feedback/{receipt}", "/feedback/1.x", f"/feedback/{receipt + 1}.x"):
        response = await page.get(wrong)
        assert response.status == 404 and "недействительна" in await response.text()


async def test_blocked_customer_rates_without_a_gift(
    deps: Deps, clock: ManualClock, aiohttp_client: Any
) -> None:
    """A blocked card's rating is stored, but no review bonus is granted."""
    tenant = await make_tenant(deps, "Кофейня", PROGRAM)
    customer = await _sold(deps, clock, tenant, "+79160000721", "S1")
    await deps.db.execute("UPDATE customers SET blocked_at = 1 WHERE id = :c", {"c": customer})
    receipt = await _receipt(deps, tenant.merchant_id, "S1")
    page = await _page(deps, aiohttp_client)
    token = feedback.token_for(deps.settings.secret_key, receipt)
    assert (await page.post(f"/feedback/{token}", data={"rating": "5"})).status == 200
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM feedback") == 1
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM bonus_lots WHERE kind = 'review'") == 0


async def _rate(deps: Deps, page: TestClient, merchant_id: int, rid: str, rating: int) -> None:
    receipt = await _receipt(deps, merchant_id, rid)
    token = feedback.token_for(deps.settings.secret_key, receipt)
    response = await page.post(f"/feedback/{token}", data={"rating": str(rating)})
    assert response.status == 200


async def test_merchant_lists_replies_and_counts_nps_only_its_own(
    deps: Deps, clock: ManualClock, aiohttp_client: Any
) -> None:
    """The merchant lists feedback with the store, the till, the amount and the dates
    (filtered by store and period), replies once (the reply is queued to the customer
    as ``feedback_reply``; a second reply is 409), and NPS counts 5 as promoters, 4
    passive and 1–3 detractors, as counted here independently; another merchant's key
    sees none of it and cannot reply (404)."""
    clock.now = datetime(2026, 5, 4, 7, tzinfo=UTC)
    tenant = await make_tenant(deps, "Кофейня", PROGRAM)
    other = await make_tenant(deps, "Чужая", PROGRAM)
    page = await _page(deps, aiohttp_client)
    ratings = [5, 5, 4, 3, 1, 5, 2]
    customers = []
    for i, rating in enumerate(ratings):
        customers.append(await _sold(deps, clock, tenant, f"+7916000080{i}", f"S{i}"))
        await _rate(deps, page, tenant.merchant_id, f"S{i}", rating)
    admin = await merchant_client(aiohttp_client, deps, tenant, "Офис")
    stranger = await merchant_client(aiohttp_client, deps, other, "Чужой офис")

    body = await (await admin.get(FEEDBACK, params={"limit": "5"})).json()
    assert [row["rating"] for row in body["feedback"]] == ratings[::-1][:5]
    first = body["feedback"][-1]
    assert first["store_id"] == tenant.store_id and first["terminal_id"] == tenant.terminal_id
    assert first["store"] == "Кофейня: магазин" and first["terminal"] == "Касса 1"
    assert first["cashier"] is None and Decimal(str(first["amount"])) == Decimal(1000)
    assert first["date"] == "2026-05-04" and first["purchased_at"].startswith("2026-05-04T10:00")
    assert Decimal(str(first["bonus"])) == Decimal(100)
    rest = await (await admin.get(FEEDBACK, params={"before": str(body["next"])})).json()
    assert len(rest["feedback"]) == 2 and rest["next"] is None
    none = await (await admin.get(FEEDBACK, params={"date_from": "2026-05-05"})).json()
    assert none["feedback"] == []
    other_store = await admin.get(FEEDBACK, params={"store_id": str(other.store_id)})
    assert (await other_store.json())["feedback"] == []
    wrong = await admin.get(FEEDBACK, params={"date_from": "2026-05-05", "date_to": "2026-05-01"})
    assert wrong.status == 400 and (await wrong.json())["code"] == "invalid_period"
    assert (await admin.get(FEEDBACK, params={"date_to": "вчера"})).status == 400

    target = body["feedback"][0]["id"]
    url = f"{FEEDBACK}/{target}/reply"
    assert (await stranger.post(url, json={"text": "Чужой ответ"})).status == 404
    assert (await (await stranger.get(FEEDBACK)).json())["feedback"] == []
    replied = await admin.post(url, json={"text": "Спасибо, исправимся!"})
    assert replied.status == 200 and (await replied.json())["queued"] is True
    again = await admin.post(url, json={"text": "Ещё раз"})
    assert again.status == 409 and (await again.json())["code"] == "feedback_replied"
    queued = await deps.db.fetch_all(
        "SELECT customer_id, params FROM notifications WHERE kind = 'feedback_reply'"
    )
    assert [(r["customer_id"], json.loads(r["params"])) for r in queued] == [
        (customers[-1], {"text": "Спасибо, исправимся!"})
    ]
    listed = await (await admin.get(FEEDBACK, params={"limit": "1"})).json()
    assert listed["feedback"][0]["reply"] == "Спасибо, исправимся!"

    promoters = sum(r == 5 for r in ratings)
    detractors = sum(r <= 3 for r in ratings)
    expected = (Decimal(100 * (promoters - detractors)) / len(ratings)).quantize(Decimal("0.1"))
    nps = await (await admin.get(FEEDBACK + "/nps", params={"date_from": "2026-05-04"})).json()
    assert len(nps["stores"]) == 1
    store = nps["stores"][0]
    assert (store["store_id"], store["responses"], store["promoters"], store["passives"],
            store["detractors"]) == (tenant.store_id, 7, 3, 1, 3)  # fmt: skip
    assert Decimal(str(store["nps"])) == expected == Decimal(str(nps["total"]["nps"]))
    empty = await (await stranger.get(FEEDBACK + "/nps")).json()
    assert empty["stores"] == [] and empty["total"]["responses"] == 0
    assert empty["total"]["nps"] is None


def test_token_is_bound_to_the_receipt_and_the_key() -> None:
    """A token names its receipt and verifies only with the key that signed it; another
    receipt's id with this signature, or another key, is refused."""
    token = feedback.token_for("key-1", 42)
    assert feedback.receipt_of("key-1", token) == 42
    assert feedback.receipt_of("key-2", token) is None
    assert feedback.receipt_of("key-1", "43." + token.split(".", 1)[1]) is None
    assert re.fullmatch(r"42\.[A-Za-z0-9_-]{24}", token)
