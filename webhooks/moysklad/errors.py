"""Every failure of the МойСклад adapter in the reference's error shape, plus our own
``code`` and ``message`` (what every other door of the service answers):

    {"errors": [{"error": "…", "parameter": "…", "code": 999, "error_message": "…"}],
     "code": "moysklad_bad_token", "message": "…"}

The reference only says an error comes with a status other than 200/201/204 and shows
412 with ``code`` 999 (a missing parameter) and 28001 (the customer must confirm their
registration with a code). So: 28001 for that one case, 999 for everything else; the
HTTP status carries the kind (400 malformed, 401 token, 402 suspended, 404 not found,
409 conflict, 412 registration needs a code, 422 refused by the program, 429 too many
codes, 503 try again: the database is restarting). An unexpected failure is logged
and answered 500 without a stack trace (``cloud.adapter_errors``).
"""

from __future__ import annotations

import orjson
from aiohttp import web

from cloud.adapter_errors import Failure, adapter_error_middleware
from cloud.errors import DomainError

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
    503: "Сервис временно недоступен",
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


def _render(failure_: Failure) -> web.Response:
    if isinstance(failure_.error, VerificationRequired):
        return failure(
            failure_.code, failure_.message, 412, number=VERIFICATION_REQUIRED,
            title="Необходимо подтверждение создания покупателя.",
        )  # fmt: skip
    return failure(failure_.code, failure_.message, failure_.status, parameter=failure_.parameter)


moysklad_error_middleware = adapter_error_middleware(_render, "loyalty.moysklad")
