"""The cabinet's A/B tests: the list and the form that starts one (owner), an
experiment's results per variant with their intervals and verdicts, stop and apply the
winner (owner). Everything goes through ``cloud.services.experiments``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from aiohttp import web

from cloud.cabinet.core import BASE, deps_of, flash, form_text, render, require, user_of
from cloud.clock import to_epoch
from cloud.errors import BadRequest, DomainError
from cloud.services import customers, experiment_results, experiments

_ONE = "/experiments/{experiment_id:[0-9]{1,18}}"
STATUS_NAMES = {"running": "идёт", "stopped": "остановлен", "applied": "применён"}


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/experiments", experiments_page)
    router.add_post("/experiments", experiment_start)
    router.add_get(_ONE, experiment_page)
    router.add_post(_ONE + "/stop", experiment_stop)
    router.add_post(_ONE + "/apply", experiment_apply)


def _roubles(kopecks: int | Decimal | None) -> Decimal | None:
    return None if kopecks is None else Decimal(kopecks) / 100


def _local(request: web.Request) -> Any:
    zone = user_of(request).timezone
    return lambda epoch: datetime.fromtimestamp(epoch, zone)


async def _list(
    request: web.Request,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    deps, user = deps_of(request), user_of(request)
    listed = await experiments.list_experiments(deps.db, user.merchant_id)
    live = await customers.live_program(deps, user.merchant_id)
    tiers = [] if live is None else [(t.code, t.name) for t in live.program.tiers]
    return render(
        request, "experiments.html",
        {"experiments": listed, "tiers": tiers, "parameters": experiments.PARAMETERS,
         "refused": experiments.REFUSED, "status_names": STATUS_NAMES,
         "running": any(e.status == "running" for e in listed), "live": live,
         "errors": errors or {}, "values": values or {"share_b": "50"}, "local": _local(request),
         "flash": await flash(request)},
        status=status,
    )  # fmt: skip


async def experiments_page(request: web.Request) -> web.Response:
    return await _list(request)


_FIELD_OF = {
    "experiment_parameter_unsupported": "parameter",
    "experiment_running": "form",
    "no_program": "form",
}


async def experiment_start(request: web.Request) -> web.StreamResponse:
    require(request, "owner")
    form = await request.post()
    values = {
        key: form_text(form, key, 200)
        for key in ("name", "parameter", "tier_code", "value", "share_b")
    }
    errors: dict[str, str] = {}
    if not values["name"]:
        errors["name"] = "Назовите эксперимент"
    if values["parameter"] not in experiments.PARAMETERS | experiments.REFUSED:
        errors["parameter"] = "Выберите, что проверяем"
    value = Decimal(0)
    try:
        value = experiments.parse_value(values["value"])
    except BadRequest as exc:
        errors["value"] = exc.message
    share = values["share_b"]
    if not (share.isdigit() and len(share) <= 2 and 1 <= int(share) <= 99):
        errors["share_b"] = "Доля варианта B — целое число от 1 до 99"
    if errors:
        return await _list(request, errors, values, status=422)
    deps, user = deps_of(request), user_of(request)
    try:
        started = await experiments.start(
            deps.db, deps.programs, user.merchant_id, name=values["name"],
            parameter=values["parameter"], tier_code=values["tier_code"] or None, value=value,
            share_b=int(share), now=deps.clock(), created_by=user.login,
        )  # fmt: skip
    except DomainError as exc:
        field = _FIELD_OF.get(exc.code, "value")
        if "Уровня" in exc.message:
            field = "tier_code"
        return await _list(request, {field: exc.message}, values, status=422)
    await flash(request, f"Эксперимент «{started.name}» запущен")
    raise web.HTTPSeeOther(f"{BASE}/experiments/{started.id}")


def _id(request: web.Request) -> int:
    return int(request.match_info["experiment_id"])


async def experiment_page(request: web.Request) -> web.Response:
    deps, user = deps_of(request), user_of(request)
    experiment = await experiments.get_experiment(deps.db, user.merchant_id, _id(request))
    figures = await experiment_results.results(
        deps.db, user.merchant_id, experiment, to_epoch(deps.clock())
    )
    live = await customers.live_program(deps, user.merchant_id)
    control = await deps.programs.get(experiment.control_version_id)
    variant = await deps.programs.get(experiment.variant_version_id)
    return render(
        request, "experiment.html",
        {"experiment": experiment, "figures": figures, "metrics": experiment_results.METRICS,
         "parameters": experiments.PARAMETERS, "status_names": STATUS_NAMES,
         "control": control, "variant": variant, "roubles": _roubles, "local": _local(request),
         "tier_names": {t.code: t.name for t in control.program.tiers},
         "live_changed": experiment.status == "running"
         and (live is None or live.id != experiment.control_version_id),
         "flash": await flash(request)},
    )  # fmt: skip


async def experiment_stop(request: web.Request) -> web.StreamResponse:
    require(request, "owner")
    deps, user = deps_of(request), user_of(request)
    await experiments.stop(deps.db, user.merchant_id, _id(request), deps.clock())
    await flash(request, "Эксперимент остановлен: все клиенты снова на действующей программе")
    raise web.HTTPSeeOther(f"{BASE}/experiments/{_id(request)}")


async def experiment_apply(request: web.Request) -> web.StreamResponse:
    require(request, "owner")
    form = await request.post()
    deps, user = deps_of(request), user_of(request)
    winner = form_text(form, "winner", 1)
    applied = await experiments.apply(
        deps.db, deps.programs, user.merchant_id, _id(request), winner, deps.clock()
    )
    version = await deps.programs.get(applied.applied_version_id or 0)
    await flash(request, f"Вариант {winner} применён: действует версия программы {version.version}")
    raise web.HTTPSeeOther(f"{BASE}/experiments/{_id(request)}")
