"""``POST /bridge/v1/replay``: a run of a bridge's outbox applied by the cloud in order,
each call answered exactly as its till would have been answered, up to the first call
that is not a success."""

from __future__ import annotations

import base64
import json
from typing import Any

from aiohttp.test_utils import TestClient

from cloud.main import build_app
from cloud.services import merchants
from cloud.services.deps import Deps
from tests.terminal_bridge.bridge.support import PHONES, make_store
from tests.terminal_bridge.onec.conftest import BOM, FIXTURES, TOKEN, bearer, onec_tenant

LINE = {"id": "1", "name": "Кофе", "price": 300, "quantity": 1}


def _sale(rid: str, phone: str | None = PHONES[0]) -> bytes:
    receipt: dict[str, Any] = {"id": rid, "lines": [LINE]}
    if phone:
        receipt["customer"] = {"phone": phone}
    return json.dumps({"receipt": receipt}).encode()


def _item(path: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    return {"method": "POST", "path": path, "headers": headers,
            "body": base64.b64encode(body).decode()}  # fmt: skip


async def _replay(client: TestClient, token: str, items: list[dict[str, Any]]) -> list[Any]:
    response = await client.post(
        "/bridge/v1/replay", json={"items": items}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status == 200, await response.text()
    return [(r["status"], base64.b64decode(r["body"])) for r in (await response.json())["results"]]


async def _receipts(deps: Deps, merchant_id: int) -> list[str]:
    rows = await deps.db.fetch_all(
        "SELECT external_id FROM receipts WHERE merchant_id = :m ORDER BY id", {"m": merchant_id}
    )
    return [row[0] for row in rows]


async def _till_token(deps: Deps, merchant_id: int, store_id: int) -> str:
    now = deps.clock()
    terminal = await merchants.create_terminal(deps.db, merchant_id, store_id, "Касса", now)
    return await merchants.issue_terminal_token(deps.db, merchant_id, terminal, now)


async def test_a_run_is_answered_as_each_till_call_would_be(
    aiohttp_client: Any, deps: Deps
) -> None:
    """A native sale, its return and a 1C sale (BOM, its own token) in one run: each
    result is the till's own answer, byte for byte what the same call gets when the till
    sends it again itself (answered from the record), and the sales are recorded once."""
    client = await aiohttp_client(build_app(deps.settings, deps=deps))
    store = await make_store(deps)
    till = await _till_token(deps, store.tenant.merchant_id, store.tenant.store_id)
    native = {"Authorization": f"Bearer {till}", "Content-Type": "application/json",
              "Idempotency-Key": "sale-b1"}  # fmt: skip
    sale = _sale("b1")
    refund = json.dumps({"id": "r1", "receipt_id": "b1", "lines": [
        {"id": "1", "quantity": 1}]}).encode()  # fmt: skip
    onec = await onec_tenant(deps, name="1С на бридже")
    onec_sale = (FIXTURES / "04-receipts.confirm.request.json").read_bytes()
    assert onec_sale.startswith(BOM)
    items = [
        _item("/api/v1/checkout/confirm", native, sale),
        _item("/api/v1/checkout/refund", {**native, "Idempotency-Key": "refund-r1"}, refund),
        _item("/1c/v1/receipts/confirm", {**bearer(), "Content-Type": "application/json"},
              onec_sale),
    ]  # fmt: skip
    results = await _replay(client, store.bridge_token, items)
    assert [status for status, _ in results] == [200, 200, 200], results
    assert json.loads(results[0][1])["status"] == "confirmed"

    again = [
        await client.post("/api/v1/checkout/confirm", data=sale, headers=native),
        await client.post("/api/v1/checkout/refund", data=refund,
                          headers={**native, "Idempotency-Key": "refund-r1"}),
        await client.post("/1c/v1/receipts/confirm", data=onec_sale,
                          headers={**bearer(TOKEN), "Content-Type": "application/json"}),
    ]  # fmt: skip
    for (status, body), single in zip(results, again, strict=True):
        assert (single.status, await single.read()) == (status, body)
    assert await _receipts(deps, store.tenant.merchant_id) == ["b1", "r1"]
    assert len(await _receipts(deps, onec.merchant_id)) == 1


async def test_the_run_stops_at_the_first_refusal(aiohttp_client: Any, deps: Deps) -> None:
    """The second call is refused (400, in the till's own error shape): the first is
    applied, the third is neither applied nor answered, so it cannot overtake."""
    client = await aiohttp_client(build_app(deps.settings, deps=deps))
    store = await make_store(deps)
    token = await _till_token(deps, store.tenant.merchant_id, store.tenant.store_id)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    items = [
        _item("/api/v1/checkout/confirm", headers, _sale("s1")),
        _item("/api/v1/checkout/confirm", headers, b'{"receipt": {"id": "s2"}}'),
        _item("/api/v1/checkout/confirm", headers, _sale("s3")),
    ]
    results = await _replay(client, store.bridge_token, items)
    assert [status for status, _ in results] == [200, 400]
    assert json.loads(results[1][1])["code"] == "validation_error"
    assert await _receipts(deps, store.tenant.merchant_id) == ["s1"]


async def test_each_call_keeps_its_own_credential(aiohttp_client: Any, deps: Deps) -> None:
    """The bridge's token opens the run, not the calls in it: a call whose till token is
    revoked gets the till's 401 and stops the run; a till's token cannot open a run, and
    a bridge's own call cannot be replayed through it."""
    client = await aiohttp_client(build_app(deps.settings, deps=deps))
    store = await make_store(deps)
    results = await _replay(client, store.bridge_token, [
        _item("/api/v1/checkout/confirm", {"Authorization": "Bearer revoked",
              "Content-Type": "application/json"}, _sale("x1")),
        _item("/api/v1/checkout/confirm", {"Content-Type": "application/json"}, _sale("x2")),
    ])  # fmt: skip
    assert [status for status, _ in results] == [401]
    till = await _till_token(deps, store.tenant.merchant_id, store.tenant.store_id)
    headers = {"Authorization": f"Bearer {till}", "Content-Type": "application/json"}
    opened = await client.post("/bridge/v1/replay", json={"items": [
        _item("/api/v1/checkout/confirm", headers, _sale("x3"))]}, headers=headers)  # fmt: skip
    assert opened.status == 401
    nested = await _replay(
        client,
        store.bridge_token,
        [_item("/bridge/v1/heartbeat", {}, b'{"outbox_depth": 0, "version": "1"}')],
    )
    assert nested[0][0] == 400 and json.loads(nested[0][1])["code"] == "not_replayable"
    assert await _receipts(deps, store.tenant.merchant_id) == []


async def test_a_malformed_run_is_refused_whole(aiohttp_client: Any, deps: Deps) -> None:
    """A run that is not a list of calls (no items, bad base64, too many) is a 400 of
    the bridge API's shape, and nothing is applied."""
    client = await aiohttp_client(build_app(deps.settings, deps=deps))
    store = await make_store(deps)
    auth = {"Authorization": f"Bearer {store.bridge_token}"}
    for batch in ({"items": []}, {"items": [{"method": "POST", "path": "/api/v1/x",
                                             "headers": {}, "body": "%%%"}]},
                  {"items": [_item("/api/v1/x", {}, b"{}")] * 101}):  # fmt: skip
        response = await client.post("/bridge/v1/replay", json=batch, headers=auth)
        assert response.status == 400
        assert (await response.json())["code"] == "validation_error"
