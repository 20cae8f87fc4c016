"""A stand-in for the cloud on a local port: it answers what each test scripts and
records what the bridge sent (outbound HTTP in tests goes to a local fake server)."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from terminal_bridge.store.server import Bridge
from tests.terminal_bridge.bridge.support import PROGRAM


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)


@dataclass
class FakeCloud:
    answers: list[tuple[int, bytes]] = field(default_factory=list)
    """Scripted answers, in order; when used up, ``default``."""
    default: tuple[int, bytes] = (200, b'{"status":"confirmed"}')
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    heartbeats: list[dict[str, Any]] = field(default_factory=list)
    batches: bool = True
    """Whether it has the batch call ``/bridge/v1/replay`` (a cloud before it had not)."""
    runs: list[int] = field(default_factory=list)
    """The number of items of each batch call received."""

    def _answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Any:
        self.received.append(Received(method, path, headers, body))
        return self.answers.pop(0) if self.answers else self.default

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if request.path == "/bridge/v1/heartbeat":
            self.heartbeats.append(json.loads(body))
            return web.json_response({"received_at": "2026-11-28T00:00:00+00:00"})
        if self.delay:
            await asyncio.sleep(self.delay)
        if request.path == "/bridge/v1/replay":
            if not self.batches:
                return web.json_response({"code": "not_found"}, status=404)
            return web.json_response({"results": self._run(json.loads(body)["items"])})
        status, answer = self._answer(request.method, request.path_qs, dict(request.headers),
                                      body)  # fmt: skip
        return web.Response(status=status, body=answer, content_type="application/json")

    def _run(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """As the cloud does: each item answered in order, up to the first failure."""
        self.runs.append(len(items))
        results = []
        for item in items:
            status, answer = self._answer(
                item["method"], item["path"], item["headers"], base64.b64decode(item["body"])
            )
            results.append({"status": status, "content_type": "application/json",
                            "body": base64.b64encode(answer).decode()})  # fmt: skip
            if status >= 300:
                break
        return results

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app


PROGRAM_META = json.dumps({
    "version": 7, "program_version_id": 70, "timezone": "Europe/Moscow", "document": PROGRAM,
    "lookup_key": "a2V5LWtleS1rZXkta2V5LWtleS1rZXkta2V5LWtleS0=",
})  # fmt: skip


@asynccontextmanager
async def running(
    fake: FakeCloud, data: Path, start: bool = True, **options: Any
) -> AsyncIterator[tuple[Bridge, TestServer]]:
    """The fake cloud on a port and a bridge (no background workers) pointed at it, with
    a cached program; ``start=False`` leaves starting it to the bridge's app (a till's
    test client)."""
    server = TestServer(fake.app())
    await server.start_server()
    options.setdefault("background", False)
    bridge = Bridge(str(server.make_url("")), "bridge-token", data, **options)
    bridge.state.set_meta({"program": PROGRAM_META})
    from terminal_bridge.store import pricing

    bridge.program = pricing.load_program(bridge.state)
    if start:
        await bridge._start()
    try:
        yield bridge, server
    finally:
        await bridge._stop()
        await server.close()
