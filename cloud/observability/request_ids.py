"""Request ids: the caller's ``X-Request-Id`` when it is a short token of safe characters
(a load balancer's or a till's), otherwise a fresh one; bound to structlog's context
variables so every log line of the request carries ``request_id``, and echoed in the
answer's header.

aiohttp runs each request in a task of its own, which copies the context: what is bound
here is seen by the request and the tasks it starts, and by nothing else."""

from __future__ import annotations

import os
import re

import structlog

HEADER = "X-Request-Id"
MAX_LENGTH = 128
_SAFE = re.compile(rf"[A-Za-z0-9._:=+/-]{{1,{MAX_LENGTH}}}")
_bind = structlog.contextvars.bind_contextvars


def request_id(offered: str | None) -> str:
    """The caller's id if it is safe to log and echo (no spaces, no control or quote
    characters that could forge a log line), else 16 random hex digits."""
    if offered is not None and _SAFE.fullmatch(offered):
        return offered
    return os.urandom(8).hex()


def bind(offered: str | None) -> str:
    """The request's id, bound for its log lines."""
    value = request_id(offered)
    _bind(request_id=value)
    return value
