"""Every failure of the Модулькасса adapter as ``{"code", "message"}`` with a 4xx.

The plugin shows ``message`` (Russian) through the SDK's ``callback.failed``. A body that
does not fit the contract is ``loyalty_request_is_invalid`` (the SDK's own name for a bad
structure) on ``/loyalty-request`` and ``event_is_invalid`` on ``/events``; a business
refusal (not enough bonuses, an SMS code needed, an unknown sale) keeps the service's
code. 4xx: the plugin must not repeat the call unchanged. An unexpected failure is
logged (``cloud.adapter_errors``) and answered 503 (``retry_later``: the plugin keeps the
event and sends it again).
"""

from __future__ import annotations

import orjson
from aiohttp import web

from cloud.adapter_errors import Failure, adapter_error_middleware

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


def _render(failure: Failure) -> web.Response:
    if failure.code in ("malformed_json", "validation_error"):
        detail = failure.message.removeprefix("Ошибка в данных: ")
        return error(invalid_code(failure.path), f"{INVALID_MESSAGE}: {detail}"[:500], 400)
    if failure.status >= 500:
        return error("retry_later", "Сервер лояльности недоступен, повторите позже", 503)
    return error(failure.code, failure.message, failure.status)


modulkassa_error_middleware = adapter_error_middleware(_render, "loyalty.modulkassa")
