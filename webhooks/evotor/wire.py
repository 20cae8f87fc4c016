"""JSON responses of the Evotor adapter: amounts leave as JSON numbers with their two
places (``12.30``), never through a float."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from aiohttp import web
from pydantic import BaseModel


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
