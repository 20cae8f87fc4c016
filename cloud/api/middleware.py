"""Middlewares of the native API: domain errors to ``{"code", "message"}``, terminal
authentication, and per request one structured log event, one metrics observation and a
request id (every request of the service, the adapters' sub-applications included,
passes through this one middleware)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from cloud.api.keys import AUTHENTICATOR, DEPS, MERCHANT, RECEIPT_ID, TERMINAL
from cloud.api.wire import json_response
from cloud.crypto import basic_credentials
from cloud.engine.types import EngineError
from cloud.errors import DomainError, Unauthorized
from cloud.observability import request_ids
from cloud.observability.channels import UNMATCHED, channel_of, method_of, route_of
from cloud.observability.metrics import ERROR_CODE, observe_request, tag_error
from cloud.services.admin.operator import authenticate_operator
from cloud.services.merchants import StaleCredential, authenticate_merchant

log = structlog.get_logger("loyalty.request")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PUBLIC_PATHS = frozenset({"/api/v1/openapi.json", "/health", "/ready", "/metrics"})
# Calls whose handler reads the snapshot first, which proves a remembered token still
# live in the same query (the hot path stays at one database read).
DEFERRED_CHECK_PATHS = frozenset({"/api/v1/checkout/calculate", "/api/v1/checkout/confirm"})
MERCHANT_PATHS = (
    "/api/v1/programs",
    "/api/v1/stores",
    "/api/v1/terminals",
    "/api/v1/terminal-tokens",
    "/api/v1/merchant/",
)
OPERATOR_PATHS = "/api/v1/operator/"


def error_body(code: str, message: str, status: int) -> web.Response:
    response = json_response({"code": code, "message": message}, status=status)
    tag_error(response, code)
    return response


def _token_from(header: str) -> str:
    """Bearer, or Basic with the token as the password (1C's HTTP client speaks Basic)."""
    scheme, _, credentials = header.partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer" and credentials:
        return credentials
    if scheme.lower() == "basic" and credentials:
        pair = basic_credentials(credentials)
        if pair is not None and pair[1]:
            return pair[1]
    raise Unauthorized(
        "missing_token", "Нужен заголовок Authorization: Bearer <токен> (или Basic с токеном)"
    )


async def _authenticate(request: web.Request, *, fresh: bool = False) -> None:
    path = request.path
    if not path.startswith("/api/v1/") or path in PUBLIC_PATHS:
        return
    if path.startswith(OPERATOR_PATHS):
        # The platform operator's token from settings; no request reaches a handler here
        # otherwise, and a merchant or terminal credential is never an operator's.
        settings = request.app[DEPS].settings
        if settings.operator_token:
            token = _token_from(request.headers.get("Authorization", ""))
        else:
            token = ""
        authenticate_operator(settings, token)
        return
    token = _token_from(request.headers.get("Authorization", ""))
    if path.startswith(MERCHANT_PATHS):
        # Program and customer management take the merchant's API key: a till must not
        # change prices nor move bonuses by hand.
        request[MERCHANT] = await authenticate_merchant(request.app[DEPS].db, token)
    else:
        request[TERMINAL] = await request.app[AUTHENTICATOR].authenticate(
            token, deferred=not fresh and path in DEFERRED_CHECK_PATHS
        )


def _error_response(request: web.Request, exc: Exception) -> web.StreamResponse | None:
    """The API's error body for an exception, or None for HTTP exceptions aiohttp
    should answer itself."""
    if isinstance(exc, DomainError):
        response = error_body(exc.code, exc.message, exc.status)
        if exc.status == 408:  # the rest of a trickled body is not worth waiting for
            response.force_close()
        return response
    if isinstance(exc, EngineError):
        return error_body(exc.code, exc.message, 422)
    if isinstance(exc, web.HTTPNotFound):
        return error_body("not_found", "Нет такого адреса API", 404)
    if isinstance(exc, web.HTTPMethodNotAllowed):
        response = error_body("method_not_allowed", "Метод не поддерживается", 405)
        response.headers["Allow"] = ", ".join(sorted(exc.allowed_methods))  # RFC 9110
        return response
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return error_body("too_large", "Слишком большое тело запроса", 413)
    if isinstance(exc, web.HTTPException):
        return None
    # Logged with the traceback for us; the terminal gets no stack trace.
    log.exception("unhandled_error", path=request.path)
    return error_body("internal_error", "Внутренняя ошибка сервиса, повторите позже", 500)


def _finish(
    request: web.Request,
    response: web.StreamResponse,
    status: int,
    started: float,
    request_id: str,
) -> None:
    """Observe, echo the request id and log: once per request, whatever answered."""
    seconds = time.perf_counter() - started
    channel = channel_of(request.path)
    route = route_of(request)
    observe_request(
        channel, route or UNMATCHED, method_of(request), seconds, status, response.get(ERROR_CODE)
    )
    if not response.prepared:  # a streamed download has sent its headers already
        response.headers[request_ids.HEADER] = request_id
    terminal = request.get(TERMINAL)
    log.info(
        "request",
        adapter=channel,
        route=route or request.path,
        method=request.method,
        status=status,
        merchant=getattr(terminal or request.get(MERCHANT), "merchant_id", None),
        terminal=getattr(terminal, "terminal_id", None),
        receipt=request.get(RECEIPT_ID),
        duration_ms=round(seconds * 1000, 2),
    )


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Authentication, errors in the API's own shape, and one log event per request,
    in one middleware: each layer of aiohttp middleware costs every call on the hot
    path."""
    started = time.perf_counter()
    request_id = request_ids.bind(request.headers.get(request_ids.HEADER))
    try:
        await _authenticate(request)
        try:
            response = await handler(request)
        except StaleCredential:
            # The remembered terminal moved to another time zone: price it afresh.
            await _authenticate(request, fresh=True)
            response = await handler(request)
        except Exception:
            # A deferred check proves the token live in the handler's first read; an error
            # raised before that read is answered only to a token proven live now.
            terminal = request.get(TERMINAL)
            if terminal is not None and terminal.credential is not None:
                await _authenticate(request, fresh=True)
            raise
    except Exception as exc:
        error = _error_response(request, exc)
        if error is None:
            assert isinstance(exc, web.HTTPException)
            _finish(request, exc, exc.status, started, request_id)
            raise
        response = error
    _finish(request, response, response.status, started, request_id)
    return response
