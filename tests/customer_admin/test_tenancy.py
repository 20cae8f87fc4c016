"""One merchant's key never reads or moves another merchant's customers, on every route
of the merchant's customer API."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from cloud.services.deps import Deps
from tests.conftest import Tenant
from tests.customer_admin.conftest import PHONE, credit
from tests.helpers import register_over_api
from tests.ledger.helpers import ledger_state

BASE = "/api/v1/merchant/customers"


async def test_other_merchant_key_reaches_no_customer_of_ours(
    admin: TestClient, other_admin: TestClient, other_client: TestClient, customer: int,
    deps: Deps, demo_tenant: Tenant, other_tenant: Tenant,
) -> None:  # fmt: skip
    """Merchant B's key: search by our customer's phone or card finds nobody, B's list
    holds only B's customers, and reading, blocking, unblocking or adjusting our
    customer by id is a 404 that changes nothing — even when B has a customer with the
    same phone and uses the same idempotency key."""
    await credit(admin, customer, 100, "shared-key")
    card = await (await admin.get(f"{BASE}/{customer}")).json()
    virtual = next(c["number"] for c in card["cards"] if c["kind"] == "virtual")
    theirs = int((await register_over_api(other_client, deps, PHONE))["id"])
    before = await ledger_state(deps, customer)

    by_phone = await (await other_admin.get(BASE, params={"phone": PHONE})).json()
    assert [c["id"] for c in by_phone["customers"]] == [theirs]
    by_card = await (await other_admin.get(BASE, params={"card": virtual})).json()
    assert by_card["customers"] == []
    listed = await (await other_admin.get(BASE)).json()
    assert [c["id"] for c in listed["customers"]] == [theirs]

    for path in ("", "/lots", "/movements"):
        response = await other_admin.get(f"{BASE}/{customer}{path}")
        assert response.status == 404, path
        assert (await response.json())["code"] == "customer_not_found"
    for action in ("block", "unblock"):
        response = await other_admin.post(f"{BASE}/{customer}/{action}", json={"reason": "B"})
        assert response.status == 404
    for kind in ("credit", "debit"):
        response = await other_admin.post(
            f"{BASE}/{customer}/adjustments",
            json={"kind": kind, "amount": 50, "reason": "B"},
            headers={"Idempotency-Key": f"b-{kind}"},
        )
        assert response.status == 404 and (await response.json())["code"] == "customer_not_found"
    # The same key at merchant B is B's own: it credits B's customer, not a replay of ours.
    own = await credit(other_admin, theirs, 5, "shared-key")
    assert own.status == 201 and (await own.json())["customer_id"] == theirs

    assert await ledger_state(deps, customer) == before
    blocked = await deps.db.fetch_value(
        "SELECT blocked_at FROM customers WHERE id = :c", {"c": customer}
    )
    assert blocked is None
    actions = await deps.db.fetch_value(
        "SELECT COUNT(*) FROM customer_actions WHERE merchant_id = :m",
        {"m": other_tenant.merchant_id},
    )
    assert actions == 1


async def test_our_history_never_names_another_merchants_rows(
    admin: TestClient, other_admin: TestClient, other_client: TestClient, customer: int,
    deps: Deps,
) -> None:  # fmt: skip
    """Our customer's movements and lots list only our own entries: B's adjustments of
    B's customer with the same phone never appear in them."""
    theirs = int((await register_over_api(other_client, deps, PHONE))["id"])
    assert (await credit(other_admin, theirs, 30, "k")).status == 201
    await credit(admin, customer, 10, "k")
    movements = await (await admin.get(f"{BASE}/{customer}/movements")).json()
    lots = await (await admin.get(f"{BASE}/{customer}/lots")).json()
    assert len(movements["movements"]) == 1 and len(lots["lots"]) == 1
    assert movements["movements"][0]["by"] == "ключ API «Офис»"
