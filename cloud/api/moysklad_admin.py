"""The merchant's МойСклад installations over the API (merchant key; issuing and
revoking tokens is the owner's, as the keys are):
``/api/v1/merchant/moysklad/installations``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from cloud.api.admin import _id
from cloud.api.keys import MERCHANT, deps_of
from cloud.api.openapi import Operation
from cloud.api.wire import json_response, read_model
from cloud.services import moysklad_accounts
from cloud.services.admin.keys import require_owner
from schemas.moysklad import InstallationIn, InstallationList, InstallationOut

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
audit = structlog.get_logger("loyalty.admin")

PATH = "/api/v1/merchant/moysklad/installations"


def _out(found: moysklad_accounts.Installation) -> InstallationOut:
    return InstallationOut(
        id=found.id, label=found.label, token=found.token,
        created_at=found.created_at.isoformat(),
        revoked_at=found.revoked_at.isoformat() if found.revoked_at else None,
    )  # fmt: skip


async def list_installations(request: web.Request) -> web.Response:
    found = await moysklad_accounts.installations(deps_of(request), request[MERCHANT].merchant_id)
    return json_response(InstallationList(installations=[_out(i) for i in found]))


async def issue(request: web.Request) -> web.Response:
    merchant = request[MERCHANT]
    require_owner(merchant)
    body = await read_model(request, InstallationIn)
    issued = await moysklad_accounts.issue(deps_of(request), merchant.merchant_id, body.label)
    audit.info("moysklad_token_issued", merchant=merchant.merchant_id, installation=issued.id,
               by_key=merchant.credential_id)  # fmt: skip
    return json_response(_out(issued), status=201)


async def revoke(request: web.Request) -> web.Response:
    merchant = request[MERCHANT]
    require_owner(merchant)
    installation_id = _id(request, "installation_id")
    found = await moysklad_accounts.revoke(deps_of(request), merchant.merchant_id, installation_id)
    audit.info("moysklad_token_revoked", merchant=merchant.merchant_id,
               installation=installation_id, by_key=merchant.credential_id)  # fmt: skip
    return json_response(_out(found))


ROUTES: list[tuple[Operation, Handler]] = [
    (Operation("get", PATH, "Подключения МойСклад (токены не показываются)", None,
               InstallationList), list_installations),
    (Operation("post", PATH, "Выпустить токен Lognex-Discount-API-Auth-Token для установки "
               "решения МойСклад (только владелец; показывается один раз)", InstallationIn,
               InstallationOut, status=201), issue),
    (Operation("post", PATH + "/{installation_id:[0-9]+}/revoke", "Отозвать токен установки "
               "МойСклад (только владелец; перестаёт действовать сразу)", None,
               InstallationOut), revoke),
]  # fmt: skip
