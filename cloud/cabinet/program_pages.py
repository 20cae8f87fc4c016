"""The program's pages: the settings as forms (saving makes a draft version), a receipt
priced by the draft beside the live version, the what-if replay of recent sales and
the activation. Everyone reads; only the owner changes the program."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from cloud import engine
from cloud.cabinet import program_forms as forms
from cloud.cabinet.core import BASE, deps_of, flash, render, require, user_of
from cloud.services import experiments, programs, whatif
from cloud.services.programs import LoadedProgram, VersionInfo

PAGE = BASE + "/program"
_RUN = "/program/whatif/{run_id:[0-9]{1,18}}"


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/program", program_page)
    router.add_post("/program", save_draft)
    router.add_post("/program/preview", preview)
    router.add_post("/program/whatif", start_whatif)
    router.add_get(_RUN, whatif_page)
    router.add_post("/program/activate", activate)


async def _versions(
    request: web.Request,
) -> tuple[tuple[VersionInfo, LoadedProgram] | None, tuple[VersionInfo, LoadedProgram] | None]:
    """(live, draft): the draft is the newest version made after the live one and never
    activated, other than an A/B test's variant."""
    deps, merchant_id = deps_of(request), user_of(request).merchant_id
    versions = await programs.list_versions(deps.db, merchant_id)
    variants = await experiments.variant_versions(deps.db, merchant_id)
    active = next((v for v in versions if v.status == "active"), None)
    draft = next(
        (v for v in versions if v.status == "draft" and v.id not in variants
         and (active is None or v.version > active.version)), None,
    )  # fmt: skip
    live = None if active is None else (active, await deps.programs.get(active.id))
    drafted = None if draft is None else (draft, await deps.programs.get(draft.id))
    return live, drafted


def _document(loaded: LoadedProgram) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(loaded.program.model_dump_json())
    return document


async def _page(request: web.Request, status: int = 200, **extra: Any) -> web.Response:
    live, draft = await _versions(request)
    base = draft or live
    document = _document(base[1]) if base else None
    run = None
    if draft is not None:
        run = await whatif.latest(deps_of(request), user_of(request).merchant_id, draft[0].id)
    context: dict[str, Any] = {
        "nav": "program", "live": live, "draft": draft, "document": document,
        "values": forms.shown(document) if document else {}, "errors": {},
        "tiers": forms.tier_fields(document) if document else [],
        "categories": forms.category_fields(document) if document else [],
        "new_tier": forms.NEW_TIER, "new_category": forms.NEW_CATEGORY,
        "sections": (("Начисление и списание", forms.GENERAL),
                     ("Срок жизни бонусов", forms.LIFETIME), ("Подарки", forms.GIFTS),
                     ("Приглашения друзей", forms.REFERRALS)),
        "run": run, "windows": whatif.WINDOWS, "preview": None,
        "preview_values": {"amount": "1000", "tier": "", "category": ""},
        "flash": await flash(request),
    }  # fmt: skip
    context.update(extra)
    if document is not None and context["errors"]:
        # Errors no input or row on the page stands for are listed above the form.
        shown = {f.name for f in forms.all_fields(document)}
        shown |= {f"tiers.{i}" for i in range(len(document["tiers"]))}
        shown |= {f"categories.{code}" for code in document.get("categories", {})}
        shown |= {f.name for f in (*forms.NEW_TIER, *forms.NEW_CATEGORY)}
        context["other_errors"] = [
            (name, message) for name, message in context["errors"].items() if name not in shown
        ]
    return render(request, "program.html", context, status=status)


async def program_page(request: web.Request) -> web.Response:
    return await _page(request)


async def save_draft(request: web.Request) -> web.StreamResponse:
    require(request, "owner")
    live, draft = await _versions(request)
    base = draft or live
    if base is None:
        return await _page(request, 409, form_error="Программы ещё нет: её создаёт оператор.")
    form = await request.post()
    program, errors, values = forms.apply(_document(base[1]), form)
    if program is None:
        return await _page(request, 422, errors=errors, values=values)
    deps = deps_of(request)
    loaded = await programs.create_version(
        deps.db, user_of(request).merchant_id, program, deps.clock()
    )
    await flash(request, f"Черновик сохранён: версия {loaded.version}")
    raise web.HTTPSeeOther(PAGE + "#whatif")


def _quote(loaded: LoadedProgram, tier: str | None, lines: list[engine.Line], tz: ZoneInfo,
           now: datetime) -> engine.Quote:  # fmt: skip
    customer = engine.CustomerSnapshot(0, tier, 0, 10**12, 1)
    return engine.calculate(loaded.compiled, customer, lines, now, tz)


async def preview(request: web.Request) -> web.Response:
    """A receipt of one line (a sum, a category, a tier) priced by the draft and by the
    live version, with a customer whose balance covers any payment by bonuses."""
    form = await request.post()
    raw = {k: (form.get(k) if isinstance(form.get(k), str) else "") for k in
           ("amount", "tier", "category")}  # fmt: skip
    values = {k: str(v).strip()[:64] for k, v in raw.items()}
    live, draft = await _versions(request)
    amount = forms.roubles_to_kopecks(values["amount"])
    if amount is None:
        return await _page(
            request, 422, preview_values=values,
            preview_errors={"amount": "Сумма чека: больше нуля, не больше 10 000 000, "
                            "не больше двух знаков после запятой"},
        )  # fmt: skip
    tz = user_of(request).timezone
    lines = [engine.Line("1", amount, Decimal(1), amount, values["category"] or None)]
    result = {}
    for name, pair in (("draft", draft), ("live", live)):
        if pair is not None:
            loaded = pair[1]
            tier = values["tier"] if loaded.program.tier(values["tier"]) else None
            result[name] = _quote(loaded, tier, lines, tz, deps_of(request).clock())
    return await _page(request, preview=result, preview_values=values)


async def start_whatif(request: web.Request) -> web.StreamResponse:
    require(request, "owner")
    form = await request.post()
    _, draft = await _versions(request)
    days_raw = form.get("days")
    days = int(days_raw) if isinstance(days_raw, str) and days_raw in ("30", "90") else 0
    version = form.get("version")
    if draft is None or version != str(draft[0].version):
        return await _page(request, 409, whatif_error="Черновик изменился или уже включён: "
                           "обновите страницу.")  # fmt: skip
    if days not in whatif.WINDOWS:
        return await _page(request, 422, whatif_error="Выберите период: 30 или 90 дней.")
    deps, user = deps_of(request), user_of(request)
    run_id = await whatif.start(deps, user.merchant_id, draft[0].id, days, user.login)
    whatif.launch(deps, user.merchant_id, run_id)
    raise web.HTTPSeeOther(f"{PAGE}/whatif/{run_id}")


async def whatif_page(request: web.Request) -> web.Response:
    deps, user = deps_of(request), user_of(request)
    run = await whatif.get(deps, user.merchant_id, int(request.match_info["run_id"]))
    if run is None:
        raise web.HTTPNotFound()
    _, draft = await _versions(request)
    versions = {v.id: v.version for v in await programs.list_versions(deps.db, user.merchant_id)}
    rows = None
    if run.result is not None:
        rows = _rows(run.result)
    response = render(
        request, "program_whatif.html",
        {"nav": "program", "run": run, "rows": rows,
         "draft_version": versions.get(run.draft_version_id),
         "live_version": versions.get(run.live_version_id or 0),
         "can_activate": draft is not None and draft[0].id == run.draft_version_id},
    )  # fmt: skip
    if run.status == "running":
        # The page reloads itself until the run ends (no script needed).
        response.headers["Refresh"] = "2"
    return response


_ROWS = (
    ("discount", "Скидка покупателям"), ("accrued", "Начислено бонусов"),
    ("redeemable", "Можно было оплатить бонусами"), ("redeemed", "Оплачено бонусами"),
    ("liability", "Бонусов на счетах на конец периода"),
)  # fmt: skip


def _rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key, label in _ROWS:
        draft = result["draft"][key]
        live = result["live"][key] if "live" in result else None
        rows.append({
            "key": key, "label": label, "money": True, "draft": Decimal(draft) / 100,
            "live": None if live is None else Decimal(live) / 100,
            "delta": None if live is None else Decimal(draft - live) / 100,
        })  # fmt: skip
    live_moved = result["live"]["tier_changed"] if "live" in result else None
    rows.append({
        "key": "tier_changed", "label": "Клиентов сменили уровень за период", "money": False,
        "draft": result["draft"]["tier_changed"], "live": live_moved,
        "delta": None if live_moved is None else result["draft"]["tier_changed"] - live_moved,
    })  # fmt: skip
    return rows


async def activate(request: web.Request) -> web.StreamResponse:
    require(request, "owner")
    form = await request.post()
    _, draft = await _versions(request)
    if draft is None or form.get("version") != str(draft[0].version):
        return await _page(request, 409, whatif_error="Черновик изменился или уже включён: "
                           "обновите страницу.")  # fmt: skip
    deps = deps_of(request)
    await programs.activate_version(
        deps.db, user_of(request).merchant_id, draft[0].version, deps.clock()
    )
    await flash(request, f"Версия {draft[0].version} включена: по ней считаются новые чеки")
    raise web.HTTPSeeOther(PAGE)
