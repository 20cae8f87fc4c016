"""The customer and SMS-code endpoints of the native API, end to end over HTTP."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from cloud.api.customers import CUSTOMER_OPENAPI, customer_routes
from cloud.clock import ManualClock, to_epoch
from cloud.services.deps import Deps
from tests import helpers
from tests.conftest import Tenant

PHONE = "+79991234567"


def sms_code(deps: Deps, phone: str = PHONE) -> str:
    return helpers.sms_code(deps, phone)


async def send(client: TestClient, phone: str = PHONE, purpose: str = "registration") -> None:
    response = await client.post("/api/v1/sms-codes", json={"phone": phone, "purpose": purpose})
    assert response.status == 200, await response.text()


def registration(code: str, phone: str = PHONE, **extra: Any) -> dict[str, Any]:
    return {"phone": phone, "sms_code": code,
            "consent": {"personal_data": True, "messages": True}, **extra}  # fmt: skip


async def register(client: TestClient, deps: Deps, phone: str = PHONE, **extra: Any) -> Any:
    await send(client, phone)
    response = await client.post(
        "/api/v1/customers", json=registration(sms_code(deps, phone), phone, **extra)
    )
    assert response.status == 201, await response.text()
    return await response.json()


async def test_send_and_verify_code(client: TestClient, deps: Deps) -> None:
    """POST /sms-codes sends a code (300 s to live); /verify accepts the right one and
    answers 422 with the attempts left for a wrong one."""
    response = await client.post(
        "/api/v1/sms-codes", json={"phone": "8 999 123-45-67", "purpose": "redeem"}
    )
    assert response.status == 200
    assert await response.json() == {"sent": True, "expires_in": 300}
    code = sms_code(deps)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    response = await client.post(
        "/api/v1/sms-codes/verify", json={"phone": PHONE, "purpose": "redeem", "code": wrong}
    )
    assert response.status == 422
    body = await response.json()
    assert body["code"] == "sms_code_invalid" and "Осталось попыток: 4" in body["message"]
    response = await client.post(
        "/api/v1/sms-codes/verify", json={"phone": PHONE, "purpose": "redeem", "code": code}
    )
    assert response.status == 200
    assert await response.json() == {"verified": True}


async def test_expired_code_over_http(client: TestClient, deps: Deps, clock: ManualClock) -> None:
    """A registration with a code past its five minutes is refused with 422."""
    await send(client)
    code = sms_code(deps)
    clock.advance(minutes=5, seconds=1)
    response = await client.post("/api/v1/customers", json=registration(code))
    assert response.status == 422
    assert (await response.json())["code"] == "sms_code_expired"


async def test_register_returns_the_masked_customer(client: TestClient, deps: Deps) -> None:
    """201 with id, masked phone, name, tier, cards and a zero balance in roubles with
    two places; the phone card is masked too."""
    await send(client, "8 (999) 123-45-67")
    response = await client.post(
        "/api/v1/customers",
        json=registration(sms_code(deps), "8 (999) 123-45-67", name="Мария",
                          birthday="1992-07-01", card="0042"),
    )  # fmt: skip
    assert response.status == 201
    raw = await response.text()
    assert '"available":0.00' in raw and "9991234567" not in raw
    body = orjson.loads(raw)
    assert body["phone"] == "+7999***4567"
    assert body["name"] == "Мария"
    assert body["birthday"] == "1992-07-01"
    assert body["tier"] is None
    assert {c["kind"] for c in body["cards"]} == {"phone", "physical", "virtual"}
    phone_card = next(c for c in body["cards"] if c["kind"] == "phone")
    assert phone_card["number"] == "+7999***4567"
    assert body["purchases"] == {"count": 0, "total": 0, "last_at": None}
    assert body["registered_at"].endswith("+03:00")  # the store's zone (Moscow)


async def test_register_requires_code_and_consent(client: TestClient, deps: Deps) -> None:
    """No code -> 400, wrong code -> 422, no consent to personal data -> 400."""
    response = await client.post(
        "/api/v1/customers",
        json={"phone": PHONE, "consent": {"personal_data": True, "messages": False}},
    )
    assert response.status == 400
    assert (await response.json())["code"] == "sms_code_required"
    await send(client)
    code = sms_code(deps)
    bad = f"{(int(code) + 1) % 1_000_000:06d}"
    response = await client.post("/api/v1/customers", json=registration(bad))
    assert response.status == 422
    response = await client.post(
        "/api/v1/customers",
        json={"phone": PHONE, "sms_code": code,
              "consent": {"personal_data": False, "messages": True}},
    )  # fmt: skip
    assert response.status == 400
    assert (await response.json())["code"] == "consent_required"


async def test_duplicate_phone_is_409(client: TestClient, deps: Deps) -> None:
    """A second registration of the same phone in any spelling is 409 customer_exists."""
    await register(client, deps)
    await send(client, "79991234567")
    response = await client.post(
        "/api/v1/customers", json=registration(sms_code(deps), "79991234567")
    )
    assert response.status == 409
    body = await response.json()
    assert body["code"] == "customer_exists"
    assert "уже зарегистрирован" in body["message"]


async def test_lookup_by_phone_and_card(client: TestClient, deps: Deps) -> None:
    """Lookup by any phone spelling, by the physical or the virtual card gives the same
    summary; an unknown one is 404 «Клиент не найден»."""
    created = await register(client, deps, name="Олег", card="77-88")
    virtual = next(c["number"] for c in created["cards"] if c["kind"] == "virtual")
    for query in ({"phone": "8 999 123 45 67"}, {"phone": "+7 (999) 123-45-67"},
                  {"card": "7788"}, {"card": virtual}):  # fmt: skip
        response = await client.get("/api/v1/customers/lookup", params=query)
        assert response.status == 200, query
        raw = await response.text()
        assert orjson.loads(raw) == {
            "id": created["id"], "name": "Олег", "tier": None, "tier_name": None, "balance": 0,
            "referral_code": created["referral_code"], "messages": [],
        }  # fmt: skip
        assert '"balance":0.00' in raw
    response = await client.get("/api/v1/customers/lookup", params={"phone": "+79990000000"})
    assert response.status == 404
    assert await response.json() == {"code": "customer_not_found", "message": "Клиент не найден"}
    response = await client.get("/api/v1/customers/lookup")
    assert response.status == 400
    response = await client.get("/api/v1/customers/lookup", params={"phone": "abc"})
    assert response.status == 400
    assert (await response.json())["code"] == "invalid_phone"


async def test_profile_and_history(client: TestClient, deps: Deps, demo_tenant: Tenant) -> None:
    """The profile shows balance {available, held, pending} and purchases; history pages
    newest first with a cursor."""
    created = await register(client, deps)
    customer_id = created["id"]
    now = to_epoch(deps.clock())
    async with deps.db.transaction() as tx:
        for i, amount in enumerate((1050, 2000, 325)):
            lot = await tx.insert(
                "INSERT INTO bonus_lots (merchant_id, customer_id, kind, amount, remaining, "
                "available_from, expires_at, receipt_id, created_at) "
                "VALUES (:m, :c, 'purchase', :a, :a, :f, NULL, NULL, :t) RETURNING id",
                {"m": demo_tenant.merchant_id, "c": customer_id, "a": amount,
                 "f": now + (86_400 if i == 2 else 0), "t": now},
            )  # fmt: skip
            await tx.insert(
                "INSERT INTO ledger_entries (merchant_id, customer_id, kind, amount, lot_id, "
                "receipt_id, idempotency_key, created_at) "
                "VALUES (:m, :c, 'accrue', :a, :lot, NULL, :k, :t) RETURNING id",
                {"m": demo_tenant.merchant_id, "c": customer_id, "a": amount, "lot": lot,
                 "k": f"t{lot}", "t": now},
            )  # fmt: skip
    response = await client.get(f"/api/v1/customers/{customer_id}")
    assert response.status == 200
    raw = await response.text()
    assert '"balance":{"available":30.50,"held":0.00,"pending":3.25}' in raw
    body = orjson.loads(raw)
    assert body["purchases"]["count"] == 0

    response = await client.get(f"/api/v1/customers/{customer_id}/history", params={"limit": 2})
    assert response.status == 200
    page = await response.json()
    assert [e["amount"] for e in page["entries"]] == [3.25, 20.0]
    assert page["entries"][0]["kind"] == "accrue"
    assert page["next"] is not None
    response = await client.get(
        f"/api/v1/customers/{customer_id}/history", params={"limit": 2, "before": page["next"]}
    )
    page = await response.json()
    assert [e["amount"] for e in page["entries"]] == [10.5]
    assert page["next"] is None
    for bad in ({"limit": "x"}, {"limit": 0}, {"limit": 1000}, {"before": "-1"}):
        response = await client.get(f"/api/v1/customers/{customer_id}/history", params=bad)
        assert response.status == 400, bad
        assert set(await response.json()) == {"code", "message"}
    response = await client.get("/api/v1/customers/99999999999999999999")
    assert response.status == 404
    response = await client.get("/api/v1/customers/9223372036854775808")
    assert response.status == 404


async def test_attach_card(client: TestClient, deps: Deps) -> None:
    """POST /customers/{id}/cards binds a card (201), is a no-op on repeat (200), and a
    card of another customer is 409 card_taken."""
    first = await register(client, deps)
    second = await register(client, deps, "+79990000005")
    url = f"/api/v1/customers/{first['id']}/cards"
    response = await client.post(url, json={"number": "C-100"})
    assert response.status == 201
    assert (await response.json())["number"] == "C100"
    response = await client.post(url, json={"number": "c100"})
    assert response.status == 200
    response = await client.post(f"/api/v1/customers/{second['id']}/cards", json={"number": "C100"})
    assert response.status == 409
    assert (await response.json())["code"] == "card_taken"
    response = await client.get("/api/v1/customers/lookup", params={"card": "C100"})
    assert (await response.json())["id"] == first["id"]


async def test_other_merchant_sees_nothing(
    client: TestClient, other_client: TestClient, deps: Deps
) -> None:
    """Another merchant's terminal gets 404 for the customer by phone, card, id, history
    and card binding."""
    created = await register(client, deps, card="SECRET-1")
    customer_id = created["id"]
    for path, params in (("/api/v1/customers/lookup", {"phone": PHONE}),
                         ("/api/v1/customers/lookup", {"card": "SECRET-1"}),
                         (f"/api/v1/customers/{customer_id}", {}),
                         (f"/api/v1/customers/{customer_id}/history", {})):  # fmt: skip
        response = await other_client.get(path, params=params)
        assert response.status == 404, path
        assert (await response.json())["code"] == "customer_not_found"
    response = await other_client.post(
        f"/api/v1/customers/{customer_id}/cards", json={"number": "X-1"}
    )
    assert response.status == 404


async def test_idempotent_registration(client: TestClient, deps: Deps) -> None:
    """A repeat with the same key (body or header) returns the very same body and status
    without registering twice; the key with another request is 409."""
    await send(client)
    request = registration(sms_code(deps), idempotency_key="1c-0001")
    first = await client.post("/api/v1/customers", json=request)
    assert first.status == 201
    repeat = await client.post("/api/v1/customers", json=request)
    assert repeat.status == 201
    assert await repeat.read() == await first.read()
    changed = await client.post("/api/v1/customers", json={**request, "name": "Другое имя"})
    assert changed.status == 409
    assert (await changed.json())["code"] == "idempotency_key_reused"

    phone = "+79990000007"
    await send(client, phone)
    request = registration(sms_code(deps, phone), phone)
    headers = {"Idempotency-Key": "pos-77"}
    first = await client.post("/api/v1/customers", json=request, headers=headers)
    repeat = await client.post("/api/v1/customers", json=request, headers=headers)
    assert (first.status, repeat.status) == (201, 201)
    assert await repeat.read() == await first.read()
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM customers") == 2
    mismatch = await client.post(
        "/api/v1/customers", json={**request, "idempotency_key": "a"}, headers={
            "Idempotency-Key": "b"}
    )  # fmt: skip
    assert mismatch.status == 400


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("/api/v1/customers", b"{not json"),
        ("/api/v1/customers", b""),
        ("/api/v1/customers", b'{"phone": 79991234567, "consent": {"personal_data": true}}'),
        ("/api/v1/customers", b'{"phone": "+79991234567", "consent": "yes"}'),
        ("/api/v1/customers", b'{"phone": "+79991234567"}'),
        (
            "/api/v1/customers",
            b'{"phone": "+79991234567", "consent": {"personal_data": true}, "birthday": "17.05"}',
        ),
        (
            "/api/v1/customers",
            b'{"phone": "+79991234567", "consent": {"personal_data": true}, "email": "nope"}',
        ),
        ("/api/v1/customers", b"[1, 2]"),
        ("/api/v1/sms-codes", b'{"phone": "+79991234567", "purpose": "spam"}'),
        ("/api/v1/sms-codes", b'{"phone": ["+79991234567"], "purpose": "redeem"}'),
        ("/api/v1/sms-codes/verify", b'{"phone": "+79991234567", "purpose": "redeem"}'),
        ("/api/v1/customers/1/cards", b'{"number": 5}'),
    ],
)
async def test_bad_input_is_400_with_code_and_message(
    client: TestClient, path: str, payload: bytes
) -> None:
    """Malformed JSON and wrong types give 400 {"code", "message"}, never a 500."""
    response = await client.post(path, data=payload, headers={"Content-Type": "application/json"})
    assert response.status == 400, await response.text()
    body = await response.json()
    assert set(body) == {"code", "message"}
    assert body["code"] in {"malformed_json", "validation_error"}


async def test_requests_need_a_terminal_token(client: TestClient) -> None:
    """Without a valid token the endpoints answer 401."""
    response = await client.get(
        "/api/v1/customers/lookup", params={"phone": PHONE},
        headers={"Authorization": "Bearer wrong"},
    )  # fmt: skip
    assert response.status == 401


def test_openapi_entries_match_the_routes() -> None:
    """Every mounted customer route is described for the OpenAPI document."""
    described = {(method.upper(), path) for method, path, *_ in CUSTOMER_OPENAPI}
    mounted = {
        (route.method, re.sub(r"\{(\w+):[^/]+\}", r"{\1}", route.path))
        for route in customer_routes()
        if isinstance(route, web.RouteDef)
    }
    assert described == mounted
