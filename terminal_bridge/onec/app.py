"""The 1C API as an aiohttp sub-application (mounted at ``/1c`` by
``cloud.main.mount_adapters``): what the ``ЛояльностьОблако`` module (``docs/1c/``) calls
from 1С:Розница / УТ / УНФ.

    GET  /v1/ping                 credentials check ("Проверить соединение")
    POST /v1/customers/lookup     the customer by phone or card
    POST /v1/sms-codes            a code to the customer (redeem | registration)
    POST /v1/customers/register   registration at the till
    POST /v1/receipts/calc        discounts, accrual, what may be paid with bonuses
    POST /v1/receipts/hold        reserve a bonus payment (SMS code when asked)
    POST /v1/receipts/confirm     the closed ЧекККМ (idempotent on receiptId)
    POST /v1/receipts/cancel      the receipt dropped: release the reserve
    POST /v1/receipts/return      a return, partial by line (idempotent on returnId)
    GET  /v1/openapi.json         the contract (public)

Each request is authenticated before its body is parsed; the body is UTF-8 JSON with or
without a BOM (1C's ``ЗаписьJSON`` to a file writes one), numbers straight to ``Decimal``.
A repeat of a mutating call after a timeout gets the stored answer: a sale and a return
de-duplicate in ``checkout`` on their own ids, the other calls run under
``run_idempotent`` with the body's key. Every receipt call goes through
``cloud.services.receipt_sessions`` with channel ``1c``: this package only translates.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog
from aiohttp import web
from pydantic import BaseModel

from cloud.adapter_errors import Failure, adapter_error_middleware
from cloud.api.keys import TERMINAL
from cloud.errors import BadRequest
from cloud.services import product_catalogue, receipt_sessions
from cloud.services.deps import Deps
from cloud.services.idempotency import run_idempotent
from cloud.services.merchants import TerminalContext
from cloud.web_json import dumps, read_body
from schemas import checkout as wire
from schemas import onec
from terminal_bridge.onec import customers, translate
from terminal_bridge.onec.auth import CHALLENGE, CHANNEL, authenticate
from terminal_bridge.onec.openapi import onec_openapi
from webhooks.evotor.body import loads_exact

log = structlog.get_logger("loyalty.onec")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
DepsGetter = Callable[[web.Request], Deps]
ModelT = TypeVar("ModelT", bound=BaseModel)

GET_DEPS: web.AppKey[DepsGetter] = web.AppKey("onec_get_deps")
BOM = b"\xef\xbb\xbf"


def respond(body: Any, status: int = 200) -> web.Response:
    """JSON with an explicit charset: 1C's ``ПолучитьТелоКакСтроку()`` decodes by it."""
    if isinstance(body, BaseModel):
        body = body.model_dump(mode="python")
    return web.Response(
        body=dumps(body), status=status, content_type="application/json", charset="utf-8"
    )


def error(code: str, message: str, status: int) -> web.Response:
    response = respond({"code": code, "message": message}, status)
    if status == 401:
        response.headers["WWW-Authenticate"] = CHALLENGE
    return response


def _render(failure: Failure) -> web.Response:
    if failure.code == "not_found":
        return error("unknown_path", "Нет такого адреса в API для 1С", 404)
    if failure.code == "internal_error":
        # 1C's module retries a 503 with the same body; a failure of ours is worth one.
        return error("internal_error", "Временная ошибка сервера лояльности, повторите", 503)
    return error(failure.code, failure.message, 503 if failure.status == 500 else failure.status)


onec_error_middleware = adapter_error_middleware(_render, "loyalty.onec")
"""Every failure as ``{"code", "message"}`` with a Russian message and a 4xx (a 503
only for a failure upstream of us); never a 500, never a stack trace."""


def body_value(raw: bytes) -> dict[str, Any]:
    """The JSON object of a body, BOM or not, every number exact."""
    raw = raw.removeprefix(BOM)
    value = loads_exact(raw)
    if not isinstance(value, dict):
        raise BadRequest("malformed_json", "Ожидается JSON-объект")
    return value


async def _call(
    request: web.Request, model: type[ModelT]
) -> tuple[Deps, TerminalContext, ModelT, bytes]:
    deps = request.app[GET_DEPS](request)
    raw = (await read_body(request)).removeprefix(BOM)
    terminal = await authenticate(deps, request.headers.get("Authorization"))
    request[TERMINAL] = terminal  # for the request log
    return deps, terminal, model.model_validate(body_value(raw)), raw


async def _once(
    deps: Deps, terminal: TerminalContext, scope: str, key: str, raw: bytes,
    answer: Callable[[], Awaitable[BaseModel]],
) -> web.Response:  # fmt: skip
    async def action() -> tuple[int, bytes]:
        return 200, dumps((await answer()).model_dump(mode="python"))

    status, body = await run_idempotent(deps, terminal.merchant_id, scope, key, raw, action)
    return web.Response(body=body, status=status, content_type="application/json",
                        charset="utf-8")  # fmt: skip


async def _categorised(
    deps: Deps, terminal: TerminalContext, receipt: wire.Receipt
) -> wire.Receipt:
    return await product_catalogue.with_categories(deps, terminal.merchant_id, receipt)


async def ping(request: web.Request) -> web.Response:
    deps = request.app[GET_DEPS](request)
    terminal = await authenticate(deps, request.headers.get("Authorization"))
    name = await deps.db.fetch_value(
        "SELECT name FROM terminals WHERE id = :t AND merchant_id = :m",
        {"t": terminal.terminal_id, "m": terminal.merchant_id},
    )
    now = translate.local(deps.clock(), terminal.timezone)
    return respond(onec.PingAnswer(ok=True, terminal=str(name), serverTime=now))


async def lookup(request: web.Request) -> web.Response:
    deps, terminal, body, _ = await _call(request, onec.CustomerLookupRequest)
    return respond(await customers.lookup(deps, terminal, body))


async def sms_code(request: web.Request) -> web.Response:
    deps, terminal, body, raw = await _call(request, onec.SmsCodeRequest)
    return await _once(deps, terminal, "1c.sms", body.requestId, raw,
                       lambda: customers.sms_code(deps, terminal, body))  # fmt: skip


async def register(request: web.Request) -> web.Response:
    deps, terminal, body, raw = await _call(request, onec.RegisterRequest)
    return await _once(deps, terminal, "1c.register", body.requestId, raw,
                       lambda: customers.register(deps, terminal, body))  # fmt: skip


async def calc(request: web.Request) -> web.Response:
    deps, terminal, body, _ = await _call(request, onec.CalcRequest)
    receipt = translate.receipt(body.receiptId, body, body.lines, None)
    outcome = await receipt_sessions.quote(
        deps, terminal, CHANNEL,
        wire.CalculateRequest(receipt=await _categorised(deps, terminal, receipt),
                              redeem=body.redeem),
    )  # fmt: skip
    return respond(translate.calc_answer(outcome.quote, outcome.customer_found))


async def hold(request: web.Request) -> web.Response:
    deps, terminal, body, raw = await _call(request, onec.HoldRequest)

    async def answer() -> BaseModel:
        receipt = translate.receipt(body.receiptId, body, body.lines, None)
        held = await receipt_sessions.hold(
            deps, terminal, CHANNEL,
            wire.HoldRequest(receipt=await _categorised(deps, terminal, receipt),
                             amount=body.amount, sms_code=body.smsCode),
        )  # fmt: skip
        return translate.hold_answer(held, terminal.timezone)

    return await _once(deps, terminal, "1c.hold", body.requestId, raw, answer)


async def confirm(request: web.Request) -> web.Response:
    deps, terminal, body, _ = await _call(request, onec.ConfirmRequest)
    created_at = translate.instant(body.saleDate, terminal.timezone)
    receipt = translate.receipt(body.receiptId, body, body.lines, created_at)
    result = await receipt_sessions.close(
        deps, terminal, CHANNEL, await _categorised(deps, terminal, receipt), body.redeemed,
        number=body.number, cashier=translate.cashier(body.cashier), fiscal=True,
    )  # fmt: skip
    return respond(translate.confirm_answer(result, terminal.timezone))


async def cancel(request: web.Request) -> web.Response:
    deps, terminal, body, raw = await _call(request, onec.CancelRequest)

    async def answer() -> BaseModel:
        released = await receipt_sessions.release(
            deps, terminal, CHANNEL, body.receiptId, receipt_cancelled=True
        )
        return translate.cancel_answer(released)

    return await _once(deps, terminal, "1c.cancel", body.receiptId, raw, answer)


async def return_(request: web.Request) -> web.Response:
    deps, terminal, body, _ = await _call(request, onec.ReturnRequest)
    result = await receipt_sessions.refund(
        deps, terminal, CHANNEL, translate.refund_request(body, terminal.timezone)
    )
    return respond(translate.return_answer(result))


ROUTES: dict[str, Handler] = {
    "/v1/customers/lookup": lookup,
    "/v1/sms-codes": sms_code,
    "/v1/customers/register": register,
    "/v1/receipts/calc": calc,
    "/v1/receipts/hold": hold,
    "/v1/receipts/confirm": confirm,
    "/v1/receipts/cancel": cancel,
    "/v1/receipts/return": return_,
}


def create_app(get_deps: DepsGetter) -> web.Application:
    """The 1C sub-application; ``get_deps`` finds the service's ``Deps``."""
    app = web.Application(middlewares=[onec_error_middleware])
    app[GET_DEPS] = get_deps
    for path, handler in ROUTES.items():
        app.router.add_post(path, handler)
    app.router.add_get("/v1/ping", ping)
    document = onec_openapi()

    async def openapi(request: web.Request) -> web.Response:
        return respond(document)

    app.router.add_get("/v1/openapi.json", openapi)
    return app
