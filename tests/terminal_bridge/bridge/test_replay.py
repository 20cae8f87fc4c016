"""The replay worker: same bytes and headers, in order, backing off on a cloud that is
down without ever skipping an item, and setting aside what the cloud refuses for good."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

from terminal_bridge.store.server import Bridge
from tests.terminal_bridge.bridge.fake_cloud import FakeCloud, running
from tests.terminal_bridge.bridge.support import free_port

HEADERS = {"Authorization": "Bearer till-token", "Content-Type": "application/json",
           "Idempotency-Key": "k-1"}  # fmt: skip


def _queue(bridge: Bridge, *names: str) -> None:
    for name in names:
        body = b'{"receipt": {"id": "%s", "lines": []}}' % name.encode()
        bridge.state.enqueue("native", "POST", "/api/v1/checkout/confirm", HEADERS, body,
                             f"confirm:{name}")  # fmt: skip


async def _drain(bridge: Bridge, until: float = 10.0) -> None:
    task = asyncio.create_task(bridge._replay_forever())
    try:
        for _ in range(int(until / 0.01)):
            if not bridge.state.depth():
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_replay_sends_the_same_bytes_and_headers_in_order(tmp_path: Path) -> None:
    """Each item goes out as the till sent it (body bytes, Authorization, idempotency
    key), oldest first, and leaves the outbox once the cloud accepted it."""
    fake = FakeCloud()
    async with running(fake, tmp_path) as (bridge, _):
        _queue(bridge, "a", "b", "c")
        await _drain(bridge)
    assert [r.body for r in fake.received] == [
        b'{"receipt": {"id": "%s", "lines": []}}' % n for n in (b"a", b"b", b"c")
    ]
    for received in fake.received:
        assert received.path == "/api/v1/checkout/confirm"
        for name, value in HEADERS.items():
            assert received.headers[name] == value


async def test_a_down_cloud_is_retried_with_growing_pauses_never_skipping(
    tmp_path: Path,
) -> None:
    """503, 503, 502, then success: the first item is sent four times before the second
    is tried at all, with pauses that grow."""
    fake = FakeCloud(answers=[(503, b"{}"), (503, b"{}"), (502, b"{}")])
    async with running(fake, tmp_path, backoff=(0.05, 1.0)) as (bridge, _):
        _queue(bridge, "a", "b")
        await _drain(bridge)
    stamps = [r.at for r in fake.received]
    keys = [r.body.split(b'"id": "')[1][:1] for r in fake.received]
    assert keys == [b"a", b"a", b"a", b"a", b"b"]
    pauses = [later - earlier for earlier, later in itertools.pairwise(stamps)][:3]
    assert pauses[0] >= 0.04 and pauses[1] >= 0.09 and pauses[2] >= 0.19


async def test_an_unreachable_cloud_keeps_the_item_at_the_head(tmp_path: Path) -> None:
    """A connection refused counts an attempt and keeps the item first in line."""
    bridge = Bridge(f"http://127.0.0.1:{free_port()}", "t", tmp_path, background=False)
    await bridge._start()
    try:
        _queue(bridge, "a", "b")
        head = bridge.state.head()
        assert head is not None
        assert await bridge.replay_one(head) == "retry"
        again = bridge.state.head()
        assert again is not None and again.key == "confirm:a" and again.attempts == 1
    finally:
        await bridge._stop()


async def test_a_refusal_for_good_is_set_aside_counted_and_reported(tmp_path: Path) -> None:
    """A 422 from the cloud moves the item to ``rejected`` (with the cloud's answer), the
    next one is delivered, and the heartbeat reports one rejected."""
    refusal = b'{"code":"validation_error","message":"..."}'
    fake = FakeCloud(answers=[(422, refusal)])
    async with running(fake, tmp_path) as (bridge, _):
        _queue(bridge, "a", "b")
        await _drain(bridge)
        assert bridge.state.rejected() == [(1, "confirm:a", 422, refusal)]
        await bridge.heartbeat_once()
    assert [r.body.split(b'"id": "')[1][:1] for r in fake.received] == [b"a", b"b"]
    assert fake.heartbeats[-1]["rejected_count"] == 1
    assert fake.heartbeats[-1]["outbox_depth"] == 0


async def test_a_refused_credential_is_retried_not_set_aside(tmp_path: Path) -> None:
    """401 (a token revoked, say) is about the till, not the sale: the item stays and
    the outbox's age shows in health until someone fixes it."""
    fake = FakeCloud(default=(401, b'{"code":"invalid_token","message":"..."}'))
    async with running(fake, tmp_path) as (bridge, _):
        _queue(bridge, "a")
        head = bridge.state.head()
        assert head is not None
        assert await bridge.replay_one(head) == "retry"
        assert bridge.state.depth() == 1 and bridge.state.rejected_count() == 0
        await bridge.heartbeat_once()
    assert fake.heartbeats[-1]["outbox_depth"] == 1
    assert fake.heartbeats[-1]["oldest_unsent_at"] is not None


def _names(fake: FakeCloud) -> list[bytes]:
    return [r.body.split(b'"id": "')[1][:1] for r in fake.received]


async def test_the_outbox_goes_in_runs_and_a_refusal_ends_its_run(tmp_path: Path) -> None:
    """Three waiting items go in one call; the cloud refuses the second for good: the
    first is delivered, the second set aside, the third sent after it, once."""
    refusal = b'{"code":"validation_error","message":"..."}'
    fake = FakeCloud(answers=[(200, b"{}"), (422, refusal)])
    async with running(fake, tmp_path) as (bridge, _):
        _queue(bridge, "a", "b", "c")
        await _drain(bridge)
        assert bridge.state.rejected() == [(2, "confirm:b", 422, refusal)]
    assert fake.runs == [3]
    assert _names(fake) == [b"a", b"b", b"c"]


async def test_a_cloud_without_runs_gets_the_items_one_by_one(tmp_path: Path) -> None:
    """A cloud of a version before the batch call answers it 404: the bridge sends each
    item by itself, in order, and loses none."""
    fake = FakeCloud(batches=False)
    async with running(fake, tmp_path) as (bridge, _):
        _queue(bridge, "a", "b", "c")
        await _drain(bridge)
    assert fake.runs == []
    assert _names(fake) == [b"a", b"b", b"c"]
    assert all(r.path == "/api/v1/checkout/confirm" for r in fake.received)
