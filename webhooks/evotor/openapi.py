"""The OpenAPI 3.1 document of the terminal hook contract, with examples.

This is the contract a developer of the Evotor terminal app builds against: what the app
sends through the Evotor cloud proxy at each point of a receipt's life and what it gets
back (``docs/evotor-terminal-hooks.md`` tells the story). Served at
``/evotor/terminal/v1/openapi.json``; the examples are replayed by the contract tests.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from cloud.openapi_document import openapi_document
from schemas import evotor as ev
from schemas import evotor_customers as evc
from schemas.money import WireJsonSchema

RECEIPT = "5b2f8f7e-2d3c-4a51-9c1e-4b7a3f0d2e11"
DROPPED = "6c3a9a8f-3e4d-4b62-8d2f-5c8b4a1e3f22"
POSITIONS = [
    {"uuid": "8a1c0d2e-7f4b-4c39-a2d1-5e6f7a8b9c01", "productUuid":
     "1b7e3f4a-9c2d-4e8f-b1a2-c3d4e5f6a7b8", "productCode": "101", "name": "Кофе латте 0,3",
     "measureName": "шт", "price": 189.00, "quantity": 3},
    {"uuid": "8a1c0d2e-7f4b-4c39-a2d1-5e6f7a8b9c02", "productUuid":
     "2c8f4a5b-0d3e-4f90-c2b3-d4e5f6a7b8c9", "productCode": "205", "name": "Сыр, весовой",
     "measureName": "кг", "price": 899.90, "quantity": 0.347},
]  # fmt: skip

NEWCOMER = "+79031234567"
VIRTUAL_CARD = "2483051796326"
REFERRAL_CODE = "Q7HM2KXA"

EXAMPLES: dict[str, dict[str, Any]] = {
    "calculate": {
        "request": {"receiptUuid": RECEIPT, "customer": {"phone": "+79161234567"},
                    "positions": POSITIONS},
        "response": {
            "receiptUuid": RECEIPT,
            "customer": {"id": 42, "tier": "base", "tierName": "Базовая", "balance": 250.00},
            "customerFound": True,
            "positions": [
                {"uuid": POSITIONS[0]["uuid"], "price": 189.00, "quantity": 3.000,
                 "priceWithDiscountPosition": 179.55, "discount": 28.35, "resultSum": 538.65,
                 "maxBonusPayment": 269.32, "accrual": 26.93},
                {"uuid": POSITIONS[1]["uuid"], "price": 899.90, "quantity": 0.347,
                 "priceWithDiscountPosition": 854.93, "discount": 15.61, "resultSum": 296.66,
                 "maxBonusPayment": 148.33, "accrual": 14.83},
            ],
            "positionUuidToDiscountMap": {POSITIONS[0]["uuid"]: 28.35,
                                          POSITIONS[1]["uuid"]: 15.61},
            "sum": 879.27, "discount": 43.96, "total": 835.31, "maxBonusPayment": 250.00,
            "accrual": 41.76,
            "messages": ["Уровень: Базовая", "Скидка 5 %: 43,96 ₽", "Баланс: 250,00 бонусов",
                         "Можно списать до 250,00 бонусов", "Будет начислено 41,76 бонусов"],
            "slip": ["Уровень: Базовая", "Скидка по карте: 43,96 ₽",
                     "Начислено бонусов: 41,76"],
            "extra": {"receiptUuid": RECEIPT, "customerId": "42"},
            "coupons": [],
        },
    },
    "bonus-payment": {
        "request": {"receiptUuid": RECEIPT, "customer": {"phone": "+79161234567"},
                    "positions": POSITIONS, "sum": 100.00},
        "response": {"receiptUuid": RECEIPT, "rrn": "1017", "sum": 100.00,
                     "slip": ["Оплата бонусами: 100,00", "Операция № 1017"],
                     "paymentInfo": "Оплата бонусами, операция 1017",
                     "paymentType": "ELECTRON", "balance": 150.00,
                     "expiresAt": "2026-11-20T09:15:00Z"},
    },
    "bonus-payment/cancel": {
        "request": {"receiptUuid": RECEIPT, "rrn": "1017", "sum": 100.00},
        "response": {"receiptUuid": RECEIPT, "released": 100.00,
                     "slip": ["Отмена оплаты бонусами: 100.00 ₽"]},
    },
    "close": {
        "request": {
            "receiptUuid": RECEIPT, "customer": {"phone": "+79161234567"},
            "positions": [
                {**POSITIONS[0], "priceWithDiscountPosition": 179.55, "resultSum": 538.65},
                {**POSITIONS[1], "priceWithDiscountPosition": 854.93, "resultSum": 296.66},
            ],
            "bonusPayment": 100.00,
        },
        "response": {"receiptUuid": RECEIPT, "status": "confirmed", "redeemed": 100.00,
                     "accrued": 36.76, "balance": 186.76,
                     "messages": ["Уровень: Базовая", "Баланс: 186,76 бонусов",
                                  "Оплата бонусами: 100,00", "Начислено 36,76 бонусов"],
                     "slip": ["Оплачено бонусами: 100,00", "Начислено бонусов: 36,76",
                              "Баланс бонусов: 186,76"], "coupons": []},
    },
    "cancel": {
        "request": {"receiptUuid": DROPPED},
        "response": {"receiptUuid": DROPPED, "released": 0.00},
    },
    "customers/sms-code": {
        "request": {"phone": NEWCOMER, "purpose": "registration"},
        "response": {"sent": True, "expiresIn": 300,
                     "messages": ["Код отправлен на +7903***4567",
                                  "Попросите клиента назвать код из SMS для регистрации: "
                                  "он действует 5 мин."]},
    },
    "customers/register": {
        "request": {"phone": NEWCOMER, "smsCode": "483920", "consentPersonalData": True,
                    "consentMessages": True, "consentPersonalDataVersion": "2026-01",
                    "consentMessagesVersion": "2026-01", "name": "Анна Смирнова",
                    "birthday": "1990-05-17", "gender": "female", "card": "7700 1234 5678",
                    "referrer": {"phone": "+79161234567"},
                    "idempotencyKey": "reg-3f9a1c2e-5b7d-4e8f-a0b1-c2d3e4f5a6b7"},
        "response": {"id": 43, "phone": "+7903***4567", "name": "Анна Смирнова",
                     "tier": "base", "tierName": "Базовая", "balance": 0.00, "pending": 0.00,
                     "card": VIRTUAL_CARD, "physicalCard": "770012345678",
                     "referralCode": REFERRAL_CODE,
                     "messages": ["Клиент зарегистрирован: +7903***4567", "Уровень: Базовая",
                                  "Баланс: 0,00 бонусов",
                                  f"Виртуальная карта: {VIRTUAL_CARD}",
                                  "Привязана карта: 770012345678",
                                  "Пригласивший клиент учтён"],
                     "slip": [f"Карта лояльности: {VIRTUAL_CARD}",
                              f"Код для приглашения друзей: {REFERRAL_CODE}",
                              "Баланс бонусов: 0,00"]},
    },
    "customers/lookup": {
        "request": {"phone": "+79161234567"},
        "response": {"id": 42, "name": None, "tier": "base", "tierName": "Базовая",
                     "balance": 186.76, "expiringSoon": [], "referralCode": "M4RT9ZEB",
                     "messages": ["Уровень: Базовая", "Баланс: 186,76 бонусов"]},
    },
}  # fmt: skip

OPERATIONS: list[tuple[str, str, str, type[BaseModel], type[BaseModel]]] = [
    ("calculate", "Чек открыт или изменён: скидки по позициям и доступные бонусы",
     "Call on ReceiptDiscountEvent and after positions change. Set each position's "
     "priceWithDiscountPosition (PositionEdit) and SetExtra(extra). The total equals the "
     "sum of round_half_up(priceWithDiscountPosition x quantity) over positions.",
     ev.CalculateHookRequest, ev.CalculateHookResponse),
    ("bonus-payment", "Оплата бонусами (платёжная система): резерв бонусов",
     "Call on PaymentSystemSellEvent; answer PaymentSystemPaymentOkResult(rrn, slip, "
     "paymentInfo, ELECTRON). On an error answer PaymentSystemPaymentErrorResult with "
     "errors[0].message.",
     ev.BonusPaymentRequest, ev.BonusPaymentResponse),
    ("bonus-payment/cancel", "Отмена оплаты бонусами: резерв снимается",
     "Call on PaymentSystemSellCancelEvent.", ev.BonusPaymentCancelRequest,
     ev.BonusPaymentCancelResponse),
    ("close", "Чек закрыт: списание и начисление бонусов",
     "Call on RECEIPT_CLOSED with the final positions and the bonus payment taken. "
     "Idempotent: a repeat (or the SELL document Evotor sends us) changes nothing.",
     ev.ReceiptClosedRequest, ev.ReceiptClosedResponse),
    ("cancel", "Чек отменён без закрытия: резерв снимается",
     "Call when the receipt is cleared.", ev.ReceiptCancelledRequest,
     ev.ReceiptCancelledResponse),
    ("customers/sms-code", "Отправить клиенту код из SMS: для регистрации или оплаты бонусами",
     "Purpose registration before customers/register; redeem before bonus-payment when "
     "the program asks for the customer's code (pass it as smsCode). Limited per phone, "
     "per terminal and per company (429).",
     evc.SmsCodeHookRequest, evc.SmsCodeHookResponse),
    ("customers/register", "Зарегистрировать клиента на кассе (код из SMS и согласия)",
     "consentPersonalData must be true; consentMessages is the customer's answer. The "
     "customer is registered in the terminal's store. Retries with the same "
     "idempotencyKey and body get the first answer; a taken phone or card is 409.",
     evc.RegisterHookRequest, evc.RegisteredCustomer),
    ("customers/lookup", "Найти клиента по телефону, карте или QR-коду",
     "Name, tier, spendable bonuses and those lapsing within 30 days. 404 if not found.",
     ev.HookCustomer, evc.CustomerCardResponse),
]  # fmt: skip

_HEADERS = [
    {"name": "X-Evotor-Device-UUID", "in": "header", "required": True,
     "description": "Added by the Evotor cloud proxy: the smart terminal (inventories id).",
     "schema": {"type": "string"}, "example": "20170222-5A12-403A-80F6-75C361356826"},
    {"name": "X-Evotor-Store-Uuid", "in": "header", "required": False,
     "description": "Added by the Evotor cloud proxy: the store.",
     "schema": {"type": "string"}},
    {"name": "X-Evotor-User-Id", "in": "header", "required": False,
     "description": "Added by the Evotor cloud proxy: the Evotor user (must own the token).",
     "schema": {"type": "string", "pattern": ev.USER_ID_PATTERN}},
]  # fmt: skip

_ERROR_EXAMPLES = {
    "badToken": {"summary": "Неверный токен пользователя",
                 "value": {"errors": [{"code": 1002, "reason": "unauthorized",
                                       "message": "Неверный токен пользователя"}]}},
    "paymentRequired": {"summary": "Подписка прекращена",
                        "value": {"errors": [{"code": 1004, "reason": "payment required",
                                              "subject": "userUuid",
                                              "value": "01-000000000000001"}]}},
    "unknownDevice": {"summary": "Терминал не синхронизирован",
                      "value": {"errors": [{"code": 1005, "reason": "not allowed",
                                            "subject": "deviceUuid"}]}},
    "missing": {"summary": "Нет обязательного поля",
                "value": {"errors": [{"code": 2002, "reason": "missing",
                                      "subject": "positions"}]}},
    "insufficient": {"summary": "Недостаточно бонусов",
                     "value": {"errors": [{"code": 2003, "reason": "insufficient_bonuses",
                                           "message": "Недостаточно бонусов для резерва"}]}},
    "smsCodeRequired": {"summary": "Программа требует код из SMS для оплаты бонусами",
                        "value": {"errors": [{"code": 2003, "reason": "sms_code_required",
                                              "subject": "smsCode",
                                              "message": "Для оплаты бонусами нужен код из "
                                              "SMS, отправленного клиенту"}]}},
    "customerExists": {"summary": "Телефон уже зарегистрирован",
                       "value": {"errors": [{"code": 2003, "reason": "customer_exists",
                                             "subject": "phone",
                                             "message": "Клиент с таким номером телефона уже "
                                             "зарегистрирован"}]}},
}  # fmt: skip

ROOT = "/evotor/terminal/v1/"
PREFIX = ROOT + "receipts/"


def hook_path(name: str) -> str:
    """The address of an operation: customer hooks live under ``customers/``, the
    receipt hooks under ``receipts/``."""
    return ROOT + name if name.startswith("customers/") else PREFIX + name


def terminal_openapi() -> dict[str, Any]:
    models: list[type[BaseModel]] = [ev.EvotorErrorBody]
    for *_, request_model, response_model in OPERATIONS:
        models.extend((request_model, response_model))
    _, schema = models_json_schema(
        [(m, "validation") for m in models],
        ref_template="#/components/schemas/{model}",
        schema_generator=WireJsonSchema,
    )
    paths: dict[str, Any] = {}
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/EvotorErrorBody"},
                                  "examples": _ERROR_EXAMPLES}}  # fmt: skip
    for name, summary, description, request_model, response_model in OPERATIONS:
        example = EXAMPLES[name]
        paths[hook_path(name)] = {"post": {
            "operationId": name.replace("/", "_").replace("-", "_"),
            "summary": summary,
            "description": description,
            "security": [{"userToken": []}],
            "parameters": _HEADERS,
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{request_model.__name__}"},
                "example": example["request"]}}},
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {
                    "schema": {"$ref": f"#/components/schemas/{response_model.__name__}"},
                    "example": example["response"]}}},
                "400": {"description": "Malformed body (2001, 2002, 2003)", "content": error},
                "401": {"description": "Wrong user token (1002)", "content": error},
                "402": {"description": "Subscription lapsed (1004) / unknown device (1005)",
                        "content": error},
                "404": {"description": "Not found", "content": error},
                "409": {"description": "Receipt already closed; phone or card taken",
                        "content": error},
                "422": {"description": "Refused: not enough bonuses, over the limit, a "
                        "missing or wrong SMS code", "content": error},
                "429": {"description": "Too many SMS codes", "content": error},
            },
        }}  # fmt: skip
    return openapi_document(
        "Loyalty cloud: Evotor terminal receipt and customer hooks",
        (
            "What the loyalty app on an Evotor smart terminal sends through the Evotor "
            "cloud proxy while a receipt is open and when it closes. Amounts are roubles "
            "as JSON numbers with two places; quantities have three. Errors use Evotor's "
            '{"errors": [{"code", "reason", "subject", "value", "message"}]}. '
            "See docs/evotor-terminal-hooks.md."
        ),
        paths,
        schema.get("$defs", {}),
        {
            "userToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "the user token we answered to /user/create; "
                "the Evotor proxy sends it (Bearer or bare)",
            },
        },
    )
