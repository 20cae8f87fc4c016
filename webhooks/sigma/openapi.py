"""The OpenAPI 3.1 document of the SIGMA receipt hooks, with examples.

The contract a SIGMA terminal app developer builds against (``docs/sigma-hooks.md``
tells the story). Served at ``/sigma/v1/openapi.json``. The examples are the files of
``fixtures/sigma/`` (a store's day, in order), which the contract tests replay.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from cloud.openapi_document import openapi_document
from schemas import sigma as sg
from schemas import sigma_customers as sgc
from schemas.money import WireJsonSchema

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sigma"
PREFIX = "/sigma/v1/hooks/"


def day() -> list[dict[str, Any]]:
    """The example exchanges, in the order of the day (``NN-event.json``)."""
    return [json.loads(path.read_text()) for path in sorted(FIXTURES.glob("[0-9]*.json"))]


OPERATIONS: list[tuple[str, str, str, type[BaseModel], type[BaseModel]]] = [
    ("receipt.opened", "Чек открыт: скидки по позициям, доступные бонусы, начисление",
     "Send when a receipt gets its first line or a customer. Apply each line's discount "
     "(lines[].discount: the amount off the line; unit_price_after_discount when it "
     "reproduces the line exactly). Show messages to the cashier; print slip lines.",
     sg.ReceiptQuoteRequest, sg.QuoteResponse),
    ("receipt.changed", "Чек изменён: пересчёт",
     "Send after lines, quantities or the customer change. Same answer as receipt.opened.",
     sg.ReceiptQuoteRequest, sg.QuoteResponse),
    ("bonus.hold", "Оплата бонусами: резерв",
     "Reserve bonuses as a payment of the open receipt (the customer: given here or by an "
     "earlier hook of the receipt). The "
     "answer spreads the payment over lines. Repeating replaces the reserve.",
     sg.BonusHoldRequest, sg.HoldResponse),
    ("bonus.release", "Отмена оплаты бонусами",
     "The cashier removed the bonus payment; the receipt stays open. Twice releases nothing.",
     sg.BonusReleaseRequest, sg.ReleaseResponse),
    ("receipt.closed", "Чек закрыт: списание и начисление",
     "Send once the receipt is paid and printed, with what was charged per line. "
     "bonus_payment omitted: what bonus.hold reserved. Idempotent on receipt_id: a "
     "repeat returns the first answer and changes nothing.",
     sg.ReceiptClosedRequest, sg.ClosedResponse),
    ("receipt.cancelled", "Чек отменён: резерв снимается",
     "The receipt was dropped without closing.", sg.ReceiptCancelledRequest,
     sg.ReleaseResponse),
    ("receipt.refunded", "Возврат по чеку (полный или по позициям)",
     "A return against a closed receipt, by its receipt_id; lines by their ids, partial "
     "by quantity; no lines: everything left. Idempotent on refund_id.",
     sg.ReceiptRefundedRequest, sg.RefundedResponse),
    ("customer.lookup", "Клиент для кассира: уровень, баланс, сгорающие бонусы",
     "The customer by phone, card or QR code: name, masked phone, tier, spendable and "
     "pending bonuses, bonuses lapsing within 30 days, card numbers. Unknown: 404 "
     "customer_not_found.", sgc.CustomerLookupRequest, sgc.CustomerResponse),
    ("customer.sms_code", "Код из SMS клиенту: для регистрации или оплаты бонусами",
     "Send a one-time code to the customer's phone: purpose registration before "
     "customer.register, redeem before bonus.hold under a program that asks for one. "
     "The answer says where it went (masked) and until when it works, never the code; "
     "a new code replaces the old one and may be asked for from resend_at (429 past the "
     "per-phone, per-till or per-merchant limit).", sgc.SmsCodeRequest, sgc.SmsCodeResponse),
    ("customer.register", "Регистрация клиента на кассе",
     "Register the customer in the till's store with the code from SMS (purpose "
     "registration) and both consents (personal data must be given; the answer to "
     "advertising messages is recorded either way). card binds a plastic card. "
     "Idempotent on idempotency_key: a retry with the same key and body gets the first "
     "answer. The answer is the customer as customer.lookup gives it.",
     sgc.CustomerRegisterRequest, sgc.CustomerResponse),
]  # fmt: skip

_SIGNATURE_HEADERS = [
    {"name": "X-Sigma-Terminal", "in": "header", "required": False,
     "description": "signed calls: our id of the SIGMA terminal (the administration's)",
     "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"}},
    {"name": "X-Sigma-Timestamp", "in": "header", "required": False,
     "description": "signed calls: unix seconds; within 5 minutes of our clock",
     "schema": {"type": "string", "pattern": "^[0-9]{1,12}$"}},
    {"name": "X-Sigma-Signature", "in": "header", "required": False,
     "description": "signed calls: v1=hex(HMAC-SHA256(secret, timestamp + \".\" + raw body))",
     "schema": {"type": "string", "pattern": "^v1=[0-9a-f]{64}$"}},
]  # fmt: skip

_ERRORS = {
    "400": "Тело не по контракту (malformed_json, validation_error, sigma_event_mismatch, "
           "invalid_phone, invalid_card, customer_required, consent_required, "
           "sms_code_required)",
    "401": "Нет или неверные учётные данные (sigma_missing_credentials, invalid_token, "
           "wrong_channel, sigma_bad_signature, sigma_stale_timestamp)",
    "402": "Обслуживание приостановлено (merchant_suspended)",
    "404": "Клиент или чек не найден (customer_not_found, receipt_not_found)",
    "409": "Чек уже закрыт; другой чек под тем же id; повтор подписанного запроса; клиент "
           "или карта уже зарегистрированы (receipt_closed, idempotency_conflict, "
           "sigma_replayed, customer_exists, card_taken)",
    "422": "Отказ по правилам программы: не хватает бонусов, нужен или неверен код из SMS "
           "(insufficient_bonuses, sms_code_required, sms_code_invalid, sms_code_expired, "
           "sms_code_not_found, sms_code_attempts_exceeded, referrer_not_found, …)",
}  # fmt: skip
_SMS_ERRORS = {
    "429": "Слишком много SMS-кодов на номер, с кассы или по компании (sms_rate_limited, "
           "too_many_codes)",
    "502": "SMS не удалось отправить (sms_delivery_failed)",
}  # fmt: skip


def _examples(event: str, part: str) -> dict[str, Any]:
    found = {}
    for index, exchange in enumerate(day(), start=1):
        if exchange["request"]["event"] == event:
            found[f"step{index:02d}"] = {"summary": exchange["summary"], "value": exchange[part]}
    return found


def sigma_openapi() -> dict[str, Any]:
    models: list[type[BaseModel]] = [sg.ErrorBody]
    for *_, request_model, response_model in OPERATIONS:
        models.extend((request_model, response_model))
    _, schema = models_json_schema(
        [(m, "validation") for m in models[:1] + models[1::2]]
        + [(m, "serialization") for m in models[2::2]],
        ref_template="#/components/schemas/{model}",
        schema_generator=WireJsonSchema,
    )
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    paths: dict[str, Any] = {}
    for event, summary, description, request_model, response_model in OPERATIONS:
        paths[PREFIX + event] = {"post": {
            "operationId": event.replace(".", "_"),
            "summary": summary,
            "description": description,
            "security": [{"terminalToken": []}, {"signature": []}],
            "parameters": _SIGNATURE_HEADERS,
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{request_model.__name__}"},
                "examples": _examples(event, "request")}}},
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {
                    "schema": {"$ref": f"#/components/schemas/{response_model.__name__}"},
                    "examples": _examples(event, "response")}}},
                **{status: {"description": text, "content": error}
                   for status, text in (_ERRORS | (_SMS_ERRORS if event == "customer.sms_code"
                                                    else {})).items()},
            },
        }}  # fmt: skip
    return openapi_document(
        "Loyalty cloud: SIGMA receipt hooks",
        (
            "What a SIGMA terminal app sends at each point of a receipt's life and what "
            "it gets back. Amounts in requests: a JSON number or a decimal string "
            '("123.45"), read exactly; in answers: strings with two places. Errors: '
            '{"code", "message"} with a Russian message. Authentication: a terminal '
            "token (Bearer) or an HMAC signature. See docs/sigma-hooks.md."
        ),
        paths,
        schema.get("$defs", {}),
        {
            "terminalToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "a token of a SIGMA terminal, issued by "
                "POST /api/v1/terminals/{id}/tokens",
            },
            "signature": {
                "type": "apiKey",
                "in": "header",
                "name": "X-Sigma-Signature",
                "description": "v1=HMAC-SHA256 of timestamp.body with the "
                "terminal's signing secret (POST /api/v1/terminals/{id}/"
                "signing-secret), with X-Sigma-Terminal and X-Sigma-Timestamp",
            },
        },
    )
