"""The merchant's fiscal QR settings over the API (merchant key): the INN and the
provider's credentials (the owner's, as the keys are), the fiscal drives of its stores,
and the claims made."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from cloud.api.keys import MERCHANT, deps_of
from cloud.api.openapi import Operation, Param
from cloud.api.wire import int_query, json_response, only_params, read_model
from cloud.errors import BadRequest
from cloud.fiscal import setup
from cloud.services.admin.keys import require_owner
from schemas import fiscal as wire
from schemas.bounds import BIGINT_MAX
from schemas.money import to_roubles

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PATH = "/api/v1/merchant/fiscal"
DRIVES = PATH + "/drives"
CLAIMS = PATH + "/claims"
STATUSES = ("pending", "accrued", "refused")


async def get_settings(request: web.Request) -> web.Response:
    found = await setup.read_settings(deps_of(request), request[MERCHANT].merchant_id)
    if found is None:
        raise setup.not_set()
    return json_response(setup.info(found))


async def put_settings(request: web.Request) -> web.Response:
    merchant = request[MERCHANT]
    require_owner(merchant)
    body = await read_model(request, wire.FiscalSettingsSet)
    return json_response(
        setup.info(await setup.save_settings(deps_of(request), merchant.merchant_id, body))
    )


async def list_drives(request: web.Request) -> web.Response:
    return json_response(await setup.list_drives(deps_of(request), request[MERCHANT].merchant_id))


async def add_drive(request: web.Request) -> web.Response:
    body = await read_model(request, wire.FiscalDriveAdd)
    added = await setup.add_drive(deps_of(request), request[MERCHANT].merchant_id, body)
    return json_response(added, status=201)


async def remove_drive(request: web.Request) -> web.Response:
    drive_id = int(request.match_info["drive_id"])
    if not 0 < drive_id <= BIGINT_MAX:
        raise setup.drive_not_found(drive_id)
    await setup.remove_drive(deps_of(request), request[MERCHANT].merchant_id, drive_id)
    return json_response(wire.FiscalDriveRemoved(removed=True))


async def list_claims(request: web.Request) -> web.Response:
    only_params(request, "status", "limit")
    status = request.query.get("status")
    if status is not None and status not in STATUSES:
        raise BadRequest("invalid_query", "Параметр status: pending, accrued или refused")
    limit = int_query(request, "limit", 50)
    assert limit is not None
    if limit > 500:
        raise BadRequest("invalid_query", "Параметр limit: от 1 до 500")
    rows = await deps_of(request).db.fetch_all(
        "SELECT id, customer_id, store_id, fn, fd, amount, receipt_time, channel, status, "
        "reason, accrued, created_at FROM fiscal_claims WHERE merchant_id = :m"
        + ("" if status is None else " AND status = :status")
        + " ORDER BY id DESC LIMIT :limit",
        {"m": request[MERCHANT].merchant_id, "status": status, "limit": limit},
    )
    return json_response(
        wire.FiscalClaimList(
            claims=[
                wire.FiscalClaimInfo(
                    **{
                        **dict(row),
                        "amount": to_roubles(int(row["amount"])),
                        "accrued": None
                        if row["accrued"] is None
                        else to_roubles(int(row["accrued"])),
                    }
                )
                for row in rows
            ]
        )
    )


_CLAIM_PARAMS = (
    Param(
        "status",
        "query",
        "только в этом состоянии: pending, accrued, refused",
        {"type": "string", "enum": list(STATUSES)},
    ),
    Param(
        "limit",
        "query",
        "сколько последних заявок (по умолчанию 50)",
        {"type": "integer", "minimum": 1, "maximum": 500},
    ),
)

ROUTES: list[tuple[Operation, Handler]] = [
    (
        Operation(
            "get",
            PATH,
            "Настройки начисления бонусов по QR-коду чека",
            None,
            wire.FiscalSettingsInfo,
        ),
        get_settings,
    ),
    (
        Operation(
            "put",
            PATH,
            "Задать ИНН, способ проверки чеков и мастер-токен ФНС (только "
            "владелец; токен хранится зашифрованным и не выдаётся)",
            wire.FiscalSettingsSet,
            wire.FiscalSettingsInfo,
        ),
        put_settings,
    ),
    (
        Operation(
            "get", DRIVES, "Фискальные накопители касс магазинов", None, wire.FiscalDriveList
        ),
        list_drives,
    ),
    (
        Operation(
            "post",
            DRIVES,
            "Зарегистрировать фискальный накопитель (fn) кассы магазина: "
            "чеки с ним можно предъявлять за бонусы",
            wire.FiscalDriveAdd,
            wire.FiscalDriveInfo,
            status=201,
        ),
        add_drive,
    ),
    (
        Operation(
            "delete",
            DRIVES + r"/{drive_id:[0-9]{1,19}}",
            "Снять фискальный накопитель с учёта: новые чеки с ним не принимаются",
            None,
            wire.FiscalDriveRemoved,
        ),
        remove_drive,
    ),
    (
        Operation(
            "get",
            CLAIMS,
            "Заявки клиентов на бонусы по QR-коду чека, новые первыми",
            None,
            wire.FiscalClaimList,
            parameters=_CLAIM_PARAMS,
        ),
        list_claims,
    ),
]
