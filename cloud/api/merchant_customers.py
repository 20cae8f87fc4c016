"""The merchant's customers over the API (merchant key): search, the card, its lots and
movements, block / unblock, manual adjustments.

Under ``/api/v1/merchant/customers`` — a till's token is refused there (the middleware
takes merchant keys by path), and a merchant key sees only its own merchant's rows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import BaseModel

from cloud.api.keys import MERCHANT, deps_of
from cloud.api.wire import json_response, read_model
from cloud.errors import BadRequest
from cloud.services import customers_admin as service
from cloud.services.customers import not_found
from cloud.services.merchants import MerchantContext
from schemas import customer_admin as wire

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PREFIX = "/api/v1/merchant/customers"
_ONE = PREFIX + r"/{customer_id:\d{1,19}}"


def _merchant(request: web.Request) -> MerchantContext:
    return request[MERCHANT]


def _customer_id(request: web.Request) -> int:
    value = int(request.match_info["customer_id"])
    if not 0 < value < 2**63:
        raise not_found()
    return value


def _int_query(request: web.Request, name: str, default: int | None) -> int | None:
    text = request.query.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise BadRequest("invalid_query", f"Параметр {name} должен быть целым числом") from None
    if not 0 < value < 2**63:
        raise BadRequest("invalid_query", f"Параметр {name} должен быть положительным")
    return value


def _limit(request: web.Request, default: int) -> int:
    value = _int_query(request, "limit", default)
    assert value is not None
    return value


async def list_customers(request: web.Request) -> web.Response:
    """``?phone=`` or ``?card=`` finds one customer; with neither, the base page by page
    (``?after=`` takes a page's ``next``). ``?name=`` is refused (see the service)."""
    found = await service.search(
        deps_of(request),
        _merchant(request),
        phone=request.query.get("phone"),
        card=request.query.get("card"),
        name=request.query.get("name"),
        limit=_limit(request, 20),
        after=_int_query(request, "after", None),
    )
    return json_response(found)


async def get_customer(request: web.Request) -> web.Response:
    card = await service.customer_card(deps_of(request), _merchant(request), _customer_id(request))
    return json_response(card)


async def get_lots(request: web.Request) -> web.Response:
    page = await service.lots(
        deps_of(request), _merchant(request), _customer_id(request),
        limit=_limit(request, 50), before=_int_query(request, "before", None),
    )  # fmt: skip
    return json_response(page)


async def get_movements(request: web.Request) -> web.Response:
    page = await service.movements(
        deps_of(request), _merchant(request), _customer_id(request),
        limit=_limit(request, 50), before=_int_query(request, "before", None),
    )  # fmt: skip
    return json_response(page)


async def block(request: web.Request) -> web.Response:
    body = await read_model(request, wire.BlockRequest)
    state = await service.set_blocked(
        deps_of(request), _merchant(request), _customer_id(request), True, body
    )
    return json_response(state)


async def unblock(request: web.Request) -> web.Response:
    body = await read_model(request, wire.BlockRequest)
    state = await service.set_blocked(
        deps_of(request), _merchant(request), _customer_id(request), False, body
    )
    return json_response(state)


async def post_adjustment(request: web.Request) -> web.Response:
    """A manual credit or debit; the ``Idempotency-Key`` header is required."""
    body = await read_model(request, wire.AdjustmentRequest)
    result = await service.adjust(
        deps_of(request), _merchant(request), _customer_id(request), body,
        request.headers.get("Idempotency-Key"),
    )  # fmt: skip
    return json_response(result, status=201)


def documented(path: str) -> str:
    """The route's path as the OpenAPI document names it (no regular expression)."""
    return path.replace(_ONE, PREFIX + "/{customer_id}")


ROUTES: list[tuple[str, str, Handler, str, type[BaseModel] | None, type[BaseModel] | None]] = [
    ("GET", PREFIX, list_customers,
     "Клиенты компании: поиск по телефону (?phone=) или карте (?card=), иначе вся база "
     "постранично (?limit=, ?after=)", None, wire.CustomerList),
    ("GET", _ONE, get_customer, "Карточка клиента: баланс, покупки, карты, блокировка",
     None, wire.CustomerCard),
    ("GET", _ONE + "/lots", get_lots, "Партии бонусов клиента с датами активации и сгорания",
     None, wire.LotList),
    ("GET", _ONE + "/movements", get_movements,
     "Все движения бонусов клиента: кто, когда, по какому чеку", None, wire.MovementList),
    ("POST", _ONE + "/block", block, "Заблокировать карту (не начисляет и не списывает)",
     wire.BlockRequest, wire.BlockState),
    ("POST", _ONE + "/unblock", unblock, "Разблокировать карту", wire.BlockRequest,
     wire.BlockState),
    ("POST", _ONE + "/adjustments", post_adjustment,
     "Ручное начисление или списание (с причиной; заголовок Idempotency-Key обязателен)",
     wire.AdjustmentRequest, wire.AdjustmentResult),
]  # fmt: skip
