"""Every route of the service, set up in one place."""

from __future__ import annotations

from aiohttp import web

from cloud.api import admin, checkout, customer_files, customers, merchant_customers, programs
from cloud.api.openapi import Operation, build_openapi
from cloud.api.wire import json_response

OPENAPI_DOCUMENT = web.AppKey("openapi_document", dict)
"""The native API's OpenAPI document, as served at /api/v1/openapi.json."""


async def health(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


def setup_routes(app: web.Application) -> None:
    operations: list[Operation] = []
    for method, path, handler, summary, request_model, response_model in (
        *checkout.ROUTES,
        *programs.ROUTES,
        *admin.ROUTES,
    ):
        app.router.add_route(method, path, handler)
        status = 201 if (method, path) in programs.CREATED | admin.CREATED else 200
        operations.append(
            Operation(method, path, summary, request_model, response_model, status=status)
        )
    for operation, handler in (*merchant_customers.ROUTES, *customer_files.ROUTES):
        app.router.add_route(operation.method, operation.path, handler)
        operations.append(operation)
    app.router.add_routes(customers.customer_routes())
    operations.extend(customers.CUSTOMER_OPENAPI)
    document = build_openapi(operations)
    app[OPENAPI_DOCUMENT] = document

    async def openapi(request: web.Request) -> web.Response:
        return json_response(document)

    app.router.add_get("/api/v1/openapi.json", openapi)
    app.router.add_get("/health", health)
