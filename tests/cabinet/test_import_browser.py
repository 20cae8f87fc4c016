"""The import of a customer base in a real headless Chromium: a file with one bad
row is reported on the page with its row number and reason; the corrected file is
checked and then loaded, and its customers are found in the base. With
``LOYALTY_SCREENSHOTS`` set (SQLite run) the import page's screenshots are saved."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from cloud.services.deps import Deps
from tests.cabinet.browser import Browser
from tests.cabinet.conftest import Staff, sign_in_page
from tests.customer_io.conftest import row, xlsx

pytestmark = pytest.mark.browser

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
GOOD = [row("+79160000001", name="Пётр Иванов", balance="100,50"),
        row("+79160000002", name="Ирина Орлова")]  # fmt: skip


def _file(rows: list[list[Any]]) -> dict[str, Any]:
    # Built once per file: openpyxl stamps the time into each workbook it writes.
    return {"name": "base.xlsx", "mimeType": XLSX, "buffer": xlsx(rows)}


async def _fits(b: Browser, page: Any) -> None:
    overflow = await b.run(page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    ))  # fmt: skip
    assert overflow <= 0, overflow


async def test_import_a_file_with_a_bad_row_then_load_the_corrected_one(
    browser: Browser,
    url: str,
    staff: Staff,
    deps: Deps,
    backend: str,
) -> None:
    """The manager opens the import from the navigation, checks a workbook whose row 4
    has a bad phone and sees row 4, «Телефон» and the reason, with no load button;
    checks the corrected workbook (no errors), chooses it again and loads it; the page
    says 2 new customers and the customer list finds one of them by phone. The page
    (and the mailings, templates and feedback pages) fits a phone's width too."""
    target = os.environ.get("LOYALTY_SCREENSHOTS")
    out = Path(target) if target and backend == "sqlite" else None
    b, page = browser, await browser.page()
    await sign_in_page(b, page, url, staff.manager)
    await b.run(page.wait_for_url("**/cabinet/customers"))
    await b.run(page.click("nav.nav >> text=Рассылки и отзывы"))
    await b.run(page.click("nav.tabs >> text=Загрузка и выгрузка базы"))
    await b.run(page.wait_for_url("**/cabinet/import"))
    bad = _file([*GOOD, row("12345", name="Без телефона")])
    await b.run(page.set_input_files("#check input[type=file]", bad))
    await b.run(page.click("#check button[type=submit]"))
    await b.run(page.wait_for_selector("#bad-rows"))
    cells = await b.run(page.inner_text("#bad-rows tbody tr"))
    assert "4" in cells and "Телефон" in cells and "Некорректный номер телефона" in cells
    assert await b.run(page.inner_text("#errors-total")) == "1"
    assert await b.run(page.query_selector("#apply")) is None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        await b.run(page.screenshot(path=str(out / "cabinet-import-desktop.png"), full_page=True))

    corrected = _file(GOOD)
    await b.run(page.set_input_files("#check input[type=file]", corrected))
    await b.run(page.click("#check button[type=submit]"))
    await b.run(page.wait_for_selector("#apply"))
    assert "Ошибок нет" in await b.run(page.inner_text("#report"))
    await b.run(page.set_input_files("#apply input[type=file]", corrected))
    await b.run(page.click("#apply button[type=submit]"))
    await b.run(page.wait_for_selector("text=загружен"))
    assert await b.run(page.inner_text("#new")) == "2"

    await b.run(page.goto(url + "/cabinet/customers?q=%2B79160000002"))
    assert "Ирина Орлова" in await b.run(page.inner_text("main"))
    await b.run(page.context.close())

    phone = await b.page(390)
    await sign_in_page(b, phone, url, staff.manager)
    await b.run(phone.wait_for_url("**/cabinet/customers"))
    await b.run(phone.goto(url + "/cabinet/import"))
    await b.run(phone.set_input_files("#check input[type=file]",
                                      _file([row("12345", name="Без телефона")])))  # fmt: skip
    await b.run(phone.click("#check button[type=submit]"))
    await b.run(phone.wait_for_selector("#bad-rows"))
    await _fits(b, phone)
    if out is not None:
        await b.run(phone.screenshot(path=str(out / "cabinet-import-phone.png"), full_page=True))
    for other in ("mailings", "templates", "feedback"):
        await b.run(phone.goto(f"{url}/cabinet/{other}"))
        await _fits(b, phone)
    await b.run(phone.context.close())
