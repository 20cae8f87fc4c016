"""The store bridge's API (``/bridge/v1/...``, a ``bridge`` terminal's token) and the
merchant's view of its bridges (``/api/v1/merchant/bridges``, merchant key)."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from cloud.api.keys import MERCHANT, TERMINAL, deps_of
from cloud.api.middleware import _token_from
from cloud.api.openapi import Operation, Param
from cloud.api.subrequest import dispatch
from cloud.api.wire import int_query, json_response, only_params, read_model
from cloud.errors import BadRequest
from cloud.services import bridges
from cloud.services.merchants import TerminalAuthenticator, TerminalContext
from schemas import bridge as wire

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
log = structlog.get_logger("loyalty.bridge")

BRIDGE_CHANNELS = frozenset({"bridge"})


async def _bridge(request: web.Request) -> TerminalContext:
    # /bridge/v1 is outside the middleware's /api/v1 doors: a till's token is no store
    # server's, and a bridge token opens nothing else.
    token = _token_from(request.headers.get("Authorization", ""))
    terminal = await TerminalAuthenticator(deps_of(request).db, BRIDGE_CHANNELS).authenticate(token)
    request[TERMINAL] = terminal  # named in the request log
    return terminal


async def program(request: web.Request) -> web.Response:
    terminal = await _bridge(request)
    return json_response(await bridges.active_program(deps_of(request), terminal))


async def customers(request: web.Request) -> web.Response:
    terminal = await _bridge(request)
    only_params(request, "after", "limit")
    after = int_query(request, "after", None) or 0
    limit = int_query(request, "limit", 500) or 500
    if limit > bridges.MAX_PAGE:
        raise BadRequest("invalid_query", f"Параметр limit: целое от 1 до {bridges.MAX_PAGE}")
    return json_response(await bridges.customer_page(deps_of(request), terminal, after, limit))


async def heartbeat(request: web.Request) -> web.Response:
    terminal = await _bridge(request)
    beat = await read_model(request, wire.Heartbeat)
    return json_response(await bridges.heartbeat(deps_of(request), terminal, beat))


_JSON = "application/json"
_NOT_REPLAYABLE = json.dumps(
    {"code": "not_replayable", "message": "Вызов самого бриджа не повторяется"},
    ensure_ascii=False,
).encode()


async def replay(request: web.Request) -> web.Response:
    """A run of the bridge's outbox, each call answered as if its till had sent it (its
    own route, token and error shape), in order. The run stops at the first call that
    is not a success: what follows it must not overtake it (a return its sale), so it is
    neither applied nor answered, and the bridge sends it again after deciding on that
    one (set aside for good, or retried)."""
    await _bridge(request)
    batch = await read_model(request, wire.ReplayBatch)
    results = []
    content_type: str | None
    for item in batch.items:
        if item.path.startswith("/bridge/"):
            # Only a till's call is queued; a bridge's own would replay itself.
            status, content_type, body = 400, _JSON, _NOT_REPLAYABLE
        else:
            status, content_type, body = await dispatch(
                request, item.method, item.path, item.headers, base64.b64decode(item.body)
            )
        results.append({"status": status, "content_type": content_type,
                        "body": base64.b64encode(body).decode()})  # fmt: skip
        if not 200 <= status < 300:
            break
    log.info("bridge_replay", items=len(batch.items), applied=len(results))
    return json_response({"results": results})


async def merchant_bridges(request: web.Request) -> web.Response:
    merchant = request[MERCHANT]
    return json_response(await bridges.bridges_of(deps_of(request), merchant.merchant_id))


_CURSOR = (
    Param("after", "query", "курсор: next_after предыдущей страницы (без него — с начала)",
          {"type": "integer", "minimum": 1, "maximum": 9223372036854775807}),
    Param("limit", "query", "клиентов на странице (по умолчанию 500)",
          {"type": "integer", "minimum": 1, "maximum": bridges.MAX_PAGE}),
)  # fmt: skip

ROUTES: list[tuple[Operation, Handler]] = [
    (Operation("GET", "/bridge/v1/program", "Бридж магазина: действующая программа и ключ "
               "хешей снимка клиентов", None, wire.BridgeProgram), program),
    (Operation("GET", "/bridge/v1/customers", "Бридж магазина: снимок клиентов страницами "
               "(уровень, блокировка, хеши телефонов и карт)", None, wire.CustomerPage,
               parameters=_CURSOR), customers),
    (Operation("POST", "/bridge/v1/heartbeat", "Бридж магазина: отчёт об очереди чеков "
               "(глубина, самый старый неотправленный, отклонённые)", wire.Heartbeat,
               wire.HeartbeatAck), heartbeat),
    (Operation("POST", "/bridge/v1/replay", "Бридж магазина: очередь чеков пачкой — каждый "
               "вызов кассы как отправленный ею самой, по порядку, до первого неуспешного",
               wire.ReplayBatch, wire.ReplayAnswer), replay),
    (Operation("GET", "/api/v1/merchant/bridges", "Бриджи магазинов: последняя связь, "
               "очередь чеков, признак «давно не на связи»", None, wire.BridgeList),
     merchant_bridges),
]  # fmt: skip
