"""The cashier's workplace in a real headless Chromium at a phone's width: register a
customer with the SMS code, sell, spend bonuses with the customer's code, return."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from cloud.services import programs, usage
from cloud.services.deps import Deps
from tests.cabinet.browser import Browser, roubles
from tests.cabinet.conftest import Staff, sign_in_page
from tests.conftest import DEMO_PROGRAM, Tenant
from tests.helpers import sms_code

pytestmark = pytest.mark.browser

PHONE = "+79035550022"


async def _overflow(b: Browser, page: Any) -> int:
    width: int = await b.run(page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    ))  # fmt: skip
    return width


async def _shot(b: Browser, page: Any, name: str, backend: str) -> None:
    target = os.environ.get("LOYALTY_SCREENSHOTS")
    if target and backend == "sqlite":
        # Playwright makes the directory itself.
        await b.run(page.screenshot(path=str(Path(target) / name), full_page=True))


async def test_register_sell_spend_with_the_sms_code_and_return_on_a_phone(
    browser: Browser,
    url: str,
    staff: Staff,
    deps: Deps,
    demo_tenant: Tenant,
    backend: str,
) -> None:
    """At 390 px (nothing wider than the screen) the manager looks up an unknown
    phone, registers the customer with the code they received, sells 1 000 ₽ (50 ₽
    accrue), then on the next receipt of 400 ₽ pays 20 ₽ with bonuses after the
    customer's SMS code (the program asks for it), closes and returns that receipt
    from the list: the customer is back to 50 ₽."""
    document = json.loads(DEMO_PROGRAM.read_text())
    document["redeem_requires_sms_code"] = True
    await programs.publish(deps.db, demo_tenant.merchant_id, document, deps.clock())
    b, page = browser, await browser.page(390)
    await sign_in_page(b, page, url, staff.manager)
    await b.run(page.wait_for_url("**/cabinet/customers"))
    await b.run(page.click("nav a[href='/cabinet/counter']"))
    await b.run(page.fill("#find input[name=q]", "8 903 555-00-22"))
    await b.run(page.click("#find button"))
    await b.run(page.click("#register button:has-text('Отправить код')"))
    await b.run(page.fill("#register-form input[name=code]", sms_code(deps, PHONE)))
    await b.run(page.fill("#register-form input[name=name]", "Вера Лапина"))
    await b.run(page.check("#register-form input[name=consent]"))
    await b.run(page.click("#register-form button"))
    assert "Вера Лапина" in await b.run(page.inner_text("#customer-name"))

    await b.run(page.fill("#new-receipt input[name=amount]", "1000"))
    await b.run(page.click("#new-receipt button[type=submit]"))
    assert roubles(await b.run(page.inner_text("#q-accrual"))) == 50
    await b.run(page.click("#close button"))
    assert roubles(await b.run(page.inner_text("#last-accrued"))) == 50

    await b.run(page.fill("#find input[name=q]", PHONE))
    await b.run(page.click("#find button"))
    assert roubles(await b.run(page.inner_text("#customer-balance"))) == 50
    await b.run(page.click("summary"))
    await b.run(page.fill("input[name=name1]", "Мойка кузова"))
    await b.run(page.fill("input[name=price1]", "400"))
    await b.run(page.click("#new-receipt button[type=submit]"))
    assert await _overflow(b, page) <= 0
    await _shot(b, page, "cabinet-counter-phone.png", backend)
    await b.run(page.click("#send-code"))
    await b.run(page.fill("#hold input[name=redeem]", "20"))
    await b.run(page.fill("#hold input[name=code]", sms_code(deps, PHONE)))
    await b.run(page.click("#hold button"))
    assert roubles(await b.run(page.inner_text("#q-redeem"))) == 20
    assert roubles(await b.run(page.inner_text("#q-pay"))) == 380
    await b.run(page.click("#close button"))
    assert roubles(await b.run(page.inner_text("#last-redeemed"))) == 20

    await b.run(page.click("#returns table button"))
    assert "Возврат по чеку" in await b.run(page.inner_text(".flash"))
    await b.run(page.fill("#find input[name=q]", PHONE))
    await b.run(page.click("#find button"))
    assert roubles(await b.run(page.inner_text("#customer-balance"))) == 50
    assert await _overflow(b, page) <= 0
    await b.run(page.context.close())

    desktop = await b.page(1280)
    await sign_in_page(b, desktop, url, staff.manager)
    await b.run(desktop.wait_for_url("**/cabinet/customers"))
    await b.run(desktop.goto(url + "/cabinet/counter"))
    assert await _overflow(b, desktop) <= 0
    await _shot(b, desktop, "cabinet-counter-desktop.png", backend)
    await b.run(desktop.context.close())


async def test_stores_page_issues_a_token_once_at_desktop_and_phone_widths(
    browser: Browser,
    url: str,
    staff: Staff,
    deps: Deps,
    demo_tenant: Tenant,
    backend: str,
) -> None:
    """The owner opens «Магазины» at 1280 and 390 px (nothing wider than the screen),
    issues a token for the till and sees it once; the page after it has no token."""
    await usage.set_plan(deps.db, demo_tenant.merchant_id, "Старт", 1000, 300000, deps.clock())
    b = browser
    for width, name in ((1280, "desktop"), (390, "phone")):
        page = await b.page(width)
        await sign_in_page(b, page, url, staff.owner)
        await b.run(page.wait_for_url("**/cabinet/customers"))
        await b.run(page.click("nav a[href='/cabinet/stores']"))
        await b.run(page.click(f"#terminal-{demo_tenant.terminal_id} button:has-text('Выдать')"))
        token = await b.run(page.inner_text("#token"))
        assert len(token) > 20
        assert await _overflow(b, page) <= 0
        await _shot(b, page, f"cabinet-stores-{name}.png", backend)
        await b.run(page.click("nav a[href='/cabinet/stores']"))
        assert token not in await b.run(page.inner_text("main"))
        await b.run(page.context.close())
