"""The bare baseline of the checkout benchmark: aiohttp that parses the JSON body and
answers a small JSON, nothing else.

It runs in its own process, like the real service, so both pay the same HTTP stack and
the same event loop; the ratio service/bare is then what our code costs on top of
aiohttp, and it moves far less from machine to machine than raw requests per second.

    python bench/bare_server.py --port 8081 [--processes 2]

``--processes N`` runs N such processes on the port with ``SO_REUSEPORT``, as
``loyalty serve --workers N`` does: the baseline of what a second process gains here.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import subprocess
import sys

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
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.processes > 1:
        supervise(args)
        return
    app = web.Application()
    app.router.add_get("/health", health)
    # Any POST path: wrk posts the very script it posts to the service, path included.
    app.router.add_post("/{tail:.*}", calculate)
    # No access log: the service runs with logging at WARNING, so neither side logs.
    web.run_app(
        app, host=args.host, port=args.port, access_log=None, print=None, loop=_event_loop(),
        reuse_port=args.reuse_port or None,
    )  # fmt: skip


def supervise(args: argparse.Namespace) -> None:
    """N processes of this script on one port; SIGTERM stops them all."""
    command = [sys.executable, __file__, "--host", args.host, "--port", str(args.port),
               "--reuse-port"]  # fmt: skip
    children = [subprocess.Popen(command) for _ in range(args.processes)]

    def stop(signum: int, frame: object) -> None:
        for child in children:
            child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for child in children:
        child.wait()


def _event_loop() -> asyncio.AbstractEventLoop:
    # The same loop the service runs on (cloud.main), so the ratio compares our code.
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


if __name__ == "__main__":
    main()
