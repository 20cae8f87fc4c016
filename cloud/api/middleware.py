"""Middlewares of the native API: domain errors to ``{"code", "message"}``, terminal
authentication, and one structured log event per request."""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from cloud.api.keys import AUTHENTICATOR, DEPS, MERCHANT, RECEIPT_ID, TERMINAL
from cloud.api.wire import json_response
from cloud.engine.types import EngineError
from cloud.errors import DomainError, Unauthorized
from cloud.services.merchants import authenticate_merchant

log = structlog.get_logger("loyalty.request")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PUBLIC_PATHS = frozenset({"/api/v1/openapi.json", "/health"})
MERCHANT_PATHS = ("/api/v1/programs",)


def error_body(code: str, message: str, status: int) -> web.Response:
    return json_response({"code": code, "message": message}, status=status)


@web.middleware
async def request_log_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        terminal = request.get(TERMINAL)
        log.info(
            "request",
            route=request.match_info.route.resource.canonical
            if request.match_info.route.resource
            else request.path,
            method=request.method,
            status=status,
            merchant=getattr(terminal or request.get(MERCHANT), "merchant_id", None),
            terminal=getattr(terminal, "terminal_id", None),
            receipt=request.get(RECEIPT_ID),
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except DomainError as exc:
        return error_body(exc.code, exc.message, exc.status)
    except EngineError as exc:
        return error_body(exc.code, exc.message, 422)
    except web.HTTPNotFound:
        return error_body("not_found", "Нет такого адреса API", 404)
    except web.HTTPMethodNotAllowed:
        return error_body("method_not_allowed", "Метод не поддерживается", 405)
    except web.HTTPRequestEntityTooLarge:
        return error_body("too_large", "Слишком большое тело запроса", 413)
    except web.HTTPException:
        raise
    except Exception:
        # Logged with the traceback for us; the terminal gets no stack trace.
        log.exception("unhandled_error", path=request.path)
        return error_body("internal_error", "Внутренняя ошибка сервиса, повторите позже", 500)


def _token_from(header: str) -> str:
    """Bearer, or Basic with the token as the password (1C's HTTP client speaks Basic)."""
    scheme, _, credentials = header.partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer" and credentials:
        return credentials
    if scheme.lower() == "basic" and credentials:
        try:
            decoded = base64.b64decode(credentials, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        _, _, password = decoded.partition(":")
        if password:
            return password
    raise Unauthorized(
        "missing_token", "Нужен заголовок Authorization: Bearer <токен> (или Basic с токеном)"
    )


@web.middleware
async def terminal_auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith("/api/v1/") or request.path in PUBLIC_PATHS:
        return await handler(request)
    token = _token_from(request.headers.get("Authorization", ""))
    if request.path.startswith(MERCHANT_PATHS):
        # Program management takes the merchant's API key: a till must not change prices.
        request[MERCHANT] = await authenticate_merchant(request.app[DEPS].db, token)
    else:
        request[TERMINAL] = await request.app[AUTHENTICATOR].authenticate(token)
    return await handler(request)
