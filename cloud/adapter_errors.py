"""Every failure of a till adapter, sorted out once; each adapter only draws it in its
vendor's error shape.

A failure anywhere below an adapter's handler becomes a ``Failure`` (status, our error
code, a Russian message, the field it is about): a domain refusal keeps its status and
code, the engine's refusal is 422, a body that does not fit is 400 ``validation_error``
naming the fields, an unknown address 404, a wrong method 405 (with ``Allow``), a body
too large 413, and anything unexpected is logged with its traceback and answered 500
``internal_error`` without one. The adapter's ``render`` turns it into its own answer
(Frontol keeps HTTP 200 for business refusals, МойСклад nests it in ``errors``, ...), and
may word a code its own way (``words``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace

import structlog
from aiohttp import web
from aiohttp.typedefs import Middleware
from pydantic import ValidationError

from cloud.engine.types import EngineError
from cloud.errors import DomainError
from cloud.observability.metrics import tag_error
from cloud.validation import describe_validation_error

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

INTERNAL_MESSAGE = "Внутренняя ошибка сервера лояльности, повторите позже"


@dataclass(frozen=True, slots=True)
class Failure:
    status: int
    code: str
    message: str
    parameter: str | None = None
    """The request field the failure is about (a validation error's first field)."""
    error: BaseException | None = None
    """What was raised, for an adapter that answers one kind its own way."""
    path: str = ""
    """The request's path (an adapter may name the failure by the call)."""


Render = Callable[[Failure], web.Response]


def _validation(exc: ValidationError) -> Failure:
    errors = exc.errors()
    parameter = ".".join(str(p) for p in errors[0]["loc"]) if errors else ""
    message = describe_validation_error(exc, limit=3)[:500]
    return Failure(400, "validation_error", message, parameter or None, exc)


_HTTP = {
    404: ("not_found", "Адрес не найден"),
    405: ("method_not_allowed", "Метод не поддерживается"),
    413: ("too_large", "Слишком большое тело запроса"),
}


def failure_of(exc: Exception) -> Failure | None:
    """The failure ``exc`` means; ``None`` for what aiohttp answers itself (a redirect)."""
    if isinstance(exc, DomainError):
        return Failure(exc.status, exc.code, exc.message, error=exc)
    if isinstance(exc, EngineError):
        return Failure(422, exc.code, exc.message, error=exc)
    if isinstance(exc, ValidationError):
        return _validation(exc)
    if isinstance(exc, web.HTTPException):
        if exc.status < 400:
            return None
        code, message = _HTTP.get(exc.status, ("bad_request", "Запрос не принят"))
        return Failure(exc.status, code, message, error=exc)
    return Failure(500, "internal_error", INTERNAL_MESSAGE, error=exc)


def adapter_error_middleware(
    render: Render, logger: str, words: Mapping[str, str] | None = None
) -> Middleware:
    """The sub-application's middleware: every failure through ``render``."""
    log = structlog.get_logger(logger)
    own_words = dict(words or {})

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except Exception as exc:
            failure = failure_of(exc)
            if failure is None:
                raise
            if failure.code == "internal_error":
                log.exception("unhandled_error", path=request.path)
            elif failure.status >= 500:
                log.error("domain_error", code=failure.code, path=request.path)
            failure = replace(
                failure, path=request.path, message=own_words.get(failure.code, failure.message)
            )
            response = render(failure)
            tag_error(response, failure.code)
            if isinstance(exc, web.HTTPMethodNotAllowed):
                response.headers["Allow"] = ", ".join(sorted(exc.allowed_methods))  # RFC 9110
            return response

    return middleware
