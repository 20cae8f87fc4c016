"""The OpenAPI 3.1 document of the native API, generated from the wire models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from schemas.errors import ErrorBody

Operation = tuple[str, str, str, type[BaseModel] | None, type[BaseModel] | None]


def build_openapi(operations: list[Operation]) -> dict[str, Any]:
    models: set[type[BaseModel]] = {ErrorBody}
    for _, _, _, request_model, response_model in operations:
        models.update(m for m in (request_model, response_model) if m is not None)
    ordered = sorted(models, key=lambda m: m.__name__)
    _, schema = models_json_schema(
        [(m, "validation") for m in ordered], ref_template="#/components/schemas/{model}"
    )
    components = schema.get("$defs", {})
    error = {"$ref": "#/components/schemas/ErrorBody"}
    paths: dict[str, dict[str, Any]] = {}
    for method, path, summary, request_model, response_model in operations:
        operation: dict[str, Any] = {
            "summary": summary,
            "security": [{"bearer": []}, {"basic": []}],
            "responses": {
                "200": {
                    "description": "OK",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": f"#/components/schemas/{response_model.__name__}"}
                            if response_model
                            else {"type": "object"}
                        }
                    },
                },
                "4XX": {
                    "description": "Ошибка запроса",
                    "content": {"application/json": {"schema": error}},
                },
            },
        }
        if request_model is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": f"#/components/schemas/{request_model.__name__}"}
                    }
                },
            }
        for segment in path.split("/"):
            if segment.startswith("{"):
                operation.setdefault("parameters", []).append(
                    {"name": segment.strip("{}"), "in": "path", "required": True,
                     "schema": {"type": "integer"}}
                )  # fmt: skip
        paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Loyalty cloud API",
            "version": "1.0.0",
            "description": "Native API v1: checkout protocol and customers. Amounts are "
            "roubles as JSON numbers with two places; errors are {code, message}.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "basic": {"type": "http", "scheme": "basic",
                          "description": "any user name, the terminal token as password"},
            },
        },
    }  # fmt: skip
