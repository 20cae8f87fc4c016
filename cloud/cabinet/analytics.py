"""The analytics pages (viewer and up): one report per page, its chart (inline SVG),
the same figures as a table, an xlsx of them, and a period of whole months."""

from __future__ import annotations

import io
from typing import Any

from aiohttp import web
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from cloud.cabinet.core import BASE, deps_of, error_page, money, render, require, user_of
from cloud.cabinet.svg_charts import chart
from cloud.services import analytics
from cloud.services.analytics import Period, PeriodError, Report

_KEY = "{key:[a-z]{1,20}}"
_UNITS = {"money": "₽", "percent": "%", "days": "дн."}
_FORMATS = {"money": "#,##0.00", "percent": "0.0", "days": "0.0", "int": "0"}


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/analytics", index)
    router.add_get(f"/analytics/{_KEY}", report_page)
    router.add_get(f"/analytics/{_KEY}.xlsx", report_xlsx)


def _period(request: web.Request) -> Period:
    user = user_of(request)
    return analytics.period(
        deps_of(request).clock(), user.timezone,
        request.query.get("from", "")[:7], request.query.get("to", "")[:7],
    )  # fmt: skip


async def _report(request: web.Request) -> Report | web.Response:
    require(request, "viewer")
    key = request.match_info["key"]
    if key not in analytics.REPORTS:
        raise web.HTTPNotFound()
    try:
        span = _period(request)
    except PeriodError as exc:
        return error_page(request, 400, "Неверный период", exc.message)
    return await analytics.build(deps_of(request), user_of(request).merchant_id, key, span)


async def index(request: web.Request) -> web.StreamResponse:
    require(request, "viewer")
    target = BASE + "/analytics/growth"
    if request.query_string:
        target += "?" + request.query_string
    raise web.HTTPSeeOther(target)


def show(value: Any, kind: str) -> str:
    """A cell as the page shows it: roubles with the ``money`` filter, a share with %."""
    if value is None:
        return "—"
    if kind == "money":
        return money(value)
    if kind in ("percent", "days"):
        return str(value).replace(".", ",") + (" %" if kind == "percent" else "")
    if kind == "int":
        return f"{value:,}".replace(",", "\u00a0")
    return str(value)


async def report_page(request: web.Request) -> web.Response:
    report = await _report(request)
    if isinstance(report, web.Response):
        return report
    columns = {c.key: c for c in report.columns}
    svg = None
    if report.chart is not None and report.rows:
        spec = report.chart
        kinds = {columns[s].kind for s in spec.series}
        svg = chart(
            spec.kind,
            [str(r[spec.x]) for r in report.rows],
            [(columns[s].title, [r[s] for r in report.rows]) for s in spec.series],
            report.title,
            _UNITS.get(kinds.pop(), "") if len(kinds) == 1 else "",
        )
    span = _period(request)
    return render(
        request, "analytics.html",
        {"report": report, "svg": svg, "reports": analytics.REPORTS, "show": show,
         "period": {"from": span.first.strftime("%Y-%m"), "to": span.last.strftime("%Y-%m")},
         "query": request.query_string},
    )  # fmt: skip


async def report_xlsx(request: web.Request) -> web.StreamResponse:
    report = await _report(request)
    if isinstance(report, web.Response):
        return report
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(report.title[:31])
    sheet.append([c.title + (f", {_UNITS[c.kind]}" if c.kind in _UNITS else "")
                  for c in report.columns])  # fmt: skip
    for row in report.rows:
        cells = []
        for column in report.columns:
            value = row[column.key]
            cell = WriteOnlyCell(sheet, value=value)
            if column.kind in _FORMATS and value is not None:
                cell.number_format = _FORMATS[column.kind]
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    span = _period(request)
    name = f"{report.key}-{span.first:%Y-%m}-{span.last:%Y-%m}.xlsx"
    return web.Response(
        body=buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}"',
                 "Cache-Control": "no-store"},
    )  # fmt: skip
