"""The frame every OpenAPI document of the service shares (the native API and each
vendor adapter's): version, info, the one server, the models and the credentials."""

from __future__ import annotations

from typing import Any


def openapi_document(
    title: str, description: str, paths: dict[str, Any], schemas: dict[str, Any],
    security: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1.0.0", "description": description},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": security},
    }
