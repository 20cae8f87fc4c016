"""Customers' feedback over the API (merchant key): the list by store and period, a
reply that reaches the customer, NPS per store. Under ``/api/v1/merchant/feedback``; a
merchant key sees and answers only its own merchant's feedback."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

from aiohttp import web

from cloud.api.keys import MERCHANT, deps_of
from cloud.api.openapi import Operation, Param
from cloud.api.wire import int_query, json_response, only_params, read_model
from cloud.errors import BadRequest, NotFound
from cloud.services import feedback_admin as service
from cloud.services.customers_admin.common import MAX_PAGE
from schemas import feedback as wire
from schemas.bounds import BIGINT_MAX

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PREFIX = "/api/v1/merchant/feedback"


def _merchant_id(request: web.Request) -> int:
    return int(request[MERCHANT].merchant_id)


def _date_query(request: web.Request, name: str) -> date | None:
    text = request.query.get(name)
    if text is None:
        return None
    try:
        if len(text) != 10 or not text.isascii():
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise BadRequest("invalid_query", f"Параметр {name}: дата ГГГГ-ММ-ДД") from None


def _filters(request: web.Request) -> dict[str, object]:
    return {
        "store_id": int_query(request, "store_id", None),
        "date_from": _date_query(request, "date_from"),
        "date_to": _date_query(request, "date_to"),
    }


async def list_feedback(request: web.Request) -> web.Response:
    only_params(request, "store_id", "date_from", "date_to", "limit", "before")
    limit = int_query(request, "limit", 20)
    assert limit is not None
    found = await service.list_feedback(
        deps_of(request), _merchant_id(request), **_filters(request),  # type: ignore[arg-type]
        limit=limit, before=int_query(request, "before", None),
    )  # fmt: skip
    return json_response(found)


async def reply(request: web.Request) -> web.Response:
    feedback_id = int(request.match_info["feedback_id"])
    if not 0 < feedback_id <= BIGINT_MAX:
        raise NotFound("feedback_not_found", f"Отзыв «{feedback_id}» не найден")
    body = await read_model(request, wire.ReplyRequest)
    result = await service.reply(deps_of(request), _merchant_id(request), feedback_id, body)
    return json_response(result)


async def nps(request: web.Request) -> web.Response:
    only_params(request, "store_id", "date_from", "date_to")
    report = await service.nps(
        deps_of(request),
        _merchant_id(request),
        **_filters(request),  # type: ignore[arg-type]
    )
    return json_response(report)


_DATE = {"type": "string", "format": "date"}
_FILTERS = (
    Param("store_id", "query", "только этот магазин",
          {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX}),
    Param("date_from", "query", "с этой даты (местной, день отзыва), ГГГГ-ММ-ДД", _DATE),
    Param("date_to", "query", "по эту дату включительно, ГГГГ-ММ-ДД", _DATE),
)  # fmt: skip
_PAGE = (
    Param("limit", "query", "записей на странице (по умолчанию 20)",
          {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}),
    Param("before", "query", "курсор: ``next`` предыдущей страницы",
          {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX}),
)  # fmt: skip

ROUTES: list[tuple[Operation, Handler]] = [
    (Operation("get", PREFIX, "Отзывы клиентов о покупках: магазин, касса, сумма, дата, "
               "оценка, комментарий, ответ; новые первыми", None, wire.FeedbackList,
               parameters=_FILTERS + _PAGE), list_feedback),
    (Operation("get", PREFIX + "/nps", "NPS по магазинам за период (5 — промоутеры, "
               "4 — нейтральные, 1–3 — критики)", None, wire.NpsReport, parameters=_FILTERS),
     nps),
    (Operation("post", PREFIX + r"/{feedback_id:[0-9]{1,19}}/reply", "Ответить на отзыв: "
               "ответ уходит клиенту сообщением", wire.ReplyRequest, wire.ReplyResult), reply),
]  # fmt: skip
