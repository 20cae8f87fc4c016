"""The cloud's side of a store bridge: the program and the customer snapshot for the
bridge's token only, the heartbeat, and the merchant's view of its bridges."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer

from cloud.api.app import create_app
from cloud.services import merchants
from cloud.services.deps import Deps
from schemas import checkout as wire
from schemas.bridge import keyed_hash
from terminal_bridge.store import pricing
from terminal_bridge.store.server import Bridge
from tests.terminal_bridge.bridge.support import PHONES, make_store


def _files(folder: Path) -> bytes:
    return b"".join(path.read_bytes() for path in folder.glob("bridge.sqlite3*"))


async def _client(aiohttp_client: Any, deps: Deps, token: str) -> Any:
    return await aiohttp_client(
        create_app(deps.settings, deps=deps), headers={"Authorization": f"Bearer {token}"}
    )


async def test_snapshot_sync_walks_the_pages_by_cursor(deps: Deps, tmp_path: Path) -> None:
    """The bridge pulls the program and every customer two at a time; each phone finds
    its customer through the keyed hash, and a later sync drops what the cloud no
    longer has and picks up a block."""
    store = await make_store(deps)
    server = TestServer(create_app(deps.settings, deps=deps))
    await server.start_server()
    bridge = Bridge(str(server.make_url("")), store.bridge_token, tmp_path, background=False)
    await bridge._start()
    try:
        await bridge.sync_once(page=2)
        assert bridge.state.customer_count() == len(PHONES)
        assert bridge.program is not None and bridge.program.version == 1
        for phone in PHONES:
            ref = wire.CustomerRef(phone="8" + phone[2:])
            found, known = pricing.find_customer(bridge.state, bridge.program, ref)
            assert known and found is not None and found.customer_id == store.customers[phone]
        vip = store.customers[PHONES[1]]
        assert bridge.state.customer_by_id(vip) == pricing.CachedCustomer(vip, "vip", "VIP")
        gone, blocked = store.customers[PHONES[0]], store.customers[PHONES[2]]
        async with deps.db.transaction() as tx:
            await tx.execute("DELETE FROM customers WHERE id = :c", {"c": gone})
            await tx.execute("UPDATE customers SET blocked_at = 1 WHERE id = :c", {"c": blocked})
        await bridge.sync_once(page=2)
        assert bridge.state.customer_count() == len(PHONES) - 1
        assert bridge.state.customer_by_id(gone) is None
        cached = bridge.state.customer_by_id(blocked)
        assert cached is not None and cached.blocked
        unknown = wire.CustomerRef(phone=PHONES[0])
        assert pricing.find_customer(bridge.state, bridge.program, unknown) == (None, False)
    finally:
        await bridge._stop()
        await server.close()
    raw = _files(tmp_path)
    for phone in PHONES:  # keyed hashes at rest, never the numbers
        assert phone[1:].encode() not in raw and phone[2:].encode() not in raw


async def test_pages_and_cursor_over_the_api(aiohttp_client: Any, deps: Deps) -> None:
    """``limit`` and ``after`` page the customers in id order; the last page says so."""
    store = await make_store(deps)
    bridge = await _client(aiohttp_client, deps, store.bridge_token)
    first = await (await bridge.get("/bridge/v1/customers?limit=3")).json()
    ids = sorted(store.customers.values())
    assert [c["id"] for c in first["customers"]] == ids[:3]
    assert first["next_after"] == ids[2]
    rest = await (await bridge.get(f"/bridge/v1/customers?limit=3&after={ids[2]}")).json()
    assert [c["id"] for c in rest["customers"]] == ids[3:] and rest["next_after"] is None
    program = await (await bridge.get("/bridge/v1/program")).json()
    assert program["version"] == 1 and program["timezone"] == "Europe/Moscow"
    refused = await bridge.get("/bridge/v1/customers?limit=5000")
    assert refused.status == 400 and (await refused.json())["code"] == "invalid_query"


async def test_each_token_opens_only_its_own_door(aiohttp_client: Any, deps: Deps) -> None:
    """A till's token cannot read the snapshot, and a bridge's token cannot price a
    receipt: each is refused with ``wrong_channel``."""
    store = await make_store(deps)
    till = await _client(aiohttp_client, deps, store.tenant.token)
    refused = await till.get("/bridge/v1/program")
    assert refused.status == 401 and (await refused.json())["code"] == "wrong_channel"
    bridge = await _client(aiohttp_client, deps, store.bridge_token)
    body = {"receipt": {"id": "r", "lines": [{"id": "1", "price": 10, "quantity": 1}]}}
    refused = await bridge.post("/api/v1/checkout/calculate", json=body)
    assert refused.status == 401 and (await refused.json())["code"] == "wrong_channel"
    anonymous = await aiohttp_client(create_app(deps.settings, deps=deps))
    missing = await anonymous.post("/bridge/v1/heartbeat", json={})
    assert missing.status == 401 and (await missing.json())["code"] == "missing_token"


async def test_a_merchant_never_sees_another_merchants_bridge_or_customers(
    aiohttp_client: Any, deps: Deps
) -> None:
    """Merchant B's bridge token pages B's customers only, its heartbeat lands on its own
    row, and A's merchant key lists A's bridge alone."""
    a = await make_store(deps, "А")
    b = await make_store(deps, "Б")
    b_bridge = await _client(aiohttp_client, deps, b.bridge_token)
    page = await (await b_bridge.get("/bridge/v1/customers")).json()
    assert {c["id"] for c in page["customers"]} == set(b.customers.values())
    beat = await b_bridge.post("/bridge/v1/heartbeat", json={"outbox_depth": 7, "version": "t"})
    assert beat.status == 200
    a_key = await merchants.issue_merchant_key(deps.db, a.tenant.merchant_id, deps.clock())
    a_admin = await _client(aiohttp_client, deps, a_key)
    listed = (await (await a_admin.get("/api/v1/merchant/bridges")).json())["bridges"]
    assert [row["terminal_id"] for row in listed] == [a.bridge_terminal]
    assert listed[0]["outbox_depth"] is None and listed[0]["stale"] is True
    # A's program carries A's key alone: B's snapshot hashes do not match under it.
    a_bridge = await _client(aiohttp_client, deps, a.bridge_token)
    a_program = await (await a_bridge.get("/bridge/v1/program")).json()
    b_program = await (await b_bridge.get("/bridge/v1/program")).json()
    assert a_program["lookup_key"] != b_program["lookup_key"]


async def test_heartbeat_shows_in_the_merchants_view_and_goes_stale(
    aiohttp_client: Any, deps: Deps
) -> None:
    """The last heartbeat is what the merchant sees (depth, oldest unsent, rejected,
    version); five minutes of silence flag the bridge as stale."""
    store = await make_store(deps)
    bridge = await _client(aiohttp_client, deps, store.bridge_token)
    beat = {"outbox_depth": 12, "oldest_unsent_at": "2026-11-20T11:58:00+03:00",
            "rejected_count": 1, "version": "1.0.0"}  # fmt: skip
    assert (await bridge.post("/bridge/v1/heartbeat", json=beat)).status == 200
    key = await merchants.issue_merchant_key(deps.db, store.tenant.merchant_id, deps.clock())
    admin = await _client(aiohttp_client, deps, key)
    row = (await (await admin.get("/api/v1/merchant/bridges")).json())["bridges"][0]
    assert (row["outbox_depth"], row["rejected_count"], row["version"]) == (12, 1, "1.0.0")
    assert row["oldest_unsent_at"].startswith("2026-11-20T08:58:00")
    assert row["stale"] is False
    deps.clock.advance(minutes=6)  # type: ignore[attr-defined]
    row = (await (await admin.get("/api/v1/merchant/bridges")).json())["bridges"][0]
    assert row["stale"] is True
    bad = await bridge.post("/bridge/v1/heartbeat", json={"outbox_depth": -1, "version": "x"})
    assert bad.status == 400 and (await bad.json())["code"] == "validation_error"


def test_keyed_hash_is_per_key_and_kind() -> None:
    """The same number hashes differently under another bridge's key or as another
    kind, so one store's file says nothing about another's."""
    one, two = b"k" * 32, b"j" * 32
    assert keyed_hash(one, "phone", "+79990000001") != keyed_hash(two, "phone", "+79990000001")
    assert keyed_hash(one, "phone", "123") != keyed_hash(one, "card", "123")
