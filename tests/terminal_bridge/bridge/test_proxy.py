"""The bridge between the tills and the cloud: transparent while the cloud answers, an
answer within 1.5 s whatever it does, and the offline fallback by kind of call."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from tests.terminal_bridge.bridge.fake_cloud import FakeCloud, running
from tests.terminal_bridge.bridge.support import dumps, receipt

TILL = {"Authorization": "Bearer till-token", "Content-Type": "application/json"}
OFFLINE = "Нет связи с сервером лояльности: бонусы будут начислены позже"


def _sale(rid: str) -> bytes:
    return dumps({"receipt": receipt(rid, None, Decimal("100.00"), "2026-11-28T10:00:00+03:00")})


async def _till(aiohttp_client: Any, bridge: Any) -> TestClient:
    client: TestClient = await aiohttp_client(bridge.app())
    return client


async def test_online_calls_pass_through_byte_for_byte(aiohttp_client: Any, tmp_path: Path) -> None:
    """With the cloud answering, the till gets the cloud's status and bytes (a refusal
    too), and the cloud gets the till's bytes and credential."""
    fake = FakeCloud(answers=[(200, b'{"x": 1.50}'), (422, b'{"code":"c","message":"m"}')])
    async with running(fake, tmp_path, start=False) as (bridge, _):
        till = await _till(aiohttp_client, bridge)
        first = await till.post("/api/v1/checkout/calculate?x=1", data=_sale("r1"), headers=TILL)
        assert first.status == 200 and await first.read() == b'{"x": 1.50}'
        second = await till.post("/api/v1/checkout/confirm", data=_sale("r2"), headers=TILL)
        assert second.status == 422 and (await second.json())["code"] == "c"
        assert bridge.state.depth() == 0
    assert fake.received[0].path == "/api/v1/checkout/calculate?x=1"
    assert fake.received[0].body == _sale("r1")
    assert fake.received[0].headers["Authorization"] == "Bearer till-token"


async def test_a_hanging_cloud_still_gets_the_till_an_answer_in_time(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    """A cloud that never answers counts as down: the quote is priced here and the sale
    kept in the outbox, each answer within 1.5 s."""
    fake = FakeCloud(delay=30)
    async with running(fake, tmp_path, start=False) as (bridge, _):
        till = await _till(aiohttp_client, bridge)
        body = json.loads(_sale("r1"))
        body["receipt"]["customer"] = None
        started = time.monotonic()
        quote = await till.post("/api/v1/checkout/calculate", data=_sale("r1"), headers=TILL)
        assert time.monotonic() - started < 1.5
        assert quote.status == 200
        quoted = await quote.json()
        assert quoted["messages"][0] == OFFLINE and quoted["redeem"] == 0
        bridge._down_until = 0  # probe the hanging cloud again for the sale
        started = time.monotonic()
        sale = await till.post("/api/v1/checkout/confirm", data=_sale("r1"), headers=TILL)
        assert time.monotonic() - started < 1.5
        assert sale.status == 200 and (await sale.json())["status"] == "queued"
        assert bridge.state.depth() == 1


async def test_sales_queue_behind_the_outbox_even_with_the_cloud_back(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    """While the outbox holds a sale, a new sale goes behind it, not to the cloud: the
    replay keeps the store's order."""
    fake = FakeCloud()
    async with running(fake, tmp_path, start=False) as (bridge, _):
        till = await _till(aiohttp_client, bridge)
        bridge.state.enqueue("native", "POST", "/api/v1/checkout/confirm", TILL, _sale("r0"),
                             "confirm:r0")  # fmt: skip
        sale = await till.post("/api/v1/checkout/confirm", data=_sale("r1"), headers=TILL)
        assert (await sale.json())["status"] == "queued"
        quote = await till.post("/api/v1/checkout/calculate", data=_sale("r2"), headers=TILL)
        assert quote.status == 200
        keys = []
        while (item := bridge.state.head()) is not None:
            keys.append(item.key)
            bridge.state.delivered_many([item.seq])
    assert keys == ["confirm:r0", "confirm:r1"]
    assert [r.path for r in fake.received] == ["/api/v1/checkout/calculate"]


async def test_spending_and_holds_are_refused_offline_in_the_channel_shape(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    """With the cloud down a hold, a sale paid by bonuses and a gift certificate payment
    are refused with a 503 ``{code, message}`` and never queued (no double spend)."""
    fake = FakeCloud(default=(503, b"{}"))
    async with running(fake, tmp_path, start=False) as (bridge, _):
        till = await _till(aiohttp_client, bridge)
        document = json.loads(_sale("r1"))
        calls = [
            ("/api/v1/checkout/hold", {**document, "amount": 10}),
            ("/api/v1/checkout/confirm", {**document, "redeemed": 10}),
            ("/api/v1/checkout/confirm",
             {**document, "gift_certificates": [{"number": "GC-1234", "amount": 5}]}),
        ]  # fmt: skip
        for path, body in calls:
            answer = await till.post(path, data=json.dumps(body), headers=TILL)
            assert answer.status == 503
            refused = await answer.json()
            assert refused["code"] == "loyalty_offline" and "Нет связи" in refused["message"]
        assert bridge.state.depth() == 0


async def test_a_bad_body_offline_gets_a_russian_400(aiohttp_client: Any, tmp_path: Path) -> None:
    """A quote the bridge cannot read while the cloud is away gets the channel's 400,
    never a 500."""
    fake = FakeCloud(default=(503, b"{}"))
    async with running(fake, tmp_path, start=False) as (bridge, _):
        till = await _till(aiohttp_client, bridge)
        for body in (b"{", b'{"receipt": {"id": "x", "lines": []}}', b""):
            answer = await till.post("/api/v1/checkout/calculate", data=body, headers=TILL)
            assert answer.status == 400
            assert (await answer.json())["code"] == "validation_error"
        sale = await till.post("/api/v1/checkout/confirm", data=b"{", headers=TILL)
        assert sale.status == 503


async def test_lookup_offline_reads_the_snapshot(aiohttp_client: Any, tmp_path: Path) -> None:
    """A customer lookup by phone while the cloud is away is answered from the cached
    snapshot (no balance: offline redeems nothing); an unknown phone is a 404."""
    from schemas.bridge import keyed_hash

    fake = FakeCloud(default=(503, b"{}"))
    async with running(fake, tmp_path, start=False) as (bridge, _):
        assert bridge.program is not None
        digest = keyed_hash(bridge.program.lookup_key, "phone", "+79990000001")
        bridge.state.store_page(1, [(42, "vip", "VIP", False)], [(digest, 42)])
        till = await _till(aiohttp_client, bridge)
        found = await till.get("/api/v1/customers/lookup?phone=89990000001", headers=TILL)
        assert found.status == 200
        customer = await found.json()
        assert (customer["id"], customer["tier"], customer["balance"]) == (42, "vip", 0)
        missing = await till.get("/api/v1/customers/lookup?phone=89990000009", headers=TILL)
        assert missing.status == 404


async def test_a_fault_in_the_bridge_is_a_refusal_not_a_500(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    """Whatever goes wrong inside the bridge, the till gets the channel's own error
    shape with a Russian message, never a stack trace or a 500."""
    from terminal_bridge.channels.native import NativeChannel

    class Broken(NativeChannel):
        def classify(self, method: str, path: str, body: bytes) -> Any:
            raise RuntimeError("boom")

    async with running(FakeCloud(), tmp_path, start=False, channels=(Broken(),)) as (bridge, _):
        till = await _till(aiohttp_client, bridge)
        answer = await till.post("/api/v1/checkout/calculate", data=_sale("r"), headers=TILL)
        assert answer.status == 503
        assert (await answer.json())["code"] == "bridge_error"
