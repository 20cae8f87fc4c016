"""Reading requests into wire models for the native API (JSON itself: cloud.web_json)."""

from __future__ import annotations

from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from cloud.errors import BadRequest
from cloud.validation import describe_validation_error
from cloud.web_json import dumps, json_response, read_json

__all__ = ["dumps", "json_response", "parse_model", "read_json", "read_model"]

ModelT = TypeVar("ModelT", bound=BaseModel)


def parse_model(model: type[ModelT], data: Any) -> ModelT:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadRequest("validation_error", describe_validation_error(exc)) from exc


async def read_model(request: web.Request, model: type[ModelT]) -> ModelT:
    # orjson yields floats for JSON numbers; the Money/Quantity validators take a float
    # through its shortest repr, which is the text the terminal sent.
    return parse_model(model, await read_json(request))
