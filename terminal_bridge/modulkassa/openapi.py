"""The OpenAPI 3.1 document of what the Модулькасса adapter accepts (served at
``/modulkassa/v1/openapi.json``): the contract our Android plugin is built against, with
the exchanges of ``fixtures/modulkassa`` (a store's day, in order) as examples; the
contract tests replay the same files. ``docs/modulkassa.md`` tells the story."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from cloud.openapi_document import openapi_document
from schemas import modulkassa as mk
from schemas.money import WireJsonSchema

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "modulkassa"
PREFIX = "/modulkassa/v1/"


def day() -> list[dict[str, Any]]:
    """The example exchanges in order (``NN-<path>.json``: path, request, status,
    response)."""
    return [json.loads(path.read_text()) for path in sorted(FIXTURES.glob("[0-9]*.json"))]


OPERATIONS: list[tuple[str, str, str, type[BaseModel], type[BaseModel]]] = [
    ("loyalty-request", "Расчёт чека: цены позиций после скидки и оплаты бонусами",
     "Send the SDK's LoyaltyRequest as it came to the plugin (loyalty-request operation), "
     "plus what the plugin's screen asked: customerPhone / customerCard, spendBonuses, "
     "smsCode. Hand impacts, data and printableData to callback.succeeded as the SDK's "
     "LoyaltyResult; show details.messages. Repeating prices the receipt again and "
     "replaces the earlier spend (none given: the earlier spend is released).",
     mk.LoyaltyRequest, mk.LoyaltyResult),
    ("events", "События чека: CHECK_CLOSED (SALE, RETURN), CHECK_CANCELLED",
     "Forward the broadcast: checkId (check_id), linkedId, checkSum, check (the Check "
     "JSON), plus loyaltyData (the data this check's loyalty-request answered), the "
     "customer for a check never sent to loyalty, and saleId for a RETURN (the sale's "
     "loyaltyData, else its checkId). Idempotent: a repeat answers the first answer.",
     mk.CheckEvent, mk.EventResult),
    ("sms-code", "Код из SMS для списания бонусов",
     "When the program asks for a code to spend bonuses (answer sms_code_required): send "
     "the customer a code, then repeat the loyalty-request with smsCode.",
     mk.SmsCodeRequest, mk.SmsCodeResult),
]  # fmt: skip


def _examples(path: str, status: int) -> tuple[dict[str, Any], dict[str, Any]]:
    requests: dict[str, Any] = {}
    answers: dict[str, Any] = {}
    for number, exchange in enumerate(day(), 1):
        if exchange["path"] != path:
            continue
        name = f"{number:02d}"
        if exchange.get("status", 200) == 200:
            requests[name] = {"summary": exchange["summary"], "value": exchange["request"]}
        if exchange.get("status", 200) == status:
            answers[name] = {"summary": exchange["summary"], "value": exchange["response"]}
    return requests, answers


_ERRORS = {
    400: "loyalty_request_is_invalid / event_is_invalid (неверная структура или типы), "
    "malformed_json, modulkassa_sale_required, customer_required (списание без клиента)",
    401: "Нет токена, неверный токен или токен другого канала",
    402: "Обслуживание приостановлено (merchant_suspended)",
    404: "Продажа для возврата не найдена; неизвестная позиция возврата",
    409: "Повтор с тем же идентификатором, но другим содержимым (idempotency_conflict)",
    422: "Отказ: недостаточно бонусов, нужен код из SMS (sms_code_required), неверный код, "
    "чек коррекции",
    503: "Временный сбой: повторите позже (событие — сохранить и отправить снова)",
}


def modulkassa_openapi() -> dict[str, Any]:
    models: list[type[BaseModel]] = [mk.Error, *(m for *_, m, _ in OPERATIONS),
                                     *(r for *_, r in OPERATIONS)]  # fmt: skip
    _, schema = models_json_schema(
        [(m, "validation") for m in models],
        ref_template="#/components/schemas/{model}",
        schema_generator=WireJsonSchema,
    )
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    paths: dict[str, Any] = {}
    for name, summary, description, request, answer in OPERATIONS:
        examples, answers = _examples(name, 200)
        responses: dict[str, Any] = {
            "200": {"description": "Принято", "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{answer.__name__}"},
                "examples": answers}}},
        }  # fmt: skip
        for status, text in _ERRORS.items():
            _, refused = _examples(name, status)
            content = {"application/json": {**error["application/json"], "examples": refused}}
            responses[str(status)] = {"description": text, "content": content if refused else error}
        paths[PREFIX + name] = {"post": {
            "operationId": name.replace("-", "_"),
            "summary": summary,
            "description": description,
            "security": [{"terminalToken": []}],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{request.__name__}"},
                "examples": examples}}},
            "responses": responses,
        }}  # fmt: skip
    return openapi_document(
        "Loyalty cloud: Модулькасса plugin API",
        (
            "What our Android plugin for Модулькасса (ru.modulkassa.LOYALTY_SERVICE) "
            "sends: the SDK's LoyaltyRequest and the CHECK_CLOSED / CHECK_CANCELLED "
            "broadcasts, with the vendor's field names, plus the plugin's own fields. "
            "Authorization: Bearer <terminal token of a terminal of channel "
            "modulkassa>. Amounts and quantities are JSON numbers (not strings), two "
            "and three places. Errors: {code, message} with a 4xx; show message. "
            "See docs/modulkassa.md."
        ),
        paths,
        schema.get("$defs", {}),
        {
            "terminalToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "токен терминала канала modulkassa",
            },
        },
    )
