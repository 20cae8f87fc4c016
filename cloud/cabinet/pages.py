"""The cabinet's pages: sign-in and out, customers (search, the card, manual adjustment,
block / unblock) and staff. Every action goes through the services the merchant API
uses; the pages only validate the form and render."""

from __future__ import annotations

import secrets
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web
from aiohttp_session import get_session, new_session
from pydantic import ValidationError

from cloud.cabinet import accounts
from cloud.cabinet.core import BASE, deps_of, flash, form_text, money, render, require, user_of
from cloud.cabinet.message_names import CHANNEL_NAMES, KIND_NAMES, STATUS_NAMES
from cloud.errors import BadRequest, DomainError
from cloud.messages import history
from cloud.services import customers, feedback_admin
from cloud.services import customers_admin as service
from cloud.services.customers_admin.common import CABINET_LABEL
from cloud.services.merchants import MerchantContext
from schemas import customer_admin as wire

PAGE = 20


def _merchant(request: web.Request) -> MerchantContext:
    user = user_of(request)
    return MerchantContext(
        user.merchant_id, user.timezone, role=user.role, credential_id=None, label=CABINET_LABEL
    )


# ---- sign-in ---------------------------------------------------------------------------


async def index(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther(BASE + "/customers")


async def login_page(request: web.Request) -> web.Response:
    return render(request, "login.html", {"login": "", "error": None})


async def login_post(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    login, password = form_text(form, "login", 100), form.get("password")
    password = password if isinstance(password, str) else ""
    try:
        user = await accounts.sign_in(deps_of(request), login, password, request.remote or "")
    except accounts.TooManyAttempts:
        return render(
            request, "login.html",
            {"login": login, "error": "Слишком много неудачных попыток входа. "
             "Подождите 15 минут и попробуйте снова."},
            status=429,
        )  # fmt: skip
    if user is None:
        return render(
            request, "login.html",
            {"login": login, "error": "Неверный логин или пароль"}, status=401,
        )  # fmt: skip
    # A fresh session (and CSRF token) for the signed-in user.
    session = await new_session(request)
    session["uid"], session["stamp"] = user.id, user.stamp
    session["csrf"] = secrets.token_urlsafe(32)
    raise web.HTTPSeeOther(BASE + "/customers")


async def logout(request: web.Request) -> web.StreamResponse:
    session = await get_session(request)
    session.invalidate()
    raise web.HTTPSeeOther(BASE + "/login")


# ---- customers -------------------------------------------------------------------------


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


async def customers_page(request: web.Request) -> web.Response:
    deps, merchant = deps_of(request), _merchant(request)
    query = request.query.get("q", "").strip()[:100]
    error, found = None, None
    if query:
        try:
            if any(ch.isalpha() for ch in query):
                found = await service.search(deps, merchant, name=query)
            else:
                # A phone first (any spelling), then the same digits as a card number.
                try:
                    found = await service.search(deps, merchant, phone=query, limit=PAGE)
                except BadRequest:
                    found = None
                if found is None or not found.customers:
                    found = await service.search(
                        deps, merchant, card=_digits(query) or query, limit=PAGE
                    )
        except DomainError as exc:
            error, found = exc.message, None
    else:
        after = request.query.get("after", "")
        found = await service.search(
            deps, merchant, limit=PAGE,
            after=int(after) if after.isdigit() and len(after) < 19 else None,
        )  # fmt: skip
    # Tier names from the live program (cached): one lookup per page, none per row.
    program = await customers.live_program(deps, merchant.merchant_id)
    tiers = {} if program is None else {t.code: t.name for t in program.program.tiers}
    return render(
        request, "customers.html",
        {"query": query, "found": found, "error": error, "tiers": tiers,
         "flash": await flash(request)},
    )  # fmt: skip


def _customer_id(request: web.Request) -> int:
    return int(request.match_info["customer_id"])


async def _card_context(request: web.Request, customer_id: int) -> dict[str, Any]:
    deps, merchant = deps_of(request), _merchant(request)
    card = await service.customer_card(deps, merchant, customer_id)
    lots = await service.lots(deps, merchant, customer_id, limit=50)
    movements = await service.movements(deps, merchant, customer_id, limit=50)
    messages = await history.customer_messages(deps, merchant.merchant_id, customer_id,
                                                merchant.timezone)  # fmt: skip
    reviews = await feedback_admin.list_feedback(
        deps, merchant.merchant_id, store_id=None, date_from=None, date_to=None, limit=20,
        before=None, customer_id=customer_id,
    )  # fmt: skip
    return {
        "messages": messages,
        "reviews": reviews.feedback,
        "kind_names": KIND_NAMES,
        "status_names": STATUS_NAMES,
        "channel_names": CHANNEL_NAMES,
        "card": card,
        "lots": lots.lots,
        "movements": movements.movements,
        "errors": {},
        "values": {"kind": "credit"},
        "key": secrets.token_urlsafe(16),
        "flash": await flash(request),
    }


async def customer_page(request: web.Request) -> web.Response:
    return render(request, "customer.html", await _card_context(request, _customer_id(request)))


_AMOUNT_ERROR = "Сумма: больше нуля, не больше 10 000 000, не больше двух знаков после запятой"


def _adjustment(form: Any, staff: str) -> tuple[wire.AdjustmentRequest | None, dict[str, str]]:
    """The form as the service's request, or the errors to show beside each field."""
    errors: dict[str, str] = {}
    kind = form_text(form, "kind")
    if kind not in ("credit", "debit"):
        errors["kind"] = "Выберите: начислить или списать"
    amount: Decimal | None = None
    try:
        amount = Decimal(form_text(form, "amount", 20).replace(",", ".").replace(" ", ""))
        if not amount.is_finite() or amount <= 0 or amount > 10_000_000 or (
            amount.as_tuple().exponent < -2  # type: ignore[operator]
        ):  # fmt: skip
            raise InvalidOperation
    except InvalidOperation:
        errors["amount"] = _AMOUNT_ERROR
    reason = form_text(form, "reason")
    if not reason:
        errors["reason"] = "Укажите причину: она останется в истории клиента"
    expires_on = None
    if raw := form_text(form, "expires_on", 10):
        try:
            expires_on = date.fromisoformat(raw)
        except ValueError:
            errors["expires_on"] = "Дата сгорания: ГГГГ-ММ-ДД"
        if kind == "debit":
            errors["expires_on"] = "Дата сгорания — только для начисления"
    if errors:
        return None, errors
    try:
        request = wire.AdjustmentRequest(
            kind=kind, amount=amount, reason=reason, staff=staff,
            expires_on=expires_on,
        )  # fmt: skip
    except ValidationError:
        return None, {"amount": _AMOUNT_ERROR}
    return request, {}


async def adjust(request: web.Request) -> web.StreamResponse:
    require(request, "manager")
    customer_id = _customer_id(request)
    form = await request.post()
    adjustment, errors = _adjustment(form, user_of(request).login)
    if adjustment is not None:
        key = "cabinet:" + (form_text(form, "key", 100) or secrets.token_urlsafe(16))
        try:
            result = await service.adjust(
                deps_of(request), _merchant(request), customer_id, adjustment, key
            )
        except DomainError as exc:
            if exc.status == 404:
                raise
            errors = {"amount" if exc.code == "insufficient_bonuses" else "form": exc.message}
        else:
            verb = "Начислено" if result.kind == "credit" else "Списано"
            await flash(
                request, f"{verb} {money(result.amount)} ₽. Баланс: {money(result.balance)} ₽"
            )
            raise web.HTTPSeeOther(f"{BASE}/customers/{customer_id}")
    context = await _card_context(request, customer_id)
    context.update(errors=errors, values={k: form_text(form, k) for k in form})
    return render(request, "customer.html", context, status=422)


async def _block(request: web.Request, blocked: bool) -> web.StreamResponse:
    require(request, "manager")
    customer_id = _customer_id(request)
    form = await request.post()
    reason = form_text(form, "reason")
    if not reason:
        context = await _card_context(request, customer_id)
        context["errors"] = {"block": "Укажите причину"}
        return render(request, "customer.html", context, status=422)
    await service.set_blocked(
        deps_of(request), _merchant(request), customer_id, blocked,
        wire.BlockRequest(reason=reason, staff=user_of(request).login),
    )  # fmt: skip
    await flash(request, "Карта заблокирована" if blocked else "Карта разблокирована")
    raise web.HTTPSeeOther(f"{BASE}/customers/{customer_id}")


async def block(request: web.Request) -> web.StreamResponse:
    return await _block(request, True)


async def unblock(request: web.Request) -> web.StreamResponse:
    return await _block(request, False)


# ---- staff -----------------------------------------------------------------------------


async def _staff(request: web.Request, errors: dict[str, str], values: dict[str, str],
                 status: int = 200) -> web.Response:  # fmt: skip
    users = await accounts.list_users(deps_of(request), user_of(request).merchant_id)
    return render(
        request, "staff.html",
        {"users": users, "errors": errors, "values": values, "roles": accounts.ROLES,
         "flash": await flash(request)},
        status=status,
    )  # fmt: skip


async def staff_page(request: web.Request) -> web.Response:
    require(request, "owner")
    return await _staff(request, {}, {"role": "viewer"})


async def staff_add(request: web.Request) -> web.StreamResponse:
    require(request, "owner")
    form = await request.post()
    values = {"login": form_text(form, "login", 100), "role": form_text(form, "role", 16)}
    password = form.get("password")
    try:
        await accounts.create_user(
            deps_of(request), user_of(request).merchant_id, values["login"],
            password if isinstance(password, str) else "", values["role"],
            created_by=user_of(request).login,
        )  # fmt: skip
    except DomainError as exc:
        field = {"invalid_password": "password", "unknown_role": "role"}.get(exc.code, "login")
        return await _staff(request, {field: exc.message}, values, status=422)
    await flash(request, f"Сотрудник «{accounts.normalize_login(values['login'])}» добавлен")
    raise web.HTTPSeeOther(BASE + "/staff")


async def _staff_switch(request: web.Request, disabled: bool) -> web.StreamResponse:
    require(request, "owner")
    user_id = int(request.match_info["user_id"])
    await accounts.set_disabled(deps_of(request), user_of(request).merchant_id, user_id, disabled)
    await flash(request, "Доступ отключён" if disabled else "Доступ включён")
    raise web.HTTPSeeOther(BASE + "/staff")


async def staff_disable(request: web.Request) -> web.StreamResponse:
    return await _staff_switch(request, True)


async def staff_enable(request: web.Request) -> web.StreamResponse:
    return await _staff_switch(request, False)
