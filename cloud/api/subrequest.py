"""Run a till's call inside another request, exactly as if the till had sent it.

The store bridge replays its outbox in runs (``POST /bridge/v1/replay``). Each queued
call must meet the same route, middleware, authentication (the till's own token) and
error shape as it would have met on its own connection, so the answer the bridge keeps
is the one the till would have got. The call is built as a request of its own on the
batch's connection and handed to the application's dispatcher.

``Application._handle`` (route resolution plus the middleware chain) is aiohttp's own
entry for a parsed request and has no public twin; ``tests/terminal_bridge/bridge/
test_batch_replay.py`` holds every channel's answers, batched and single, to the same
bytes, so an aiohttp upgrade that changes it fails there, not in a store.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.http import HttpVersion11, RawRequestMessage
from aiohttp.streams import StreamReader
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from cloud.api.keys import MAX_BODY_BYTES


async def dispatch(
    parent: web.Request, method: str, path: str, headers: dict[str, str], body: bytes
) -> tuple[int, str | None, bytes]:
    """Status, content type and body of the answer ``parent``'s application gives to
    ``method path`` with these headers and body."""
    merged = CIMultiDict(headers)
    merged["Content-Length"] = str(len(body))
    message = RawRequestMessage(
        method, path, HttpVersion11, CIMultiDictProxy(merged),
        tuple((k.encode(), v.encode()) for k, v in merged.items()),
        False, None, False, False, URL(path),
    )  # fmt: skip
    loop = asyncio.get_running_loop()
    payload = StreamReader(parent.protocol, 2**16, loop=loop)
    payload.feed_data(body)
    payload.feed_eof()
    request = web.Request(
        message, payload, parent.protocol, parent.writer, parent.task, loop,
        client_max_size=MAX_BODY_BYTES, remote=parent.remote,
    )  # fmt: skip
    try:
        response = await parent.app._handle(request)
    except web.HTTPException as exc:
        return exc.status, exc.content_type, exc.body if isinstance(exc.body, bytes) else b""
    if not isinstance(response, web.Response) or response.prepared:
        # A streamed answer has already gone to the batch's own connection.
        raise RuntimeError(f"{method} {path}: a streamed answer cannot be replayed")
    content = response.body
    if not isinstance(content, bytes):
        content = response.text.encode() if response.text is not None else b""
    return response.status, response.content_type, content
