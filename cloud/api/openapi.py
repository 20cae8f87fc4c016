"""The OpenAPI 3.1 document of the native API, generated from the route tables, the wire
models and the registry of error codes (``schemas.errors``).

The document is the contract integrators and the schema fuzzing test build against:
paths carry plain ``{name}`` templates with typed, bounded parameters; success statuses
are the ones the handlers answer (201 where something is created); and each operation
lists, per HTTP status, every error code it may answer with its Russian message.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from cloud.api.middleware import MERCHANT_PATHS, OPERATOR_PATHS, PUBLIC_PATHS
from cloud.openapi_document import openapi_document
from schemas.bounds import BIGINT_MAX, INT_MAX
from schemas.errors import ERRORS, ErrorBody, errors_for
from schemas.money import WireJsonSchema


class Param(NamedTuple):
    name: str
    location: str  # "query" or "header"
    description: str
    schema: dict[str, Any]
    required: bool = False


class Operation(NamedTuple):
    method: str
    path: str  # as routed: may hold aiohttp patterns, e.g. {version:\d+}
    summary: str
    request: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int = 200
    other_statuses: tuple[int, ...] = ()
    parameters: tuple[Param, ...] = ()
    description: str = ""
    request_media: tuple[str, ...] = ()
    """Media types of a body that is a file, not JSON (the customer base import)."""
    response_media: str | None = None
    """The media type of an answer that is a file (the customer base export)."""


PATH_PARAMS: dict[str, dict[str, Any]] = {
    "version": {"type": "integer", "minimum": 1, "maximum": INT_MAX,
                "description": "номер версии программы"},
    "customer_id": {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX,
                    "description": "идентификатор клиента"},
    "store_id": {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX,
                 "description": "идентификатор магазина"},
    "terminal_id": {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX,
                    "description": "идентификатор терминала"},
    "key_id": {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX,
               "description": "идентификатор ключа компании"},
    "mailing_id": {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX,
                   "description": "идентификатор рассылки"},
    "feedback_id": {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX,
                    "description": "идентификатор отзыва"},
    "certificate_id": {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX,
                       "description": "идентификатор подарочного сертификата"},
    "drive_id": {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX,
                 "description": "идентификатор фискального накопителя"},
    "installation_id": {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX,
                        "description": "идентификатор подключения МойСклад"},
    "campaign_id": {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX,
                    "description": "идентификатор купонной акции"},
    "merchant_id": {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX,
                    "description": "идентификатор компании"},
}  # fmt: skip

# {name} or {name:regex}, where the regex may hold braces of its own ({1,19}).
_TEMPLATE = re.compile(r"\{(\w+)(?::(?:[^{}]|\{[^{}]*\})*)?\}")
_SUCCESS = {200: "OK", 201: "Создано"}
_FILE = {"type": "string", "format": "binary"}


def public_path(path: str) -> str:
    """``/api/v1/programs/{version:\\d+}`` -> ``/api/v1/programs/{version}``."""
    return _TEMPLATE.sub(r"{\1}", path)


# What an operation may answer beyond the common errors, by its public path: the scopes
# of schemas.errors.ERRORS.
_PATH_SCOPES: dict[str, set[str]] = {
    "/api/v1/checkout/refund": {"checkout", "refund"},
    "/api/v1/customers": {"register"},
    "/api/v1/customers/lookup": {"lookup"},
    "/api/v1/customers/{customer_id}": {"customer"},
    "/api/v1/customers/{customer_id}/history": {"customer", "history"},
    "/api/v1/customers/{customer_id}/cards": {"customer", "cards"},
    "/api/v1/programs/{version}/preview": {"programs", "checkout"},
    "/api/v1/merchant/customers": {"admin_search"},
    "/api/v1/merchant/customers/import": {"import"},
    "/api/v1/merchant/customers/{customer_id}": {"customer"},
    "/api/v1/merchant/customers/{customer_id}/lots": {"customer", "admin_page"},
    "/api/v1/merchant/customers/{customer_id}/movements": {"customer", "admin_page"},
    "/api/v1/merchant/customers/{customer_id}/block": {"customer"},
    "/api/v1/merchant/customers/{customer_id}/unblock": {"customer"},
    "/api/v1/merchant/customers/{customer_id}/adjustments": {"customer", "adjust"},
    "/api/v1/merchant/customers/{customer_id}/referrer": {"customer", "referrer"},
    "/api/v1/merchant/customers/{customer_id}/cards": {"customer", "cards"},
    "/api/v1/operator/merchants": {"operator"},
    "/api/v1/operator/merchants/{merchant_id}/plan": {"operator", "plans"},
    "/api/v1/merchant/usage": {"usage"},
    "/api/v1/stores": {"stores"},
    "/api/v1/stores/{store_id}": {"stores", "store"},
    "/api/v1/terminals": {"terminals"},
    "/api/v1/terminals/{terminal_id}/tokens": {"terminal_tokens"},
    "/api/v1/terminals/{terminal_id}/signing-secret": {"signing"},
    "/api/v1/terminals/{terminal_id}/signing-secret/revoke": {"signing"},
    "/api/v1/terminal-tokens/revoke": {"revoke"},
    "/api/v1/merchant/keys": {"keys"},
    "/api/v1/merchant/keys/rotate": {"keys"},
    "/api/v1/merchant/keys/{key_id}/revoke": {"keys", "key"},
    "/ready": {"ready"},
    "/metrics": {"metrics"},
    "/api/v1/merchant/mailings/preview": {"mailings"},
    "/api/v1/merchant/mailings": {"mailings", "mailing_send"},
    "/api/v1/merchant/mailings/{mailing_id}": {"mailing"},
    "/api/v1/merchant/message-templates": {"templates"},
    "/api/v1/merchant/join-links": {"join_links"},
    "/api/v1/merchant/feedback": {"feedback_list"},
    "/api/v1/merchant/feedback/nps": {"feedback_list"},
    "/api/v1/merchant/feedback/{feedback_id}/reply": {"feedback"},
    "/api/v1/merchant/reports/reanimation": {"reports"},
    "/api/v1/merchant/telegram-bot": {"telegram"},
    "/api/v1/merchant/frontol": {"frontol"},
    "/api/v1/merchant/moysklad/installations": {"moysklad"},
    "/api/v1/merchant/moysklad/installations/{installation_id}/revoke": {
        "moysklad",
        "moysklad_installation",
    },
    "/api/v1/merchant/product-catalogue": {"catalogue", "catalogue_read"},
    "/api/v1/merchant/product-catalogue/export": {"catalogue_read"},
    "/api/v1/merchant/fiscal": {"fiscal"},
    "/api/v1/merchant/fiscal/drives": {"fiscal_drives"},
    "/api/v1/merchant/fiscal/drives/{drive_id}": {"fiscal_drive"},
    "/api/v1/merchant/fiscal/claims": {"fiscal_claims"},
    "/api/v1/merchant/gift-certificates": {"gift_issue", "gift_list"},
    "/api/v1/merchant/gift-certificates/{certificate_id}": {"gift_certificate"},
    "/api/v1/merchant/gift-certificates/{certificate_id}/void": {"gift_certificate"},
    "/api/v1/merchant/reports/gift-certificates": {"reports"},
    "/api/v1/gift-certificates/status": {"gift_till"},
    "/api/v1/gift-certificates/sell": {"gift_till"},
    "/api/v1/merchant/coupon-campaigns": {"coupon_campaigns"},
    "/api/v1/merchant/coupon-campaigns/{campaign_id}": {"coupon_campaign"},
    "/api/v1/merchant/coupon-campaigns/{campaign_id}/coupons": {"coupon_campaign"},
    "/api/v1/merchant/coupon-campaigns/{campaign_id}/coupons.csv": {"coupon_campaign"},
    "/api/v1/merchant/coupon-campaigns/{campaign_id}/print": {"coupon_campaign"},
    "/api/v1/merchant/coupon-campaigns/{campaign_id}/revoke": {"coupon_campaign", "coupon_revoke"},
    "/bridge/v1/program": {"bridge_program"},
    "/bridge/v1/customers": {"bridge_customers"},
}
MERCHANT_CUSTOMERS = "/api/v1/merchant/customers"
"""The merchant's customer administration (merchant key, like program versions)."""


def credential_of(path: str) -> str:
    """Which credential a path takes (as the middleware dispatches): ``public`` (the
    probes), ``operator``, ``merchant`` (the merchant's key) or ``terminal``."""
    if path in PUBLIC_PATHS:
        return "public"
    if path.startswith(OPERATOR_PATHS):
        return "operator"
    return "merchant" if path.startswith(MERCHANT_PATHS) else "terminal"


def _scopes(operation: Operation, path: str) -> set[str]:
    if credential_of(path) == "public":
        return _PATH_SCOPES.get(path, set())
    scopes = {"auth"}
    if operation.request is not None:
        scopes.add("body")
    if "{" in path:
        scopes.add("path")
    if path.startswith("/api/v1/programs"):
        scopes.add("programs")
    elif path.startswith(MERCHANT_CUSTOMERS):
        scopes.add("customers_admin")
    elif credential_of(path) == "terminal":
        scopes.add("terminal")
    for prefix, scope in (("/api/v1/checkout/", "checkout"), ("/api/v1/sms-codes", "sms")):
        if path.startswith(prefix):
            scopes.add(scope)
    return scopes | _PATH_SCOPES.get(path, set())


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _error_responses(scopes: set[str]) -> dict[str, Any]:
    by_status: dict[int, list[tuple[str, str]]] = {}
    for error in errors_for(scopes):
        by_status.setdefault(error.status, []).append((error.code, error.message))
    responses: dict[str, Any] = {}
    for status, codes in sorted(by_status.items()):
        schema = {"allOf": [_ref(ErrorBody), {"properties": {
            "code": {"enum": sorted({code for code, _ in codes})}}}]}  # fmt: skip
        examples = {
            f"{code}-{status}": {"summary": message, "value": {"code": code, "message": message}}
            for code, message in codes
        }
        responses[str(status)] = {
            "description": "; ".join(f"`{code}` — {message}" for code, message in codes),
            "content": {"application/json": {"schema": schema, "examples": examples}},
        }
    return responses


_SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "public": [],
    "operator": [{"operatorToken": []}],
    "merchant": [{"merchantKey": []}],
    "terminal": [{"bearer": []}, {"basic": []}],
}


def _operation(operation: Operation, path: str) -> dict[str, Any]:
    credential = credential_of(path)
    success: dict[str, Any] = {"description": _SUCCESS.get(operation.status, "OK")}
    if operation.response is not None:
        success["content"] = {"application/json": {"schema": _ref(operation.response)}}
    elif operation.response_media is not None:
        success["content"] = {operation.response_media: {"schema": _FILE}}
    responses: dict[str, Any] = {str(operation.status): success}
    for status in operation.other_statuses:
        responses[str(status)] = {**success, "description": _SUCCESS.get(status, "OK")}
    responses.update(_error_responses(_scopes(operation, path)))
    parameters: list[dict[str, Any]] = []
    for name in _TEMPLATE.findall(operation.path):
        schema = dict(PATH_PARAMS[name])
        parameters.append({"name": name, "in": "path", "required": True,
                           "description": schema.pop("description"), "schema": schema})  # fmt: skip
    for param in operation.parameters:
        parameters.append({"name": param.name, "in": param.location, "required": param.required,
                           "description": param.description, "schema": param.schema})  # fmt: skip
    api = path.startswith("/api/v1/")
    document: dict[str, Any] = {
        "operationId": operation.method.lower()
        + re.sub(r"\W+", "_", path[len("/api/v1") :] if api else path),
        "summary": operation.summary,
        "tags": [path.split("/")[3] if api else "service"],
        "security": _SECURITY[credential],
        "responses": responses,
    }
    if operation.description:
        document["description"] = operation.description
    if parameters:
        document["parameters"] = parameters
    if operation.request_media:
        document["requestBody"] = {
            "required": True,
            "content": {media: {"schema": _FILE} for media in operation.request_media},
        }
    if operation.request is not None:
        document["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(operation.request)}},
        }
    return document


def _codes_table() -> str:
    rows = "\n".join(
        f"| `{error.code}` | {error.status} | {error.message} |"
        for error in sorted(ERRORS, key=lambda error: (error.status, error.code))
    )
    return f"| код | HTTP | сообщение |\n|---|---|---|\n{rows}"


def build_openapi(operations: list[Operation]) -> dict[str, Any]:
    models: set[type[BaseModel]] = {ErrorBody}
    for operation in operations:
        models.update(m for m in (operation.request, operation.response) if m is not None)
    ordered = sorted(models, key=lambda m: m.__name__)
    _, schema = models_json_schema(
        [(m, "validation") for m in ordered],
        ref_template="#/components/schemas/{model}",
        schema_generator=WireJsonSchema,
    )
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        path = public_path(operation.path)
        paths.setdefault(path, {})[operation.method.lower()] = _operation(operation, path)
    return openapi_document(
        "Loyalty cloud API",
        "Native API v1: checkout protocol, customers, program versions and "
        "administration (operator: merchants; merchant key: stores, terminals, tokens, keys). "
        "Amounts are roubles as JSON numbers with at most two places (at most "
        "99 999 999.99 per amount), quantities have at most three (at most 99 999.999); "
        "instants are ISO 8601 with an offset, from 2000-01-01 to 2099-12-31. Strings "
        "must not contain NUL. Errors are {code, message} with a Russian message; every "
        "code an operation may answer is listed under its status.\n\n" + _codes_table(),
        paths,
        schema.get("$defs", {}),
        {
            "bearer": {"type": "http", "scheme": "bearer", "description": "the terminal's token"},
            "basic": {
                "type": "http",
                "scheme": "basic",
                "description": "any user name, the terminal token as password",
            },
            "merchantKey": {
                "type": "http",
                "scheme": "bearer",
                "description": "the merchant's API key (program versions, "
                "customers, stores, terminals, tokens, keys)",
            },
            "operatorToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "the platform operator's token (LOYALTY_OPERATOR_TOKEN)",
            },
        },
    )
