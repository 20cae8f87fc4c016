"""Mailings and message templates over the API (merchant key), under
``/api/v1/merchant/``; a merchant key sees only its own merchant's mailings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from cloud.api.keys import MERCHANT, deps_of
from cloud.api.openapi import Operation, Param
from cloud.api.wire import dumps, json_response, parse_body, read_body, read_model
from cloud.errors import BadRequest, NotFound
from cloud.messages import mailings, templates_admin
from cloud.services.idempotency import run_idempotent
from schemas import messages as wire
from schemas.bounds import BIGINT_MAX

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

MAILINGS = "/api/v1/merchant/mailings"
TEMPLATES = "/api/v1/merchant/message-templates"


def _merchant_id(request: web.Request) -> int:
    return request[MERCHANT].merchant_id


async def preview(request: web.Request) -> web.Response:
    body = await read_model(request, wire.MailingRequest)
    return json_response(await mailings.preview(deps_of(request), _merchant_id(request), body))


SEND_SCOPE = "mailing_send"


def _idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    # Printable ASCII only: a header's other bytes reach us as lone surrogates, which no
    # database column can store.
    if key is not None and not (0 < len(key) <= 200 and key.isascii() and key.isprintable()):
        raise BadRequest(
            "invalid_idempotency_key", "Ключ идемпотентности: от 1 до 200 печатных символов ASCII"
        )
    return key


async def send(request: web.Request) -> web.Response:
    """Queue a mailing; with an ``Idempotency-Key`` a repeat (a retry after a lost
    answer) gets the first answer and queues nothing twice."""
    deps, merchant_id = deps_of(request), _merchant_id(request)
    key = _idempotency_key(request)
    raw = await read_body(request)
    body = parse_body(wire.MailingRequest, raw)

    async def queue() -> tuple[int, bytes]:
        created = await mailings.send(deps, merchant_id, body)
        return 201, dumps(created)

    status, answer = await run_idempotent(deps, merchant_id, SEND_SCOPE, key, raw, queue)
    return web.Response(body=answer, status=status, content_type="application/json")


async def results(request: web.Request) -> web.Response:
    mailing_id = int(request.match_info["mailing_id"])
    if not 0 < mailing_id <= BIGINT_MAX:
        raise NotFound("mailing_not_found", f"Рассылка «{mailing_id}» не найдена")
    found = await mailings.results(deps_of(request), _merchant_id(request), mailing_id)
    return json_response(found)


async def list_templates(request: web.Request) -> web.Response:
    found = await templates_admin.list_templates(deps_of(request), _merchant_id(request))
    return json_response(found)


async def put_template(request: web.Request) -> web.Response:
    body = await read_model(request, wire.TemplateRequest)
    saved = await templates_admin.put_template(deps_of(request), _merchant_id(request), body)
    return json_response(saved)


_IDEMPOTENCY_KEY = Param(
    "Idempotency-Key",
    "header",
    "ключ идемпотентности: повтор с тем же ключом и тем же телом возвращает первый ответ и "
    "ничего не отправляет, с другим телом — 409 idempotency_key_reused",
    {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[\\x21-\\x7e ]+$"},
)

ROUTES: list[tuple[Operation, Handler]] = [
    (Operation("post", MAILINGS + "/preview", "Рассылка: сколько клиентов в сегменте и "
               "сколько она будет стоить", wire.MailingRequest, wire.MailingPreview), preview),
    (Operation("post", MAILINGS, "Отправить рассылку сегменту (через очередь сообщений)",
               wire.MailingRequest, wire.MailingCreated, status=201,
               parameters=(_IDEMPOTENCY_KEY,)), send),
    (Operation("get", MAILINGS + r"/{mailing_id:[0-9]{1,19}}", "Итоги рассылки: доставка, "
               "стоимость, покупки получателей в окне учёта", None, wire.MailingResults),
     results),
    (Operation("get", TEMPLATES, "Тексты сообщений по видам (свои и по умолчанию)", None,
               wire.TemplateList), list_templates),
    (Operation("put", TEMPLATES, "Свой текст сообщения вида "
               "(текст по умолчанию сбрасывает)", wire.TemplateRequest, wire.TemplateInfo),
     put_template),
]  # fmt: skip
