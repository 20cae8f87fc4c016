"""The OpenAPI 3.1 document of what the МойСклад adapter accepts (served at
``/moysklad/v1/openapi.json``), with the published reference's examples
(``fixtures/moysklad/``) as request examples: the contract tests replay the same files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from cloud.openapi_document import openapi_document
from schemas import moysklad as ms
from schemas.money import WireJsonSchema

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "moysklad"
PREFIX = "/moysklad/v1"

# path, operation id, summary, request model, fixture, answer model (None: 201, no body)
OPERATIONS: list[tuple[str, str, str, type[BaseModel], str, type[BaseModel] | None]] = [
    ("/counterparty", "counterparty_create", "Регистрация покупателя (412/28001, пока "
     "покупатель не подтвердил телефон кодом)", ms.CounterpartyIn,
     "counterparty.create.request.json", ms.CounterpartyRow),
    ("/counterparty/detail", "counterparty_detail", "Баланс баллов покупателя",
     ms.CounterpartyIn, "counterparty.detail.request.json", ms.DetailResponse),
    ("/counterparty/verify", "counterparty_verify", "Код подтверждения регистрации",
     ms.CounterpartyIn, "counterparty.verify.request.json", ms.VerifyResponse),
    ("/retaildemand/recalc", "retaildemand_recalc", "Расчёт скидок и баллов (ничего не "
     "записывает)", ms.RecalcRequest, "retaildemand.recalc.request.json", ms.RecalcResponse),
    ("/retaildemand/verify", "retaildemand_verify", "Код подтверждения списания баллов",
     ms.DemandVerifyRequest, "retaildemand.verify.request.json", ms.VerifyResponse),
    ("/retaildemand", "retaildemand_create", "Продажа: списание и начисление (201; "
     "повтор ничего не меняет)", ms.RetailDemand, "retaildemand.request.json", None),
    ("/retailsalesreturn", "retailsalesreturn_create", "Возврат по продаже demand.meta: "
     "баллы пересчитываются по связанной продаже (201)", ms.RetailSalesReturn,
     "retailsalesreturn.request.json", None),
]  # fmt: skip

_ERRORS = {
    "400": "Тело не по контракту (malformed_json, validation_error, "
           "moysklad_document_id_required, moysklad_phone_required, invalid_phone, "
           "moysklad_giftcard_required, moysklad_gift_sum)",
    "401": "Нет или неверный токен Lognex-Discount-API-Auth-Token (moysklad_missing_token, "
           "moysklad_bad_token)",
    "402": "Обслуживание приостановлено (merchant_suspended)",
    "404": "Покупатель, продажа или сертификат не найдены (customer_not_found, "
           "receipt_not_found, gift_certificate_not_found)",
    "409": "Конфликт (customer_exists, card_taken, idempotency_conflict)",
    "412": "Нужно подтверждение регистрации кодом (moysklad_verification_required, "
           "errors[].code 28001)",
    "413": "Слишком большое тело запроса (too_large)",
    "422": "Отказ по правилам программы (insufficient_bonuses, redeem_exceeds_limit, "
           "sms_code_required, sms_code_invalid, sms_code_expired, gift_certificate_used, "
           "gift_certificate_expired, gift_certificate_insufficient, …)",
    "429": "Слишком много кодов (sms_rate_limited, too_many_codes)",
}  # fmt: skip


def example(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


SECURITY: list[dict[str, list[str]]] = [{"installationToken": []}]


def moysklad_openapi() -> dict[str, Any]:
    requests: list[type[BaseModel]] = [m for _, _, _, m, _, _ in OPERATIONS]
    answers: list[type[BaseModel]] = [ms.ErrorResponse, ms.SearchResponse, ms.GiftCardOut]
    answers += [a for *_, a in OPERATIONS if a is not None]
    _, schema = models_json_schema(
        [(m, "validation") for m in dict.fromkeys(requests)]
        + [(m, "serialization") for m in dict.fromkeys(answers)],
        ref_template="#/components/schemas/{model}",
        schema_generator=WireJsonSchema,
    )
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
    errors = {status: {"description": text, "content": error} for status, text in _ERRORS.items()}
    paths: dict[str, Any] = {
        PREFIX + "/counterparty": {"get": {
            "operationId": "counterparty_search",
            "summary": "Поиск покупателя по телефону (в любом формате), номеру карты или "
                       "нашему идентификатору",
            "security": SECURITY,
            "parameters": [
                {"name": "search", "in": "query", "required": True,
                 "schema": {"type": "string", "minLength": 1, "maxLength": 128}},
                {"name": "retailStoreId", "in": "query", "required": True,
                 "schema": {"type": "string", "minLength": 1, "maxLength": 64}}],
            "responses": {"200": {"description": "OK", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/SearchResponse"},
                "example": example("counterparty.search.response.json")}}}, **errors},
        }},
        PREFIX + "/giftcard": {"get": {
            "operationId": "giftcard_find",
            "summary": "Подарочный сертификат по номеру: статус, остаток и начальная сумма в "
                       "копейках (404 gift_certificate_not_found, если такого нет)",
            "security": SECURITY,
            "parameters": [
                {"name": "name", "in": "query", "required": True,
                 "schema": {"type": "string", "minLength": 1, "maxLength": 64}},
                {"name": "retailStoreId", "in": "query", "required": True,
                 "schema": {"type": "string", "minLength": 1, "maxLength": 64}}],
            "responses": {"200": {"description": "OK", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/GiftCardOut"},
                "example": example("giftcard.response.json")}}}, **errors},
        }},
    }  # fmt: skip
    for path, operation_id, summary, model, fixture, answer in OPERATIONS:
        ok: dict[str, Any] = {"description": "Создано" if answer is None else "OK"}
        if answer is not None:
            ok["content"] = {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{answer.__name__}"}}
            }
        status = (
            "201" if path in ("/counterparty", "/retaildemand", "/retailsalesreturn") else "200"
        )
        paths.setdefault(PREFIX + path, {})["post"] = {
            "operationId": operation_id,
            "summary": summary,
            "security": SECURITY,
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{model.__name__}"},
                "example": example(fixture)}}},
            "responses": {status: ok, **errors},
        }  # fmt: skip
    return openapi_document(
        "Loyalty cloud: МойСклад Loyalty API 1.0",
        (
            "What МойСклад's till sends to an external loyalty system (Loyalty API 1.0, "
            "github.com/moysklad/api-loyalty-1.0-doc). Base address /moysklad/v1; every "
            "request carries Lognex-Discount-API-Auth-Token (an installation token from "
            "POST /api/v1/merchant/moysklad/installations). Amounts: JSON numbers or "
            "numeric strings, read exactly, two places (quantities three). Errors: the "
            'reference\'s {"errors": [{error, parameter, code, error_message}]} plus our '
            '{"code", "message"}, Russian text. See docs/moysklad.md.'
        ),
        paths,
        schema.get("$defs", {}),
        {
            "installationToken": {
                "type": "apiKey",
                "in": "header",
                "name": "Lognex-Discount-API-Auth-Token",
                "description": "the installation's token, issued by POST "
                "/api/v1/merchant/moysklad/installations",
            }
        },
    )
