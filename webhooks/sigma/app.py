"""The SIGMA adapter as an aiohttp sub-application (mounted at ``/sigma`` by
``cloud.main.mount_adapters``): the receipt-hook contract a SIGMA terminal app builds
against (``docs/sigma-hooks.md``, ``GET /sigma/v1/openapi.json``).

One path per event, ``POST /sigma/v1/hooks/{event}``, rather than one endpoint with an
``event`` field: each event has its own body and answer, so the OpenAPI document states
each exactly (and tools generate a typed client call per event), logs and metrics name
the event by route, and an unknown event is a plain 404. The body repeats the event, and
the two must agree: the signature covers the body only, so a signed body cannot be sent
to another event's address.

Every receipt hook goes through ``cloud.services.receipt_sessions`` with the channel
``sigma``: the same canonical semantics and idempotency as every other channel (a closed
receipt is idempotent on its ``receipt_id``, a refund on its ``refund_id``). The customer
hooks (``customers.py``) use the services of the Evotor till's customer hooks. The
adapter only authenticates and translates.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import structlog
from aiohttp import web
from pydantic import BaseModel

from cloud.adapter_errors import Failure, adapter_error_middleware
from cloud.api.keys import TERMINAL
from cloud.errors import BadRequest
from cloud.services import product_catalogue, receipt_sessions
from cloud.services.deps import Deps
from cloud.services.merchants import TerminalAuthenticator, TerminalContext
from schemas import checkout as wire
from schemas import sigma as sg
from schemas import sigma_customers as sgc
from webhooks.evotor.body import loads_exact
from webhooks.sigma import customers, translate
from webhooks.sigma.auth import CHANNEL, authenticate
from webhooks.sigma.openapi import sigma_openapi

log = structlog.get_logger("loyalty.sigma")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
DepsGetter = Callable[[web.Request], Deps]

GET_DEPS: web.AppKey[DepsGetter] = web.AppKey("sigma_get_deps")


def _error(code: str, message: str, status: int) -> web.Response:
    return web.Response(
        body=orjson.dumps({"code": code, "message": message}), status=status,
        content_type="application/json",
    )  # fmt: skip


def _render(failure: Failure) -> web.Response:
    if failure.code == "not_found":
        return _error("unknown_event", "Нет такого события SIGMA", 404)
    return _error(failure.code, failure.message, failure.status)


sigma_error_middleware = adapter_error_middleware(
    _render, "loyalty.sigma", {"method_not_allowed": "Метод не поддерживается: только POST"}
)
"""Every failure as ``{"code", "message"}`` with a Russian message."""


def _ok(body: BaseModel) -> web.Response:
    return web.Response(
        body=orjson.dumps(body.model_dump(mode="json")), content_type="application/json"
    )


async def _call(request: web.Request, model: type[Any]) -> tuple[Deps, TerminalContext, Any]:
    """Authenticate on the raw bytes, then parse (numbers straight to Decimal) and check
    that the body's event is the address's."""
    deps, terminal, body, _ = await _call_raw(request, model)
    return deps, terminal, body


async def _call_raw(
    request: web.Request, model: type[Any]
) -> tuple[Deps, TerminalContext, Any, bytes]:
    deps = request.app[GET_DEPS](request)
    raw = await request.read()
    # Not deferred: every hook reads the token's row, so a revoked token stops at once.
    authenticator = TerminalAuthenticator(deps.db, frozenset({CHANNEL}))
    terminal = await authenticate(deps, authenticator, request, raw)
    request[TERMINAL] = terminal  # for the request log
    data = loads_exact(raw)
    event = request.match_info["event"]
    if isinstance(data, dict) and data.get("event") != event:
        raise BadRequest(
            "sigma_event_mismatch", f"Поле event должно совпадать с адресом: «{event}»"
        )
    return deps, terminal, model.model_validate(data), raw


async def quote(request: web.Request) -> web.Response:
    deps, terminal, body = await _call(request, sg.ReceiptQuoteRequest)
    receipt = await product_catalogue.with_categories(
        deps,
        terminal.merchant_id,
        translate.receipt(body.receipt_id, body.customer, body.lines, body.created_at),
    )
    outcome = await receipt_sessions.quote(
        deps, terminal, CHANNEL, wire.CalculateRequest(receipt=receipt, redeem=body.bonus_payment)
    )
    return _ok(translate.quote_response(body.event, outcome.quote, outcome.customer_found))


async def hold(request: web.Request) -> web.Response:
    deps, terminal, body = await _call(request, sg.BonusHoldRequest)
    receipt = await product_catalogue.with_categories(
        deps, terminal.merchant_id, translate.receipt(body.receipt_id, body.customer, body.lines)
    )
    held = await receipt_sessions.hold(
        deps, terminal, CHANNEL,
        wire.HoldRequest(receipt=receipt, amount=body.amount, sms_code=body.sms_code),
    )  # fmt: skip
    return _ok(translate.hold_response(held))


async def release(request: web.Request) -> web.Response:
    deps, terminal, body = await _call(request, sg.BonusReleaseRequest)
    result = await receipt_sessions.release(
        deps, terminal, CHANNEL, body.receipt_id, receipt_cancelled=False
    )
    return _ok(translate.release_response(body.event, result))


async def cancelled(request: web.Request) -> web.Response:
    deps, terminal, body = await _call(request, sg.ReceiptCancelledRequest)
    result = await receipt_sessions.release(
        deps, terminal, CHANNEL, body.receipt_id, receipt_cancelled=True
    )
    return _ok(translate.release_response(body.event, result))


async def closed(request: web.Request) -> web.Response:
    # The receipt is printed (its fiscal document is named): it is recorded even when
    # its bonus payment can no longer be debited (receipt_sessions.close, fiscal).
    deps, terminal, body = await _call(request, sg.ReceiptClosedRequest)
    receipt = await product_catalogue.with_categories(
        deps,
        terminal.merchant_id,
        translate.receipt(body.receipt_id, body.customer, body.lines, body.created_at),
    )
    result = await receipt_sessions.close(
        deps, terminal, CHANNEL, receipt, body.bonus_payment,
        document_id=body.fiscal_document, number=body.number,
        cashier=translate.cashier(body.cashier), fiscal=True,
    )  # fmt: skip
    return _ok(translate.closed_response(body.receipt_id, result))


async def refunded(request: web.Request) -> web.Response:
    deps, terminal, body = await _call(request, sg.ReceiptRefundedRequest)
    result = await receipt_sessions.refund(deps, terminal, CHANNEL, translate.refund_request(body))
    return _ok(translate.refunded_response(result))


async def customer_lookup(request: web.Request) -> web.Response:
    deps, terminal, body = await _call(request, sgc.CustomerLookupRequest)
    return _ok(await customers.lookup(deps, terminal, body))


async def customer_sms_code(request: web.Request) -> web.Response:
    deps, terminal, body = await _call(request, sgc.SmsCodeRequest)
    return _ok(await customers.sms_code(deps, terminal, body))


async def customer_register(request: web.Request) -> web.Response:
    deps, terminal, body, raw = await _call_raw(request, sgc.CustomerRegisterRequest)
    return await customers.register(deps, terminal, body, raw)


HOOKS: dict[str, Handler] = {
    "receipt.opened": quote,
    "receipt.changed": quote,
    "bonus.hold": hold,
    "bonus.release": release,
    "receipt.closed": closed,
    "receipt.cancelled": cancelled,
    "receipt.refunded": refunded,
    "customer.lookup": customer_lookup,
    "customer.sms_code": customer_sms_code,
    "customer.register": customer_register,
}
assert tuple(HOOKS) == sg.EVENTS + sgc.EVENTS


def create_app(get_deps: DepsGetter) -> web.Application:
    """The SIGMA sub-application; ``get_deps`` finds the service's ``Deps``."""
    app = web.Application(middlewares=[sigma_error_middleware])
    app[GET_DEPS] = get_deps
    for event, handler in HOOKS.items():
        app.router.add_post(f"/v1/hooks/{{event:{event.replace('.', '[.]')}}}", handler)
    document = sigma_openapi()

    async def openapi(request: web.Request) -> web.Response:
        return web.Response(body=orjson.dumps(document), content_type="application/json")

    app.router.add_get("/v1/openapi.json", openapi)
    return app
