"""The customer base as files, on the merchant key (owner or manager: both already see
and manage every customer): ``POST /api/v1/merchant/customers/import`` takes the file
itself as the body (``Content-Type`` xlsx or ``text/csv``; ``?dry_run=true`` checks and
changes nothing), ``GET /api/v1/merchant/customers/export`` answers an xlsx workbook."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from datetime import datetime

from aiohttp import web

from cloud.api.keys import MERCHANT, deps_of
from cloud.api.openapi import Operation, Param
from cloud.api.wire import json_response
from cloud.errors import BadRequest, DomainError
from cloud.services import customers_io
from cloud.services.customers_io.exporter import MEDIA_TYPE as XLSX
from cloud.services.customers_io.reader import detect_format
from cloud.services.deps import Deps
from cloud.web_json import BodyTimeout
from schemas.customer_import import ImportRejected, ImportReport, ImportRowError
from schemas.money import to_roubles

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PREFIX = "/api/v1/merchant/customers"
MAX_FILE_BYTES = 64 * 1024 * 1024
UPLOAD_SECONDS = 300.0
_CHUNK = 256 * 1024
_FORMATS = {XLSX: "xlsx", "text/csv": "csv", "application/octet-stream": None}


class _TooLarge(DomainError):
    status = 413


class _UnsupportedMedia(DomainError):
    status = 415


def _too_large(max_bytes: int, code: str) -> _TooLarge:
    return _TooLarge(code, f"Файл больше {max_bytes // 2**20} МБ: разделите его")


async def read_file(
    request: web.Request, max_bytes: int | None = None, code: str = "import_too_large"
) -> bytes:
    """The body, up to ``max_bytes`` (``MAX_FILE_BYTES`` when None; the API's 1 MB limit
    of JSON bodies does not apply to a file), within ``UPLOAD_SECONDS``; ``code`` names
    the refusal of a larger one."""
    max_bytes = MAX_FILE_BYTES if max_bytes is None else max_bytes
    if request.content_length is not None and request.content_length > max_bytes:
        raise _too_large(max_bytes, code)
    parts: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(UPLOAD_SECONDS):
            while chunk := await request.content.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise _too_large(max_bytes, code)
                parts.append(chunk)
    except TimeoutError:
        raise BodyTimeout(
            "request_timeout", f"Тело запроса не получено за {UPLOAD_SECONDS:g} с"
        ) from None
    return b"".join(parts)


def _dry_run(request: web.Request) -> bool:
    text = request.query.get("dry_run", "false").lower()
    if text not in ("true", "false", "1", "0"):
        raise BadRequest("invalid_query", "Параметр dry_run: true или false")
    return text in ("true", "1")


def report_of(result: customers_io.ImportResult, request: web.Request) -> ImportReport:
    tz = request[MERCHANT].timezone
    return ImportReport(
        status=result.status,
        rows=result.rows, customers_new=result.customers_new,
        customers_merged=result.customers_merged, lots=result.lots,
        bonuses=to_roubles(result.bonuses), errors_total=result.errors_total,
        errors=[ImportRowError(row=e.row, column=e.column, message=e.message)
                for e in result.errors],
        import_id=result.import_id,
        imported_at=None if result.imported_at is None
        else datetime.fromtimestamp(result.imported_at, tz),
    )  # fmt: skip


async def import_customers(request: web.Request) -> web.Response:
    if request.content_type not in _FORMATS:
        raise _UnsupportedMedia(
            "unsupported_media_type",
            f"Тело запроса — файл .xlsx (Content-Type {XLSX}) или .csv (text/csv)",
        )
    dry_run = _dry_run(request)
    data = await read_file(request)
    kind = _FORMATS[request.content_type] or detect_format(data)
    merchant = request[MERCHANT]
    result = await customers_io.import_base(
        deps_of(request), merchant.merchant_id, data, kind, dry_run=dry_run,
        label=merchant.label or f"ключ API №{merchant.credential_id}",
    )  # fmt: skip
    report = report_of(result, request)
    if result.status == "rejected":
        body = ImportRejected(
            code="import_rejected",
            message=f"В файле {result.errors_total} ошибочных строк: ничего не загружено "
            "(список — в report.errors)",
            report=report,
        )
        return json_response(body, status=422)
    return json_response(report)


async def export_customers(request: web.Request) -> web.StreamResponse:
    return await send_base_export(request, deps_of(request), request[MERCHANT].merchant_id)


async def send_base_export(
    request: web.Request, deps: Deps, merchant_id: int, headers: dict[str, str] | None = None
) -> web.StreamResponse:
    """The merchant's base as xlsx (the API's export and the cabinet's): written to a
    temporary file page by page (bounded memory), then sent in chunks."""
    with tempfile.TemporaryFile() as spool:
        await customers_io.export_base(deps, merchant_id, spool)
        size = spool.tell()
        spool.seek(0)
        response = web.StreamResponse(headers={
            "Content-Type": XLSX,
            "Content-Disposition": 'attachment; filename="customers.xlsx"',
            **(headers or {}),
        })  # fmt: skip
        response.content_length = size
        await response.prepare(request)
        while chunk := await asyncio.to_thread(spool.read, _CHUNK):
            await response.write(chunk)
        await response.write_eof()
    return response


_DRY_RUN = Param(
    "dry_run", "query",
    "true: проверить файл и перечислить ошибочные строки, ничего не меняя",
    {"type": "boolean"},
)  # fmt: skip

ROUTES: list[tuple[Operation, Handler]] = [
    (Operation("post", PREFIX + "/import",
               "Загрузка базы клиентов из .xlsx или .csv: сначала dry_run=true",
               None, ImportReport, parameters=(_DRY_RUN,), request_media=(XLSX, "text/csv"),
               description="Тело — сам файл (до 64 МБ, до 200 000 строк), столбцы — как в "
               "шаблоне fixtures/import/. Файл загружается целиком или не загружается: при "
               "ошибочных строках ответ 422 import_rejected с отчётом. Повторная загрузка того "
               "же файла ничего не меняет и возвращает первый результат (already_imported)."),
     import_customers),
    (Operation("get", PREFIX + "/export", "Выгрузка базы клиентов в .xlsx", None, None,
               response_media=XLSX), export_customers),
]  # fmt: skip
