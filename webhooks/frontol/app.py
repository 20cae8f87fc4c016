"""The Frontol Priority API adapter as an aiohttp sub-application (mounted at ``/frontol``
by ``cloud.main.mount_adapters``).

The merchant types ``https://<host>/frontol/v1/<organization>`` into Frontol as «Веб-адрес
сервера лояльности», and the organization id and access key we issued
(``PUT /api/v1/merchant/frontol``) into «Идентификатор организации» and «Ключ доступа».
Frontol then calls, each with and without a trailing slash:

    POST /v1/{organization}/document       calculate | payByBonus | cancelBonusPayment |
                                           confirm (receipt, refundReceipt)
    POST /v1/{organization}/client         the customer for the cashier
    POST /v1/{organization}/extra/client   describe | check | execute (registration)
    GET  /v1/openapi.json                  what we accept (public)

Each request: the raw body is read, its ``FrontolAuth md5(key + body)`` checked against
the organization of the address (constant time; 401 otherwise), and only then parsed,
numbers straight to ``Decimal``. The key is remembered in process
(``frontol_accounts.Keys``); the till's read proves it still current and the merchant
active, so a rotation or a suspension takes effect on the next request. The body's own
``organization``, when sent, must be the address's. ``businessUnit`` is the store and
``workPlace`` the till (``cloud.services.frontol_accounts``); every receipt operation
goes through the channel-neutral receipt session (``cloud.services.receipt_sessions``,
channel ``frontol``): this package only translates.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from cloud.errors import BadRequest
from cloud.services import frontol_accounts, product_catalogue, receipt_sessions
from cloud.services.deps import Deps
from cloud.services.merchants import StaleCredential, TerminalContext
from cloud.web_json import json_response, needs_exact_read, read_body
from schemas import checkout as wire
from schemas import frontol as fr
from webhooks.evotor.body import loads_exact
from webhooks.frontol import customers, translate
from webhooks.frontol.errors import frontol_error_middleware
from webhooks.frontol.openapi import frontol_openapi

CHANNEL = frontol_accounts.CHANNEL

ModelT = TypeVar("ModelT", bound=fr.Envelope)
DepsGetter = Callable[[web.Request], Deps]

GET_DEPS: web.AppKey[DepsGetter] = web.AppKey("frontol_get_deps")
KEYS = web.AppKey("frontol_keys", frontol_accounts.Keys)


async def _call(
    request: web.Request, model: type[ModelT], *, fresh: bool = False
) -> tuple[Deps, TerminalContext, ModelT]:
    """Authenticate the raw bytes, then parse them and find the till. A calculate may use
    a remembered till whose liveness its price's own read proves (``Keys.terminal``);
    ``fresh`` reads the key and the till from the database whatever is remembered."""
    deps = request.app[GET_DEPS](request)
    organization = request.match_info["organization"]
    raw = await read_body(request)
    header = request.headers.get("Authorization")
    keys = request.app[KEYS]
    remembered = await keys.authenticate(deps, organization, raw, header, fresh=fresh)
    body = _parse(model, raw)
    if body.organization is not None and body.organization != organization:
        raise BadRequest(
            "frontol_wrong_organization",
            "Идентификатор организации в запросе не совпадает с адресом сервера",
        )
    deferred = not fresh and isinstance(body, fr.DocumentRequest) and body.action == "calculate"
    try:
        terminal = await keys.terminal(
            deps, remembered, body.businessUnit, body.workPlace, deferred=deferred
        )
    except frontol_accounts.StaleKey:
        # Rotated since it was remembered: the body must pass the current key.
        remembered = await keys.authenticate(deps, organization, raw, header, fresh=True)
        terminal = await keys.terminal(deps, remembered, body.businessUnit, body.workPlace)
    return deps, terminal, body


def _parse(model: type[ModelT], raw: bytes) -> ModelT:
    """The body read straight from its text by pydantic-core; a body whose numbers a
    float could change (or holding a NUL), or that is not an object, is read the exact
    way first (``loads_exact``: every number a ``Decimal`` as written)."""
    if raw.lstrip()[:1] != b"{" or needs_exact_read(raw):
        value = loads_exact(raw)
        if not isinstance(value, dict):
            raise BadRequest("malformed_json", "Ожидается JSON-объект")
        return model.model_validate(value)
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        if any(error["type"] == "json_invalid" for error in exc.errors()):
            raise BadRequest("malformed_json", "Некорректный JSON в теле запроса") from exc
        raise


def _answer(answer: BaseModel | dict[str, Any]) -> web.Response:
    if isinstance(answer, BaseModel):
        answer = answer.model_dump(exclude_none=True)
    return json_response(answer)


def _unsupported(body: fr.DocumentRequest) -> BadRequest:
    return BadRequest(
        "frontol_unsupported_action",
        f"Действие «{body.action}» для документа «{body.type}» не поддерживается",
    )


def _bonus_payment(body: fr.DocumentRequest) -> fr.BonusPayment:
    if body.payment is None:
        raise BadRequest("frontol_payment_required", "Не указана оплата бонусами (payment)")
    if body.payment.mode not in (None, "nonFiscal"):
        raise BadRequest(
            "frontol_payment_mode", "Оплата бонусами должна быть нефискальной (nonFiscal)"
        )
    return body.payment


async def document(request: web.Request) -> web.Response:
    call = await _call(request, fr.DocumentRequest)
    try:
        return await _document(*call)
    except StaleCredential:
        # The remembered till's key was rotated, or the till or its store changed.
        return await _document(*await _call(request, fr.DocumentRequest, fresh=True))
    except Exception:
        # An error raised before the price's read proved a remembered till is answered
        # only to a key and till proven current now (a 401 otherwise).
        if call[1].credential is not None:
            await _call(request, fr.DocumentRequest, fresh=True)
        raise


async def _document(
    deps: Deps, terminal: TerminalContext, body: fr.DocumentRequest
) -> web.Response:
    store = body.businessUnit
    if body.type == "refundReceipt":
        if body.action != "confirm":
            raise _unsupported(body)
        refunded = await receipt_sessions.refund(deps, terminal, CHANNEL, translate.refund(body))
        return _answer(translate.refund_answer(refunded))
    if body.action == "cancelBonusPayment":
        released = await receipt_sessions.release(
            deps, terminal, CHANNEL, translate.normalise_uid(body.uid), receipt_cancelled=False
        )
        return _answer(translate.release_answer(released))
    if body.action == "calculate":
        # Frontol sends the client with every document: the quote need not be kept.
        outcome = await receipt_sessions.quote(
            deps, terminal, CHANNEL, wire.CalculateRequest(receipt=translate.receipt(body)),
            store_external_id=store, stateless=True,
            categorise=partial(product_catalogue.with_categories, deps, terminal.merchant_id),
        )  # fmt: skip
        return _answer(translate.quote_answer(outcome.priced, outcome.customer_found))
    receipt = await product_catalogue.with_categories(
        deps, terminal.merchant_id, translate.receipt(body)
    )
    if body.action == "payByBonus":
        payment = _bonus_payment(body)
        code = body.client.validationCode if body.client is not None else None
        held = await receipt_sessions.hold(
            deps, terminal, CHANNEL,
            wire.HoldRequest(receipt=receipt, amount=payment.amount, sms_code=code or None),
            store_external_id=store,
        )  # fmt: skip
        return _answer(translate.hold_answer(held))
    # confirm comes once the receipt is printed: a bonus payment that can no longer be
    # debited does not undo the sale (receipt_sessions.close, fiscal).
    closed = await receipt_sessions.close(
        deps, terminal, CHANNEL, receipt, translate.bonus_paid(body), store_external_id=store,
        number=body.number, cashier=translate.cashier(body), fiscal=True,
    )  # fmt: skip
    return _answer(translate.confirm_answer(closed))


async def client(request: web.Request) -> web.Response:
    deps, terminal, body = await _call(request, fr.ClientRequest)
    return _answer(await customers.client_info(deps, terminal, body))


async def extra_client(request: web.Request) -> web.Response:
    deps, terminal, body = await _call(request, fr.ExtraClientRequest)
    if body.action == "describe":
        return _answer(customers.describe(body))
    if body.action == "check":
        return _answer(await customers.check(deps, terminal, body))
    return _answer(await customers.execute(deps, terminal, body))


BASE = "/v1/{organization:[A-Za-z0-9_.-]{1,64}}"
ROUTES = [("/document", document), ("/client", client), ("/extra/client", extra_client)]


def create_app(get_deps: DepsGetter) -> web.Application:
    """The Frontol sub-application; ``get_deps`` finds the service's ``Deps``."""
    app = web.Application(middlewares=[frontol_error_middleware])
    app[GET_DEPS] = get_deps
    app[KEYS] = frontol_accounts.Keys()
    for path, handler in ROUTES:
        app.router.add_post(BASE + path, handler)
        app.router.add_post(BASE + path + "/", handler)
    document_ = frontol_openapi()

    async def openapi(request: web.Request) -> web.Response:
        return json_response(document_)

    app.router.add_get("/v1/openapi.json", openapi)
    return app
