"""JSON over aiohttp for every HTTP surface (native API and vendor adapters): amounts
leave as JSON numbers with their two places (``12.30``), never through a float, and a
body that is not JSON is a ``BadRequest`` each surface renders in its own error shape.

Reading is exact too. The fast parsers (orjson, pydantic-core) read a JSON number with a
fraction or an exponent into a float; a decimal of at most 15 significant digits survives
that round trip unchanged (its shortest float text is itself), a longer one may not
(``99999999999999.99`` would arrive as ``…98``, ``100.000000000000001`` as ``100``). So
a body that holds a run of 16 digits or a tiny exponent is checked number by number: one
a float would change is refused (400 ``inexact_number``); ``1.000000000000000000`` is
exact and passes. The caller then parses as usual, every number exact. Strings with NUL
are refused here, for every surface: PostgreSQL cannot store them.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import orjson
from aiohttp import web
from pydantic import BaseModel

from cloud.errors import BadRequest, DomainError

BODY_READ_TIMEOUT = web.AppKey("body_read_timeout", float)
"""Seconds a request may take to deliver its whole body (set on the root application;
``DEFAULT_BODY_READ_SECONDS`` when absent). aiohttp has no body timeout of its own: a
client trickling a byte a minute would hold a handler, and its memory, for ever."""
DEFAULT_BODY_READ_SECONDS = 30.0


class BodyTimeout(DomainError):
    status = 408


NUL_ESCAPE = b"\\u0000"

# Digits and dots become "0", exponent letters "e": a float the fast path could round
# shows up as 16 zeros in a row, or as "e-000" (an exponent of -100 or below, where a
# float underflows or loses digits). Strings that happen to match only cost the slow path.
_SCAN = bytearray(b" " * 256)
for _c in b"0123456789.":
    _SCAN[_c] = ord("0")
_SCAN[ord("e")] = _SCAN[ord("E")] = ord("e")
_SCAN[ord("-")] = ord("-")
_SCAN_TABLE = bytes(_SCAN)
_LONG_RUN = b"0" * 16
_TINY_EXPONENT = b"e-000"


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: Any) -> bytes:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="python")
    return orjson.dumps(value, default=_default)


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=dumps(body), status=status, content_type="application/json")


def needs_exact_read(raw: bytes) -> bool:
    """True when a float parser could change a number of this body, or when it may hold
    a NUL: such a body goes through ``loads``, not a parser's float fast path."""
    if NUL_ESCAPE in raw:
        return True
    scanned = raw.translate(_SCAN_TABLE)
    return _LONG_RUN in scanned or _TINY_EXPONENT in scanned


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any("\x00" in key or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def refuse_nul() -> BadRequest:
    return BadRequest("nul_character", "Строки не могут содержать символ NUL (\\u0000)")


class _InexactNumber(ValueError):
    pass


def _exact_float(text: str) -> float:
    value = float(text)
    if Decimal(repr(value)) != Decimal(text):
        raise _InexactNumber(text)
    return value


def loads(raw: bytes) -> Any:
    """A JSON body whose every number is exactly what was sent (ints as ``int``, other
    numbers as ``float``). Refuses (``BadRequest``) an empty or malformed body, a number
    a float cannot hold exactly, and strings with NUL."""
    if not raw:
        raise BadRequest("malformed_json", "Пустое тело запроса: ожидается JSON")
    try:
        # orjson first even on the exact path: it is strict (no NaN, no lone surrogates,
        # UTF-8 only) where the standard library is lenient.
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest("malformed_json", f"Некорректный JSON: {exc}") from exc
    try:
        if NUL_ESCAPE in raw and _has_nul(value):
            raise refuse_nul()
        scanned = raw.translate(_SCAN_TABLE)
        if _LONG_RUN in scanned or _TINY_EXPONENT in scanned:
            # Python's parser: orjson reads an integer beyond 64 bits as a float.
            value = json.loads(raw, parse_float=_exact_float)
    except RecursionError as exc:  # orjson allows deeper nesting than Python's stack
        raise BadRequest("malformed_json", "Слишком глубокая вложенность JSON") from exc
    except _InexactNumber as exc:
        raise BadRequest(
            "inexact_number",
            f"Число {str(exc)[:40]} нельзя принять точно: не больше 15 значащих цифр",
        ) from None
    return value


async def read_body(request: web.Request) -> bytes:
    """The raw body, within the application's body deadline (``BodyTimeout`` past it)."""
    if request.content.is_eof():
        # The whole body came with the headers (a till's receipt nearly always does):
        # nothing left to wait for, so no deadline to arm.
        return await request.read()
    seconds = request.config_dict.get(BODY_READ_TIMEOUT, DEFAULT_BODY_READ_SECONDS)
    try:
        async with asyncio.timeout(seconds):
            return await request.read()
    except TimeoutError:
        raise BodyTimeout("request_timeout", f"Тело запроса не получено за {seconds:g} с") from None


async def read_json(request: web.Request) -> Any:
    return loads(await read_body(request))
