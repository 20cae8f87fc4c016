"""The Модулькасса adapter as an aiohttp sub-application (mounted at ``/modulkassa`` by
``cloud.main.mount_adapters``).

Модулькасса has no cloud callout for loyalty: our Android plugin on the till
(``ru.modulkassa.LOYALTY_SERVICE``) forwards the SDK's calls here, as JSON, with the
terminal token the merchant issued for a terminal of channel ``modulkassa``
(``Authorization: Bearer <token>``):

    POST /v1/loyalty-request   LoyaltyRequest -> LoyaltyResult (price; hold a bonus spend)
    POST /v1/events            CHECK_CLOSED (SALE / RETURN) | CHECK_CANCELLED
    POST /v1/sms-code          a code for spending bonuses, sent to the customer
    GET  /v1/openapi.json      the plugin-facing contract (public)

Every receipt call goes through ``cloud.services.receipt_sessions`` with channel
``modulkassa``; this package only translates (``translate``). Errors are
``{"code", "message"}`` with a 4xx and a Russian message the plugin shows through
``callback.failed`` (``errors``). The store-side bridge forwards the same bytes here and
answers offline with ``terminal_bridge.channels.modulkassa``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import TypeVar

import orjson
import structlog
from aiohttp import web
from pydantic import BaseModel

from cloud.api.keys import TERMINAL
from cloud.engine.types import EngineError
from cloud.errors import BadRequest, DomainError, Unauthorized, Unprocessable
from cloud.services import checkout, customers, product_catalogue, receipt_sessions
from cloud.services.deps import Deps
from cloud.services.merchants import TerminalAuthenticator, TerminalContext
from cloud.services.sms_codes import send_code
from cloud.web_json import json_response, read_body
from schemas import checkout as wire
from schemas import modulkassa as mk
from schemas.money import to_kopecks, to_roubles
from terminal_bridge.modulkassa import translate
from terminal_bridge.modulkassa.errors import modulkassa_error_middleware
from terminal_bridge.modulkassa.openapi import modulkassa_openapi
from webhooks.evotor.body import loads_exact

CHANNEL = "modulkassa"
UNDEBITABLE = frozenset({"hold_expired", "insufficient_bonuses", "sms_code_required"})
"""Why a close could not debit the bonuses its loyalty-request held."""
log = structlog.get_logger("loyalty.modulkassa")
ModelT = TypeVar("ModelT", bound=BaseModel)
DepsGetter = Callable[[web.Request], Deps]
GET_DEPS: web.AppKey[DepsGetter] = web.AppKey("modulkassa_get_deps")


async def _call(request: web.Request, model: type[ModelT]) -> tuple[Deps, TerminalContext, ModelT]:
    """The token is checked before the body is parsed (a wrong token learns nothing
    about our validation); every call reads the token's row, so a revoked one stops at
    once."""
    deps = request.app[GET_DEPS](request)
    raw = await read_body(request)
    scheme, _, token = (request.headers.get("Authorization") or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "modulkassa_missing_credentials", "Нужен заголовок Authorization: Bearer <токен>"
        )
    authenticator = TerminalAuthenticator(deps.db, frozenset({CHANNEL}))
    terminal = await authenticator.authenticate(token.strip())
    request[TERMINAL] = terminal  # for the request log
    value = loads_exact(raw)
    if not isinstance(value, dict):
        raise BadRequest("malformed_json", "Ожидается JSON-объект")
    return deps, terminal, model.model_validate(value)


def _ok(body: BaseModel) -> web.Response:
    """Amounts leave as JSON numbers (the SDK's BigDecimal), never via a float."""
    return json_response(body.model_dump(exclude_none=True))


async def loyalty_request(request: web.Request) -> web.Response:
    deps, terminal, body = await _call(request, mk.LoyaltyRequest)
    merchant_id = terminal.merchant_id
    receipt = await product_catalogue.with_categories(
        deps, merchant_id, translate.quote_receipt(body)
    )
    store = body.retailPointId.strip() or None
    outcome = await receipt_sessions.quote(
        deps, terminal, CHANNEL, wire.CalculateRequest(receipt=receipt), store_external_id=store
    )
    quote = outcome.quote
    lines = quote.lines
    notes: list[str] = []
    if not outcome.customer_found:
        notes.append("Клиент с таким телефоном или картой не найден: чек без бонусов")
    wanted = body.spendBonuses or Decimal(0)
    spent = Decimal(0)
    balance = quote.customer.balance if quote.customer is not None else None
    said = quote.messages
    spend = Decimal(0)
    if wanted > 0:
        if outcome.customer_id is None:
            raise BadRequest("customer_required", "Для оплаты бонусами укажите клиента")
        spend, capped = checkout.spend_within(quote, wanted)
        notes.extend([capped] if capped else [])
    if spend > 0:
        assert outcome.customer_id is not None
        priced = receipt.model_copy(
            update={"customer": receipt_sessions.by_id(outcome.customer_id)}
        )
        held = await receipt_sessions.hold(
            deps, terminal, CHANNEL,
            wire.HoldRequest(receipt=priced, amount=spend, sms_code=body.smsCode),
            store_external_id=store,
        )  # fmt: skip
        lines, spent, balance, said = held.lines, held.amount, held.balance, held.slip
    else:
        session = await receipt_sessions.find(deps, merchant_id, CHANNEL, body.id)
        if session is not None and session.state == "held":
            # Priced again with no spend: the earlier answer's spend is dropped.
            await receipt_sessions.release(
                deps, terminal, CHANNEL, body.id, receipt_cancelled=False
            )
    impacts, given = translate.impacts(body, lines)
    accrual = sum(to_kopecks(line.accrual) for line in lines)
    paid = to_kopecks(spent)
    discount = max(given - paid, 0)
    printed = translate.printable(
        discount, paid, accrual if quote.customer else 0,
        None if balance is None else to_kopecks(balance), notes,
    )  # fmt: skip
    answer = mk.LoyaltyResult(
        impacts=impacts, data=body.id, printableData="\n".join(printed) or None,
        details=mk.LoyaltyDetails(
            receiptId=body.id, customerFound=outcome.customer_found if receipt.customer else None,
            balance=balance, discount=to_roubles(discount), spent=spent,
            accrual=to_roubles(accrual if quote.customer else 0),
            messages=[*notes, *said],
        ),
    )  # fmt: skip
    return _ok(answer)


async def events(request: web.Request) -> web.Response:
    deps, terminal, body = await _call(request, mk.CheckEvent)
    receipt_id = translate.receipt_id(body)
    if body.event == "CHECK_CANCELLED":
        await receipt_sessions.release(deps, terminal, CHANNEL, receipt_id, receipt_cancelled=True)
        return _ok(
            mk.EventResult(
                event=body.event, checkId=body.checkId, receiptId=receipt_id, operation="cancel"
            )
        )
    doc = body.check.docType
    if doc == "RETURN":
        return await _return(deps, terminal, body)
    if doc != "SALE":
        raise Unprocessable(
            "modulkassa_doc_type_unsupported",
            f"Чеки коррекции ({doc}) не меняют бонусы: событие не принято",
        )
    merchant_id = terminal.merchant_id
    session = await receipt_sessions.find(deps, merchant_id, CHANNEL, receipt_id)
    held = receipt_sessions.held_amount(session)
    receipt = await product_catalogue.with_categories(
        deps, merchant_id, translate.sale_receipt(body, held)
    )
    close = partial(
        receipt_sessions.close, deps, terminal, CHANNEL,
        store_external_id=(body.check.retailPointId or "").strip() or None,
        number=body.check.number, cashier=translate.cashier(body.check),
    )  # fmt: skip
    try:
        result = await close(receipt, None)
    except (DomainError, EngineError) as exc:
        if not held or exc.code not in UNDEBITABLE:
            raise
        # The check is fiscal truth: the bonuses it took off can no longer be debited
        # (the hold lapsed and the customer spent them meanwhile), the sale stands.
        log.warning(
            "modulkassa_sale_unsettled", merchant=merchant_id, receipt=receipt_id,
            amount_unsettled=str(held), reason=exc.code,
        )  # fmt: skip
        receipt = await product_catalogue.with_categories(
            deps, merchant_id, translate.sale_receipt(body, Decimal(0))
        )
        # The answer's redeemed 0 tells the plugin (and a repeat answers the same).
        result = await close(receipt, Decimal(0))
    return _ok(
        mk.EventResult(
            event=body.event, checkId=body.checkId, receiptId=receipt_id, operation="sale",
            accrued=result.accrued, redeemed=result.redeemed, messages=result.slip,
        )
    )  # fmt: skip


async def _return(deps: Deps, terminal: TerminalContext, body: mk.CheckEvent) -> web.Response:
    if body.saleId is None:
        raise BadRequest(
            "modulkassa_sale_required",
            "Для возврата укажите чек продажи (saleId: data из loyalty-request или checkId)",
        )
    result = await receipt_sessions.refund(
        deps, terminal, CHANNEL, translate.refund_request(body, body.saleId)
    )
    return _ok(
        mk.EventResult(
            event=body.event, checkId=body.checkId, receiptId=body.saleId, operation="return",
            returnedBonuses=result.returned_bonuses, reversedAccrual=result.reversed_accrual,
            messages=result.messages,
        )
    )  # fmt: skip


async def sms_code(request: web.Request) -> web.Response:
    deps, terminal, body = await _call(request, mk.SmsCodeRequest)
    ref = translate.customer_ref(body.customerPhone, body.customerCard)
    if ref is None:
        raise BadRequest("customer_required", "Укажите телефон или карту клиента")
    customer_id = await receipt_sessions.resolve_customer(deps, terminal.merchant_id, ref)
    if customer_id is None:
        raise customers.not_found()
    profile = await customers.customer_profile(deps, terminal.merchant_id, customer_id)
    sent = await send_code(
        deps, terminal.merchant_id, profile.phone, "redeem", terminal_id=terminal.terminal_id
    )
    masked = customers.mask_phone(sent.phone)
    minutes = max(1, -(-sent.expires_in // 60))
    return _ok(
        mk.SmsCodeResult(
            sentTo=masked,
            messages=[
                f"Код отправлен на {masked}",
                f"Попросите клиента назвать код из SMS: он действует {minutes} мин.",
            ],
        )
    )


def create_app(get_deps: DepsGetter) -> web.Application:
    """The Модулькасса sub-application; ``get_deps`` finds the service's ``Deps``."""
    app = web.Application(middlewares=[modulkassa_error_middleware])
    app[GET_DEPS] = get_deps
    app.router.add_post("/v1/loyalty-request", loyalty_request)
    app.router.add_post("/v1/events", events)
    app.router.add_post("/v1/sms-code", sms_code)
    document = modulkassa_openapi()

    async def openapi(request: web.Request) -> web.Response:
        return web.Response(body=orjson.dumps(document), content_type="application/json")

    app.router.add_get("/v1/openapi.json", openapi)
    return app
