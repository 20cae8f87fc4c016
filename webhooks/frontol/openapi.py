"""The OpenAPI 3.1 document of what the Frontol adapter accepts (served at
``/frontol/v1/openapi.json``), with the requests of ``fixtures/frontol`` as examples: the
contract tests replay the same files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from cloud.openapi_document import openapi_document
from schemas import frontol as fr
from schemas.money import WireJsonSchema

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "frontol"

OPERATIONS: list[tuple[str, str, type[BaseModel]]] = [
    ("document", "Чек: calculate, payByBonus, cancelBonusPayment, confirm (receipt, "
     "refundReceipt)", fr.DocumentRequest),
    ("client", "Клиент для кассира: по карте или телефону", fr.ClientRequest),
    ("extra/client", "Анкета регистрации на кассе: describe, check, execute",
     fr.ExtraClientRequest),
]  # fmt: skip


def _examples(path: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for file in sorted(FIXTURES.glob("*.json")):
        for number, step in enumerate(json.loads(file.read_text())):
            if step["path"] == path:
                action = step["request"].get("action", "client")
                found[f"{file.stem}-{number}-{action}"] = {"value": step["request"]}
    return found


_FAILURE = {"code": -1, "error": "Недостаточно бонусов: доступно 12,00"}


def frontol_openapi() -> dict[str, Any]:
    models: list[type[BaseModel]] = [fr.Answer, *(model for *_, model in OPERATIONS)]
    _, schema = models_json_schema(
        [(m, "validation") for m in models],
        ref_template="#/components/schemas/{model}",
        schema_generator=WireJsonSchema,
    )
    answer = {"application/json": {"schema": {"$ref": "#/components/schemas/Answer"}}}
    paths: dict[str, Any] = {}
    for name, summary, model in OPERATIONS:
        paths[f"/frontol/v1/{{organization}}/{name}"] = {"post": {
            "operationId": name.replace("/", "_"),
            "summary": summary,
            "security": [{"frontolAuth": []}],
            "parameters": [{"name": "organization", "in": "path", "required": True,
                            "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,64}$"},
                            "description": "идентификатор организации, выданный сервисом"}],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{model.__name__}"},
                "examples": _examples(name)}}},
            "responses": {
                "200": {"description": "code 0 — успех; code -1 и error — отказ (текст для "
                        "кассира), в том числе для неверного JSON", "content": {
                            "application/json": {**answer["application/json"],
                                                 "examples": {"refusal": {"value": _FAILURE}}}}},
                "401": {"description": "Неверная подпись FrontolAuth или неизвестная "
                        "организация", "content": answer},
            },
        }}  # fmt: skip
    return openapi_document(
        "Loyalty cloud: Frontol Priority API",
        (
            "What Frontol 6 / xPOS sends to the loyalty server (payment system «Frontol "
            "Priority API»). Base address: /frontol/v1/{organization}; each path also "
            "with a trailing slash. Authorization: FrontolAuth md5(access key + raw "
            "body), lower-case hex. Amounts: JSON numbers or numeric strings, read "
            "exactly; at most two places (quantities three). `client` may be {}, [] or "
            "absent. See shared/contracts/frontol.md."
        ),
        paths,
        schema.get("$defs", {}),
        {
            "frontolAuth": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "FrontolAuth <md5(ключ доступа + тело)>",
            },
        },
    )
