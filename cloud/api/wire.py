"""Reading requests into wire models and writing responses, for the native API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, ValidationError

from cloud.errors import BadRequest
from cloud.validation import describe_validation_error

ModelT = TypeVar("ModelT", bound=BaseModel)


def _default(value: Any) -> Any:
    # Amounts leave as JSON numbers with their two places ("12.30"), never via float.
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default)


def dump_model(model: BaseModel) -> bytes:
    return dumps(model.model_dump(mode="python"))


def json_response(body: Any, status: int = 200) -> web.Response:
    payload = dump_model(body) if isinstance(body, BaseModel) else dumps(body)
    return web.Response(body=payload, status=status, content_type="application/json")


async def read_json(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        raise BadRequest("malformed_json", "Пустое тело запроса: ожидается JSON")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest("malformed_json", f"Некорректный JSON: {exc}") from exc


def parse_model(model: type[ModelT], data: Any) -> ModelT:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadRequest("validation_error", describe_validation_error(exc)) from exc


async def read_model(request: web.Request, model: type[ModelT]) -> ModelT:
    # orjson yields floats for JSON numbers; the Money/Quantity validators take a float
    # through its shortest repr, which is the text the terminal sent.
    return parse_model(model, await read_json(request))
