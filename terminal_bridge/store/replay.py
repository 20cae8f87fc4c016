"""Sending the outbox to the cloud, oldest first.

A run of items goes in one call (``POST /bridge/v1/replay``): the cloud answers each as
if its till had sent it, in order, and stops at the first that is not a success. One
call per run instead of one per receipt is what brings a day's backlog in within a
minute (``bench/bridge.py``). A cloud without that call (404 / 405) gets the items one
by one, as before.
"""

from __future__ import annotations

import base64
import json

import httpx
import structlog

from schemas.bridge import REPLAY_MAX_ITEMS
from terminal_bridge.store.state import BridgeState, OutboxItem

log = structlog.get_logger("loyalty.bridge")

RETRYABLE_4XX = frozenset({401, 402, 403, 408, 429})
"""Refusals about the moment or the credential, not the sale (a revoked token, a
suspended merchant, rate limits): the item stays at the head of the outbox, visible in
health, instead of every queued receipt being set aside."""
RUN_BYTES = 512 * 1024
"""Bodies per run: base64 makes it about 700 KB, inside the cloud's 1 MB request limit."""
REPLAY_PATH = "/bridge/v1/replay"


class Replayer:
    """Delivers the head of the outbox: ``delivered``, ``rejected`` or ``retry``."""

    def __init__(self, state: BridgeState, client: httpx.AsyncClient, cloud: str) -> None:
        self.state = state
        self.client = client
        self.cloud = cloud
        self.batches = True
        """False once the cloud showed it has no batch call (an older version)."""

    async def next(self) -> str | None:
        """Send what waits first (a run, or one item); None when the outbox is empty."""
        items = self.state.run(REPLAY_MAX_ITEMS if self.batches else 1, RUN_BYTES)
        if not items:
            return None
        if self.batches and len(items) > 1:
            return await self.run(items)
        return await self.one(items[0])

    async def one(self, item: OutboxItem) -> str:
        try:
            response = await self.client.request(
                item.method, self.cloud + item.path, content=item.body, headers=item.headers
            )
        except httpx.HTTPError as exc:
            self.state.failed(item.seq, type(exc).__name__)
            return "retry"
        return self._settle(item, response.status_code, response.content)

    async def run(self, items: list[OutboxItem]) -> str:
        batch = {"items": [
            {"method": item.method, "path": item.path, "headers": item.headers,
             "body": base64.b64encode(item.body).decode()}
            for item in items
        ]}  # fmt: skip
        try:
            response = await self.client.post(
                self.cloud + REPLAY_PATH, content=json.dumps(batch).encode(),
                headers={"Content-Type": "application/json"},
            )  # fmt: skip
        except httpx.HTTPError as exc:
            self.state.failed(items[0].seq, type(exc).__name__)
            return "retry"
        if response.status_code in (404, 405):
            log.warning("replay_batches_unsupported", status=response.status_code)
            self.batches = False
            return await self.one(items[0])
        if response.status_code != 200:
            # The run as a whole was not taken (the cloud down, the bridge's own token
            # refused): nothing of it was applied.
            self.state.failed(items[0].seq, f"HTTP {response.status_code} (run)")
            return "retry"
        results = json.loads(response.content)["results"]
        delivered: list[int] = []
        outcome = "delivered"
        for item, result in zip(items, results, strict=False):
            status = int(result["status"])
            if status < 300:
                delivered.append(item.seq)
                continue
            self.state.delivered_many(delivered)
            delivered = []
            outcome = self._settle(item, status, base64.b64decode(result["body"]))
            break
        self.state.delivered_many(delivered)
        return outcome

    def _settle(self, item: OutboxItem, status: int, content: bytes) -> str:
        if status < 300:
            self.state.delivered_many([item.seq])
            return "delivered"
        if status >= 500 or status in RETRYABLE_4XX:
            self.state.failed(item.seq, f"HTTP {status}")
            return "retry"
        self.state.reject(item, status, content)
        log.error("outbox_rejected", key=item.key, status=status, body=content[:300])
        return "rejected"
