"""The bridge process: a transparent proxy for the tills with an offline fallback.

Every call on a channel's prefix goes to the cloud as it came (bytes, the till's own
``Authorization``); the till has its answer within ``budget`` seconds whatever the
cloud does. When the cloud does not answer (connect error, timeout, 5xx) the channel's
call kind decides: a quote is priced here (accrual only), a record call (sale, cancel,
return) is committed to the outbox and replayed in arrival order later, a lookup reads
the snapshot, anything else is refused in the channel's shape. Plain asyncio, aiohttp
and httpx: the same code runs on Linux and Windows.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import httpx
import structlog
from aiohttp import web

from terminal_bridge.channel import BridgeChannel, Call
from terminal_bridge.channels.modulkassa import CHANNEL as MODULKASSA
from terminal_bridge.channels.native import CHANNEL as NATIVE
from terminal_bridge.channels.onec import CHANNEL as ONEC
from terminal_bridge.store import pricing
from terminal_bridge.store.replay import Replayer
from terminal_bridge.store.state import BridgeState, OutboxItem

log = structlog.get_logger("loyalty.bridge")

VERSION = "1.0.0"
CHANNELS: tuple[BridgeChannel, ...] = (NATIVE, MODULKASSA, ONEC)
"""Every channel the bridge fronts: one line per adapter."""
FORWARDED_HEADERS = ("Authorization", "Content-Type", "Accept", "Idempotency-Key")
OFFLINE_CODE = "loyalty_offline"
OFFLINE_MESSAGE = "Нет связи с сервером лояльности: операция недоступна, повторите позже"
BRIDGE_ERROR = "Сбой сервера лояльности в магазине: повторите операцию"
UNFIT = "Некорректный запрос: операция не сохранена"


class Bridge:
    def __init__(
        self, cloud: str, token: str, data: Path, *,
        channels: Sequence[BridgeChannel] = CHANNELS,
        budget: float = 1.5, forward_timeout: float = 1.0, down_for: float = 3.0,
        sync_interval: float = 60.0, heartbeat_interval: float = 30.0,
        backoff: tuple[float, float] = (0.5, 30.0), replay_timeout: float = 10.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC), background: bool = True,
    ) -> None:  # fmt: skip
        self.cloud = cloud.rstrip("/")
        self.token = token
        self.state = BridgeState(data / "bridge.sqlite3")
        self.channels = sorted(channels, key=lambda channel: -len(channel.prefix))
        self.budget = budget
        self.forward_timeout = min(forward_timeout, budget * 0.8)
        self.down_for = down_for
        self.sync_interval = sync_interval
        self.heartbeat_interval = heartbeat_interval
        self.backoff = backoff
        self.replay_timeout = replay_timeout
        self.clock = clock
        self.background = background
        """False in tests that drive replay, sync and heartbeat one step at a time."""
        self.program = pricing.load_program(self.state)
        self._down_until = 0.0
        self._records = asyncio.Lock()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._till_client: httpx.AsyncClient | None = None
        self._cloud_client: httpx.AsyncClient | None = None
        self._replayer: Replayer | None = None

    # ---- lifecycle ----------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_get("/bridge/health", self.health)
        for channel in self.channels:
            app.router.add_route("*", channel.prefix + "/{tail:.*}", self.handle)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
        return app

    async def _start(self, app: web.Application | None = None) -> None:
        self._till_client = httpx.AsyncClient(timeout=self.forward_timeout)
        self._cloud_client = httpx.AsyncClient(
            timeout=self.replay_timeout, headers={"Authorization": f"Bearer {self.token}"}
        )
        self._replayer = Replayer(self.state, self._cloud_client, self.cloud)
        if self.background:
            self._tasks = [
                asyncio.create_task(self._replay_forever()),
                asyncio.create_task(self._sync_forever()),
                asyncio.create_task(self._heartbeat_forever()),
            ]

    async def _stop(self, app: web.Application | None = None) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for client in (self._till_client, self._cloud_client):
            if client is not None:
                await client.aclose()
        self._till_client = self._cloud_client = None
        self.state.close()

    # ---- the tills' calls ---------------------------------------------------------------

    def _channel_of(self, path: str) -> BridgeChannel:
        return next(c for c in self.channels if path.startswith(c.prefix + "/"))

    async def handle(self, request: web.Request) -> web.Response:
        channel = self._channel_of(request.path)
        try:
            return await self._handle(channel, request)
        except Exception:  # the till gets the channel's refusal, never a stack trace
            log.exception("bridge_error", path=request.path)
            return self._respond(channel.render_error(503, "bridge_error", BRIDGE_ERROR))

    async def _handle(self, channel: BridgeChannel, request: web.Request) -> web.Response:
        started = time.monotonic()
        body = await request.read()
        call = channel.classify(request.method, request.path, body)
        headers = {k: v for k in FORWARDED_HEADERS if (v := request.headers.get(k)) is not None}
        if call.kind == "record":
            async with self._records:
                # Behind what already waits, even with the cloud back: replay keeps order.
                if self.state.depth() == 0:
                    answer = await self._forward(request, headers, body, started)
                    if answer is not None:
                        return answer
                return self._record(channel, call, request, headers, body)
        answer = await self._forward(request, headers, body, started)
        if answer is not None:
            return answer
        return self._offline(channel, call, request, body)

    async def _forward(
        self, request: web.Request, headers: dict[str, str], body: bytes, started: float
    ) -> web.Response | None:
        """The cloud's own answer, or None when it is down (then the bridge answers)."""
        if time.monotonic() < self._down_until or self._till_client is None:
            return None
        left = self.budget - (time.monotonic() - started) - 0.2
        try:
            async with asyncio.timeout(max(0.05, min(self.forward_timeout, left))):
                response = await self._till_client.request(
                    request.method, self.cloud + request.path_qs, content=body, headers=headers
                )
        except (httpx.HTTPError, TimeoutError) as exc:
            self._cloud_down(type(exc).__name__)
            return None
        if response.status_code >= 500:
            self._cloud_down(f"HTTP {response.status_code}")
            return None
        out = web.Response(status=response.status_code, body=response.content)
        if "content-type" in response.headers:
            out.headers["Content-Type"] = response.headers["content-type"]
        return out

    def _cloud_down(self, reason: str) -> None:
        # A hanging cloud is as good as absent: the next calls go offline at once
        # instead of each waiting out the timeout.
        if time.monotonic() >= self._down_until:
            log.warning("cloud_unreachable", reason=reason)
        self._down_until = time.monotonic() + self.down_for

    def _respond(self, answer: tuple[int, bytes]) -> web.Response:
        status, body = answer
        return web.Response(status=status, body=body, content_type="application/json")

    def _record(
        self, channel: BridgeChannel, call: Call, request: web.Request, headers: dict[str, str],
        body: bytes,
    ) -> web.Response:  # fmt: skip
        if call.key is None:
            # The channel found the body unfit for the cloud (it would be refused on
            # replay, holding up the queue): nothing is kept, the till gets its refusal.
            status, answer = channel.render_recorded(request.method, request.path, body)
            if status < 400:
                status, answer = channel.render_error(400, "validation_error", UNFIT)
            return self._respond((status, answer))
        self.state.enqueue(channel.name, request.method, request.path_qs, headers, body, call.key)
        self._wake.set()
        return self._respond(channel.render_recorded(request.method, request.path, body))

    def _offline(
        self, channel: BridgeChannel, call: Call, request: web.Request, body: bytes
    ) -> web.Response:
        program = self.program
        if call.kind == "quote":
            if program is None:
                return self._respond(channel.render_error(503, OFFLINE_CODE, OFFLINE_MESSAGE))
            try:
                quote_request = channel.quote_request(body)
            except ValueError as exc:
                return self._respond(channel.render_error(400, "validation_error", str(exc)))
            customer, found = pricing.find_customer(
                self.state, program, quote_request.receipt.customer
            )
            quote = pricing.offline_quote(program, customer, found, quote_request, self.clock())
            return self._respond(channel.render_quote(body, quote))
        if call.kind == "lookup":
            query = dict(request.query)
            ref = channel.lookup_key(body, query)
            customer, _ = pricing.find_customer(self.state, program, ref)
            return self._respond(channel.render_lookup(body, query, customer))
        return self._respond(channel.render_error(503, OFFLINE_CODE, OFFLINE_MESSAGE))

    async def health(self, request: web.Request) -> web.Response:
        oldest = self.state.oldest()
        return web.json_response({
            "outbox_depth": self.state.depth(),
            "oldest_unsent_at": None if oldest is None
            else datetime.fromtimestamp(oldest, UTC).isoformat(),
            "rejected_count": self.state.rejected_count(),
            "program_version": None if self.program is None else self.program.version,
            "customers": self.state.customer_count(),
            "cloud": "down" if time.monotonic() < self._down_until else "up",
            "version": VERSION,
        })  # fmt: skip

    # ---- replay -------------------------------------------------------------------------

    async def replay_one(self, item: OutboxItem) -> str:
        """Send one item by itself: ``delivered``, ``rejected`` or ``retry``."""
        assert self._replayer is not None
        return await self._replayer.one(item)

    async def _replay_forever(self) -> None:
        assert self._replayer is not None
        delay = self.backoff[0]
        sent = 0
        while True:
            try:
                outcome = await self._replayer.next()
            except Exception:  # never let the worker die: the outbox is its only job
                log.exception("replay_error")
                outcome = "retry"
            if outcome is None:
                if sent:
                    log.info("outbox_drained", sent=sent)
                    sent = 0
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=5)
                except TimeoutError:
                    pass
                continue
            if outcome == "retry":
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.backoff[1])
            else:
                delay = self.backoff[0]
                sent += 1

    # ---- sync and heartbeat -------------------------------------------------------------

    async def sync_once(self, page: int = 500) -> None:
        """The active program, then the whole customer snapshot page by page."""
        assert self._cloud_client is not None
        response = await self._cloud_client.get(f"{self.cloud}/bridge/v1/program")
        response.raise_for_status()
        self.state.set_meta({"program": response.text})
        generation = int(self.state.get_meta("snapshot_generation") or 0) + 1
        after: int | None = 0
        while after is not None:
            params = {"limit": str(page), **({"after": str(after)} if after else {})}
            got = await self._cloud_client.get(f"{self.cloud}/bridge/v1/customers", params=params)
            got.raise_for_status()
            document = json.loads(got.content)
            customers = document["customers"]
            self.state.store_page(
                generation,
                [(c["id"], c["tier"], c["tier_name"], c["blocked"]) for c in customers],
                [(key, c["id"]) for c in customers for key in c["keys"]],
            )
            after = document["next_after"]
        self.state.finish_sync(generation)
        self.program = pricing.load_program(self.state)

    async def _sync_forever(self) -> None:
        while True:
            try:
                await self.sync_once()
                log.info("snapshot_synced", customers=self.state.customer_count())
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                log.warning("sync_failed", error=type(exc).__name__, detail=str(exc)[:200])
            await asyncio.sleep(self.sync_interval)

    async def heartbeat_once(self) -> None:
        assert self._cloud_client is not None
        oldest = self.state.oldest()
        response = await self._cloud_client.post(
            f"{self.cloud}/bridge/v1/heartbeat",
            json={
                "outbox_depth": self.state.depth(),
                "oldest_unsent_at": None if oldest is None
                else datetime.fromtimestamp(oldest, UTC).isoformat(),
                "rejected_count": self.state.rejected_count(),
                "version": VERSION,
            },
        )  # fmt: skip
        response.raise_for_status()

    async def _heartbeat_forever(self) -> None:
        while True:
            try:
                await self.heartbeat_once()
            except httpx.HTTPError as exc:
                log.warning("heartbeat_failed", error=type(exc).__name__)
            await asyncio.sleep(self.heartbeat_interval)


def serve(
    cloud: str, token: str, listen: str, data: Path, **options: float
) -> None:  # pragma: no cover - run as a process by the tests
    host, _, port = listen.rpartition(":")
    bridge = Bridge(cloud, token, data, **options)  # type: ignore[arg-type]
    log.info("bridge_start", cloud=cloud, listen=listen, data=str(data), version=VERSION)
    web.run_app(bridge.app(), host=host or "127.0.0.1", port=int(port), print=None)
