"""The merchant's Frontol link over the API (merchant key; issuing or rotating the access
key is the owner's, as the keys are): ``/api/v1/merchant/frontol``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from cloud.api.keys import MERCHANT, deps_of
from cloud.api.openapi import Operation
from cloud.api.wire import json_response
from cloud.errors import NotFound
from cloud.services import frontol_accounts
from cloud.services.admin.keys import require_owner
from cloud.services.deps import Deps
from schemas.frontol import FrontolLinkOut

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PATH = "/api/v1/merchant/frontol"


def _out(deps: Deps, link: frontol_accounts.Link) -> FrontolLinkOut:
    base_path = f"/frontol/v1/{link.organization}"
    public = deps.settings.public_url
    return FrontolLinkOut(
        organization=link.organization, base_path=base_path,
        base_url=public.rstrip("/") + base_path if public else None,
        access_key=link.access_key, created_at=link.created_at, updated_at=link.updated_at,
    )  # fmt: skip


async def get_link(request: web.Request) -> web.Response:
    deps = deps_of(request)
    link = await frontol_accounts.link_of(deps, request[MERCHANT].merchant_id)
    if link is None:
        raise NotFound("frontol_not_set", "Frontol не подключён: выпустите ключ доступа")
    return json_response(_out(deps, link))


async def put_link(request: web.Request) -> web.Response:
    merchant = request[MERCHANT]
    require_owner(merchant)
    deps = deps_of(request)
    return json_response(_out(deps, await frontol_accounts.issue_key(deps, merchant.merchant_id)))


ROUTES: list[tuple[Operation, Handler]] = [
    (Operation("get", PATH, "Подключение Frontol: адрес сервера и идентификатор организации "
               "(ключ доступа не показывается)", None, FrontolLinkOut), get_link),
    (Operation("put", PATH, "Выпустить или заменить ключ доступа Frontol (только владелец; "
               "показывается один раз, старый перестаёт действовать сразу)",
               None, FrontolLinkOut), put_link),
]  # fmt: skip
