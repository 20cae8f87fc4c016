"""The Evotor adapter as an aiohttp sub-application (mounted at ``/evotor`` by
``cloud.main.mount_adapters``).

Routes (relative to the mount point; each also answers with a trailing slash):

Marketplace webhook-requests and notifications (contract sections 2-3):
    POST /api/v1/user/create            app token  -> create merchant, answer {userId, token}
    POST /api/v1/user/verify            app token  -> link an existing merchant
    POST /api/v1/user/token             app token  -> store the Evotor cloud token, pull
    POST /api/v1/subscription/event     app token or the user's token (S1/S2 disagree)
    POST /api/v2/installation/event     app token  -> dedupe by id, pull on install
    PUT  /api/v1/inventories/stores     user token -> stores
    PUT  /api/v1/inventories/devices    user token -> terminals
    PUT  /api/v1/inventories/employees  user token -> cashiers (``phone`` text or number)
    POST /api/v1/inventories/stores/{storeUuid}/products   user token -> product catalogue
Document webhooks (sections 3.4, 3.5), user token; POST / PUT both accepted
(``documents.py``: each document applied on its own, always one result per document):
    PUT  /api/v2/documents              one V2 document (snake_case or ``document2``
                                        camelCase), or an array
    PUT  /api/v1/inventories/stores/{storeUuid}/documents   legacy V1 array (or V2)
    POST /api/v2/receipts               the simplified receipt, one or an array
The merchant's own call (merchant API key), program categories of product groups:
    GET|PUT /merchant/v1/product-groups
    GET     /merchant/v1/documents      returns waiting, rejected documents, unsettled sales
Terminal receipt hooks (our contract, ``openapi.py``), user token + X-Evotor-* headers:
    POST /terminal/v1/receipts/calculate | bonus-payment | bonus-payment/cancel | close
         | cancel;  GET /terminal/v1/openapi.json (public)
    POST /terminal/v1/customers/sms-code | register | lookup  (``customers.py``)

Choices where the contract is uncertain (``shared/contracts/evotor.md``, last section):
- Authorization: ``Bearer <t>``, a bare ``<t>`` and Basic are all accepted (``auth.py``).
- ``/subscription/event``: the app token or the token of the user the event names.
- Documents: a single object or an array on both document paths, V1 (``uuid`` +
  ``transactions``) or V2 (``id`` + ``body``) by shape; ``X-Evotor-User-Id`` optional but,
  when present (header or ``user_id``), it must be the token's owner.
- A document's ``id`` is not assumed to equal the terminal's ``receiptUuid``: see
  ``cloud.services.evotor_receipts`` for how both land on one confirm.
- ``timezoneOffset`` of devices: milliseconds, seconds or minutes by magnitude.
- ``installation/event`` ``timestamp``: number or string; we keep our own receive time.
- Terminal calls of a merchant whose subscription was terminated get 402/1004; its
  documents are still applied when the receipt closed before the termination.
- An unknown ``X-Evotor-Device-UUID`` on a terminal hook gets 402/1005 (we serve only the
  devices Evotor synced), a missing one 400/2002 (the proxy always adds it); a document
  from an unknown device creates it (Evotor is master); one naming no device belongs to
  its store's first device.
- Bodies are parsed with numbers straight to ``Decimal`` (``body.py``); amounts,
  quantities, sequence numbers, offsets and dates are bounded (``schemas.evotor``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import structlog
from aiohttp import web
from pydantic import BaseModel

from cloud.errors import DomainError, Unauthorized
from cloud.services import (
    evotor_accounts,
    evotor_catalogue,
    evotor_documents,
    evotor_receipts,
    merchants,
)
from cloud.services.deps import Deps
from cloud.services.evotor_accounts import Account
from cloud.services.merchants import TerminalContext
from cloud.web_json import json_response
from schemas import checkout as wire
from schemas import evotor as ev
from schemas import evotor_customers as evc
from schemas.money import to_roubles
from webhooks.evotor import customers, documents, translate
from webhooks.evotor.auth import has_app_token, require_app_token, require_user
from webhooks.evotor.body import read_exact
from webhooks.evotor.errors import evotor_error_middleware
from webhooks.evotor.merchant_openapi import merchant_openapi
from webhooks.evotor.openapi import terminal_openapi
from webhooks.evotor.sync import Syncer, pull_for_merchant

log = structlog.get_logger("loyalty.evotor")

ModelT = TypeVar("ModelT", bound=BaseModel)
DepsGetter = Callable[[web.Request], Deps]

GET_DEPS: web.AppKey[DepsGetter] = web.AppKey("evotor_get_deps")
SYNCER = web.AppKey("evotor_syncer", Syncer)


def _deps(request: web.Request) -> Deps:
    return request.app[GET_DEPS](request)


async def _read(request: web.Request, model: type[ModelT]) -> ModelT:
    # Validation errors propagate as pydantic's own: the Evotor middleware turns them
    # into 2002/2003 items that name the field.
    return model.model_validate(await read_exact(request))


def _ok(body: BaseModel | dict[str, Any]) -> web.Response:
    return json_response(body)


# ---- marketplace --------------------------------------------------------------------------


async def user_create(request: web.Request) -> web.Response:
    deps = _deps(request)
    require_app_token(request, deps.settings.evotor_app_token)
    body = await _read(request, ev.UserCreateRequest)
    linked = await evotor_accounts.create_account(deps, body.userId, body.companyName)
    return _ok(ev.UserCreateResponse(userId=linked.user_id, token=linked.token))


async def user_verify(request: web.Request) -> web.Response:
    deps = _deps(request)
    require_app_token(request, deps.settings.evotor_app_token)
    body = await _read(request, ev.UserVerifyRequest)
    linked = await evotor_accounts.verify_account(deps, body.userId, body.username, body.password)
    # Evotor bills the user (we have no billing of our own for Evotor merchants).
    return _ok(ev.UserVerifyResponse(userId=linked.user_id, hasBilling=False, token=linked.token))


async def user_token(request: web.Request) -> web.Response:
    deps = _deps(request)
    require_app_token(request, deps.settings.evotor_app_token)
    body = await _read(request, ev.UserTokenRequest)
    merchant_id = await evotor_accounts.store_cloud_token(deps, body.userId, body.token)
    request.app[SYNCER].spawn(merchant_id, pull_for_merchant(deps, merchant_id))
    return _ok({})


async def subscription_event(request: web.Request) -> web.Response:
    deps = _deps(request)
    account: Account | None = None
    if not has_app_token(request, deps.settings.evotor_app_token):
        try:
            account = await require_user(request, deps)
        except DomainError:
            require_app_token(request, deps.settings.evotor_app_token)  # answers 1001
            raise
    raw = await read_exact(request)
    body = ev.SubscriptionEvent.model_validate(raw)
    if account is not None and account.evotor_user_id != body.userId:
        raise Unauthorized("evotor_bad_user_token", "Токен выдан другому пользователю Эвотор")
    applied = await evotor_accounts.receive_subscription_event(
        deps, user_id=body.userId, subscription_id=body.subscriptionId,
        sequence_number=body.sequenceNumber, event_type=body.type, payload=raw,
    )  # fmt: skip
    return _ok(ev.SubscriptionAck(applied=applied))


async def installation_event(request: web.Request) -> web.Response:
    deps = _deps(request)
    require_app_token(request, deps.settings.evotor_app_token)
    raw = await read_exact(request)
    body = ev.InstallationEvent.model_validate(raw)
    new, merchant_id = await evotor_accounts.record_installation_event(
        deps, body.id, body.type, body.data.userId,
        json.dumps(raw, ensure_ascii=False, default=str),
    )  # fmt: skip
    if new and merchant_id is not None and body.type == "ApplicationInstalled":
        request.app[SYNCER].spawn(merchant_id, pull_for_merchant(deps, merchant_id))
    return _ok({})


# ---- entity notifications -----------------------------------------------------------------


def _items(data: Any) -> list[Any]:
    return data if isinstance(data, list) else [data]


async def _notified(request: web.Request) -> tuple[Deps, Account, list[Any]]:
    deps = _deps(request)
    account = await require_user(request, deps)
    return deps, account, _items(await read_exact(request))


async def put_stores(request: web.Request) -> web.Response:
    deps, account, items = await _notified(request)
    records = [translate.store_record(ev.StoreNotification.model_validate(i)) for i in items]
    counts = await evotor_accounts.sync_stores(deps, account.merchant_id, records)
    return _ok(ev.SyncAck(created=counts.created, updated=counts.updated))


async def put_devices(request: web.Request) -> web.Response:
    deps, account, items = await _notified(request)
    records = [translate.device_record(ev.DeviceNotification.model_validate(i)) for i in items]
    counts = await evotor_accounts.sync_devices(deps, account.merchant_id, records)
    return _ok(ev.SyncAck(created=counts.created, updated=counts.updated))


async def put_employees(request: web.Request) -> web.Response:
    deps, account, items = await _notified(request)
    records = [translate.employee_record(ev.EmployeeNotification.model_validate(i)) for i in items]
    counts = await evotor_accounts.sync_employees(deps, account.merchant_id, records)
    return _ok(ev.SyncAck(created=counts.created, updated=counts.updated))


async def put_products(request: web.Request) -> web.Response:
    """``POST <partner>/api/v1/inventories/stores/{storeUuid}/products`` («Создать
    товары»): products and groups of a store, for program categories."""
    deps, account, items = await _notified(request)
    store = request.match_info["store_uuid"]
    records = [
        translate.product_record(store, ev.ProductNotification.model_validate(i)) for i in items
    ]
    created = await evotor_catalogue.sync_products(deps, account.merchant_id, records)
    return _ok(ev.SyncAck(created=created, updated=len(records) - created))


# ---- the merchant's category mapping -----------------------------------------------------


async def _merchant(request: web.Request) -> tuple[Deps, int]:
    deps = _deps(request)
    header = request.headers.get("Authorization", "")
    token = header.removeprefix("Bearer ").strip()
    if not token:
        raise Unauthorized("evotor_bad_user_token", "Нужен ключ API компании")
    merchant = await merchants.authenticate_merchant(deps.db, token)
    return deps, merchant.merchant_id


async def _group_categories(deps: Deps, merchant_id: int) -> web.Response:
    views = await evotor_catalogue.groups(deps, merchant_id)
    return _ok(
        ev.GroupCategoriesResponse(
            groups=[
                ev.GroupCategory(
                    uuid=v.uuid,
                    name=v.name,
                    parentUuid=v.parent_uuid,
                    category=v.category,
                    effectiveCategory=v.effective,
                )
                for v in views
            ]
        )
    )


async def get_group_categories(request: web.Request) -> web.Response:
    """The merchant's Evotor product groups and the program category each gives."""
    deps, merchant_id = await _merchant(request)
    return await _group_categories(deps, merchant_id)


async def put_group_categories(request: web.Request) -> web.Response:
    """Map product groups to program categories (merchant API key)."""
    deps, merchant_id = await _merchant(request)
    body = await _read(request, ev.GroupCategoriesRequest)
    await evotor_catalogue.set_group_categories(deps, merchant_id, body.groups)
    return await _group_categories(deps, merchant_id)


async def get_attention(request: web.Request) -> web.Response:
    """Returns waiting for their sale, rejected documents and unsettled sales."""
    deps, merchant_id = await _merchant(request)
    kept, unsettled = await evotor_documents.attention(deps, merchant_id)
    return _ok(
        ev.AttentionResponse(
            documents=[
                ev.KeptDocumentView(
                    id=k.document_id,
                    storeUuid=k.store_external_id or None,
                    status=k.status,
                    reason=k.reason,
                )
                for k in kept
            ],
            unsettledSales=[
                ev.UnsettledSaleView(
                    receiptUuid=u.receipt_uuid,
                    documentId=u.document_id,
                    storeUuid=u.store_external_id,
                    customerId=u.customer_id,
                    unsettled=to_roubles(u.unsettled),
                    reason=u.reason,
                )
                for u in unsettled
            ],
        )
    )


# ---- documents ----------------------------------------------------------------------------


async def put_documents(request: web.Request) -> web.Response:
    return await documents.documents(request, _deps(request))


async def post_receipts(request: web.Request) -> web.Response:
    return await documents.receipts(request, _deps(request))


# ---- terminal hooks -----------------------------------------------------------------------


async def _terminal(request: web.Request) -> tuple[Deps, TerminalContext, str | None]:
    deps = _deps(request)
    account = await require_user(request, deps)
    evotor_accounts.ensure_serving(account)
    terminal, store = await evotor_accounts.terminal_for_device(
        deps, account, request.headers.get("X-Evotor-Device-UUID")
    )
    return deps, terminal, request.headers.get("X-Evotor-Store-Uuid") or store


async def hook_calculate(request: web.Request) -> web.Response:
    deps, terminal, store = await _terminal(request)
    body = await _read(request, ev.CalculateHookRequest)
    outcome = await evotor_receipts.quote(
        deps, terminal, store,
        wire.CalculateRequest(receipt=translate.hook_receipt(body), unit_price_exact=True),
    )  # fmt: skip
    return _ok(translate.quote_response(body, outcome.quote, outcome.customer_found))


async def hook_bonus_payment(request: web.Request) -> web.Response:
    deps, terminal, store = await _terminal(request)
    body = await _read(request, ev.BonusPaymentRequest)
    held = await evotor_receipts.hold(
        deps, terminal, store,
        wire.HoldRequest(receipt=translate.hook_receipt(body), amount=body.sum,
                         unit_price_exact=True, sms_code=body.smsCode),
    )  # fmt: skip
    return _ok(translate.payment_response(body.receiptUuid, held))


async def hook_bonus_payment_cancel(request: web.Request) -> web.Response:
    deps, terminal, _ = await _terminal(request)
    body = await _read(request, ev.BonusPaymentCancelRequest)
    result = await evotor_receipts.release(
        deps, terminal, body.receiptUuid, receipt_cancelled=False
    )
    return _ok(
        ev.BonusPaymentCancelResponse(
            receiptUuid=body.receiptUuid, released=result.released,
            slip=[f"Отмена оплаты бонусами: {result.released} ₽"],
        )
    )  # fmt: skip


async def hook_close(request: web.Request) -> web.Response:
    deps, terminal, store = await _terminal(request)
    body = await _read(request, ev.ReceiptClosedRequest)
    result = await evotor_receipts.close(
        deps, terminal, store, translate.closed_receipt(body), body.bonusPayment,
        body.documentId, body.number, body.employeeId,
    )  # fmt: skip
    if body.documentId:
        account = await require_user(request, deps)
        await documents.replay_pending(deps, account, body.documentId)
    return _ok(translate.closed_response(body.receiptUuid, result))


async def hook_cancel(request: web.Request) -> web.Response:
    deps, terminal, _ = await _terminal(request)
    body = await _read(request, ev.ReceiptCancelledRequest)
    result = await evotor_receipts.release(deps, terminal, body.receiptUuid, receipt_cancelled=True)
    return _ok(ev.ReceiptCancelledResponse(receiptUuid=body.receiptUuid, released=result.released))


async def hook_sms_code(request: web.Request) -> web.Response:
    deps, terminal, _ = await _terminal(request)
    body = await _read(request, evc.SmsCodeHookRequest)
    return _ok(await customers.sms_code(deps, terminal, body))


async def hook_register(request: web.Request) -> web.Response:
    deps, terminal, _ = await _terminal(request)
    body = await _read(request, evc.RegisterHookRequest)
    return await customers.register(deps, terminal, body, await request.read())


async def hook_lookup(request: web.Request) -> web.Response:
    deps, terminal, _ = await _terminal(request)
    body = await _read(request, ev.HookCustomer)
    return _ok(await customers.lookup(deps, terminal, body))


# ---- the application ----------------------------------------------------------------------

TERMINAL_ROUTES = [
    ("/terminal/v1/receipts/calculate", hook_calculate),
    ("/terminal/v1/receipts/bonus-payment", hook_bonus_payment),
    ("/terminal/v1/receipts/bonus-payment/cancel", hook_bonus_payment_cancel),
    ("/terminal/v1/receipts/close", hook_close),
    ("/terminal/v1/receipts/cancel", hook_cancel),
    ("/terminal/v1/customers/sms-code", hook_sms_code),
    ("/terminal/v1/customers/register", hook_register),
    ("/terminal/v1/customers/lookup", hook_lookup),
]


def create_app(get_deps: DepsGetter) -> web.Application:
    """The Evotor sub-application; ``get_deps`` finds the service's ``Deps`` for a
    request (the composition root passes the parent application's)."""
    app = web.Application(middlewares=[evotor_error_middleware])
    app[GET_DEPS] = get_deps
    app[SYNCER] = Syncer()

    async def syncer_ctx(app: web.Application) -> AsyncIterator[None]:
        yield
        await app[SYNCER].close()

    app.cleanup_ctx.append(syncer_ctx)

    def route(method: str, path: str, handler: Any) -> None:
        app.router.add_route(method, path, handler)
        app.router.add_route(method, path + "/", handler)

    route("POST", "/api/v1/user/create", user_create)
    route("POST", "/api/v1/user/verify", user_verify)
    route("POST", "/api/v1/user/token", user_token)
    route("POST", "/api/v1/subscription/event", subscription_event)
    route("POST", "/api/v2/installation/event", installation_event)
    route("POST", "/api/v2/receipts", post_receipts)
    route("PUT", "/api/v1/inventories/stores", put_stores)
    route("PUT", "/api/v1/inventories/devices", put_devices)
    route("PUT", "/api/v1/inventories/employees", put_employees)
    for method in ("PUT", "POST"):
        route(method, "/api/v1/inventories/stores/{store_uuid}/products", put_products)
    route("GET", "/merchant/v1/product-groups", get_group_categories)
    route("PUT", "/merchant/v1/product-groups", put_group_categories)
    route("GET", "/merchant/v1/documents", get_attention)
    for method in ("PUT", "POST"):
        route(method, "/api/v2/documents", put_documents)
        route(method, "/api/v1/inventories/stores/{store_uuid}/documents", put_documents)
    for path, handler in TERMINAL_ROUTES:
        route("POST", path, handler)
    document = terminal_openapi()

    async def openapi(request: web.Request) -> web.Response:
        return json_response(document)

    app.router.add_get("/terminal/v1/openapi.json", openapi)
    merchant_document = merchant_openapi()

    async def merchant_openapi_json(request: web.Request) -> web.Response:
        return json_response(merchant_document)

    app.router.add_get("/merchant/v1/openapi.json", merchant_openapi_json)
    return app


def syncer_of(app: web.Application) -> Syncer:
    return app[SYNCER]
