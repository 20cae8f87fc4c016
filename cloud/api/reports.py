"""Reports over the API (merchant key), under ``/api/v1/merchant/reports``: a merchant
key reads only its own merchant's figures."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from cloud.api.keys import MERCHANT, deps_of
from cloud.api.openapi import Operation, Param
from cloud.api.wire import int_query, json_response, only_params
from cloud.services import reanimation_report
from cloud.services.customers_admin.common import MAX_PAGE
from schemas import reports as wire
from schemas.bounds import BIGINT_MAX

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PREFIX = "/api/v1/merchant/reports"


async def reanimation(request: web.Request) -> web.Response:
    only_params(request, "limit", "before")
    limit = int_query(request, "limit", 50)
    assert limit is not None
    found = await reanimation_report.report(
        deps_of(request), int(request[MERCHANT].merchant_id), limit=limit,
        before=int_query(request, "before", None),
    )  # fmt: skip
    return json_response(found)


ROUTES: list[tuple[Operation, Handler]] = [
    (Operation("get", PREFIX + "/reanimation", "Реанимация: по правилам — сколько клиентов "
               "получили подарок, сколько вернулись, их продажи и выручка за вычетом "
               "возвратов, стоимость сообщений; и по клиентам, новые подарки первыми", None,
               wire.ReanimationReport, parameters=(
                   Param("limit", "query", "клиентов на странице (по умолчанию 50)",
                         {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}),
                   Param("before", "query", "курсор: ``next`` предыдущей страницы",
                         {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX}),
               )), reanimation),
]  # fmt: skip
