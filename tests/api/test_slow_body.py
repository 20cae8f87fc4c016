"""A client that trickles its request body is cut off: the body has a deadline."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from cloud.api.app import create_app
from cloud.services.deps import Deps
from cloud.web_json import BODY_READ_TIMEOUT
from tests.conftest import Tenant


async def test_trickled_body_is_cut_off(
    aiohttp_server: Any, deps: Deps, demo_tenant: Tenant
) -> None:
    """Headers promise 2000 bytes, then one byte arrives every 50 ms: within the body
    deadline (0.5 s here) the server answers 408 ``request_timeout`` with ``Connection:
    close`` instead of waiting for ever."""
    app = create_app(deps.settings, deps=deps)
    app[BODY_READ_TIMEOUT] = 0.5
    server = await aiohttp_server(app)
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(
        b"POST /api/v1/checkout/calculate HTTP/1.1\r\n"
        b"Host: localhost\r\nContent-Type: application/json\r\nContent-Length: 2000\r\n"
        + f"Authorization: Bearer {demo_tenant.token}\r\n\r\n".encode()
        + b'{"receipt": '
    )
    await writer.drain()
    started = time.monotonic()

    async def trickle() -> None:
        try:
            for _ in range(200):
                writer.write(b" ")
                await writer.drain()
                await asyncio.sleep(0.05)
        except ConnectionError:
            pass

    trickling = asyncio.create_task(trickle())
    try:
        status_line = await asyncio.wait_for(reader.readline(), timeout=5)
        assert status_line.startswith(b"HTTP/1.1 408"), status_line
        assert time.monotonic() - started < 3
        headers = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
        assert b"Connection: close" in headers  # the connection is not kept for another
        length = int(headers.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        body = await asyncio.wait_for(reader.readexactly(length), timeout=5)
        assert b'"code":"request_timeout"' in body
    finally:
        trickling.cancel()
        writer.close()
