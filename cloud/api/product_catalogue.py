"""The merchant's product catalogue (code or code prefix -> program category) on the
merchant key (owner or manager), at ``/api/v1/merchant/product-catalogue``: ``PUT`` the
file itself as the body (xlsx or ``text/csv``) to replace the catalogue, ``GET`` it page
by page or as a file (``/export``), ``DELETE`` to clear it. A merchant key reaches only
its own catalogue."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from cloud.api.customer_files import read_file
from cloud.api.keys import MERCHANT, deps_of
from cloud.api.openapi import Operation, Param
from cloud.api.wire import int_query, json_response, only_params
from cloud.errors import DomainError
from cloud.services import product_catalogue as service
from cloud.services.catalogue_file import MAX_ROWS, detect_format
from cloud.services.customers_admin.common import MAX_PAGE, check_limit
from cloud.services.customers_io.exporter import MEDIA_TYPE as XLSX
from schemas import product_catalogue as wire
from schemas.bounds import BIGINT_MAX

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PATH = "/api/v1/merchant/product-catalogue"
MAX_FILE_BYTES = 16 * 1024 * 1024
_FORMATS = {XLSX: "xlsx", "text/csv": "csv", "application/octet-stream": None}


class _UnsupportedMedia(DomainError):
    status = 415


async def upload(request: web.Request) -> web.Response:
    only_params(request)
    if request.content_type not in _FORMATS:
        raise _UnsupportedMedia(
            "unsupported_media_type",
            f"Тело запроса — файл .xlsx (Content-Type {XLSX}) или .csv (text/csv)",
        )
    data = await read_file(request, MAX_FILE_BYTES, "catalogue_too_large")
    kind = _FORMATS[request.content_type] or detect_format(data)
    merchant = request[MERCHANT]
    result = await service.replace(
        deps_of(request), merchant.merchant_id, data, kind, merchant.timezone
    )
    return json_response(result)


async def listing(request: web.Request) -> web.Response:
    only_params(request, "limit", "after")
    limit = int_query(request, "limit", 100)
    assert limit is not None
    check_limit(limit)
    merchant = request[MERCHANT]
    found = await service.page(
        deps_of(request), merchant.merchant_id, merchant.timezone,
        limit=limit, after=int_query(request, "after", None),
    )  # fmt: skip
    return json_response(found)


async def export(request: web.Request) -> web.Response:
    only_params(request)
    data = await service.export_csv(deps_of(request), request[MERCHANT].merchant_id)
    return web.Response(body=data, headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": 'attachment; filename="catalogue.csv"',
    })  # fmt: skip


async def clear(request: web.Request) -> web.Response:
    only_params(request)
    return json_response(await service.clear(deps_of(request), request[MERCHANT].merchant_id))


ROUTES: list[tuple[Operation, Handler]] = [
    (Operation("put", PATH, "Загрузить каталог товаров (код или префикс кода → категория "
               "программы) из .xlsx или .csv, заменив прежний", None, wire.CatalogueUploaded,
               request_media=(XLSX, "text/csv"),
               description="Тело — сам файл (до 16 МБ, до " f"{MAX_ROWS}" " строк). Первая "
               "строка — заголовки: «код» (code, артикул) и «категория» (category); другие "
               "столбцы не читаются. Код, оканчивающийся на «*», — префикс: «12*» относится "
               "ко всем кодам, начинающимся с 12, «*» — ко всем. Позиции чека без категории "
               "получают категорию точного кода, иначе самого длинного подходящего префикса. "
               "Категории — из действующей программы. Каталог заменяется целиком или не "
               "меняется: при ошибках ответ 422 с номерами строк."), upload),
    (Operation("get", PATH, "Каталог товаров в порядке файла, по страницам", None,
               wire.CataloguePage, parameters=(
                   Param("limit", "query", "записей на странице (по умолчанию 100)",
                         {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}),
                   Param("after", "query", "курсор: ``next`` предыдущей страницы",
                         {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX}),
               )), listing),
    (Operation("get", PATH + "/export", "Каталог товаров файлом .csv (UTF-8, «;»): "
               "поправить в Excel и загрузить снова", None, None, response_media="text/csv"),
     export),
    (Operation("delete", PATH, "Удалить каталог товаров целиком", None, wire.CatalogueCleared),
     clear),
]  # fmt: skip
