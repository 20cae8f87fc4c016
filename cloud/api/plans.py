"""The merchant's plan: set by the platform operator (``/api/v1/operator/merchants/{id}/
plan``), read with this month's usage by the merchant (``/api/v1/merchant/usage``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from cloud.api.keys import MERCHANT, deps_of
from cloud.api.openapi import Operation
from cloud.api.wire import json_response, read_model
from cloud.errors import NotFound
from cloud.services import usage
from schemas.bounds import BIGINT_MAX
from schemas.money import to_kopecks, to_roubles
from schemas.plans import PlanIn, PlanOut, UsageOut

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PLAN = "/api/v1/operator/merchants/{merchant_id:[0-9]+}/plan"


def _plan(merchant_id: int, plan: usage.Plan) -> PlanOut:
    return PlanOut(
        merchant_id=merchant_id, name=plan.name, included_receipts=plan.included_receipts,
        message_budget=to_roubles(plan.message_budget),
    )  # fmt: skip


def _merchant_id(request: web.Request) -> int:
    text = request.match_info["merchant_id"]
    value = int(text) if len(text) <= 19 else 0
    return value if value <= BIGINT_MAX else 0


async def put_plan(request: web.Request) -> web.Response:
    deps, merchant_id = deps_of(request), _merchant_id(request)
    body = await read_model(request, PlanIn)
    plan = await usage.set_plan(
        deps.db, merchant_id, body.name, body.included_receipts,
        to_kopecks(body.message_budget), deps.clock(),
    )  # fmt: skip
    return json_response(_plan(merchant_id, plan))


async def get_plan(request: web.Request) -> web.Response:
    merchant_id = _merchant_id(request)
    plan = await usage.plan_of(deps_of(request).db, merchant_id)
    if plan is None:
        raise NotFound("plan_not_set", "Тариф компании не назначен")
    return json_response(_plan(merchant_id, plan))


async def get_usage(request: web.Request) -> web.Response:
    merchant_id = request[MERCHANT].merchant_id
    month = await usage.month_usage(deps_of(request), merchant_id)
    return json_response(
        UsageOut(
            month=month.month, receipts=month.receipts, messages=month.messages,
            message_cost=to_roubles(month.message_cost),
            plan=None if month.plan is None else _plan(merchant_id, month.plan),
        )
    )  # fmt: skip


ROUTES: list[tuple[Operation, Handler]] = [
    (Operation("put", PLAN, "Назначить тариф компании (токен оператора): чеков и бюджет "
               "сообщений в месяц; превышение показывается, продажи не останавливает",
               PlanIn, PlanOut), put_plan),
    (Operation("get", PLAN, "Тариф компании (токен оператора)", None, PlanOut), get_plan),
    (Operation("get", "/api/v1/merchant/usage", "Использование за текущий месяц (чеки, "
               "сообщения и их стоимость) и тариф", None, UsageOut), get_usage),
]  # fmt: skip
