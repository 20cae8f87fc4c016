"""Evotor's error body, ``{"errors": [{"code": 1001, "reason": ..., "subject": ...}]}``.

Every failure inside the Evotor sub-app leaves in this shape (contract section 4), with
the HTTP status Evotor expects: a wrong app token is 401/1001, a wrong user token
401/1002, a lapsed subscription 402/1004 (``reason: "payment required"``, ``subject:
"userUuid"``), an unknown device 402/1005 (``"not allowed"``, ``"deviceUuid"``), wrong
credentials on ``/user/verify`` 401/1006, malformed JSON 400/2001, a missing field
400/2002 (``"missing"``), an invalid value 400/2003 (``"incorrect"``), an account linked
elsewhere 409/2004, an existing account 409/2005. Other refusals of our services (not
enough bonuses, a closed receipt) keep their HTTP status and carry code 2003 with our
own code as ``reason`` and a Russian ``message`` the terminal app can show. Unexpected
failures are logged with their traceback and answered 500 in the same shape, never with
a stack trace.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
import structlog
from aiohttp import web
from pydantic import ValidationError

from cloud.engine.types import EngineError
from cloud.errors import DomainError
from cloud.observability.metrics import tag_error
from cloud.validation import error_message
from schemas.evotor import EvotorErrorBody, EvotorErrorItem

log = structlog.get_logger("loyalty.evotor")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

EVOTOR_USER = web.RequestKey("evotor_user", str)
"""The Evotor user id of the authenticated caller (the ``value`` of a 1004)."""

BAD_APP_TOKEN = 1001
BAD_USER_TOKEN = 1002
TOKEN_EXPIRED = 1003
PAYMENT_REQUIRED = 1004
DEVICE_NOT_LICENSED = 1005
WRONG_CREDENTIALS = 1006
DEVICE_LIMIT = 1007
SYNTAX = 2001
MISSING = 2002
INCORRECT = 2003
ALREADY_LINKED = 2004
ACCOUNT_EXISTS = 2005

# Domain error code -> (Evotor code, reason, subject)
_BY_DOMAIN_CODE: dict[str, tuple[int, str | None, str | None]] = {
    "evotor_bad_app_token": (BAD_APP_TOKEN, "unauthorized", None),
    "evotor_bad_user_token": (BAD_USER_TOKEN, "unauthorized", None),
    "invalid_token": (BAD_USER_TOKEN, "unauthorized", None),
    "evotor_payment_required": (PAYMENT_REQUIRED, "payment required", "userUuid"),
    "merchant_suspended": (PAYMENT_REQUIRED, "payment required", "userUuid"),
    "evotor_unknown_device": (DEVICE_NOT_LICENSED, "not allowed", "deviceUuid"),
    "evotor_device_limit": (DEVICE_LIMIT, "license overhead", "deviceUuid"),
    "evotor_wrong_credentials": (WRONG_CREDENTIALS, "unauthorized", None),
    "evotor_already_linked": (ALREADY_LINKED, "already linked", "userId"),
    "evotor_account_exists": (ACCOUNT_EXISTS, "already exists", "userId"),
    "evotor_unknown_user": (INCORRECT, "incorrect", "userId"),
    "malformed_json": (SYNTAX, "syntax", None),
    "evotor_missing_device": (MISSING, "missing", "X-Evotor-Device-UUID"),
    # Refusals of the customer hooks and the bonus payment keep our code as the reason
    # and name the field the cashier has to fix.
    "sms_code_required": (INCORRECT, "sms_code_required", "smsCode"),
    "sms_code_invalid": (INCORRECT, "sms_code_invalid", "smsCode"),
    "sms_code_expired": (INCORRECT, "sms_code_expired", "smsCode"),
    "sms_code_not_found": (INCORRECT, "sms_code_not_found", "smsCode"),
    "sms_code_attempts_exceeded": (INCORRECT, "sms_code_attempts_exceeded", "smsCode"),
    "consent_required": (INCORRECT, "consent_required", "consentPersonalData"),
    "customer_exists": (INCORRECT, "customer_exists", "phone"),
    "card_taken": (INCORRECT, "card_taken", "card"),
    "referrer_not_found": (INCORRECT, "referrer_not_found", "referrer"),
    "self_referral": (INCORRECT, "self_referral", "referrer"),
}


class EvotorFailure(Exception):
    """An error already in Evotor's terms (used where no domain error exists)."""

    def __init__(self, status: int, item: EvotorErrorItem) -> None:
        super().__init__(item.message or item.reason or str(item.code))
        self.status = status
        self.item = item


def error_response(status: int, *items: EvotorErrorItem) -> web.Response:
    body = EvotorErrorBody(errors=list(items)).model_dump(mode="json", exclude_none=True)
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def from_domain(exc: DomainError, value: str | None = None) -> web.Response:
    code, reason, subject = _BY_DOMAIN_CODE.get(
        exc.code, (PAYMENT_REQUIRED if exc.status == 402 else INCORRECT, exc.code, None)
    )
    return error_response(
        exc.status,
        EvotorErrorItem(
            code=code, reason=reason, subject=subject, value=value, message=exc.message
        ),
    )


def from_validation(exc: ValidationError, prefix: str = "") -> web.Response:
    """The first errors of a body that does not fit the shape: 2002 for a missing
    field, 2003 for an invalid one; ``subject`` is the field's path."""
    items = []
    for error in exc.errors()[:5]:
        path = ".".join(str(part) for part in error["loc"])
        subject = f"{prefix}{path}" if path else (prefix.rstrip(".") or None)
        missing = error["type"] == "missing"
        value = error.get("input")
        items.append(
            EvotorErrorItem(
                code=MISSING if missing else INCORRECT,
                reason="missing" if missing else "incorrect",
                subject=subject,
                value=None if missing or isinstance(value, dict | list) else str(value)[:200],
                message=error_message(error),
            )
        )
    return error_response(400, *items)


def _http_error(exc: web.HTTPException) -> web.Response:
    reason = {404: "not found", 405: "method not allowed", 413: "too large"}.get(
        exc.status, "incorrect"
    )
    response = error_response(exc.status, EvotorErrorItem(code=INCORRECT, reason=reason))
    if isinstance(exc, web.HTTPMethodNotAllowed):
        # RFC 9110: a 405 names the methods the address serves.
        response.headers["Allow"] = ", ".join(sorted(exc.allowed_methods))
    return response


@web.middleware
async def evotor_error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except EvotorFailure as exc:
        return error_response(exc.status, exc.item)
    except DomainError as exc:
        if exc.status >= 500:
            log.error("evotor_domain_error", code=exc.code, path=request.path)
        user = request.get(EVOTOR_USER) or request.headers.get("X-Evotor-User-Id")
        value = user if exc.code in ("evotor_payment_required", "merchant_suspended") else None
        if exc.code in ("evotor_unknown_device", "evotor_device_limit"):
            value = request.headers.get("X-Evotor-Device-UUID")
        response = from_domain(exc, value)
        tag_error(response, exc.code)
        return response
    except EngineError as exc:
        response = error_response(
            422, EvotorErrorItem(code=INCORRECT, reason=exc.code, message=exc.message)
        )
        tag_error(response, exc.code)
        return response
    except ValidationError as exc:
        return from_validation(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _http_error(exc)
    except Exception:
        log.exception("evotor_unhandled_error", path=request.path)
        return error_response(
            500,
            EvotorErrorItem(
                code=INCORRECT, reason="internal error",
                message="Внутренняя ошибка сервиса, повторите позже",
            ),
        )  # fmt: skip
