"""Native API v1 handlers of the checkout protocol."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import BaseModel

from cloud.api.keys import RECEIPT_ID, deps_of, terminal_of
from cloud.api.quote_json import quote_document
from cloud.api.wire import json_response, read_model
from cloud.services import checkout
from schemas import checkout as wire

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def calculate(request: web.Request) -> web.Response:
    body = await read_model(request, wire.CalculateRequest)
    request[RECEIPT_ID] = body.receipt.id
    priced = await checkout.price_receipt(deps_of(request), terminal_of(request), body)
    return json_response(quote_document(priced))


async def hold(request: web.Request) -> web.Response:
    body = await read_model(request, wire.HoldRequest)
    request[RECEIPT_ID] = body.receipt.id
    return json_response(await checkout.hold(deps_of(request), terminal_of(request), body))


async def confirm(request: web.Request) -> web.Response:
    body = await read_model(request, wire.ConfirmRequest)
    request[RECEIPT_ID] = body.receipt.id
    return json_response(await checkout.confirm(deps_of(request), terminal_of(request), body))


async def cancel(request: web.Request) -> web.Response:
    body = await read_model(request, wire.CancelRequest)
    request[RECEIPT_ID] = body.receipt_id
    return json_response(await checkout.cancel(deps_of(request), terminal_of(request), body))


async def refund(request: web.Request) -> web.Response:
    body = await read_model(request, wire.RefundRequest)
    request[RECEIPT_ID] = body.receipt_id
    return json_response(await checkout.refund(deps_of(request), terminal_of(request), body))


ROUTES: list[
    tuple[str, str, Handler, str, type[BaseModel] | None, type[BaseModel] | None]
] = [
    ("POST", "/api/v1/checkout/calculate", calculate, "Рассчитать чек (скидки, бонусы)",
     wire.CalculateRequest, wire.Quote),
    ("POST", "/api/v1/checkout/hold", hold, "Зарезервировать бонусы для оплаты чека",
     wire.HoldRequest, wire.HoldResult),
    ("POST", "/api/v1/checkout/confirm", confirm, "Закрыть чек: списание и начисление",
     wire.ConfirmRequest, wire.ConfirmResult),
    ("POST", "/api/v1/checkout/cancel", cancel, "Отменить чек и снять резерв",
     wire.CancelRequest, wire.CancelResult),
    ("POST", "/api/v1/checkout/refund", refund, "Возврат по чеку, полный или по позициям",
     wire.RefundRequest, wire.RefundResult),
]  # fmt: skip
