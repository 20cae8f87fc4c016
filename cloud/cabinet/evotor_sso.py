"""Single sign-on for a merchant who came from the Evotor marketplace.

Evotor shows an app's "Настройки" tab as an iframe of the address the developer gives,
with ``?token=${token}&user_id=${uid}`` filled in: the app's Evotor cloud token of that
user (the one Evotor also posts to ``/api/v1/user/token``) and the Evotor user id
(developer.evotor.ru, "IFrame на странице приложения"). That token is the proof: the
page signs in only when it equals the cloud token stored for that user's account.

The cabinet does not run inside the iframe. Its cookie is ``SameSite=Lax``, which a
browser never sends to a third-party frame, and its pages refuse framing
(clickjacking). The framed page only says whose cabinet it is and offers a button that
posts a short-lived signed ticket to ``/cabinet/evotor/enter`` in a new window; that
top-level page makes the session. The Evotor user signs in as the merchant's owner,
``evotor-<user id>``: a staff account with no usable password, which the owner can
disable on the staff page like any other.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from aiohttp import web
from aiohttp_session import new_session

from cloud.cabinet import accounts
from cloud.cabinet.core import BASE, deps_of, form_text, render
from cloud.clock import to_epoch
from cloud.db.database import is_unique_violation
from cloud.services import evotor_accounts
from cloud.services.deps import Deps

FRAME_PATH = BASE + "/evotor"
ENTER_PATH = BASE + "/evotor/enter"
TICKET_SECONDS = 120
"""How long the button of the framed page stays good: a click, not a bookmark."""
FRAME_ANCESTORS = "https://*.evotor.ru"
"""Who may frame the hand-off page: Evotor's personal account (market.evotor.ru)."""

_USER_ID = re.compile(r"^[0-9]{2}-[0-9]{15}$")  # Evotor's userId pattern
_TOKEN_MAX = 200


@dataclass(frozen=True, slots=True)
class Linked:
    merchant_id: int
    merchant_name: str
    evotor_user_id: str


def _ticket_key(deps: Deps) -> bytes:
    # Its own key, derived from the cabinet's: a ticket is not a session cookie.
    return hashlib.sha256(b"evotor-sso\x00" + deps.settings.cabinet_key.encode()).digest()


def make_ticket(deps: Deps, linked: Linked) -> str:
    expires = to_epoch(deps.clock()) + TICKET_SECONDS
    body = f"{linked.merchant_id}.{linked.evotor_user_id}.{expires}"
    mac = hmac.new(_ticket_key(deps), body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def read_ticket(deps: Deps, ticket: str) -> tuple[int, str] | None:
    """(merchant, Evotor user) of a ticket this service signed and that has not expired."""
    parts = ticket.split(".")
    if len(parts) != 4:
        return None
    merchant, user_id, expires, mac = parts
    body = f"{merchant}.{user_id}.{expires}"
    good = hmac.new(_ticket_key(deps), body.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(mac, good) or not expires.isdigit() or not merchant.isdigit():
        return None
    if int(expires) < to_epoch(deps.clock()):
        return None
    return int(merchant), user_id


async def linked_account(deps: Deps, user_id: str, token: str) -> Linked | None:
    """The account whose stored Evotor cloud token is ``token``, of an active merchant."""
    if not _USER_ID.match(user_id) or not 0 < len(token) <= _TOKEN_MAX:
        return None
    found = await evotor_accounts.active_merchant_of_user(deps, user_id)
    if found is None:
        return None
    merchant_id, name = found
    stored = await evotor_accounts.cloud_token(deps, merchant_id)
    if stored is None or not hmac.compare_digest(stored.encode(), token.encode()):
        return None
    return Linked(merchant_id, name, user_id)


def staff_login(user_id: str) -> str:
    return f"evotor-{user_id}"


async def evotor_staff(deps: Deps, merchant_id: int, user_id: str) -> accounts.StaffUser | None:
    """The merchant's owner account of this Evotor user, made on the first sign-in; None
    when the owner disabled it."""
    login = staff_login(user_id)
    found = await accounts.user_by_login(deps, merchant_id, login)
    if found is None:
        # Nobody knows this password: the account signs in only through Evotor.
        unusable = secrets.token_urlsafe(32)
        try:
            await accounts.create_user(deps, merchant_id, login, unusable, "owner", "Эвотор")
        except Exception as exc:
            # A twin sign-in made it first, or the owner disabled it (the login stays taken).
            if getattr(exc, "code", None) != "login_taken" and not is_unique_violation(exc):
                raise
        found = await accounts.user_by_login(deps, merchant_id, login)
    return found


def _framed(response: web.Response) -> web.Response:
    """The hand-off page may be framed by Evotor only (every other page refuses framing)."""
    del response.headers["X-Frame-Options"]
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"frame-ancestors {FRAME_ANCESTORS}"
    )
    return response


async def frame_page(request: web.Request) -> web.Response:
    """``GET /cabinet/evotor?token=…&user_id=…``: Evotor's iframe."""
    deps = deps_of(request)
    user_id = request.query.get("user_id", "").strip()
    token = request.query.get("token", "").strip()
    linked = await linked_account(deps, user_id, token)
    if linked is None:
        return _framed(
            render(
                request,
                "evotor_sso.html",
                {"error": "Не удалось подтвердить вход из Эвотора. Откройте приложение заново "
                 "из личного кабинета Эвотор; если не поможет — переустановите приложение "
                 "или войдите по логину и паролю."},
                status=403,
            )
        )  # fmt: skip
    context = {"linked": linked, "ticket": make_ticket(deps, linked), "enter": ENTER_PATH}
    return _framed(render(request, "evotor_sso.html", context))


async def enter(request: web.Request) -> web.StreamResponse:
    """``POST /cabinet/evotor/enter``: the ticket's owner account gets a fresh session."""
    deps = deps_of(request)
    form = await request.post()
    claim = read_ticket(deps, form_text(form, "ticket", 300))
    if claim is None:
        return render(
            request,
            "error.html",
            {"title": "Ссылка устарела",
             "message": "Вернитесь в личный кабинет Эвотор и нажмите «Открыть кабинет» ещё раз."},
            status=403,
        )  # fmt: skip
    merchant_id, user_id = claim
    user = await evotor_staff(deps, merchant_id, user_id)
    if user is None:
        return render(
            request,
            "error.html",
            {"title": "Вход отключён",
             "message": "Владелец компании отключил вход из Эвотора. Войдите по логину и паролю."},
            status=403,
        )  # fmt: skip
    session = await new_session(request)
    session["uid"], session["stamp"] = user.id, user.stamp
    session["csrf"] = secrets.token_urlsafe(32)
    raise web.HTTPSeeOther(BASE + "/customers")


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/evotor", frame_page)
    router.add_post("/evotor/enter", enter)
