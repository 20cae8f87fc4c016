"""МойСклад's Loyalty API as an aiohttp sub-application (mounted at ``/moysklad`` by
``cloud.main.mount_adapters``).

The merchant issues a token per installation (``POST
/api/v1/merchant/moysklad/installations``) and the solution hands MoySklad the base
address ``https://<host>/moysklad/v1`` and that token; the till then calls:

    GET  /counterparty?search=&retailStoreId=   customer search
    POST /counterparty                          registration (412/28001 until confirmed)
    POST /counterparty/detail                   balance
    POST /counterparty/verify                   registration code (returned to the till)
    POST /retaildemand/recalc                   the receipt priced; writes nothing
    POST /retaildemand/verify                   spending code (returned to the till)
    POST /retaildemand                          the sale: commit (201, idempotent)
    POST /retailsalesreturn                     a return linked by demand.meta (201)
    GET  /giftcard?name=&retailStoreId=         a gift certificate by its number
    GET  /openapi.json                          what we accept (public)

Each request carries ``Lognex-Discount-API-Auth-Token`` (401 otherwise). The sale and
the return go through ``cloud.services.receipt_sessions`` with channel ``moysklad`` (the
sale's ``giftCards`` paying as gift certificates, ``cloud.services.gift_certificates``); the
quote prices through ``checkout`` directly because a recalc names no receipt and must
leave no trace. This package only translates.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel

from cloud.api.keys import TERMINAL
from cloud.clock import to_epoch
from cloud.errors import BadRequest, NotFound, Unprocessable
from cloud.services import (
    checkout,
    customers,
    gift_certificates,
    product_catalogue,
    receipt_sessions,
)
from cloud.services import moysklad_accounts as accounts
from cloud.services.deps import Deps
from cloud.services.merchants import TerminalContext
from cloud.web_json import json_response, read_body
from schemas import checkout as wire
from schemas import moysklad as ms
from schemas.money import to_kopecks, to_roubles
from webhooks.evotor.body import loads_exact
from webhooks.moysklad import customers as people
from webhooks.moysklad import translate
from webhooks.moysklad.errors import moysklad_error_middleware
from webhooks.moysklad.openapi import moysklad_openapi

CHANNEL = accounts.CHANNEL
ModelT = TypeVar("ModelT", bound=BaseModel)
DepsGetter = Callable[[web.Request], Deps]
GET_DEPS: web.AppKey[DepsGetter] = web.AppKey("moysklad_get_deps")


async def _terminal(request: web.Request, store: str, name: str | None) -> TerminalContext:
    deps = request.app[GET_DEPS](request)
    terminal = await accounts.terminal_for(deps, request.headers.get(accounts.HEADER), store, name)
    request[TERMINAL] = terminal  # for the request log
    return terminal


async def _call(request: web.Request, model: type[ModelT]) -> tuple[Deps, TerminalContext, ModelT]:
    """The token is checked before the body is parsed (a wrong token learns nothing about
    our validation); the store comes from the body, so the till is found after."""
    deps = request.app[GET_DEPS](request)
    raw = await read_body(request)
    if not (request.headers.get(accounts.HEADER) or "").strip():
        await accounts.terminal_for(deps, None, "", None)
    value = loads_exact(raw)
    if not isinstance(value, dict):
        raise BadRequest("malformed_json", "Ожидается JSON-объект")
    body = model.model_validate(value)
    store: ms.StoreRef = body.retailStore  # type: ignore[attr-defined]
    return deps, await _terminal(request, store.meta.entity_id, store.name), body


def _ok(body: BaseModel, status: int = 200) -> web.Response:
    """Amounts leave as JSON numbers (the reference's ``number``), never via a float."""
    return json_response(body.model_dump(exclude_none=True), status)


def _created() -> web.Response:
    return web.Response(status=201)


async def search(request: web.Request) -> web.Response:
    store = request.query.get("retailStoreId", "").strip()
    if not store or len(store) > 64:
        await accounts.terminal_for(
            request.app[GET_DEPS](request), request.headers.get(accounts.HEADER), "", None
        )
        raise BadRequest("moysklad_store_required", "Укажите точку продаж (retailStoreId)")
    terminal = await _terminal(request, store, None)
    deps = request.app[GET_DEPS](request)
    return _ok(await people.search(deps, terminal, request.query.get("search", "")[:128]))


async def register(request: web.Request) -> web.Response:
    deps, terminal, body = await _call(request, ms.CounterpartyIn)
    return _ok(await people.register(deps, terminal, body), 201)


async def detail(request: web.Request) -> web.Response:
    deps, terminal, body = await _call(request, ms.CounterpartyIn)
    return _ok(await people.detail(deps, terminal, body))


async def counterparty_verify(request: web.Request) -> web.Response:
    deps, terminal, body = await _call(request, ms.CounterpartyIn)
    return _ok(await people.registration_code(deps, terminal, body))


async def demand_verify(request: web.Request) -> web.Response:
    deps, terminal, body = await _call(request, ms.DemandVerifyRequest)
    return _ok(await people.spending_code(deps, terminal, body))


async def _requires_code(deps: Deps, merchant_id: int) -> bool:
    program = await customers.live_program(deps, merchant_id)
    return program is not None and program.program.redeem_requires_sms_code


async def recalc(request: web.Request) -> web.Response:
    deps, terminal, body = await _call(request, ms.RecalcRequest)
    merchant_id = terminal.merchant_id
    customer_id = await people.find_agent(deps, merchant_id, body.agent)
    receipt = await product_catalogue.with_categories(
        deps, merchant_id, translate.quote_receipt(body)
    )
    if customer_id is not None:
        receipt = receipt.model_copy(update={"customer": receipt_sessions.by_id(customer_id)})
    request_ = wire.CalculateRequest(receipt=receipt, unit_price_exact=True)
    quote = await checkout.calculate(deps, terminal, request_, CHANNEL)
    spending = body.bonusProgram is not None and body.bonusProgram.transactionType == "SPENDING"
    spend = Decimal(0)
    if spending and quote.customer is not None:
        spend, _ = checkout.spend_within(quote, body.preferredBonusToSpend)
        if spend > 0:
            quote = await checkout.calculate(
                deps, terminal, request_.model_copy(update={"redeem": spend}), CHANNEL
            )
    positions = translate.positions_out(body, quote)
    balance = quote.customer.balance if quote.customer is not None else None
    earn = quote.accrual if quote.customer is not None else Decimal(0)
    after = None if balance is None else to_roubles(to_kopecks(balance - spend + earn))
    answer = ms.RecalcResponse(
        agent=translate.agent_out(
            body.agent, None if customer_id is None else accounts.counterparty_id(customer_id)
        ),
        positions=positions,
        bonusProgram=ms.BonusOut(
            transactionType="SPENDING" if spending else "EARNING",
            agentBonusBalance=balance, bonusValueToSpend=spend, bonusValueToEarn=earn,
            agentBonusBalanceAfter=after, paidByBonusPoints=spend,
            receiptExtraInfo="\n".join(quote.slip)[:1000] or None,
        ),
        needVerification=bool(spend > 0 and await _requires_code(deps, merchant_id)),
    )  # fmt: skip
    return _ok(answer)


async def sale(request: web.Request) -> web.Response:
    deps, terminal, body = await _call(request, ms.RetailDemand)
    merchant_id = terminal.merchant_id
    sale_id = translate.sale_id(body, "retaildemand")
    spent = (body.bonusProgram.bonusValueToSpend if body.bonusProgram else None) or Decimal(0)
    receipt = await product_catalogue.with_categories(
        deps, merchant_id, translate.sale_receipt(body, sale_id, spent)
    )
    customer_id = await people.find_agent(deps, merchant_id, body.agent)
    if customer_id is not None:
        receipt = receipt.model_copy(update={"customer": receipt_sessions.by_id(customer_id)})
    store = body.retailStore.meta.entity_id
    session = await receipt_sessions.find(deps, merchant_id, CHANNEL, sale_id)
    redeemed: Decimal | None = spent
    settled = session is not None and session.settled
    if spent > 0 and not settled and await _requires_code(deps, merchant_id):
        if customer_id is None:
            raise BadRequest("customer_required", "Для оплаты бонусами укажите покупателя")
        profile = await customers.customer_profile(deps, merchant_id, customer_id)
        code = await accounts.kept_code(deps, merchant_id, profile.phone, "redeem")
        if code is None:
            raise Unprocessable(
                "sms_code_required",
                "Для оплаты бонусами запросите код покупателя (/retaildemand/verify)",
            )
        priced = await product_catalogue.with_categories(
            deps, merchant_id, translate.priced_receipt(body, sale_id)
        )
        priced = priced.model_copy(update={"customer": receipt.customer})
        await receipt_sessions.hold(
            deps, terminal, CHANNEL,
            wire.HoldRequest(receipt=priced, amount=spent, sms_code=code, unit_price_exact=True),
            store_external_id=store,
        )  # fmt: skip
        redeemed = None  # what the hold reserved
    name = (body.name or "").strip()
    number = int(name) if name.isascii() and name.isdigit() and len(name) < 15 else None
    await receipt_sessions.close(
        deps, terminal, CHANNEL, receipt, redeemed, store_external_id=store, number=number,
        gift_certificates=translate.gift_payments(body),
    )  # fmt: skip
    return _created()


async def giftcard(request: web.Request) -> web.Response:
    store = request.query.get("retailStoreId", "").strip()
    deps = request.app[GET_DEPS](request)
    if not store or len(store) > 64:
        await accounts.terminal_for(deps, request.headers.get(accounts.HEADER), "", None)
        raise BadRequest("moysklad_store_required", "Укажите точку продаж (retailStoreId)")
    terminal = await _terminal(request, store, None)
    number = request.query.get("name", "").strip()
    if not number or len(number) > 64:
        raise BadRequest("moysklad_giftcard_required", "Укажите номер сертификата (name)")
    found = await gift_certificates.status(
        deps.db, terminal.merchant_id, number, to_epoch(deps.clock())
    )
    if found is None:
        raise NotFound("gift_certificate_not_found", f"Сертификат {number} не найден")
    return _ok(translate.giftcard_out(found))


async def sales_return(request: web.Request) -> web.Response:
    deps, terminal, body = await _call(request, ms.RetailSalesReturn)
    refund_id = "return:" + translate.sale_id(body, "retailsalesreturn")
    linked = body.demand.meta.entity_id if body.demand is not None else ""
    if not linked:
        # Unlinked: the reference lets the return name no sale; nothing to reverse.
        return _created()
    await receipt_sessions.refund(
        deps, terminal, CHANNEL, translate.refund_request(body, refund_id[:128], linked)
    )
    return _created()


def create_app(get_deps: DepsGetter) -> web.Application:
    """The МойСклад sub-application; ``get_deps`` finds the service's ``Deps``."""
    app = web.Application(middlewares=[moysklad_error_middleware])
    app[GET_DEPS] = get_deps
    app.router.add_get("/v1/counterparty", search)
    app.router.add_get("/v1/giftcard", giftcard)
    for path, handler in (
        ("/v1/counterparty", register), ("/v1/counterparty/detail", detail),
        ("/v1/counterparty/verify", counterparty_verify), ("/v1/retaildemand/recalc", recalc),
        ("/v1/retaildemand/verify", demand_verify), ("/v1/retaildemand", sale),
        ("/v1/retailsalesreturn", sales_return),
    ):  # fmt: skip
        app.router.add_post(path, handler)
    document = moysklad_openapi()

    async def openapi(request: web.Request) -> web.Response:
        return web.Response(body=orjson.dumps(document), content_type="application/json")

    app.router.add_get("/v1/openapi.json", openapi)
    return app
