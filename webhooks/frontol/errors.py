"""Every failure of the Frontol adapter in Frontol's shape: ``{"code": -1, "error": "…"}``.

Business refusals (not enough bonuses, an unknown sale, a wrong SMS code), a body that
does not fit and malformed JSON are HTTP 200 with ``code`` -1 and a Russian ``error`` the
cashier reads: that is what all three public servers answer, and Frontol shows the text.
A bad signature is 401 in the same shape; an unknown address or method keeps its status.
An unexpected failure is logged with its traceback (``cloud.adapter_errors``) and
answered 200/-1 too: never a 500, never a stack trace. A temporary failure (the database
restarting) is 503 in the same shape: nothing was recorded, and a status other than 200 is
what Frontol treats as the server out of reach, so it sends the receipt again.
"""

from __future__ import annotations

from aiohttp import web

from cloud.adapter_errors import Failure, adapter_error_middleware
from cloud.web_json import json_response
from schemas.frontol import Answer

FAILED = -1


def failure(message: str, status: int = 200) -> web.Response:
    body = Answer(code=FAILED, error=message).model_dump(exclude_none=True)
    return json_response(body, status=status)


def _render(failure_: Failure) -> web.Response:
    kept = failure_.status in (401, 503) or isinstance(failure_.error, web.HTTPException)
    return failure(failure_.message, failure_.status if kept else 200)


frontol_error_middleware = adapter_error_middleware(_render, "loyalty.frontol")
