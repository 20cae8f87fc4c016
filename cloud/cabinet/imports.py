"""The customer base as files in the cabinet: ``/cabinet/import`` checks an xlsx/csv
(the importer's dry run: every bad row with its number and reason) and then loads it;
``/cabinet/export`` downloads the base as xlsx. Manager and owner only: the files hold
every customer's phone.

The checked file is not kept on the server (any worker may answer the next request):
the report's "load" form asks for the same file again and refuses any other one by its
SHA-256, so what is loaded is exactly what was checked."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from cloud.api.customer_files import send_base_export
from cloud.cabinet import core
from cloud.cabinet.core import BASE, deps_of, render, require, user_of
from cloud.errors import DomainError
from cloud.services import customers_io
from cloud.services.customers_io.columns import COLUMNS
from cloud.services.customers_io.reader import detect_format
from schemas.money import to_roubles

MAX_FILE_BYTES = 64 * 1024 * 1024


def add_routes(router: web.UrlDispatcher) -> None:
    core.UPLOAD_LIMITS[BASE + "/import"] = MAX_FILE_BYTES + 64 * 1024  # the form's other fields
    router.add_get("/import", import_page)
    router.add_post("/import", import_post)
    router.add_get("/export", export_base)


def _report(result: customers_io.ImportResult, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "status": result.status,
        "rows": result.rows,
        "customers_new": result.customers_new,
        "customers_merged": result.customers_merged,
        "lots": result.lots,
        "bonuses": to_roubles(result.bonuses),
        "errors_total": result.errors_total,
        "errors": result.errors,
        "imported_at": None
        if result.imported_at is None
        else datetime.fromtimestamp(result.imported_at, tz),
    }


def _page(request: web.Request, status: int = 200, **context: Any) -> web.Response:
    context.setdefault("report", None)
    context.setdefault("error", None)
    context.setdefault("digest", "")
    context.setdefault("filename", "")
    context["columns"] = [column.title for column in COLUMNS]
    return render(request, "import.html", context, status=status)


async def import_page(request: web.Request) -> web.Response:
    require(request, "manager")
    return _page(request)


async def import_post(request: web.Request) -> web.Response:
    form = await request.post()
    upload = form.get("file")
    data, filename = b"", ""
    if isinstance(upload, web.FileField):
        # aiohttp spooled it to a temporary file: read it and let the file go at once.
        with upload.file:
            data = await asyncio.to_thread(upload.file.read)
        filename = (upload.filename or "")[:200]
    require(request, "manager")
    if not isinstance(upload, web.FileField):
        return _page(request, 422, error="Выберите файл .xlsx или .csv")
    if not data:
        return _page(request, 422, error="Файл пуст: нужна строка заголовков и строки клиентов")
    digest = hashlib.sha256(data).hexdigest()
    apply = form.get("action") == "apply"
    if apply and form.get("digest") != digest:
        return _page(
            request, 422, filename=filename,
            error="Это не тот файл, который проверяли: сначала проверьте его.",
        )  # fmt: skip
    user = user_of(request)
    try:
        result = await customers_io.import_base(
            deps_of(request), user.merchant_id, data, detect_format(data), dry_run=not apply,
            label=f"кабинет: {user.login}",
        )  # fmt: skip
    except DomainError as exc:
        # An unreadable file, too many rows, a till's registration in between: said on
        # the page, beside the form, so the next file can be chosen at once.
        if exc.status == 404:
            raise
        return _page(request, exc.status, error=exc.message, filename=filename)
    status = 422 if result.status == "rejected" else 200
    return _page(
        request, status, report=_report(result, user.timezone), digest=digest,
        filename=filename,
    )  # fmt: skip


async def export_base(request: web.Request) -> web.StreamResponse:
    require(request, "manager")
    return await send_base_export(
        request, deps_of(request), user_of(request).merchant_id, {"Cache-Control": "no-store"}
    )
