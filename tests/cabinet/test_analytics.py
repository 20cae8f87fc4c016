"""The analytics pages over plain HTTP: every report renders its chart and table for
a viewer, the xlsx holds the same figures, a bad period is a Russian 400 page, and
another merchant's staff and the signed-out see none of our figures."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook

from cloud.clock import ManualClock
from cloud.services import analytics
from cloud.services.deps import Deps
from tests.cabinet.conftest import Staff, cabinet_client
from tests.conftest import Tenant
from tests.services.analytics_data import NOW, seed

PERIOD = {"from": "2026-01", "to": "2026-03"}


@pytest.fixture
async def seeded(
    deps: Deps, clock: ManualClock, staff: Staff, demo_tenant: Tenant, other_tenant: Tenant
) -> dict[str, int]:
    clock.now = NOW
    return await seed(deps, demo_tenant.merchant_id, other_tenant.merchant_id)


def _cells(html: str, key: str) -> list[str]:
    return [
        m.replace("\u00a0", " ") for m in re.findall(rf'data-key="{key}"[^>]*>([^<]*)</td>', html)
    ]


async def test_every_report_renders_a_chart_and_its_table_for_a_viewer(
    aiohttp_client: Any, deps: Deps, staff: Staff, seeded: dict[str, int]
) -> None:
    """The viewer opens /cabinet/analytics (sent to the first report, the period kept)
    and each report: an inline SVG chart with a bar or point per figure, the table, and
    the xlsx link for the same period; the growth figures are the data set's."""
    viewer = await cabinet_client(aiohttp_client, deps, staff.viewer)
    first = await viewer.get("/cabinet/analytics", params=PERIOD, allow_redirects=False)
    assert first.status == 303
    assert first.headers["Location"] == "/cabinet/analytics/growth?from=2026-01&to=2026-03"
    for key in analytics.REPORTS:
        response = await viewer.get(f"/cabinet/analytics/{key}", params=PERIOD)
        html = await response.text()
        assert response.status == 200, (key, html[:300])
        assert "<svg" in html and "<table" in html, key
        assert f"/cabinet/analytics/{key}.xlsx?from=2026-01&amp;to=2026-03" in html
        assert "style=" not in html and "<script" not in html, key
    growth = await (await viewer.get("/cabinet/analytics/growth", params=PERIOD)).text()
    assert _cells(growth, "total") == ["7", "8", "8"]
    assert 'data-label="2026-02" data-value="1"' in growth  # February's bar of new ones
    receipts = await (await viewer.get("/cabinet/analytics/receipts", params=PERIOD)).text()
    assert _cells(receipts, "receipt") == ["1 333,33", "2 533,33", "1 000,00"]


async def test_the_xlsx_holds_the_reports_figures(
    aiohttp_client: Any, deps: Deps, staff: Staff, seeded: dict[str, int]
) -> None:
    """The campaigns report as an xlsx: a header row of the columns, then one row per
    campaign with numbers as numbers (roubles to the kopeck)."""
    viewer = await cabinet_client(aiohttp_client, deps, staff.viewer)
    response = await viewer.get("/cabinet/analytics/campaigns.xlsx", params=PERIOD)
    assert response.status == 200
    assert "campaigns-2026-01-2026-03.xlsx" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(await response.read())).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Кампания", "Участников", "Стоимость сообщений, ₽")
    assert rows[1] == ("Предупреждения о сгорании бонусов", 2, 7.5, 1, 1, 3000)
    assert rows[2][0] == "Реанимация: r30" and Decimal(str(rows[2][5])) == Decimal("600")
    assert len(rows) == 4


@pytest.mark.parametrize(
    "query", [{"from": "2026-13"}, {"from": "2026-03", "to": "2026-01"},
              {"from": "2020-01", "to": "2026-01"}],
)  # fmt: skip
async def test_a_bad_period_is_a_russian_400_page(
    aiohttp_client: Any, deps: Deps, staff: Staff, query: dict[str, str]
) -> None:
    """A month not ``YYYY-MM``, a start after the end or over 36 months: a 400 page
    that says what is wrong, for the page and for the xlsx."""
    viewer = await cabinet_client(aiohttp_client, deps, staff.viewer)
    for path in ("/cabinet/analytics/growth", "/cabinet/analytics/growth.xlsx"):
        response = await viewer.get(path, params=query)
        html = await response.text()
        assert response.status == 400 and "text/html" in response.headers["Content-Type"]
        assert "Неверный период" in html and "ериод" in html


async def test_an_unknown_report_is_a_404_page(
    aiohttp_client: Any, deps: Deps, staff: Staff
) -> None:
    """A report name we do not have is the cabinet's 404 page, as a page and as xlsx."""
    viewer = await cabinet_client(aiohttp_client, deps, staff.viewer)
    for path in ("/cabinet/analytics/nothing", "/cabinet/analytics/nothing.xlsx"):
        response = await viewer.get(path)
        assert response.status == 404 and "Не найдено" in await response.text()


async def test_another_merchants_staff_and_the_signed_out_see_none_of_our_figures(
    aiohttp_client: Any, deps: Deps, staff: Staff, seeded: dict[str, int]
) -> None:
    """Another merchant's owner gets its own figures on every report (one customer, its
    5 000 sale), never ours; the signed-out are sent to the sign-in from every
    analytics address, xlsx included."""
    stranger = await cabinet_client(aiohttp_client, deps, staff.stranger)
    growth = await (await stranger.get("/cabinet/analytics/growth", params=PERIOD)).text()
    assert _cells(growth, "total") == ["1", "1", "1"]
    receipts = await (await stranger.get("/cabinet/analytics/receipts", params=PERIOD)).text()
    assert _cells(receipts, "revenue") == ["5 000,00", "0,00", "0,00"]
    for key in analytics.REPORTS:
        html = await (await stranger.get(f"/cabinet/analytics/{key}", params=PERIOD)).text()
        assert "Весна" not in html and "r30" not in html and "3 000,00" not in html, key
    sheet = load_workbook(io.BytesIO(await (await stranger.get(
        "/cabinet/analytics/liability.xlsx")).read())).active  # fmt: skip
    assert sheet is not None
    assert sum(Decimal(str(r[2] or 0)) for r in sheet.iter_rows(min_row=2, values_only=True)) == 999
    anonymous = await cabinet_client(aiohttp_client, deps, None)
    for path in ["/cabinet/analytics"] + [
        f"/cabinet/analytics/{key}{ext}" for key in analytics.REPORTS for ext in ("", ".xlsx")
    ]:
        response = await anonymous.get(path, allow_redirects=False)
        assert response.status == 303 and response.headers["Location"] == "/cabinet/login"


def test_the_svg_chart_draws_negatives_gaps_and_escapes_labels() -> None:
    """A negative figure gets a bar below the zero line (no negative height), a missing
    one no point, and a label is escaped: the SVG stays valid XML."""
    from xml.etree import ElementTree

    from cloud.cabinet.svg_charts import chart

    bars = chart("bar", ["<a>", "b"], [("Выручка", [Decimal("-50"), 100])], "T", "₽")
    svg = ElementTree.fromstring(str(bars).split("<ul")[0])
    rects = svg.findall("{http://www.w3.org/2000/svg}rect")
    assert [r.get("data-value") for r in rects] == ["-50", "100"]
    assert all(float(r.get("height") or -1) >= 0 for r in rects)
    assert rects[0].get("data-label") == "<a>"
    line = chart("line", ["a", "b", "c"], [("Дни", [Decimal("1.5"), None, 3])], "T")
    svg = ElementTree.fromstring(str(line).split("<ul")[0])
    points = svg.findall("{http://www.w3.org/2000/svg}circle")
    assert [p.get("data-value") for p in points] == ["1.5", "3"]
    empty = chart("bar", [], [("Ничего", [])], "T")
    assert "<svg" in str(empty)
