"""The merchant's coupon campaigns over the API (merchant key):
``/api/v1/merchant/coupon-campaigns``. The cashier's side is the ``coupons`` field of a
receipt on every checkout channel."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from cloud.api.keys import MERCHANT, deps_of
from cloud.api.openapi import Operation
from cloud.api.wire import json_response, only_params, read_model
from cloud.services import coupons as service
from schemas import coupons as wire
from schemas.bounds import BIGINT_MAX

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PATH = "/api/v1/merchant/coupon-campaigns"
ONE = PATH + r"/{campaign_id:[0-9]{1,19}}"


def _campaign_id(request: web.Request) -> int:
    value = int(request.match_info["campaign_id"])
    if not 0 < value <= BIGINT_MAX:
        raise service.not_found(value)
    return value


async def create(request: web.Request) -> web.Response:
    only_params(request)
    merchant = request[MERCHANT]
    body = await read_model(request, wire.CouponCampaignCreate)
    created = await service.create(deps_of(request), merchant.merchant_id, merchant.timezone, body)
    return json_response(created, status=201)


async def listing(request: web.Request) -> web.Response:
    only_params(request)
    merchant = request[MERCHANT]
    return json_response(
        await service.campaigns(deps_of(request), merchant.merchant_id, merchant.timezone)
    )


async def one(request: web.Request) -> web.Response:
    only_params(request)
    merchant = request[MERCHANT]
    return json_response(
        await service.campaign(
            deps_of(request), merchant.merchant_id, merchant.timezone, _campaign_id(request)
        )
    )


async def codes(request: web.Request) -> web.Response:
    only_params(request)
    merchant = request[MERCHANT]
    return json_response(
        await service.codes(
            deps_of(request), merchant.merchant_id, merchant.timezone, _campaign_id(request)
        )
    )


async def codes_csv(request: web.Request) -> web.Response:
    only_params(request)
    merchant = request[MERCHANT]
    campaign_id = _campaign_id(request)
    listing = await service.codes(deps_of(request), merchant.merchant_id, merchant.timezone,
                                  campaign_id)  # fmt: skip
    return web.Response(body=service.as_csv(listing), headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="coupons-{campaign_id}.csv"',
    })  # fmt: skip


async def printable(request: web.Request) -> web.Response:
    only_params(request)
    merchant = request[MERCHANT]
    deps = deps_of(request)
    campaign_id = _campaign_id(request)
    info = await service.campaign(deps, merchant.merchant_id, merchant.timezone, campaign_id)
    listing = await service.codes(deps, merchant.merchant_id, merchant.timezone, campaign_id)
    return web.Response(
        text=service.as_html(info, listing), content_type="text/html", charset="utf-8"
    )


async def revoke(request: web.Request) -> web.Response:
    only_params(request)
    merchant = request[MERCHANT]
    campaign_id = _campaign_id(request)
    body = await read_model(request, wire.CouponRevoke)
    return json_response(
        await service.revoke(deps_of(request), merchant.merchant_id, campaign_id, body)
    )


ROUTES: list[tuple[Operation, Handler]] = [
    (Operation("post", PATH, "Выпустить купонную акцию: пачку кодов к купонному правилу "
               "действующей программы", wire.CouponCampaignCreate, wire.CouponCampaignCreated,
               status=201,
               description="Коды — 12 цифр, уникальны в компании. uses_per_code 1 — "
               "одноразовый код, null — без ограничения; total_uses — на всю акцию; "
               "uses_per_customer — на клиента (нужен requires_customer); return_frees — "
               "полностью возвращённый чек освобождает свои купоны."), create),
    (Operation("get", PATH, "Купонные акции компании", None, wire.CouponCampaignList), listing),
    (Operation("get", ONE, "Купонная акция", None, wire.CouponCampaignInfo), one),
    (Operation("get", ONE + "/coupons", "Коды акции и их состояние", None, wire.CouponList),
     codes),
    (Operation("get", ONE + "/coupons.csv", "Коды акции файлом .csv (UTF-8, «;»)", None, None,
               response_media="text/csv"), codes_csv),
    (Operation("get", ONE + "/print", "Страница для печати: действующие коды с QR-кодами",
               None, None, response_media="text/html"), printable),
    (Operation("post", ONE + "/revoke", "Отозвать коды акции (codes) или всю акцию (без codes)",
               wire.CouponRevoke, wire.CouponRevoked), revoke),
]  # fmt: skip
