"""Every failure of the МойСклад adapter in the reference's error shape, plus our own
``code`` and ``message`` (what every other door of the service answers):

    {"errors": [{"error": "…", "parameter": "…", "code": 999, "error_message": "…"}],
     "code": "moysklad_bad_token", "message": "…"}

The reference only says an error comes with a status other than 200/201/204 and shows
412 with ``code`` 999 (a missing parameter) and 28001 (the customer must confirm their
registration with a code). So: 28001 for that one case, 999 for everything else; the
HTTP status carries the kind (400 malformed, 401 token, 402 suspended, 404 not found,
409 conflict, 412 registration needs a code, 422 refused by the program, 429 too many
codes). An unexpected failure is logged and answered 500 without a stack trace.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
import structlog
from aiohttp import web
from pydantic import ValidationError

from cloud.engine.types import EngineError
from cloud.errors import DomainError
from cloud.validation import error_message

log = structlog.get_logger("loyalty.moysklad")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

GENERIC = 999
VERIFICATION_REQUIRED = 28001
TITLES = {
    400: "Некорректный запрос",
    401: "Ошибка авторизации",
    402: "Обслуживание приостановлено",
    404: "Не найдено",
    405: "Метод не поддерживается",
    409: "Конфликт",
    412: "Необходимо подтверждение",
    413: "Слишком большой запрос",
    422: "Операция отклонена программой лояльности",
    429: "Слишком много запросов",
}


def failure(
    code: str, message: str, status: int, *, parameter: str | None = None,
    number: int = GENERIC, title: str | None = None,
) -> web.Response:  # fmt: skip
    item: dict[str, object] = {"error": title or TITLES.get(status, "Ошибка")}
    if parameter:
        item["parameter"] = parameter
    item.update(code=number, error_message=message)
    body = {"errors": [item], "code": code, "message": message}
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


class VerificationRequired(DomainError):
    """``POST /counterparty`` needs the customer's code first (the reference's 412/28001)."""

    status = 412


def _validation(exc: ValidationError) -> web.Response:
    errors = exc.errors()
    first = errors[0] if errors else None
    parameter = ".".join(str(p) for p in first["loc"]) if first else None
    parts = []
    for error in errors[:3]:
        where = ".".join(str(p) for p in error["loc"]) or "тело запроса"
        parts.append(f"{where}: {error_message(error)}")
    message = ("Ошибка в данных: " + "; ".join(parts))[:500]
    return failure("validation_error", message, 400, parameter=parameter or None)


@web.middleware
async def moysklad_error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except VerificationRequired as exc:
        return failure(
            exc.code, exc.message, 412, number=VERIFICATION_REQUIRED,
            title="Необходимо подтверждение создания покупателя.",
        )  # fmt: skip
    except DomainError as exc:
        if exc.status >= 500:
            log.error("moysklad_domain_error", code=exc.code, path=request.path)
        return failure(exc.code, exc.message, exc.status)
    except EngineError as exc:
        return failure(exc.code, exc.message, 422)
    except ValidationError as exc:
        return _validation(exc)
    except web.HTTPNotFound:
        return failure("not_found", "Адрес не найден", 404)
    except web.HTTPMethodNotAllowed as exc:
        response = failure("method_not_allowed", "Метод не поддерживается", 405)
        response.headers["Allow"] = ", ".join(sorted(exc.allowed_methods))
        return response
    except web.HTTPRequestEntityTooLarge:
        return failure("too_large", "Слишком большое тело запроса", 413)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("moysklad_unhandled_error", path=request.path)
        return failure(
            "internal_error", "Внутренняя ошибка сервера лояльности, повторите позже", 500
        )
