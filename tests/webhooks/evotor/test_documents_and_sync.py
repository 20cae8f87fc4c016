"""Document webhook and entity sync contract: the recorded-shape fixtures replay with
exact numbers, duplicates change nothing, other document types are acknowledged, the
legacy V1 array works, and the Evotor API client pages and honours rate limits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx
from aiohttp.test_utils import TestClient

from cloud.clock import ManualClock
from cloud.services import customers
from cloud.services.deps import Deps
from schemas.customers import Consent, RegisterCustomer
from tests.webhooks.evotor.conftest import (
    API,
    STORE,
    USER,
    call,
    error_codes,
    fixture,
    install,
    user_auth,
)
from webhooks.evotor.cloud_api import EvotorApiError, EvotorCloudClient

PHONE = "+79161234567"


async def setup(
    evotor: TestClient, deps: Deps, at: datetime = datetime(2024, 12, 5, 5, 0, tzinfo=UTC)
) -> tuple[str, int, int]:
    """An installed merchant and a customer, on the day the fixtures were recorded (the
    default program's bonuses live a year)."""
    token, merchant_id = await install_only(evotor, deps, at)
    customer_id = await customers.register_customer(
        deps, merchant_id, RegisterCustomer(phone=PHONE, consent=Consent(personal_data=True)),
        store_id=None, channel="import", sms_code=None,
    )  # fmt: skip
    return token, merchant_id, customer_id


async def install_only(
    evotor: TestClient, deps: Deps, at: datetime = datetime(2024, 12, 5, 5, 0, tzinfo=UTC)
) -> tuple[str, int]:
    """An installed merchant on the day the fixtures were recorded."""
    assert isinstance(deps.clock, ManualClock)
    deps.clock.now = at
    token = await install(evotor)
    merchant_id = int(await deps.db.fetch_value(
        "SELECT merchant_id FROM evotor_accounts WHERE evotor_user_id = :u", {"u": USER}
    ))  # fmt: skip
    return token, merchant_id


async def available(deps: Deps, merchant_id: int, customer_id: int) -> int:
    return (await customers.customer_summary(deps, merchant_id, customer_id)).available


def headers(token: str) -> dict[str, str]:
    return user_auth(token, device=None)


async def test_sell_payback_fixtures_with_discounts(evotor: TestClient, deps: Deps) -> None:
    """SELL (position 10 % + document 15 ₽ discounts, card given only by phone): 5 % of
    the 639,00 paid accrues 31,95 (24,70 + 7,25). Re-sent: duplicate. PAYBACK of one of
    the two coffees (new position uuid, matched by product): 12,35 reversed. Re-sent:
    nothing moves."""
    token, merchant_id, customer_id = await setup(evotor, deps)
    sell = fixture("documents/sell_v2.json")
    ack = await call(evotor, "PUT", "/api/v2/documents", sell, headers(token))
    assert ack == {"results": [{"id": sell["id"], "type": "SELL", "status": "confirmed"}]}
    assert await available(deps, merchant_id, customer_id) == 3195
    lines = await deps.db.fetch_all(
        "SELECT line_id, price, amount, discount, accrual FROM receipt_lines "
        "WHERE merchant_id = :m ORDER BY position", {"m": merchant_id}
    )  # fmt: skip
    assert [(r["price"], r["amount"], r["discount"], r["accrual"]) for r in lines] == [
        (28000, 49400, 6600, 2470),
        (15000, 14500, 500, 725),
    ]
    again = await call(evotor, "PUT", "/api/v2/documents/", sell, headers(token))
    assert again["results"][0]["status"] == "duplicate"
    payback = fixture("documents/payback_v2_partial.json")
    ack = await call(evotor, "PUT", "/api/v2/documents", payback, headers(token))
    assert ack["results"][0]["status"] == "refunded"
    assert await available(deps, merchant_id, customer_id) == 3195 - 1235
    await call(evotor, "PUT", "/api/v2/documents", payback, headers(token))
    assert await available(deps, merchant_id, customer_id) == 3195 - 1235
    assert await deps.db.fetch_value(
        "SELECT COUNT(*) FROM receipts WHERE merchant_id = :m", {"m": merchant_id}
    ) == 2  # fmt: skip


async def test_other_types_and_legacy_v1_array(evotor: TestClient, deps: Deps) -> None:
    """OPEN_SESSION is answered 200 and ignored. The legacy V1 array on the store path
    confirms the sale (client phone from DOCUMENT_CLOSE) and its PAYBACK (negative
    quantities, base in DOCUMENT_OPEN) takes it all back."""
    token, merchant_id, customer_id = await setup(
        evotor, deps, datetime(2016, 9, 13, 15, 0, tzinfo=UTC)
    )
    ignored = await call(
        evotor,
        "PUT",
        "/api/v2/documents",
        fixture("documents/open_session_v2.json"),
        headers(token),
    )
    assert ignored["results"][0]["status"] == "ignored"
    path = f"/api/v1/inventories/stores/{STORE}/documents"
    sell = await call(evotor, "PUT", path, fixture("documents/sell_v1_array.json"),
                      headers(token))  # fmt: skip
    assert sell["results"][0]["status"] == "confirmed"
    assert await available(deps, merchant_id, customer_id) == 17740  # 5 % of 3 548
    back = await call(evotor, "PUT", path, fixture("documents/payback_v1_array.json"),
                      headers(token))  # fmt: skip
    assert back["results"][0]["status"] == "refunded"
    assert await available(deps, merchant_id, customer_id) == 0


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda d: d["body"]["positions"][0].update(quantity="много"), "invalid"),
        (lambda d: d.update(user_id="01-000000000000009"), "incorrect"),
        (lambda d: d["body"].update(positions="none"), "invalid"),
    ],
)
async def test_malformed_documents_are_kept_as_rejected(
    evotor: TestClient, deps: Deps, mutate: Any, reason: str
) -> None:
    """A document with a bad number, of another user, with a broken body: a re-send
    cannot fix it, so it is answered 200 ``rejected``, kept whole in
    ``evotor_documents`` with the reason, and no sale is written."""
    token, merchant_id, _ = await setup(evotor, deps)
    document = fixture("documents/sell_v2.json")
    mutate(document)
    answer = await call(evotor, "PUT", "/api/v2/documents", document, headers(token))
    assert answer["results"] == [
        {"id": document["id"], "type": "SELL", "status": "rejected", "reason": reason}
    ]
    assert await deps.db.fetch_value(
        "SELECT COUNT(*) FROM receipts WHERE merchant_id = :m", {"m": merchant_id}
    ) == 0  # fmt: skip
    kept = await deps.db.fetch_one(
        "SELECT document_id, status, payload FROM evotor_documents WHERE merchant_id = :m",
        {"m": merchant_id},
    )
    assert kept is not None and kept["status"] == "rejected"
    assert kept["document_id"] == document["id"] and document["id"] in kept["payload"]


async def test_document_without_id_is_kept_under_its_digest(evotor: TestClient, deps: Deps) -> None:
    """A document with no id at all is still kept (under a digest of its body)."""
    token, merchant_id, _ = await setup(evotor, deps)
    document = fixture("documents/sell_v2.json")
    document.pop("id")
    answer = await call(evotor, "PUT", "/api/v2/documents", document, headers(token))
    result = answer["results"][0]
    assert result["status"] == "rejected" and result["id"].startswith("sha256:")
    assert await deps.db.fetch_value(
        "SELECT COUNT(*) FROM evotor_documents WHERE merchant_id = :m AND document_id = :d",
        {"m": merchant_id, "d": result["id"]},
    ) == 1  # fmt: skip


async def test_document_with_wrong_token(evotor: TestClient, deps: Deps) -> None:
    """A document with a token we never issued: 401/1002."""
    await setup(evotor, deps)
    answer = await call(evotor, "PUT", "/api/v2/documents", fixture("documents/sell_v2.json"),
                        {"Authorization": "Bearer forged"}, status=401)  # fmt: skip
    assert error_codes(answer) == [1002]


async def test_entity_notifications_create_then_update(evotor: TestClient, deps: Deps) -> None:
    """Stores, devices and employees PUTs create our stores, terminals (store zone from
    the device offset) and cashiers (phone encrypted); a second PUT renames in place."""
    token = await install(evotor)
    employees = fixture("inventories/employees.json")
    ack = await call(evotor, "PUT", "/api/v1/inventories/employees", employees,
                     headers(token))  # fmt: skip
    assert ack == {"created": 1, "updated": 0}
    row = await deps.db.fetch_one("SELECT name, role, phone_enc FROM cashiers")
    assert row is not None and row["name"] == "Иванова Анна Петровна"
    assert b"79990001122" not in bytes(row["phone_enc"])
    stores = fixture("inventories/stores.json")
    stores[0]["name"] = "Кофейня на Ленина, 1"
    ack = await call(evotor, "PUT", "/api/v1/inventories/stores", stores, headers(token))
    assert ack == {"created": 0, "updated": 2}
    names = await deps.db.fetch_all("SELECT name, timezone FROM stores ORDER BY id")
    assert [(r["name"], r["timezone"]) for r in names] == [
        ("Кофейня на Ленина, 1", "Etc/GMT-7"),
        ("Кофейня у вокзала", "Etc/GMT-7"),
    ]
    device = {**fixture("inventories/devices.json")[0], "name": "Касса 1 (новая)"}
    ack = await call(evotor, "PUT", "/api/v1/inventories/devices", device, headers(token))
    assert ack == {"created": 0, "updated": 1}
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM terminals") == 2
    bad = await call(evotor, "PUT", "/api/v1/inventories/devices", [{"uuid": "x"}],
                     headers(token), status=400)  # fmt: skip
    assert set(error_codes(bad)) == {2002}


# ---- the Evotor cloud API client --------------------------------------------------------


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def test_client_pages_with_cursors_and_sends_the_token() -> None:
    """Follows next_cursor until it is absent, sending X-Authorization and the v2 Accept."""
    with respx.mock(base_url=API, assert_all_called=True) as api:
        route = api.get("/stores").mock(side_effect=[
            httpx.Response(200, json=fixture("cloud_api/stores_page1.json")),
            httpx.Response(200, json=fixture("cloud_api/stores_page2.json")),
        ])  # fmt: skip
        async with EvotorCloudClient("cloud-token", base_url=API) as client:
            stores = await client.stores()
    assert [s.name for s in stores] == ["Кофейня на Ленина", "Кофейня у вокзала"]
    first, second = (call.request for call in route.calls)
    assert "cursor" not in first.url.params
    assert second.url.params["cursor"] == "c2Vjb25kLXBhZ2U="
    assert first.headers["X-Authorization"] == "cloud-token"
    assert first.headers["Accept"] == "application/vnd.evotor.v2+json"


async def test_client_honours_429_and_rate_limit_headers() -> None:
    """A 429 waits Retry-After (else X-RateLimit-Reset) and retries; a response with
    X-RateLimit-Remaining 0 makes the next request wait X-RateLimit-Reset; a 5xx is
    retried; a bare array (legacy API) is one page."""
    sleeps = Sleeps()
    with respx.mock(base_url=API, assert_all_called=True) as api:
        api.get("/devices").mock(side_effect=[
            httpx.Response(429, headers={"Retry-After": "3"}),
            httpx.Response(429, headers={"X-RateLimit-Reset": "7"}),
            httpx.Response(503),
            httpx.Response(200, json={"items": fixture("cloud_api/devices.json")["items"][:1],
                                      "paging": {"next_cursor": "n2"}},
                           headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2"}),
            httpx.Response(200, json=fixture("cloud_api/devices.json")["items"][1:]),
        ])  # fmt: skip
        async with EvotorCloudClient("t", base_url=API, sleep=sleeps) as client:
            devices = await client.devices()
    assert len(devices) == 2
    assert sleeps.waits == [3.0, 7.0, 4.0, 2.0]


async def test_client_gives_up_and_reports() -> None:
    """A 401 is not retried; endless 429s stop after max_retries with an error."""
    sleeps = Sleeps()
    with respx.mock(base_url=API) as api:
        api.get("/stores").mock(return_value=httpx.Response(401, json={"code": 401}))
        api.get("/employees").mock(return_value=httpx.Response(429))
        async with EvotorCloudClient("t", base_url=API, sleep=sleeps, max_retries=2) as client:
            with pytest.raises(EvotorApiError) as unauthorized:
                await client.stores()
            assert unauthorized.value.status == 401
            with pytest.raises(EvotorApiError) as limited:
                await client.employees()
            assert limited.value.status == 429
    assert sleeps.waits == [1.0, 2.0]
