"""The OpenAPI 3.1 document of the 1C API (served at ``/1c/v1/openapi.json``), with the
exchanges of ``fixtures/onec/`` as examples: the contract tests replay the same bytes,
and a test holds the BSL module (``docs/1c/``) to these paths and keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from cloud.openapi_document import openapi_document
from schemas import onec
from schemas.money import WireJsonSchema

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "onec"
PREFIX = "/1c/v1"

OPERATIONS: list[tuple[str, str, str, type[BaseModel], type[BaseModel]]] = [
    ("/customers/lookup", "Клиент по телефону или карте",
     "Name, masked phone, tier, spendable and pending bonuses, bonuses lapsing within 30 "
     "days. Unknown: 404 customer_not_found.",
     onec.CustomerLookupRequest, onec.CustomerAnswer),
    ("/sms-codes", "Код из SMS клиенту (оплата бонусами или регистрация)",
     "purpose redeem before /receipts/hold when the program asks for a code, "
     "registration before /customers/register. Idempotent on requestId (a repeat sends "
     "no second SMS).", onec.SmsCodeRequest, onec.SmsCodeAnswer),
    ("/customers/register", "Регистрация клиента на кассе",
     "With the code from SMS and the consents; idempotent on requestId.",
     onec.RegisterRequest, onec.CustomerAnswer),
    ("/receipts/calc", "Расчёт чека: скидки и начисление по строкам, максимум оплаты бонусами",
     "Apply lines[].discount to each line; show messages to the cashier.",
     onec.CalcRequest, onec.CalcAnswer),
    ("/receipts/hold", "Оплата бонусами: резерв",
     "Replaces the receipt's earlier reserve; smsCode when the program asks for one. "
     "Idempotent on requestId.", onec.HoldRequest, onec.HoldAnswer),
    ("/receipts/confirm", "Чек закрыт: списание и начисление",
     "After the ЧекККМ is punched. saleDate: the receipt's date (store time). Idempotent "
     "on receiptId: a repeat returns the first answer. The punched receipt is recorded "
     "whatever happened to its reserve: bonuses it can no longer debit (the reserve lapsed, "
     "they were spent meanwhile) are not, and redeemed says what was.", onec.ConfirmRequest,
     onec.ConfirmAnswer),
    ("/receipts/cancel", "Чек отменён: резерв снимается",
     "Idempotent on receiptId.", onec.CancelRequest, onec.CancelAnswer),
    ("/receipts/return", "Возврат (полный или по строкам)",
     "Against a confirmed receipt; lines by the sale's line ids, partial by quantity; "
     "idempotent on returnId.", onec.ReturnRequest, onec.ReturnAnswer),
]  # fmt: skip

_ERRORS = {
    "400": "Тело не по контракту (malformed_json, validation_error, invalid_phone, "
           "invalid_card, customer_required, consent_required, sms_code_required)",
    "401": "Нет или неверные учётные данные (onec_missing_credentials, onec_bad_credentials, "
           "onec_wrong_login, invalid_token, wrong_channel); с заголовком WWW-Authenticate",
    "402": "Обслуживание приостановлено (merchant_suspended)",
    "404": "Клиент или чек не найден (customer_not_found, receipt_not_found)",
    "409": "Чек уже закрыт; ключ идемпотентности использован для другого запроса; клиент "
           "или карта уже зарегистрированы (receipt_closed, idempotency_key_reused, "
           "idempotency_in_progress, customer_exists, card_taken)",
    "422": "Отказ по правилам программы: не хватает бонусов, нужен или неверен код из SMS "
           "(insufficient_bonuses, sms_code_required, sms_code_invalid, …)",
    "429": "Слишком много SMS-кодов (sms_rate_limited, too_many_codes)",
}  # fmt: skip


def exchanges() -> list[dict[str, Any]]:
    """The fixture day: ``exchanges.json`` names each request's raw file and answer."""
    return list(json.loads((FIXTURES / "exchanges.json").read_text()))


def _examples(path: str, part: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for step in exchanges():
        if step["path"] == PREFIX + path and step["status"] == 200 and part in step:
            text = (FIXTURES / step[part]).read_bytes().removeprefix(b"\xef\xbb\xbf")
            found[step[part].rsplit(".", 2)[0]] = {"value": json.loads(text)}
    return found


def _error_responses(error: dict[str, Any]) -> dict[str, Any]:
    return {status: {"description": text, "content": error} for status, text in _ERRORS.items()}


def onec_openapi() -> dict[str, Any]:
    requests: list[type[BaseModel]] = [onec.ErrorBody]
    requests += [request for *_, request, _ in OPERATIONS]
    answers: list[type[BaseModel]] = [answer for *_, answer in OPERATIONS] + [onec.PingAnswer]
    _, schema = models_json_schema(
        [(m, "validation") for m in requests] + [(m, "serialization") for m in answers],
        ref_template="#/components/schemas/{model}",
        schema_generator=WireJsonSchema,
    )
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    security: list[dict[str, list[str]]] = [{"basic": []}, {"bearer": []}]
    paths: dict[str, Any] = {}
    for path, summary, description, request_model, response_model in OPERATIONS:
        paths[PREFIX + path] = {"post": {
            "operationId": path.strip("/").replace("/", "_").replace("-", "_"),
            "summary": summary, "description": description, "security": security,
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{request_model.__name__}"},
                "examples": _examples(path, "request")}}},
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {
                    "schema": {"$ref": f"#/components/schemas/{response_model.__name__}"},
                    "examples": _examples(path, "response")}}},
                **_error_responses(error),
            },
        }}  # fmt: skip
    paths[PREFIX + "/ping"] = {"get": {
        "operationId": "ping", "summary": "Проверка соединения и учётных данных",
        "security": security,
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/PingAnswer"}}}},
            "401": {"description": _ERRORS["401"], "content": error},
            "402": {"description": _ERRORS["402"], "content": error},
        },
    }}  # fmt: skip
    return openapi_document(
        "Loyalty cloud: API for 1C (Розница, УТ, УНФ)",
        (
            "What the ЛояльностьОблако module of a 1C configuration calls (docs/1c/). "
            "UTF-8 JSON, a BOM is accepted; flat camelCase keys; amounts JSON numbers "
            "with two places, quantities three; date-times ISO 8601 without an offset "
            "in the store's time zone (ФорматДатыJSON.ISO); phones 11 digits. "
            "Authorization: Basic (login = the terminal's name, UTF-8 or cp1251; "
            "password = its token) or Bearer <token>. Errors: 4xx with "
            '{"code", "message"} in Russian. Every mutating call carries its '
            "idempotency key in the body (requestId, receiptId, returnId)."
        ),
        paths,
        schema.get("$defs", {}),
        {
            "basic": {
                "type": "http",
                "scheme": "basic",
                "description": "имя терминала : токен терминала канала 1c",
            },
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "токен терминала канала 1c",
            },
        },
    )
