"""Gift certificates over the API: the merchant's issue, list, card, void and liability
report (merchant key); the till's status check, sale of printed stock and certificate
hold (terminal token). Spending is part of ``/api/v1/checkout/confirm``."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from aiohttp import web

from cloud.api.keys import MERCHANT, deps_of, terminal_of
from cloud.api.openapi import Operation, Param
from cloud.api.wire import int_query, json_response, only_params, read_model
from cloud.clock import to_epoch
from cloud.errors import BadRequest
from cloud.services import checkout, gift_certificate_jobs, gift_certificates
from cloud.services.customers_admin.common import MAX_PAGE, check_limit
from schemas import checkout as checkout_wire
from schemas import gift_certificates as wire
from schemas.bounds import BIGINT_MAX

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

MERCHANT_PATH = "/api/v1/merchant/gift-certificates"
ONE = MERCHANT_PATH + r"/{certificate_id:[0-9]{1,19}}"
REPORT = "/api/v1/merchant/reports/gift-certificates"
TILL = "/api/v1/gift-certificates"
HOLD = "/api/v1/checkout/gift-certificates/hold"
_NUMBER = re.compile(r"^[0-9A-Za-z-]{4,64}$")
_BATCH = re.compile(r"^[0-9A-Za-z_.-]{1,64}$")


def _number_query(request: web.Request, required: bool) -> str | None:
    value = request.query.get("number")
    if value is None and not required:
        return None
    if value is None or not _NUMBER.match(value):
        raise BadRequest(
            "invalid_query", "Параметр number: от 4 до 64 латинских букв, цифр и дефисов"
        )
    return value


def _certificate_id(request: web.Request) -> int:
    value = int(request.match_info["certificate_id"])
    if not 0 < value <= BIGINT_MAX:
        raise gift_certificates.not_found(str(value))
    return value


async def issue(request: web.Request) -> web.Response:
    merchant = request[MERCHANT]
    body = await read_model(request, wire.GiftCertificateIssue)
    issued = await gift_certificates.issue(
        deps_of(request), merchant.merchant_id, merchant.timezone, body
    )
    return json_response(issued, status=201)


async def list_certificates(request: web.Request) -> web.Response:
    only_params(request, "state", "batch", "number", "limit", "before")
    state = request.query.get("state")
    if state is not None and state not in wire.STATES:
        raise BadRequest("invalid_query", "Параметр state: " + ", ".join(wire.STATES))
    batch = request.query.get("batch")
    if batch is not None and not _BATCH.match(batch):
        raise BadRequest("invalid_query", "Параметр batch: от 1 до 64 латинских букв и цифр")
    limit = int_query(request, "limit", 50)
    assert limit is not None
    check_limit(limit)
    merchant = request[MERCHANT]
    found = await gift_certificates.listing(
        deps_of(request), merchant.merchant_id, merchant.timezone, state=state, batch=batch,
        number=_number_query(request, False), limit=limit,
        before=int_query(request, "before", None),
    )  # fmt: skip
    return json_response(found)


async def get_certificate(request: web.Request) -> web.Response:
    merchant = request[MERCHANT]
    found = await gift_certificates.find(
        deps_of(request), merchant.merchant_id, _certificate_id(request), merchant.timezone
    )
    return json_response(found)


async def void(request: web.Request) -> web.Response:
    merchant = request[MERCHANT]
    voided = await gift_certificates.void(
        deps_of(request), merchant.merchant_id, _certificate_id(request), merchant.timezone
    )
    return json_response(voided)


async def report(request: web.Request) -> web.Response:
    only_params(request)
    merchant = request[MERCHANT]
    return json_response(
        await gift_certificate_jobs.liability(
            deps_of(request), merchant.merchant_id, merchant.timezone
        )
    )


async def till_status(request: web.Request) -> web.Response:
    only_params(request, "number")
    number = _number_query(request, True)
    assert number is not None
    terminal = terminal_of(request)
    deps = deps_of(request)
    found = await gift_certificates.status(
        deps.db, terminal.merchant_id, number, to_epoch(deps.clock())
    )
    if found is None:
        raise gift_certificates.not_found(number)
    return json_response(gift_certificates.till_status(found, terminal.timezone))


async def sell(request: web.Request) -> web.Response:
    body = await read_model(request, wire.GiftCertificateSell)
    return json_response(await gift_certificates.sell(deps_of(request), terminal_of(request), body))


async def hold(request: web.Request) -> web.Response:
    body = await read_model(request, checkout_wire.GiftCertificateHoldRequest)
    held = await checkout.hold_gift_certificates(deps_of(request), terminal_of(request), body)
    return json_response(held)


_LIST_PARAMS = (
    Param("state", "query", "только в этом состоянии",
          {"type": "string", "enum": list(wire.STATES)}),
    Param("batch", "query", "только этого выпуска",
          {"type": "string", "pattern": _BATCH.pattern}),
    Param("number", "query", "только с этим номером",
          {"type": "string", "pattern": _NUMBER.pattern}),
    Param("limit", "query", "сколько на странице (по умолчанию 50)",
          {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}),
    Param("before", "query", "курсор: ``next`` предыдущей страницы",
          {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX}),
)  # fmt: skip

ROUTES: list[tuple[Operation, Handler]] = [
    (Operation("post", MERCHANT_PATH, "Выпустить подарочные сертификаты: один или партию "
               "(номера списком или сколько выпустить), номинал, срок, частичное или "
               "однократное погашение; сразу действующие или для продажи на кассе",
               wire.GiftCertificateIssue, wire.GiftCertificateIssued, status=201), issue),
    (Operation("get", MERCHANT_PATH, "Подарочные сертификаты компании, новые первыми", None,
               wire.GiftCertificateList, parameters=_LIST_PARAMS), list_certificates),
    (Operation("get", ONE, "Подарочный сертификат", None, wire.GiftCertificateInfo),
     get_certificate),
    (Operation("post", ONE + "/void", "Аннулировать сертификат: остаток больше не долг "
               "компании (нельзя, пока на нём резерв открытого чека)", None,
               wire.GiftCertificateInfo), void),
    (Operation("get", REPORT, "Подарочные сертификаты как обязательство: остаток "
               "непогашенных и неистёкших, выпущено, погашено, истекло, аннулировано", None,
               wire.GiftCertificateLiability), report),
    (Operation("get", TILL + "/status", "Состояние сертификата по номеру (для кассы)", None,
               wire.GiftCertificateStatus, parameters=(
                   Param("number", "query", "номер сертификата",
                         {"type": "string", "pattern": _NUMBER.pattern}, required=True),
               )), till_status),
    (Operation("post", TILL + "/sell", "Касса продала сертификат из напечатанного выпуска: "
               "он начинает действовать (бонусы за продажу не начисляются)",
               wire.GiftCertificateSell, wire.GiftCertificateStatus), sell),
    (Operation("post", HOLD, "Зарезервировать оплату чека подарочными сертификатами",
               checkout_wire.GiftCertificateHoldRequest, checkout_wire.GiftCertificateHoldResult),
     hold),
]  # fmt: skip
