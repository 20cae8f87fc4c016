"""The staff's correction of a customer's referrer (merchant key): recorded with its
reason, never making a cycle, and only within the merchant."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from cloud.services.deps import Deps
from tests.helpers import register_over_api

BASE = "/api/v1/merchant/customers"


async def test_referrer_changed_by_staff_without_cycles(
    admin: TestClient, client: TestClient, deps: Deps
) -> None:
    """A refers B refers C. The staff may move C under A (recorded with the reason, a
    repeat changes nothing) or remove the referrer; naming C as A's referrer (C is
    invited by A through B) is a cycle, naming A as A's own is a self-referral, both
    refused in Russian and changing nothing."""
    a = await register_over_api(client, deps, "+79160001001")
    b = await register_over_api(client, deps, "+79160001002", referrer={"phone": "+79160001001"})
    c = await register_over_api(client, deps, "+79160001003", referrer={"code": b["referral_code"]})

    async def change(customer: int, referrer: object) -> tuple[int, dict[str, object]]:
        response = await admin.post(
            f"{BASE}/{customer}/referrer",
            json={"referrer": referrer, "reason": "ошибка кассира", "staff": "Анна"},
        )
        return response.status, await response.json()

    assert await change(c["id"], {"phone": "+79160001001"}) == (
        200, {"customer_id": c["id"], "referrer_id": a["id"], "changed": True}
    )  # fmt: skip
    assert (await change(c["id"], {"phone": "+79160001001"}))[1]["changed"] is False
    status, body = await change(a["id"], {"code": c["referral_code"]})
    assert (status, body["code"]) == (422, "referral_cycle")
    assert "приглашён" in str(body["message"])
    status, body = await change(a["id"], {"phone": "+79160001001"})
    assert (status, body["code"]) == (422, "self_referral")
    status, body = await change(b["id"], None)
    assert (status, body["referrer_id"]) == (200, None)
    card = await (await admin.get(f"{BASE}/{c['id']}")).json()
    assert card["referrer_id"] == a["id"] and card["referral_code"] == c["referral_code"]
    recorded = await deps.db.fetch_all(
        "SELECT customer_id, reason, staff FROM customer_actions WHERE action = 'referrer' "
        "ORDER BY id",
        {},
    )
    assert [(r["customer_id"], r["staff"]) for r in recorded] == [
        (c["id"], "Анна"),
        (b["id"], "Анна"),
    ]
    referrer_of_a = await deps.db.fetch_value(
        "SELECT referrer_id FROM customers WHERE id = :a", {"a": a["id"]}
    )
    assert referrer_of_a is None


async def test_other_merchant_cannot_change_or_name_our_customers(
    admin: TestClient, other_admin: TestClient, client: TestClient, other_client: TestClient,
    deps: Deps,
) -> None:  # fmt: skip
    """Merchant B's key cannot change our customer's referrer (404), and our customer
    named as a referrer of B's customer is not found there."""
    ours = await register_over_api(client, deps, "+79160002001")
    theirs = await register_over_api(other_client, deps, "+79160002002")
    response = await other_admin.post(
        f"{BASE}/{ours['id']}/referrer", json={"referrer": None, "reason": "B"}
    )
    assert response.status == 404
    assert (await response.json())["code"] == "customer_not_found"
    for referrer in ({"phone": "+79160002001"}, {"code": ours["referral_code"]}):
        response = await other_admin.post(
            f"{BASE}/{theirs['id']}/referrer", json={"referrer": referrer, "reason": "B"}
        )
        assert response.status == 422
        assert (await response.json())["code"] == "referrer_not_found"
    count = await deps.db.fetch_value("SELECT COUNT(*) FROM customer_actions", {})
    assert count == 0
