"""Reading requests into wire models for the native API (JSON itself: cloud.web_json)."""

from __future__ import annotations

from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from cloud.errors import BadRequest
from cloud.services.customers import not_found
from cloud.validation import describe_validation_error
from cloud.web_json import dumps, json_response, loads, needs_exact_read, read_body, read_json
from schemas.bounds import BIGINT_MAX

__all__ = [
    "dumps", "json_response", "parse_body", "parse_model", "read_body", "read_json", "read_model",
]  # fmt: skip

ModelT = TypeVar("ModelT", bound=BaseModel)


def parse_model(model: type[ModelT], data: Any) -> ModelT:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadRequest("validation_error", describe_validation_error(exc)) from exc


def parse_body(model: type[ModelT], raw: bytes) -> ModelT:
    """A raw JSON body validated straight from its text (pydantic-core reads it in one
    pass, and every request is validated the same way). A body whose numbers a float
    could change, or that may hold a NUL, is checked first (``cloud.web_json.loads``)."""
    if not raw:
        raise BadRequest("malformed_json", "Пустое тело запроса: ожидается JSON")
    if needs_exact_read(raw):
        loads(raw)  # refuses what the fast path would read inexactly
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        if any(error["type"] == "json_invalid" for error in exc.errors()):
            raise BadRequest("malformed_json", "Некорректный JSON в теле запроса") from exc
        raise BadRequest("validation_error", describe_validation_error(exc)) from exc


async def read_model(request: web.Request, model: type[ModelT]) -> ModelT:
    return parse_body(model, await read_body(request))


def only_params(request: web.Request, *allowed: str) -> None:
    """A query parameter the operation does not take is refused, not silently ignored."""
    for name in request.query:
        if name not in allowed:
            raise BadRequest("invalid_query", f"Неизвестный параметр «{name[:40]}»")


def int_query(request: web.Request, name: str, default: int | None) -> int | None:
    """A positive BIGINT query parameter (absent or empty: ``default``)."""
    text = request.query.get(name)
    if text is None or text == "":
        return default
    # ASCII digits only: int() would also take " 5", "+5", "5_0" and other scripts' digits.
    value = int(text) if text.isascii() and text.isdigit() and len(text) <= 19 else 0
    if not 0 < value <= BIGINT_MAX:
        raise BadRequest(
            "invalid_query", f"Параметр {name}: целое от 1 до 9 223 372 036 854 775 807"
        )
    return value


def customer_id_of(request: web.Request) -> int:
    """The ``{customer_id}`` of the path; beyond BIGINT there is no such customer (and no
    driver error either)."""
    value = int(request.match_info["customer_id"])
    if not 0 < value <= BIGINT_MAX:
        raise not_found()
    return value
