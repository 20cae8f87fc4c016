"""``/cabinet/stores`` (owner): stores and terminals of every channel, their tokens
(issued and shown once, revoked), the Frontol organisation key, the Evotor link, each
store bridge's health and this month's usage against the plan. Everything goes through
the services the merchant API uses (``services.admin``, ``frontol_accounts``,
``bridges``, ``usage``)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from cloud.cabinet.core import BASE, deps_of, render, require, user_of
from cloud.cabinet.counter_form import text
from cloud.errors import DomainError
from cloud.services import bridges, frontol_accounts, usage
from cloud.services.admin import keys, stores, terminals
from cloud.services.merchants import CHANNELS
from schemas.money import to_roubles

PAGE = BASE + "/stores"
CHANNEL_NAMES = {
    "native": "API (своя касса)", "1c": "1С", "sigma": "SIGMA", "modulkassa": "МодульКасса",
    "frontol": "Frontol", "moysklad": "МойСклад", "bridge": "Бридж магазина",
    "evotor": "Эвотор", "cabinet": "Касса в кабинете", "fiscal_qr": "Чеки по QR-коду",
}  # fmt: skip
EVOTOR_STATES = {"active": "подключён", "suspended": "подписка приостановлена",
                 "uninstalled": "приложение удалено"}  # fmt: skip


async def _page(
    request: web.Request, *, shown: dict[str, str] | None = None,
    errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
    note: str | None = None, status: int = 200,
) -> web.Response:  # fmt: skip
    deps = deps_of(request)
    merchant_id = user_of(request).merchant_id
    found_stores = await stores.list_stores(deps.db, merchant_id)
    found_terminals = await terminals.list_terminals(deps.db, merchant_id)
    by_store: dict[int, list[Any]] = {s.id: [] for s in found_stores}
    for terminal in found_terminals:
        by_store.setdefault(terminal.store_id, []).append(terminal)
    month = await usage.month_usage(deps, merchant_id)
    return render(
        request, "stores.html",
        {"nav": "stores", "stores": found_stores, "by_store": by_store,
         "channels": CHANNELS, "channel_names": CHANNEL_NAMES,
         "frontol": await frontol_accounts.link_of(deps, merchant_id),
         "public_url": (deps.settings.public_url or "").rstrip("/"),
         "evotor": await keys.evotor_link(deps.db, merchant_id), "evotor_states": EVOTOR_STATES,
         "bridges": (await bridges.bridges_of(deps, merchant_id)).bridges,
         "usage": month, "message_cost": to_roubles(month.message_cost),
         "budget": None if month.plan is None else to_roubles(month.plan.message_budget),
         "shown": shown or {}, "errors": errors or {}, "values": values or {}, "note": note},
        status=status,
    )  # fmt: skip


async def page(request: web.Request) -> web.Response:
    require(request, "owner")
    return await _page(request)


def _terminal_id(request: web.Request) -> int:
    text_id = request.match_info["terminal_id"]
    return int(text_id)


async def add_store(request: web.Request) -> web.Response:
    require(request, "owner")
    deps, form = deps_of(request), await request.post()
    values = {k: text(form, k) for k in ("name", "timezone", "address")}
    try:
        store = await stores.add_store(
            deps.db, user_of(request).merchant_id, values["name"], deps.clock(),
            values["timezone"] or None, values["address"] or None,
        )  # fmt: skip
    except DomainError as exc:
        field = "timezone" if exc.code == "invalid_timezone" else "name"
        return await _page(request, errors={field: exc.message}, values=values, status=422)
    return await _page(request, note=f"Магазин «{store.name}» добавлен")


async def add_terminal(request: web.Request) -> web.Response:
    require(request, "owner")
    deps, form = deps_of(request), await request.post()
    values = {k: text(form, k, 200) for k in ("terminal_name", "store", "channel")}
    try:
        store_id = int(values["store"]) if values["store"].isdigit() else 0
        # Another merchant's store is "not found" inside the service.
        await stores.get_store(deps.db, user_of(request).merchant_id, store_id)
        terminal = await terminals.add_terminal(
            deps.db, user_of(request).merchant_id, store_id, values["terminal_name"],
            deps.clock(), values["channel"],
        )  # fmt: skip
    except DomainError as exc:
        return await _page(request, errors={"terminal": exc.message}, values=values, status=422)
    return await _page(request, note=f"Терминал «{terminal.name}» добавлен: выдайте ему токен")


async def issue_token(request: web.Request) -> web.Response:
    """The new token is on this page only: it is not kept (only its hash) nor put in
    the session, so a reload does not show it again."""
    require(request, "owner")
    deps = deps_of(request)
    await request.post()
    terminal_id, merchant_id = _terminal_id(request), user_of(request).merchant_id
    info = await terminals.get_terminal(deps.db, merchant_id, terminal_id)
    token = await terminals.issue_token(
        deps.db, merchant_id, terminal_id, deps.clock(), f"кабинет: {user_of(request).login}"[:100]
    )
    return await _page(
        request, shown={"what": f"Токен терминала «{info.name}»", "value": token},
    )  # fmt: skip


async def revoke_tokens(request: web.Request) -> web.Response:
    require(request, "owner")
    deps = deps_of(request)
    await request.post()
    revoked = await terminals.revoke(
        deps.db, user_of(request).merchant_id, deps.clock(), terminal_id=_terminal_id(request)
    )
    return await _page(request, note=f"Отозвано токенов: {revoked}. Они перестали действовать.")


async def frontol_key(request: web.Request) -> web.Response:
    require(request, "owner")
    deps = deps_of(request)
    await request.post()
    link = await frontol_accounts.issue_key(deps, user_of(request).merchant_id)
    assert link.access_key is not None
    return await _page(
        request, shown={"what": "Ключ доступа Frontol", "value": link.access_key},
        note="Прежний ключ Frontol перестал действовать: введите новый на кассах",
    )  # fmt: skip


def add_routes(router: web.UrlDispatcher) -> None:
    terminal = "/stores/terminals/{terminal_id:[0-9]{1,18}}"
    router.add_get("/stores", page)
    router.add_post("/stores", add_store)
    router.add_post("/stores/terminals", add_terminal)
    router.add_post(terminal + "/token", issue_token)
    router.add_post(terminal + "/revoke", revoke_tokens)
    router.add_post("/stores/frontol", frontol_key)
