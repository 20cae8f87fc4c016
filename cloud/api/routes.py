"""Every route of the service, set up in one place."""

from __future__ import annotations

import asyncio

import structlog
from aiohttp import web

from cloud import cabinet
from cloud.api import (
    admin,
    bridges,
    checkout,
    coupons,
    customer_files,
    customers,
    feedback_page,
    frontol_admin,
    gift_certificates,
    merchant_customers,
    merchant_feedback,
    messages,
    moysklad_admin,
    plans,
    product_catalogue,
    programs,
    reports,
)
from cloud.api.keys import DEPS
from cloud.api.middleware import error_body
from cloud.api.openapi import Operation, build_openapi
from cloud.api.wire import json_response
from cloud.fiscal import api as fiscal_api
from cloud.fiscal import pages as fiscal_pages
from cloud.messages import callbacks
from cloud.observability import scrape
from cloud.pages import setup_templates
from cloud.selfservice import api as join_links
from cloud.selfservice import setup as setup_selfservice
from cloud.telegram import admin as telegram_admin
from cloud.telegram import webhook as telegram_webhook
from schemas.service import Health, Readiness

log = structlog.get_logger("loyalty.probe")

OPENAPI_DOCUMENT = web.AppKey("openapi_document", dict)
"""The native API's OpenAPI document, as served at /api/v1/openapi.json."""


READY_TIMEOUT_SECONDS = 2.0
"""How long readiness waits for the database: a load balancer probes often, and a
database slower than this is as good as absent for a till waiting on a receipt."""


async def health(request: web.Request) -> web.Response:
    """Liveness: the process answers; the database is not asked (a database outage must
    not make an orchestrator restart every replica)."""
    return json_response({"status": "ok"})


async def ready(request: web.Request) -> web.Response:
    """Readiness: the database answers ``SELECT 1`` within the timeout, else 503."""
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            await request.app[DEPS].db.fetch_value("SELECT 1")
    except Exception as exc:  # any failure of the database means "not ready", not a 500
        log.warning("not_ready", error=type(exc).__name__, detail=str(exc)[:200])
        return error_body("database_unavailable", "Сервис не готов: база данных не отвечает", 503)
    return json_response({"status": "ready"})


PROBES = (
    Operation("GET", "/health", "Живость процесса (база данных не опрашивается)", None, Health),
    Operation("GET", "/ready", "Готовность: база данных отвечает", None, Readiness),
    Operation(
        "GET",
        scrape.PATH,
        "Метрики Prometheus (текстовый формат 0.0.4)",
        None,
        None,
        response_media="text/plain",
        description="Открыт, как /health, пока не задан LOYALTY_METRICS_TOKEN; с ним "
        "нужен заголовок Authorization: Bearer <токен>. Метрики: задержка запросов по "
        "каналу и маршруту, ошибки по коду, очередь сообщений, задания, удержания, пул "
        "соединений с базой (docs/operations.md).",
    ),
)


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
    for operation, handler in (
        *merchant_customers.ROUTES,
        *merchant_feedback.ROUTES,
        *messages.ROUTES,
        *customer_files.ROUTES,
        *product_catalogue.ROUTES,
        *join_links.ROUTES,
        *reports.ROUTES,
        *telegram_admin.ROUTES,
        *frontol_admin.ROUTES,
        *moysklad_admin.ROUTES,
        *fiscal_api.ROUTES,
        *gift_certificates.ROUTES,
        *coupons.ROUTES,
        *bridges.ROUTES,
        *plans.ROUTES,
    ):
        app.router.add_route(operation.method, operation.path, handler)
        operations.append(operation)
    app.router.add_routes(customers.customer_routes())
    operations.extend(customers.CUSTOMER_OPENAPI)
    operations.extend(PROBES)
    document = build_openapi(operations)
    app[OPENAPI_DOCUMENT] = document

    async def openapi(request: web.Request) -> web.Response:
        return json_response(document)

    app.router.add_get("/api/v1/openapi.json", openapi)
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    scrape.setup(app)
    callbacks.setup(app)
    setup_templates(app)
    setup_selfservice(app)
    cabinet.setup(app)
    fiscal_pages.setup(app)
    feedback_page.setup(app)
    telegram_webhook.setup(app)
