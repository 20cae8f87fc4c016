"""Mailings and message templates in the cabinet: the segment form with its preview
(count and cost), the send through the outbox, each mailing's results; the merchant's
message texts per kind. Viewers read; managers and owners send and edit.

The send button appears only on a preview, so nobody sends without having seen the
count and the cost; the form carries a one-time key, so a double click (or a resent
form) queues the mailing once."""

from __future__ import annotations

import json
import secrets
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from cloud.cabinet.core import BASE, deps_of, flash, form_text, render, require, user_of
from cloud.cabinet.message_names import KIND_NAMES
from cloud.errors import DomainError
from cloud.messages import mailings, templates_admin
from cloud.messages.templates import ADVERTISING_KINDS
from cloud.services import customers
from cloud.services.idempotency import run_idempotent
from schemas import messages as wire

_MAILING = "/mailings/{mailing_id:[0-9]{1,18}}"
SEND_SCOPE = "mailing_send"
"""The API's scope: a key is one mailing whichever door it came through."""

MONEY_RANGES = (
    ("revenue", "Сумма покупок за всё время, ₽"),
    ("average_receipt", "Средний чек, ₽"),
    ("balance", "Доступные бонусы, ₽"),
)
COUNT_RANGES = (("purchase_count", "Число покупок"),
                ("days_without_purchase", "Дней без покупок"), ("age", "Возраст, полных лет"),
                ("card_numbers", "Номер карты (как число)"))  # fmt: skip


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/mailings", mailings_page)
    router.add_post("/mailings", mailings_post)
    router.add_get(_MAILING, mailing_page)
    router.add_get("/templates", templates_page)
    router.add_post("/templates", template_save)


def _range(form: Any, name: str, parse: Any, errors: dict[str, str]) -> dict[str, Any] | None:
    bounds: dict[str, Any] = {}
    for end in ("min", "max"):
        raw = form_text(form, f"{name}_{end}", 30).replace(" ", "").replace("\u00a0", "")
        if raw:
            try:
                bounds[end] = parse(raw)
            except (InvalidOperation, ValueError):
                errors[name] = "Число: целое (для сумм — рубли, до двух знаков после запятой)"
    return bounds or None


def _roubles(raw: str) -> Decimal:
    value = Decimal(raw.replace(",", "."))
    if not value.is_finite():
        raise InvalidOperation
    return value


def _whole(raw: str) -> int:
    if not raw.isdigit():
        raise ValueError(raw)
    return int(raw)


def _request(form: Any) -> tuple[wire.MailingRequest | None, dict[str, str]]:
    """The form as the service's request, or the errors to show beside each field."""
    errors: dict[str, str] = {}
    segment: dict[str, Any] = {}
    tiers = [t for t in form.getall("tiers", []) if isinstance(t, str) and t]
    if tiers:
        segment["tiers"] = tiers
    channels = [c.strip() for c in form_text(form, "registration_channels").split(",") if c.strip()]
    if channels:
        segment["registration_channels"] = channels
    if gender := form_text(form, "gender", 10):
        segment["gender"] = gender
    for name, _ in MONEY_RANGES:
        if (bounds := _range(form, name, _roubles, errors)) is not None:
            segment[name] = bounds
    for name, _ in COUNT_RANGES:
        if (bounds := _range(form, name, _whole, errors)) is not None:
            segment[name] = bounds
    body: dict[str, Any] = {"segment": segment, "text": form_text(form, "text", 2000),
                            "channel": form_text(form, "channel", 10) or "sms"}  # fmt: skip
    if days := form_text(form, "attribution_days", 10):
        if not days.isdigit():
            errors["attribution_days"] = "Окно учёта: целое число дней от 1 до 90"
        else:
            body["attribution_days"] = int(days)
    if not body["text"]:
        errors["text"] = "Напишите текст рассылки"
    if errors:
        return None, errors
    try:
        return wire.MailingRequest.model_validate(body), {}
    except ValidationError as exc:
        for error in exc.errors():
            loc = [str(part) for part in error["loc"]]
            field = loc[1] if loc[0] == "segment" and len(loc) > 1 else loc[0]
            errors.setdefault(field, _message(field, error))
        return None, errors


def _message(field: str, error: Any) -> str:
    if field == "text":
        return "Текст: от 1 до 1000 символов"
    if field == "attribution_days":
        return "Окно учёта: от 1 до 90 дней"
    if field in ("gender", "channel"):
        return "Выберите значение из списка"
    if field == "registration_channels":
        return "Каналы регистрации: до 20, каждый до 64 символов"
    return "Проверьте границы: «от» не больше «до», суммы — до двух знаков после запятой"


async def _context(request: web.Request) -> dict[str, Any]:
    user = user_of(request)
    deps = deps_of(request)
    program = await customers.live_program(deps, user.merchant_id)
    sent = await mailings.recent(deps, user.merchant_id)
    for mailing in sent:
        mailing["created_at"] = mailing["created_at"].astimezone(user.timezone)  # type: ignore[attr-defined]
    return {
        "tiers": [] if program is None else [(t.code, t.name) for t in program.program.tiers],
        "mailings": sent, "money_ranges": MONEY_RANGES, "count_ranges": COUNT_RANGES,
        "errors": {}, "values": {"channel": "sms"}, "chosen_tiers": [], "preview": None,
        "key": secrets.token_urlsafe(16), "flash": await flash(request), "tab": "mailings",
    }  # fmt: skip


async def mailings_page(request: web.Request) -> web.Response:
    return render(request, "mailings.html", await _context(request))


async def mailings_post(request: web.Request) -> web.StreamResponse:
    require(request, "manager")
    deps, merchant_id = deps_of(request), user_of(request).merchant_id
    form = await request.post()
    context = await _context(request)
    context["values"] = {k: form_text(form, k, 2000) for k in form if k != "tiers"}
    context["chosen_tiers"] = form.getall("tiers", [])
    mailing, errors = _request(form)
    if mailing is None:
        context["errors"] = errors
        return render(request, "mailings.html", context, status=422)
    try:
        if form_text(form, "action", 10) != "send":
            context["preview"] = await mailings.preview(deps, merchant_id, mailing)
            context["key"] = form_text(form, "key", 100) or context["key"]
            return render(request, "mailings.html", context)
        raw = mailing.model_dump_json().encode()

        async def queue() -> tuple[int, bytes]:
            created = await mailings.send(deps, merchant_id, mailing)
            return 201, created.model_dump_json().encode()

        key = "cabinet:" + (form_text(form, "key", 100) or secrets.token_urlsafe(16))
        _, answer = await run_idempotent(deps, merchant_id, SEND_SCOPE, key, raw, queue)
    except DomainError as exc:
        if exc.status >= 500:
            raise
        context["errors"] = {"form": exc.message}
        return render(request, "mailings.html", context, status=exc.status)
    created = json.loads(answer)
    if "id" not in created:  # the key's first answer was a refusal
        context["errors"] = {"form": str(created.get("message", "Рассылка не создана"))}
        return render(request, "mailings.html", context, status=422)
    await flash(request, f"Рассылка поставлена в очередь: {created['participants']} получателей")
    raise web.HTTPSeeOther(f"{BASE}/mailings/{created['id']}")


async def mailing_page(request: web.Request) -> web.Response:
    user = user_of(request)
    found = await mailings.results(
        deps_of(request), user.merchant_id, int(request.match_info["mailing_id"])
    )
    return render(request, "mailing.html", {
        "m": found, "created_at": found.created_at.astimezone(user.timezone),
        "flash": await flash(request), "tab": "mailings",
    })  # fmt: skip


# ---- message templates -----------------------------------------------------------------


async def _templates(request: web.Request, errors: dict[str, str], values: dict[str, str],
                     status: int = 200) -> web.Response:  # fmt: skip
    listed = await templates_admin.list_templates(deps_of(request), user_of(request).merchant_id)
    return render(request, "message_templates.html", {
        "templates": listed.templates, "names": KIND_NAMES, "advertising": ADVERTISING_KINDS,
        "errors": errors, "values": values, "flash": await flash(request), "tab": "templates",
    }, status=status)  # fmt: skip


async def templates_page(request: web.Request) -> web.Response:
    return await _templates(request, {}, {})


async def template_save(request: web.Request) -> web.StreamResponse:
    require(request, "manager")
    form = await request.post()
    kind, body = form_text(form, "kind", 32), form_text(form, "body", 2000)
    if form.get("reset"):
        listed = await templates_admin.list_templates(
            deps_of(request), user_of(request).merchant_id
        )
        body = next((t.default for t in listed.templates if t.kind == kind), body)
    try:
        saved = await templates_admin.put_template(
            deps_of(request), user_of(request).merchant_id,
            wire.TemplateRequest(kind=kind, body=body),
        )  # fmt: skip
    except ValidationError:
        return await _templates(request, {kind: "Текст: от 1 до 1000 символов"}, {kind: body}, 422)
    except DomainError as exc:
        if exc.status >= 500:
            raise
        return await _templates(request, {kind: exc.message}, {kind: body}, 422)
    name = KIND_NAMES.get(saved.kind, saved.kind)
    await flash(request, f"Шаблон «{name}» {'сохранён' if saved.custom else 'сброшен'}")
    raise web.HTTPSeeOther(f"{BASE}/templates#{saved.kind}")
