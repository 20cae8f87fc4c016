"""Request bodies of the Evotor adapter, read exactly.

Evotor sends money as JSON numbers. A general JSON parser turns ``99999999999999.99``
into the float ``99999999999999.98`` before anything can check it, so every Evotor body
is parsed here with numbers straight to ``Decimal`` (integers stay Python ints): what
the till wrote is what the schemas bound and round. NaN / Infinity and NUL characters
(PostgreSQL cannot store them) are refused as malformed input (400/2001)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from aiohttp import web

from cloud.errors import BadRequest


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} не число")


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def loads_exact(raw: bytes | str) -> Any:
    """JSON text -> Python values with ``Decimal`` for every number with a fraction or
    an exponent; a ``BadRequest("malformed_json")`` for anything that is not JSON."""
    if not raw:
        raise BadRequest("malformed_json", "Пустое тело запроса: ожидается JSON")
    try:
        value = json.loads(raw, parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise BadRequest("malformed_json", f"Некорректный JSON: {exc}"[:300]) from exc
    text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
    if "\\u0000" in text and _has_nul(value):
        raise BadRequest("malformed_json", "Символ NUL в строке недопустим")
    return value


async def read_exact(request: web.Request) -> Any:
    return loads_exact(await request.read())
