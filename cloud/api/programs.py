"""Program management over the API (merchant key): create a version, validate a
document, preview a receipt against a draft, activate a version."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web
from pydantic import BaseModel

from cloud.api.keys import MERCHANT, deps_of
from cloud.api.wire import json_response, read_json, read_model
from cloud.clock import from_epoch
from cloud.errors import NotFound
from cloud.services import checkout, programs
from cloud.services.merchants import MerchantContext
from schemas import checkout as wire
from schemas.bounds import INT_MAX
from schemas.program import Program
from schemas.programs_api import ProgramValid, ProgramVersionList, ProgramVersionOut

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _merchant(request: web.Request) -> MerchantContext:
    return request[MERCHANT]


def _version(request: web.Request) -> int:
    text = request.match_info["version"]
    # The route admits digits only; beyond the INTEGER column no version can exist.
    version = int(text) if len(text) <= 10 else 0
    if not 1 <= version <= INT_MAX:
        raise NotFound("program_not_found", f"Версия программы {text[:20]} не найдена")
    return version


def _out(info: programs.VersionInfo, program: Program | None = None) -> ProgramVersionOut:
    created = from_epoch(info.created_at)
    assert created is not None
    return ProgramVersionOut(
        version=info.version,
        status=info.status,
        created_at=created,
        activated_at=from_epoch(info.activated_at),
        document=None if program is None else orjson.loads(program.model_dump_json()),
    )


async def list_versions(request: web.Request) -> web.Response:
    deps = deps_of(request)
    versions = await programs.list_versions(deps.db, _merchant(request).merchant_id)
    return json_response(ProgramVersionList(versions=[_out(v) for v in versions]))


async def create_version(request: web.Request) -> web.Response:
    deps = deps_of(request)
    loaded = await programs.create_version(
        deps.db, _merchant(request).merchant_id, await read_json(request), deps.clock()
    )
    info, _ = await programs.get_version(
        deps.programs, deps.db, _merchant(request).merchant_id, loaded.version
    )
    return json_response(_out(info, loaded.program), status=201)


async def validate(request: web.Request) -> web.Response:
    program = programs.parse_program(await read_json(request))
    return json_response(ProgramValid(valid=True, name=program.name))


async def get_version(request: web.Request) -> web.Response:
    deps = deps_of(request)
    info, loaded = await programs.get_version(
        deps.programs, deps.db, _merchant(request).merchant_id, _version(request)
    )
    return json_response(_out(info, loaded.program))


async def activate(request: web.Request) -> web.Response:
    deps = deps_of(request)
    merchant_id = _merchant(request).merchant_id
    await programs.activate_version(deps.db, merchant_id, _version(request), deps.clock())
    info, loaded = await programs.get_version(
        deps.programs, deps.db, merchant_id, _version(request)
    )
    return json_response(_out(info, loaded.program))


async def preview(request: web.Request) -> web.Response:
    """Price a receipt with this version (typically a draft) without activating it."""
    deps = deps_of(request)
    merchant = _merchant(request)
    body = await read_model(request, wire.CalculateRequest)
    _, loaded = await programs.get_version(
        deps.programs, deps.db, merchant.merchant_id, _version(request)
    )
    quote = await checkout.calculate(
        deps, merchant.as_terminal(), body, source="preview", program=loaded
    )
    return json_response(quote)


_V = "/api/v1/programs/{version:[0-9]+}"
CREATED = {("POST", "/api/v1/programs")}
"""Routes whose success is 201 Created (for the OpenAPI document)."""

ROUTES: list[tuple[str, str, Handler, str, type[BaseModel] | None, type[BaseModel] | None]] = [
    ("GET", "/api/v1/programs", list_versions, "Версии программы лояльности",
     None, ProgramVersionList),
    ("POST", "/api/v1/programs", create_version, "Создать версию программы (черновик)",
     Program, ProgramVersionOut),
    ("POST", "/api/v1/programs/validate", validate, "Проверить документ программы",
     Program, ProgramValid),
    ("GET", _V, get_version, "Версия программы с документом", None, ProgramVersionOut),
    ("POST", _V + "/activate", activate, "Сделать версию действующей",
     None, ProgramVersionOut),
    ("POST", _V + "/preview", preview, "Рассчитать чек по этой версии (без активации)",
     wire.CalculateRequest, wire.Quote),
]  # fmt: skip
