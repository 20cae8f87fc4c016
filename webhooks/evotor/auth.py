"""Who is calling: the Evotor cloud with our app token, or with a user token we issued.

Accepted forms (the contract is unsure which the proxy sends, so both are taken):
``Authorization: Bearer <token>``, a bare ``Authorization: <token>``, and ``Basic
base64(login:password)`` where either the password or the whole ``login:password`` is
the token. Tokens are compared in constant time; header names are case-insensitive.
"""

from __future__ import annotations

import hmac

from aiohttp import web

from cloud.crypto import basic_credentials
from cloud.errors import Unauthorized
from cloud.services import evotor_accounts
from cloud.services.deps import Deps
from cloud.services.evotor_accounts import Account
from webhooks.evotor.errors import EVOTOR_USER


def token_candidates(header: str | None) -> list[str]:
    """Every token the ``Authorization`` header may carry, most likely first."""
    text = (header or "").strip()
    if not text:
        return []
    scheme, _, rest = text.partition(" ")
    rest = rest.strip()
    if scheme.lower() == "bearer":
        return [rest] if rest else []
    if scheme.lower() == "basic" and rest:
        pair = basic_credentials(rest)
        if pair is None:
            return []
        login, password = pair
        whole = f"{login}:{password}" if password else login
        return [p for p in (password, whole) if p]
    return [text] if " " not in text else []


def require_app_token(request: web.Request, app_token: str) -> None:
    """Evotor -> us with the app token of our service (401/1001 otherwise)."""
    for candidate in token_candidates(request.headers.get("Authorization")):
        if hmac.compare_digest(candidate.encode(), app_token.encode()):
            return
    raise Unauthorized("evotor_bad_app_token", "Неверный токен приложения")


def has_app_token(request: web.Request, app_token: str) -> bool:
    try:
        require_app_token(request, app_token)
    except Unauthorized:
        return False
    return True


async def require_user(request: web.Request, deps: Deps) -> Account:
    """Evotor -> us with the user token we issued (401/1002 otherwise). When Evotor names
    the user (``X-Evotor-User-Id``) it must be the token's owner."""
    candidates = token_candidates(request.headers.get("Authorization"))
    if not candidates:
        raise Unauthorized("evotor_bad_user_token", "Нужен токен пользователя")
    account = await evotor_accounts.authenticate(deps, candidates[0])
    named = request.headers.get("X-Evotor-User-Id")
    if named and named.strip() != account.evotor_user_id:
        raise Unauthorized("evotor_bad_user_token", "Токен выдан другому пользователю Эвотор")
    request[EVOTOR_USER] = account.evotor_user_id
    return account
