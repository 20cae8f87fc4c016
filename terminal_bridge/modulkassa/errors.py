"""Every failure of the Модулькасса adapter as ``{"code", "message"}`` with a 4xx.

The plugin shows ``message`` (Russian) through the SDK's ``callback.failed``. A body that
does not fit the contract is ``loyalty_request_is_invalid`` (the SDK's own name for a bad
structure) on ``/loyalty-request`` and ``event_is_invalid`` on ``/events``; a business
refusal (not enough bonuses, an SMS code needed, an unknown sale) keeps the service's
code. 4xx: the plugin must not repeat the call unchanged. An unexpected failure is
logged and answered 503 (``retry_later``: the plugin keeps the event and sends it again).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
import structlog
from aiohttp import web
from pydantic import ValidationError

from cloud.engine.types import EngineError
from cloud.errors import DomainError
from cloud.validation import describe_validation_error

log = structlog.get_logger("loyalty.modulkassa")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
INVALID_MESSAGE = "Некорректная структура запроса"


def error(code: str, message: str, status: int) -> web.Response:
    return web.Response(
        body=orjson.dumps({"code": code, "message": message}), status=status,
        content_type="application/json",
    )  # fmt: skip


def invalid_code(path: str) -> str:
    if path.endswith("/events"):
        return "event_is_invalid"
    return "request_is_invalid" if path.endswith("/sms-code") else "loyalty_request_is_invalid"


@web.middleware
async def modulkassa_error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except DomainError as exc:
        if exc.code in ("malformed_json", "validation_error"):
            return error(invalid_code(request.path), f"{INVALID_MESSAGE}: {exc.message}", 400)
        if exc.status >= 500:
            log.error("modulkassa_domain_error", code=exc.code, path=request.path)
            return error("retry_later", "Сервер лояльности недоступен, повторите позже", 503)
        return error(exc.code, exc.message, exc.status)
    except EngineError as exc:
        return error(exc.code, exc.message, 422)
    except ValidationError as exc:
        detail = describe_validation_error(exc).removeprefix("Ошибка в данных: ")
        return error(invalid_code(request.path), f"{INVALID_MESSAGE}: {detail}"[:500], 400)
    except web.HTTPNotFound:
        return error("not_found", "Адрес не найден", 404)
    except web.HTTPMethodNotAllowed as exc:
        response = error("method_not_allowed", "Метод не поддерживается", 405)
        response.headers["Allow"] = ", ".join(sorted(exc.allowed_methods))
        return response
    except web.HTTPRequestEntityTooLarge:
        return error("too_large", "Слишком большое тело запроса", 413)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("modulkassa_unhandled_error", path=request.path)
        return error("retry_later", "Сервер лояльности недоступен, повторите позже", 503)
