"""The merchant finds its customers: by phone in any spelling, by card number, or the
whole base page by page; name search is refused with a clear message. The card and
the lots show local dates with the store's offset."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from cloud.clock import ManualClock
from cloud.services.deps import Deps
from tests.customer_admin.conftest import PHONE, credit, sale
from tests.helpers import money, register_over_api

BASE = "/api/v1/merchant/customers"


async def test_search_by_phone_in_any_spelling_and_by_card(
    admin: TestClient, client: TestClient, customer: int
) -> None:
    """``8 916…``, ``+7 916…`` and ``7916…`` find the same customer; so does their
    virtual card number; an unknown phone finds nobody (an empty list, not an error)
    and an unreadable phone is a 400 in Russian."""
    for spelling in ("8 916 123-45-67", "+7 (916) 123-45-67", "79161234567"):
        found = await (await admin.get(BASE, params={"phone": spelling})).json()
        assert [c["id"] for c in found["customers"]] == [customer]
        assert found["customers"][0]["phone"] == PHONE and found["next"] is None
    card = await (await admin.get(f"{BASE}/{customer}")).json()
    virtual = next(c["number"] for c in card["cards"] if c["kind"] == "virtual")
    found = await (await admin.get(BASE, params={"card": virtual})).json()
    assert [c["id"] for c in found["customers"]] == [customer]
    nobody = await (await admin.get(BASE, params={"phone": "+79160000000"})).json()
    assert nobody == {"customers": [], "next": None}
    bad = await admin.get(BASE, params={"phone": "12"})
    assert bad.status == 400 and (await bad.json())["code"] == "invalid_phone"


async def test_name_search_is_refused_clearly(admin: TestClient, customer: int) -> None:
    """Names are encrypted with no index: ``?name=`` is a 400 that says so and points
    at phone and card search, rather than a slow or partial answer."""
    response = await admin.get(BASE, params={"name": "Иван"})
    body = await response.json()
    assert response.status == 400 and body["code"] == "name_search_unsupported"
    assert "телефону" in body["message"]


async def test_whole_base_page_by_page(
    admin: TestClient, client: TestClient, deps: Deps, customer: int
) -> None:
    """Without a query the base comes oldest first, ``limit`` per page, ``next`` as
    the cursor for ``?after=``; a bad limit is a 400."""
    for phone in ("+79161234568", "+79161234569"):
        await register_over_api(client, deps, phone)
    first = await (await admin.get(BASE, params={"limit": "2"})).json()
    assert len(first["customers"]) == 2 and first["customers"][0]["id"] == customer
    second = await (await admin.get(BASE, params={"limit": "2", "after": first["next"]})).json()
    assert [c["phone"] for c in second["customers"]] == ["+79161234569"]
    assert second["next"] is None
    for limit in ("0", "101", "x"):
        response = await admin.get(BASE, params={"limit": limit})
        assert response.status == 400


async def test_card_and_lots_with_store_local_dates(
    admin: TestClient, client: TestClient, customer: int, clock: ManualClock
) -> None:
    """The card shows the whole phone, balance and purchases; a sale's lot carries the
    receipt id and its activation and expiry with the store's offset; spent and
    expired lots say so."""
    assert (await sale(client, "s-1")).status == 200
    await credit(admin, customer, 20, "c-1", lifetime_days=1)
    card = await (await admin.get(f"{BASE}/{customer}")).json()
    assert card["phone"] == PHONE and card["purchases_count"] == 1
    assert money(card["balance"]) == 70 and card["blocked"] is None
    lots = await (await admin.get(f"{BASE}/{customer}/lots")).json()
    manual, purchase = lots["lots"]
    assert (manual["kind"], purchase["kind"]) == ("manual", "purchase")
    assert purchase["receipt_id"] == "s-1" and purchase["state"] == "active"
    assert purchase["available_from"] == "2026-11-20T12:00:00+03:00"
    assert purchase["expires_at"] == "2027-02-18T00:00:00+03:00"
    clock.advance(days=2)
    lots = await (await admin.get(f"{BASE}/{customer}/lots", params={"limit": "1"})).json()
    assert [lot["state"] for lot in lots["lots"]] == ["expired"] and lots["next"] is not None
    older = await (
        await admin.get(f"{BASE}/{customer}/lots", params={"before": lots["next"]})
    ).json()
    assert [lot["id"] for lot in older["lots"]] == [purchase["id"]]
    missing = await admin.get(f"{BASE}/999999/lots")
    assert missing.status == 404 and (await missing.json())["code"] == "customer_not_found"
