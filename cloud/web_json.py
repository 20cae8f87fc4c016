"""JSON over aiohttp for every HTTP surface (native API and vendor adapters): amounts
leave as JSON numbers with their two places (``12.30``), never through a float, and a
body that is not JSON is a ``BadRequest`` each surface renders in its own error shape."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from aiohttp import web
from pydantic import BaseModel

from cloud.errors import BadRequest


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


async def read_json(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        raise BadRequest("malformed_json", "Пустое тело запроса: ожидается JSON")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest("malformed_json", f"Некорректный JSON: {exc}") from exc
