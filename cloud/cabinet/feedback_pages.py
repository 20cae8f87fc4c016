"""Customers' feedback in the cabinet: the inbox by store and period with NPS per
store, and the reply that reaches the customer through the outbox. Viewers read;
managers and owners reply (once per feedback, as the service allows)."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from pydantic import ValidationError

from cloud.cabinet.core import BASE, deps_of, flash, form_text, render, require, user_of
from cloud.errors import DomainError
from cloud.services import feedback_admin as service
from cloud.services.admin.stores import list_stores
from schemas import feedback as wire

PAGE = 30
_FEEDBACK = "/feedback/{feedback_id:[0-9]{1,18}}"


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/feedback", feedback_page)
    router.add_post(_FEEDBACK + "/reply", reply)


def _filters(query: Any) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """The service's filters from the query, the values to show back, and the errors."""
    values = {k: str(query.get(k, "")).strip()[:20] for k in ("store", "from", "to", "before")}
    errors: dict[str, str] = {}
    filters: dict[str, Any] = {"store_id": None, "date_from": None, "date_to": None}
    if values["store"]:
        if values["store"].isdigit():
            filters["store_id"] = int(values["store"])
        else:
            errors["store"] = "Выберите магазин из списка"
    for key, name in (("from", "date_from"), ("to", "date_to")):
        if values[key]:
            try:
                filters[name] = date.fromisoformat(values[key])
            except ValueError:
                errors[key] = "Дата: ГГГГ-ММ-ДД"
    if filters["date_from"] and filters["date_to"] and filters["date_from"] > filters["date_to"]:
        errors["to"] = "Конец периода раньше начала"
    return filters, values, errors


async def _render(request: web.Request, status: int = 200, **extra: Any) -> web.Response:
    deps, user = deps_of(request), user_of(request)
    filters, values, errors = _filters(request.query)
    if errors:
        filters = {"store_id": None, "date_from": None, "date_to": None}
        status = 400
    before = values["before"]
    found = await service.list_feedback(
        deps, user.merchant_id, **filters, limit=PAGE,
        before=int(before) if before.isdigit() and len(before) < 19 else None,
    )  # fmt: skip
    nps = await service.nps(deps, user.merchant_id, **filters)
    stores = await list_stores(deps.db, user.merchant_id)
    query = urlencode({k: v for k, v in values.items() if v and k != "before"})
    context: dict[str, Any] = {
        "found": found, "nps": nps, "stores": stores, "values": values, "errors": errors,
        "query": query, "reply_errors": {}, "reply_values": {}, "tab": "feedback",
        "flash": await flash(request),
    }  # fmt: skip
    context.update(extra)
    return render(request, "feedback.html", context, status=status)


async def feedback_page(request: web.Request) -> web.Response:
    return await _render(request)


async def reply(request: web.Request) -> web.StreamResponse:
    require(request, "manager")
    feedback_id = int(request.match_info["feedback_id"])
    form = await request.post()
    text = form_text(form, "text", 1000)
    try:
        body = wire.ReplyRequest(text=text)
    except ValidationError:
        return await _render(
            request, 422, reply_errors={feedback_id: "Ответ: от 1 до 500 символов"},
            reply_values={feedback_id: text},
        )  # fmt: skip
    try:
        result = await service.reply(deps_of(request), user_of(request).merchant_id,
                                     feedback_id, body)  # fmt: skip
    except DomainError as exc:
        if exc.status == 404 or exc.status >= 500:
            raise
        return await _render(request, exc.status, reply_errors={feedback_id: exc.message})
    await flash(
        request,
        "Ответ отправлен клиенту" if result.queued
        else "Ответ сохранён; у клиента нет телефона, сообщение не отправлено",
    )  # fmt: skip
    raise web.HTTPSeeOther(f"{BASE}/feedback#f{feedback_id}")
