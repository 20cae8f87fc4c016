"""Every failure of the Frontol adapter in Frontol's shape: ``{"code": -1, "error": "…"}``.

Business refusals (not enough bonuses, an unknown sale, a wrong SMS code), a body that
does not fit and malformed JSON are HTTP 200 with ``code`` -1 and a Russian ``error`` the
cashier reads: that is what all three public servers answer, and Frontol shows the text.
A bad signature is 401 in the same shape; an unknown address or method keeps its status.
An unexpected failure is logged with its traceback and answered 200/-1 too: never a 500,
never a stack trace.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web
from pydantic import ValidationError

from cloud.engine.types import EngineError
from cloud.errors import DomainError
from cloud.validation import error_message
from cloud.web_json import json_response
from schemas.frontol import Answer

log = structlog.get_logger("loyalty.frontol")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

FAILED = -1


def failure(message: str, status: int = 200) -> web.Response:
    body = Answer(code=FAILED, error=message).model_dump(exclude_none=True)
    return json_response(body, status=status)


def _validation(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:3]:
        path = ".".join(str(part) for part in error["loc"])
        parts.append(f"{path}: {error_message(error)}" if path else error_message(error))
    return "Некорректный запрос: " + "; ".join(parts)


@web.middleware
async def frontol_error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except DomainError as exc:
        if exc.status == 401:
            return failure(exc.message, 401)
        if exc.status >= 500:
            log.error("frontol_domain_error", code=exc.code, path=request.path)
        return failure(exc.message)
    except EngineError as exc:
        return failure(exc.message)
    except ValidationError as exc:
        return failure(_validation(exc)[:500])
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        text = {404: "Адрес не найден", 405: "Метод не поддерживается"}.get(
            exc.status, "Запрос не принят"
        )
        response = failure(text, exc.status)
        if isinstance(exc, web.HTTPMethodNotAllowed):
            response.headers["Allow"] = ", ".join(sorted(exc.allowed_methods))  # RFC 9110
        return response
    except Exception:
        log.exception("frontol_unhandled_error", path=request.path)
        return failure("Внутренняя ошибка сервера лояльности, повторите позже")
