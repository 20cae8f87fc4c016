"""Analytics in a real headless Chromium: the charts of the seeded data set show the
right numbers, with nothing the CSP refuses, at desktop and phone widths.
``LOYALTY_SCREENSHOTS=docs/screenshots`` also writes the README's screenshots."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from cloud.clock import ManualClock
from cloud.services.deps import Deps
from tests.cabinet.browser import Browser
from tests.cabinet.conftest import Staff, sign_in_page
from tests.conftest import Tenant
from tests.services.analytics_data import NOW, seed

pytestmark = pytest.mark.browser


async def _values(b: Browser, page: Any, shape: str, series: str) -> list[str]:
    return list(await b.run(page.eval_on_selector_all(
        f'svg.chart {shape}[data-series="{series}"]',
        "nodes => nodes.map(n => n.getAttribute('data-value'))",
    )))  # fmt: skip


async def test_a_viewer_sees_charts_with_the_seeded_numbers(
    browser: Browser, url: str, deps: Deps, clock: ManualClock, staff: Staff,
    demo_tenant: Tenant, other_tenant: Tenant, backend: str,
) -> None:  # fmt: skip
    """The viewer signs in, opens «Аналитика», picks January–March 2026 in the period
    form and sees the growth bars (new 2, 1, 0; total 7, 8, 8); the average-receipt tab
    draws 1 333,33 / 2 533,33 / 1 000 and the same in its table; the xlsx link answers
    an xlsx; the CSP reports nothing; the page fits 1280 and 390 px."""
    clock.now = NOW
    await seed(deps, demo_tenant.merchant_id, other_tenant.merchant_id)
    b = browser
    target = os.environ.get("LOYALTY_SCREENSHOTS")
    out = Path(target) if target and backend == "sqlite" else None
    refused: list[str] = []

    def watch(message: Any) -> None:
        if "Content Security" in message.text:
            refused.append(message.text)

    for width, name in ((1280, "desktop"), (390, "phone")):
        page = await b.page(width)
        page.on("console", watch)
        await sign_in_page(b, page, url, staff.viewer)
        await b.run(page.wait_for_url("**/cabinet/customers"))
        await b.run(page.click("nav.nav a[href='/cabinet/analytics']"))
        await b.run(page.wait_for_url("**/cabinet/analytics/growth"))
        await b.run(page.fill("input[name=from]", "2026-01"))
        await b.run(page.fill("input[name=to]", "2026-03"))
        await b.run(page.click("form.period button"))
        await b.run(page.wait_for_url("**/analytics/growth?from=2026-01&to=2026-03"))
        assert await _values(b, page, "rect", "Новые") == ["2", "1", "0"]
        assert await _values(b, page, "rect", "Всего") == ["7", "8", "8"]
        overflow = await b.run(page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        ))  # fmt: skip
        assert overflow <= 0, (width, overflow)
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            await b.run(page.screenshot(
                path=str(out / f"cabinet-analytics-{name}.png"), full_page=True
            ))  # fmt: skip
        await b.run(page.click("nav.reports a[href^='/cabinet/analytics/receipts']"))
        await b.run(page.wait_for_url("**/analytics/receipts?from=2026-01&to=2026-03"))
        assert await _values(b, page, "circle", "Средний чек") == [
            "1333.33", "2533.33", "1000.00",
        ]  # fmt: skip
        cells = await b.run(page.eval_on_selector_all(
            "table.data td[data-key=receipt]", "nodes => nodes.map(n => n.textContent)"
        ))  # fmt: skip
        assert [c.replace("\u00a0", " ") for c in cells] == ["1 333,33", "2 533,33", "1 000,00"]
        link = await b.run(page.get_attribute("a.download", "href"))
        xlsx = await b.run(page.request.get(url + link))
        assert xlsx.status == 200 and "spreadsheetml" in xlsx.headers["content-type"]
        assert refused == []
        await b.run(page.context.close())
