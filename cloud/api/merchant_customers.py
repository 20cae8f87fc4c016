"""The merchant's customers over the API (merchant key): search, the card, its lots and
movements, block / unblock, manual adjustments.

Under ``/api/v1/merchant/customers`` — a till's token is refused there (the middleware
takes merchant keys by path), and a merchant key sees only its own merchant's rows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from cloud.api.keys import MERCHANT, deps_of
from cloud.api.openapi import Operation, Param
from cloud.api.wire import customer_id_of, int_query, json_response, read_model
from cloud.errors import BadRequest
from cloud.services import customers
from cloud.services import customers_admin as service
from cloud.services.customers_admin.common import MAX_PAGE
from cloud.services.merchants import MerchantContext
from cloud.web_json import refuse_nul
from schemas import customer_admin as wire
from schemas.bounds import BIGINT_MAX
from schemas.customers import AttachCard, CardInfo

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PREFIX = "/api/v1/merchant/customers"
_ONE = PREFIX + r"/{customer_id:[0-9]{1,19}}"


def _merchant(request: web.Request) -> MerchantContext:
    return request[MERCHANT]


def _text_query(request: web.Request, name: str, max_length: int) -> str | None:
    text = request.query.get(name)
    if text is None:
        return None
    if "\x00" in text:
        raise refuse_nul()
    if not 0 < len(text) <= max_length:
        raise BadRequest("invalid_query", f"Параметр {name}: от 1 до {max_length} символов")
    return text


def _limit(request: web.Request, default: int) -> int:
    value = int_query(request, "limit", default)
    assert value is not None
    return value


async def list_customers(request: web.Request) -> web.Response:
    """``?phone=`` or ``?card=`` finds one customer; with neither, the base page by page
    (``?after=`` takes a page's ``next``). ``?name=`` is refused (see the service)."""
    found = await service.search(
        deps_of(request),
        _merchant(request),
        phone=_text_query(request, "phone", 32),
        card=_text_query(request, "card", 64),
        name=_text_query(request, "name", 100),
        limit=_limit(request, 20),
        after=int_query(request, "after", None),
    )
    return json_response(found)


async def get_customer(request: web.Request) -> web.Response:
    card = await service.customer_card(
        deps_of(request), _merchant(request), customer_id_of(request)
    )
    return json_response(card)


async def get_lots(request: web.Request) -> web.Response:
    page = await service.lots(
        deps_of(request), _merchant(request), customer_id_of(request),
        limit=_limit(request, 50), before=int_query(request, "before", None),
    )  # fmt: skip
    return json_response(page)


async def get_movements(request: web.Request) -> web.Response:
    page = await service.movements(
        deps_of(request), _merchant(request), customer_id_of(request),
        limit=_limit(request, 50), before=int_query(request, "before", None),
    )  # fmt: skip
    return json_response(page)


async def block(request: web.Request) -> web.Response:
    body = await read_model(request, wire.BlockRequest)
    state = await service.set_blocked(
        deps_of(request), _merchant(request), customer_id_of(request), True, body
    )
    return json_response(state)


async def unblock(request: web.Request) -> web.Response:
    body = await read_model(request, wire.BlockRequest)
    state = await service.set_blocked(
        deps_of(request), _merchant(request), customer_id_of(request), False, body
    )
    return json_response(state)


async def post_adjustment(request: web.Request) -> web.Response:
    """A manual credit or debit; the ``Idempotency-Key`` header is required."""
    body = await read_model(request, wire.AdjustmentRequest)
    result = await service.adjust(
        deps_of(request), _merchant(request), customer_id_of(request), body,
        request.headers.get("Idempotency-Key"),
    )  # fmt: skip
    return json_response(result, status=201)


async def post_card(request: web.Request) -> web.Response:
    """Bind a plastic card (the customer registered on their own, a lost card replaced);
    201 when bound now, 200 when the customer already had it."""
    body = await read_model(request, AttachCard)
    card, created = await customers.attach_card(
        deps_of(request), _merchant(request).merchant_id, customer_id_of(request), body.number
    )
    return json_response(
        CardInfo(id=card.id, kind="physical", number=card.number), status=201 if created else 200
    )


async def post_referrer(request: web.Request) -> web.Response:
    body = await read_model(request, wire.ReferrerChange)
    state = await service.set_referrer(
        deps_of(request), _merchant(request), customer_id_of(request), body
    )
    return json_response(state)


_LIMIT = Param(
    "limit",
    "query",
    "записей на странице (по умолчанию 20 для списка, 50 для партий и движений)",
    {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
)
_BEFORE = Param(
    "before",
    "query",
    "курсор: ``next`` предыдущей страницы",
    {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX},
)
_SEARCH = (
    Param(
        "phone",
        "query",
        "телефон клиента в любом формате (не вместе с card)",
        {"type": "string", "minLength": 1, "maxLength": 32},
    ),
    Param(
        "card",
        "query",
        "номер карты: физической или виртуальной (не вместе с phone)",
        {"type": "string", "minLength": 1, "maxLength": 64},
    ),
    Param(
        "name",
        "query",
        "не поддерживается: имена хранятся зашифрованными, ответ 400 name_search_unsupported",
        {"type": "string", "minLength": 1, "maxLength": 100},
    ),
    _LIMIT,
    Param(
        "after",
        "query",
        "курсор: ``next`` предыдущей страницы",
        {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX},
    ),
)
_IDEMPOTENCY_KEY = Param(
    "Idempotency-Key",
    "header",
    "обязателен: повтор с тем же ключом и тем же телом возвращает первый ответ и ничего не "
    "меняет, с другим телом — 409 idempotency_conflict",
    {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[\\x21-\\x7e ]+$"},
    required=True,
)

ROUTES: list[tuple[Operation, Handler]] = [
    (Operation("get", PREFIX,
               "Клиенты компании: поиск по телефону или карте, иначе вся база постранично",
               None, wire.CustomerList, parameters=_SEARCH), list_customers),
    (Operation("get", _ONE, "Карточка клиента: баланс, покупки, карты, блокировка",
               None, wire.CustomerCard), get_customer),
    (Operation("get", _ONE + "/lots", "Партии бонусов с датами активации и сгорания, новые "
               "первыми", None, wire.LotList, parameters=(_LIMIT, _BEFORE)), get_lots),
    (Operation("get", _ONE + "/movements", "Все движения бонусов: кто, когда, по какому чеку, "
               "новые первыми", None, wire.MovementList, parameters=(_LIMIT, _BEFORE)),
     get_movements),
    (Operation("post", _ONE + "/block", "Заблокировать карту: не начисляет и не списывает",
               wire.BlockRequest, wire.BlockState), block),
    (Operation("post", _ONE + "/unblock", "Разблокировать карту", wire.BlockRequest,
               wire.BlockState), unblock),
    (Operation("post", _ONE + "/adjustments",
               "Ручное начисление или списание бонусов с причиной, от имени сотрудника",
               wire.AdjustmentRequest, wire.AdjustmentResult, status=201,
               parameters=(_IDEMPOTENCY_KEY,)), post_adjustment),
    (Operation("post", _ONE + "/referrer",
               "Исправить, кто пригласил клиента (или убрать пригласившего), с причиной",
               wire.ReferrerChange, wire.ReferrerState), post_referrer),
    (Operation("post", _ONE + "/cards",
               "Привязать пластиковую карту (201 — привязана сейчас, 200 — уже была)",
               AttachCard, CardInfo, status=201, other_statuses=(200,)), post_card),
]  # fmt: skip
