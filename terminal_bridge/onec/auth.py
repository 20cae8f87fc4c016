"""Who is calling the 1C API: a terminal of channel ``1c``, by either

* ``Authorization: Bearer <token>``: the terminal's token from our administration;
* ``Authorization: Basic base64(login:password)``: password = that token, login = the
  terminal's name as the merchant named it. 1C's ``HTTPСоединение(…, Пользователь,
  Пароль)`` encodes a Cyrillic login in UTF-8 or in the Windows code page (cp1251)
  depending on the platform version and OS, so the login bytes are read both ways and
  either reading may match (trimmed, case-insensitive).

The token is the secret; the login only guards against a token typed into the wrong
base's settings. Every refusal is a 401 with ``WWW-Authenticate`` (1C shows the
platform's own login prompt only for Basic, so both schemes are offered).
"""

from __future__ import annotations

import base64
import binascii
import unicodedata

from cloud.errors import Unauthorized
from cloud.services.deps import Deps
from cloud.services.merchants import TerminalAuthenticator, TerminalContext

CHANNEL = "1c"
CHALLENGE = 'Basic realm="loyalty", charset="UTF-8", Bearer realm="loyalty"'


def missing() -> Unauthorized:
    return Unauthorized(
        "onec_missing_credentials",
        "Нужна авторизация: Basic (имя терминала и токен) или Bearer <токен>",
    )


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip().casefold()


def login_readings(raw: bytes) -> set[str]:
    """The login as UTF-8 and as cp1251 (each where the bytes are valid in it)."""
    readings = set()
    for encoding in ("utf-8", "cp1251"):
        try:
            readings.add(_fold(raw.decode(encoding)))
        except UnicodeDecodeError:
            continue
    return readings


def basic_parts(value: str) -> tuple[bytes, str]:
    """Login bytes and password of a Basic credential (``Unauthorized`` when malformed)."""
    try:
        decoded = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise Unauthorized("onec_bad_credentials", "Некорректный заголовок Basic") from None
    # A token has no colon, a login might: split at the last one.
    login, colon, password = decoded.rpartition(b":")
    if not colon:
        raise Unauthorized("onec_bad_credentials", "Некорректный заголовок Basic")
    try:
        token = password.decode("ascii").strip()
    except UnicodeDecodeError:
        raise Unauthorized("invalid_token", "Неверный токен терминала") from None
    return login, token


async def authenticate(deps: Deps, header: str | None) -> TerminalContext:
    """The calling terminal, or a 401 (402 for a suspended merchant)."""
    if not header or not header.strip():
        raise missing()
    scheme, _, value = header.strip().partition(" ")
    authenticator = TerminalAuthenticator(deps.db, frozenset({CHANNEL}))
    if scheme.lower() == "bearer" and value.strip():
        return await authenticator.authenticate(value.strip())
    if scheme.lower() != "basic":
        raise missing()
    login, token = basic_parts(value)
    if not token:
        raise Unauthorized("invalid_token", "Неверный токен терминала")
    terminal = await authenticator.authenticate(token)
    name = await deps.db.fetch_value(
        "SELECT name FROM terminals WHERE id = :t AND merchant_id = :m",
        {"t": terminal.terminal_id, "m": terminal.merchant_id},
    )
    if _fold(str(name or "")) not in login_readings(login):
        raise Unauthorized(
            "onec_wrong_login",
            "Имя пользователя не совпадает с именем терминала, которому выдан токен",
        )
    return terminal
