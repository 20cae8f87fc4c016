"""The OpenAPI 3.1 document of the merchant's Evotor administration, with examples.

Two things a merchant connected through the Evotor marketplace manages with the company's
API key (``Authorization: Bearer <key>``, the key of ``/api/v1``): which program category
each Evotor product group gives its products, and the Evotor documents that need a look
(returns waiting for their sale, documents we could not read, sales whose bonus payment
was not fully settled). Served at ``/evotor/merchant/v1/openapi.json``; errors use
Evotor's shape, as every answer of the Evotor sub-application does.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from cloud.openapi_document import openapi_document
from schemas import evotor as ev
from schemas.money import WireJsonSchema

ROOT = "/evotor/merchant/v1/"
GROUP = "3f0e9b1c-5a7d-4e21-8c3b-9d2f1a6e4b70"

_GROUPS_EXAMPLE = {
    "groups": [
        {
            "uuid": GROUP,
            "name": "Кофе",
            "parentUuid": None,
            "category": "coffee",
            "effectiveCategory": "coffee",
        }
    ]
}
_ATTENTION_EXAMPLE = {
    "documents": [{"id": "8c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f", "storeUuid": None,
                   "status": "pending", "reason": "Возврат ждёт продажу, по которой он сделан"}],
    "unsettledSales": [{"receiptUuid": "5b2f8f7e-2d3c-4a51-9c1e-4b7a3f0d2e11",
                        "documentId": "9d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a",
                        "storeUuid": "20170228-B6B0-4052-8000-6D6E8E1A4F2C", "customerId": 42,
                        "unsettled": 120.00, "reason": "Резерв бонусов истёк до закрытия чека"}],
}  # fmt: skip
_ERROR = {"application/json": {
    "schema": {"$ref": "#/components/schemas/EvotorErrorBody"},
    "example": {"errors": [{"code": 1002, "reason": "invalid_token",
                            "message": "Неверный ключ API компании"}]}}}  # fmt: skip
_COMMON_ERRORS = {
    "401": {"description": "No company API key, or a wrong or revoked one", "content": _ERROR},
}


def _ok(model: type[BaseModel], example: dict[str, Any]) -> dict[str, Any]:
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {
        "description": "OK",
        "content": {"application/json": {"schema": schema, "example": example}},
    }


def merchant_openapi() -> dict[str, Any]:
    models: list[type[BaseModel]] = [
        ev.EvotorErrorBody, ev.GroupCategoriesRequest, ev.GroupCategoriesResponse,
        ev.AttentionResponse,
    ]  # fmt: skip
    _, schema = models_json_schema(
        [(m, "validation") for m in models],
        ref_template="#/components/schemas/{model}",
        schema_generator=WireJsonSchema,
    )
    groups_ok = _ok(ev.GroupCategoriesResponse, _GROUPS_EXAMPLE)
    paths = {
        ROOT + "product-groups": {
            "get": {
                "operationId": "evotor_product_groups",
                "summary": "Группы товаров Эвотор и категории программы",
                "description": "Every product group the Evotor sync brought, with the "
                "category mapped to it (category) and the one its products get "
                "(effectiveCategory: the mapping, else the group's name).",
                "security": [{"companyKey": []}],
                "responses": {"200": groups_ok, **_COMMON_ERRORS},
            },
            "put": {
                "operationId": "evotor_map_product_groups",
                "summary": "Сопоставить группы товаров категориям программы",
                "description": "groups: {group uuid: category}; null removes a group's "
                "mapping. Answers with every group as GET does.",
                "security": [{"companyKey": []}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/GroupCategoriesRequest"},
                            "example": {"groups": {GROUP: "coffee"}},
                        }
                    },
                },
                "responses": {
                    "200": groups_ok,
                    "400": {"description": "Malformed body", "content": _ERROR},
                    **_COMMON_ERRORS,
                },
            },
        },
        ROOT + "documents": {
            "get": {
                "operationId": "evotor_documents_needing_attention",
                "summary": "Документы Эвотор, требующие внимания",
                "description": "Returns waiting for their sale, documents we could not "
                "read, and sales whose bonus payment could not be fully debited.",
                "security": [{"companyKey": []}],
                "responses": {
                    "200": _ok(ev.AttentionResponse, _ATTENTION_EXAMPLE),
                    **_COMMON_ERRORS,
                },
            },
        },
    }
    return openapi_document(
        "Loyalty cloud: the merchant's Evotor administration",
        "Product group categories and Evotor documents that need the "
        "merchant's attention, with the company API key of /api/v1. Errors use Evotor's "
        '{"errors": [{"code", "reason", "subject", "value", "message"}]}.',
        paths,
        schema.get("$defs", {}),
        {
            "companyKey": {
                "type": "http",
                "scheme": "bearer",
                "description": "the company API key (/api/v1/merchant/keys)",
            },
        },
    )
