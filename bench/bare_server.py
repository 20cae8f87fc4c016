"""The bare baseline of the checkout benchmark: aiohttp that parses the JSON body and
answers a small JSON, nothing else.

It runs in its own process, like the real service, so both pay the same HTTP stack and
the same event loop; the ratio service/bare is then what our code costs on top of
aiohttp, and it moves far less from machine to machine than raw requests per second.

    python bench/bare_server.py --port 8081
"""

from __future__ import annotations

import argparse
import asyncio

from aiohttp import web


async def calculate(request: web.Request) -> web.Response:
    body = await request.json()
    lines = body.get("receipt", {}).get("lines", [])
    return web.json_response({"receipt_id": body.get("receipt", {}).get("id"), "lines": len(lines)})


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application()
    app.router.add_get("/health", health)
    # Any POST path: wrk posts the very script it posts to the service, path included.
    app.router.add_post("/{tail:.*}", calculate)
    # No access log: the service runs with logging at WARNING, so neither side logs.
    web.run_app(
        app, host=args.host, port=args.port, access_log=None, print=None, loop=_event_loop()
    )


def _event_loop() -> asyncio.AbstractEventLoop:
    # The same loop the service runs on (cloud.main), so the ratio compares our code.
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


if __name__ == "__main__":
    main()
