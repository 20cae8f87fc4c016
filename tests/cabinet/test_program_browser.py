"""The program's pages in headless Chromium: the owner changes a tier's rate through the
form (an error first, shown beside the field), runs the what-if replay, watches it
finish, reads the figures and activates the draft; the pages fit a phone.
``LOYALTY_SCREENSHOTS=docs/screenshots`` also writes the README's screenshots."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cloud.services.deps import Deps
from tests.cabinet.browser import Browser
from tests.cabinet.conftest import Staff, sign_in_page
from tests.conftest import Tenant

pytestmark = pytest.mark.browser


async def _story(b: Browser, page: Any, url: str, staff: Staff) -> str:
    await sign_in_page(b, page, url, staff.owner)
    await b.run(page.wait_for_url("**/cabinet/customers"))
    await b.run(page.click("nav >> text=Программа"))
    await b.run(page.wait_for_url("**/cabinet/program"))
    await b.run(page.fill("input[name='tiers.0.accrual_percent']", "150"))
    await b.run(page.click("#save-draft"))
    error = await b.run(page.inner_text("[data-for='tiers.0.accrual_percent']"))
    assert error == "должно быть не больше 100"
    await b.run(page.fill("input[name='tiers.0.accrual_percent']", "6"))
    await b.run(page.click("#save-draft"))
    await b.run(page.wait_for_selector(".flash"))
    assert "Черновик сохранён: версия 2" in await b.run(page.inner_text(".flash"))
    await b.run(page.check("input[name=days][value='90']"))
    await b.run(page.click("#run-whatif"))
    await b.run(page.wait_for_url("**/cabinet/program/whatif/*"))
    # Done at once or after the page has reloaded itself.
    await b.run(page.wait_for_selector("#figures", timeout=60_000))
    return str(page.url)


async def test_change_a_rate_run_the_whatif_and_activate(
    browser: Browser, url: str, staff: Staff, customer: int, deps: Deps, demo_tenant: Tenant
) -> None:
    """Standard's 5 % becomes 6 % through the form (150 % is refused beside the field
    first); the replay of the last 90 days shows the customer's 1 000 ₽ purchase
    accruing 60 ₽ under the draft against 50 ₽ live (+10 ₽); activating makes version 2
    the live one."""
    b, page = browser, await browser.page()
    await _story(b, page, url, staff)
    accrued = [await b.run(page.inner_text(f"#row-accrued .{c}"))
               for c in ("draft", "live", "delta")]  # fmt: skip
    assert [text.replace("\u00a0", " ") for text in accrued] == ["60,00", "50,00", "10,00"]
    await b.run(page.click("#activate"))
    await b.run(page.wait_for_url("**/cabinet/program"))
    assert "Версия 2 включена" in await b.run(page.inner_text(".flash"))
    assert await b.run(page.inner_text("#live-version")) == "2"
    live = await deps.db.fetch_value(
        "SELECT v.version FROM merchants m JOIN program_versions v "
        "ON v.id = m.active_program_version_id WHERE m.id = :m",
        {"m": demo_tenant.merchant_id},
    )
    assert live == 2
    await b.run(page.context.close())


async def test_program_pages_fit_desktop_and_phone_widths(
    browser: Browser, url: str, staff: Staff, customer: int, backend: str, client: TestClient
) -> None:
    """The program page and a finished what-if render at 1280 and 390 px with nothing
    wider than the screen; with LOYALTY_SCREENSHOTS set (SQLite run) they are saved."""
    target = os.environ.get("LOYALTY_SCREENSHOTS")
    out = Path(target) if target and backend == "sqlite" else None
    b = browser
    page = await b.page(1280)
    whatif_url = await _story(b, page, url, staff)
    await b.run(page.context.close())
    for width, name in ((1280, "desktop"), (390, "phone")):
        page = await b.page(width)
        await sign_in_page(b, page, url, staff.owner)
        await b.run(page.wait_for_url("**/cabinet/customers"))
        for shot, address in (("program", url + "/cabinet/program"), ("whatif", whatif_url)):
            await b.run(page.goto(address))
            overflow = await b.run(page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            ))  # fmt: skip
            assert overflow <= 0, (shot, width, overflow)
            if out is not None:
                out.mkdir(parents=True, exist_ok=True)
                await b.run(page.screenshot(
                    path=str(out / f"cabinet-{shot}-{name}.png"), full_page=True
                ))  # fmt: skip
        await b.run(page.context.close())
