"""Typed application and request state."""

from __future__ import annotations

from aiohttp import web

from cloud.services.deps import Deps
from cloud.services.merchants import MerchantContext, TerminalAuthenticator, TerminalContext
from cloud.settings import Settings

MAX_BODY_BYTES = 1024 * 1024
"""The largest request body the service reads (a till's receipt is a few kilobytes)."""

SETTINGS = web.AppKey("settings", Settings)
DEPS = web.AppKey("deps", Deps)
AUTHENTICATOR = web.AppKey("authenticator", TerminalAuthenticator)

TERMINAL = web.RequestKey("terminal", TerminalContext)
MERCHANT = web.RequestKey("merchant", MerchantContext)
RECEIPT_ID = web.RequestKey("receipt_id", str)


def terminal_of(request: web.Request) -> TerminalContext:
    return request[TERMINAL]


def deps_of(request: web.Request) -> Deps:
    return request.app[DEPS]
