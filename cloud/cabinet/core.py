"""What every cabinet page shares: the encrypted session cookie, the signed-in user,
CSRF on every form, roles, and rendering (errors are pages, never JSON, never a 500).

The session (``aiohttp-session``'s ``EncryptedCookieStorage``: Fernet, so encrypted and
authenticated) holds the user's id, the stamp of their password and the CSRF token. The
user is read again on every request, so a disabled account or a reset password ends its
sessions at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp_jinja2
import structlog
from aiohttp import web
from aiohttp_session import get_session, session_middleware
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from cloud.api.keys import DEPS
from cloud.cabinet.accounts import ROLE_NAMES, StaffUser, current_user
from cloud.errors import DomainError
from cloud.services.deps import Deps
from cloud.settings import Settings

log = structlog.get_logger("loyalty.cabinet")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

BASE = "/cabinet"
COOKIE = "loyalty_cabinet"
USER = web.RequestKey("cabinet_user", StaffUser)
CSRF = web.RequestKey("cabinet_csrf", str)
PUBLIC = frozenset({BASE + "/login", BASE + "/evotor", BASE + "/evotor/enter"})
"""Pages open without a session (the rest redirect to the sign-in)."""
CSRF_EXEMPT = frozenset({BASE + "/evotor/enter"})
"""Form posts that carry their own proof (a signed ticket) instead of the session's token:
the Evotor hand-off posts from a page framed by Evotor into a new window."""
UPLOAD_LIMITS: dict[str, int] = {}
"""Form posts that carry a file, by path: their body limit instead of the API's 1 MB."""


def money(value: object) -> str:
    """``1234.5`` -> ``1 234,50``: roubles as a Russian reader writes them."""
    return f"{value:,.2f}".replace(",", "\u00a0").replace(".", ",") if value is not None else ""


async def flash(request: web.Request, text: str | None = None) -> str | None:
    """Set the message the next page shows once, or take the waiting one."""
    session = await get_session(request)
    if text is not None:
        session["flash"] = text
        return None
    taken = session.pop("flash", None)
    return taken if isinstance(taken, str) else None


def form_text(form: Any, name: str, limit: int = 500) -> str:
    """A form's text field, trimmed and cut to ``limit`` ("" when absent or a file)."""
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def deps_of(request: web.Request) -> Deps:
    return request.config_dict[DEPS]


def user_of(request: web.Request) -> StaffUser:
    return request[USER]


def storage(settings: Settings) -> EncryptedCookieStorage:
    """The cookie store: a Fernet key derived from ``cabinet_key`` (any string of the
    generated .env works), HttpOnly, SameSite=Lax, Secure unless the service listens
    only on this machine (development and tests over plain HTTP)."""
    key = hashlib.sha256(settings.cabinet_key.encode()).digest()  # raw: the store encodes it
    local = settings.listens_on_loopback and not (settings.public_url or "").startswith("https")
    return EncryptedCookieStorage(
        key,
        cookie_name=COOKIE,
        max_age=settings.cabinet_session_hours * 3600,
        path=BASE + "/",
        httponly=True,
        samesite="Lax",
        secure=not local,
    )


def sessions() -> Any:
    """aiohttp-session's middleware, its store built at the first request from the
    settings the service runs with (the routes may be mounted before they are known)."""
    built: list[Any] = []

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not built:
            built.append(session_middleware(storage(deps_of(request).settings)))
        response: web.StreamResponse = await built[0](request, handler)
        return response

    return middleware


async def csrf_token(request: web.Request) -> str:
    session = await get_session(request)
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def render(
    request: web.Request, template: str, context: dict[str, Any], status: int = 200
) -> web.Response:
    context.setdefault("user", request.get(USER))
    context.setdefault("csrf", request.get(CSRF, ""))
    context.setdefault("role_names", ROLE_NAMES)
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'"
    )
    return response


def error_page(request: web.Request, status: int, title: str, message: str) -> web.Response:
    return render(request, "error.html", {"title": title, "message": message}, status=status)


def require(request: web.Request, role: str) -> None:
    """Refuse (403 page) a user whose role is below ``role``."""
    if not user_of(request).may(role):
        raise Forbidden()


class Forbidden(Exception):
    """The signed-in user's role does not allow this."""


@web.middleware
async def cabinet_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """CSRF on every POST, the signed-in user on every page but the sign-in, and errors
    as pages."""
    if request.path.startswith(BASE + "/static/"):
        return await handler(request)
    session = await get_session(request)
    request[CSRF] = await csrf_token(request)
    try:
        if request.method == "POST":
            if (limit := UPLOAD_LIMITS.get(request.path)) is not None:
                request = request.clone(client_max_size=limit)
            form = await request.post()
            sent = form.get("csrf")
            forged = not isinstance(sent, str) or not hmac.compare_digest(sent, request[CSRF])
            if forged and request.path not in CSRF_EXEMPT:
                return error_page(
                    request, 403, "Форма устарела",
                    "Страница была открыта слишком давно или не из кабинета. "
                    "Обновите её и повторите.",
                )  # fmt: skip
        if request.path not in PUBLIC:
            user = None
            uid, stamp = session.get("uid"), session.get("stamp")
            if isinstance(uid, int) and isinstance(stamp, str):
                user = await current_user(deps_of(request), uid, stamp)
            if user is None:
                session.pop("uid", None)
                raise web.HTTPSeeOther(BASE + "/login")
            request[USER] = user
        return await handler(request)
    except Forbidden:
        return error_page(request, 403, "Нет доступа", "Вашей роли это действие недоступно.")
    except DomainError as exc:
        if exc.status == 404:
            return error_page(request, 404, "Не найдено", exc.message)
        return error_page(request, exc.status, "Не получилось", exc.message)
    except web.HTTPRequestEntityTooLarge:
        return error_page(
            request,
            413,
            "Слишком большой файл",
            "Файл больше допустимого размера: разделите его на части.",
        )
    except web.HTTPNotFound:
        return error_page(request, 404, "Не найдено", "Такой страницы в кабинете нет.")
    except web.HTTPMethodNotAllowed as exc:
        response = error_page(request, 405, "Не найдено", "Такой страницы в кабинете нет.")
        response.headers["Allow"] = ", ".join(sorted(exc.allowed_methods))
        return response
    except web.HTTPException:
        raise
    except Exception:
        log.exception("cabinet_error", path=request.path)
        return error_page(request, 500, "Ошибка", "Внутренняя ошибка, повторите позже.")
