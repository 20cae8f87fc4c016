"""The cabinet in a real headless Chromium (Debian's ``chromium``, driven by
Playwright with ``executable_path``): sign-in, limits, a balance adjustment seen in
the card, roles, tenancy and CSRF as a browser meets them.

One browser for the session (``tests.cabinet.browser``); each test opens fresh
contexts (cookies) against the service on a real port of its own database.
``LOYALTY_SCREENSHOTS=docs/screenshots`` also writes the README's screenshots."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from cloud.services.deps import Deps
from tests.cabinet.browser import Browser, roubles
from tests.cabinet.conftest import PHONE, Staff, sign_in_page
from tests.helpers import register_over_api

pytestmark = pytest.mark.browser


async def test_sign_in_find_a_customer_and_adjust_the_balance(
    browser: Browser, url: str, staff: Staff, customer: int
) -> None:
    """A wrong password is refused on the page; the manager signs in, finds the
    customer by phone, credits 150 ₽ with a reason and sees the new balance and the
    reason in the card's history."""
    b, page = browser, await browser.page()
    await sign_in_page(b, page, url, staff.manager, "wrong password")
    assert "Неверный логин или пароль" in await b.run(page.inner_text("main"))
    await sign_in_page(b, page, url, staff.manager)
    await b.run(page.wait_for_url("**/cabinet/customers"))
    await b.run(page.fill("input[name=q]", "8 916 123-45-67"))
    await b.run(page.click("form.search button"))
    await b.run(page.click("table.list a"))
    await b.run(page.wait_for_url(f"**/cabinet/customers/{customer}"))
    before = await b.run(page.inner_text("#balance"))
    await b.run(page.check("input[name=kind][value=credit]"))
    await b.run(page.fill("input[name=amount]", "150"))
    await b.run(page.fill("#adjust input[name=reason]", "Извинение за очередь"))
    await b.run(page.click("#adjust button[type=submit]"))
    await b.run(page.wait_for_selector(".flash"))
    assert "Начислено 150,00 ₽" in await b.run(page.inner_text(".flash"))
    after = await b.run(page.inner_text("#balance"))
    assert roubles(after) == roubles(before) + 150
    assert "Извинение за очередь" in await b.run(page.inner_text("#movements"))
    await b.run(page.context.close())


async def test_rate_limit_viewer_stranger_and_csrf(
    browser: Browser, url: str, staff: Staff, customer: int
) -> None:
    """Five wrong passwords lock the login (the right one is then refused too); a viewer
    sees the card without the adjustment form and a forged post is refused; a post
    without the CSRF token is 403; another merchant's owner gets 404 for our customer."""
    b, page = browser, await browser.page()
    for _ in range(5):
        await sign_in_page(b, page, url, staff.owner, "guess")
    await sign_in_page(b, page, url, staff.owner)
    assert "Слишком много неудачных попыток" in await b.run(page.inner_text("main"))

    viewer = await b.page()
    await sign_in_page(b, viewer, url, staff.viewer)
    await b.run(viewer.wait_for_url("**/cabinet/customers"))
    card = f"{url}/cabinet/customers/{customer}"
    await b.run(viewer.goto(card))
    assert PHONE in await b.run(viewer.inner_text("main"))
    assert await b.run(viewer.query_selector("#adjust")) is None
    csrf = await b.run(viewer.get_attribute("form.who input[name=csrf]", "value"))
    forged = await b.run(viewer.request.post(
        card + "/adjust",
        form={"csrf": csrf, "kind": "credit", "amount": "100", "reason": "Сам себе"},
    ))  # fmt: skip
    assert forged.status == 403 and "Нет доступа" in await b.run(forged.text())
    no_token = await b.run(viewer.request.post(card + "/block", form={"reason": "Без токена"}))
    assert no_token.status == 403 and "Форма устарела" in await b.run(no_token.text())

    stranger = await b.page()
    await sign_in_page(b, stranger, url, staff.stranger)
    await b.run(stranger.wait_for_url("**/cabinet/customers"))
    response = await b.run(stranger.goto(card))
    assert response.status == 404 and PHONE not in await b.run(stranger.inner_text("main"))
    for opened in (page, viewer, stranger):
        await b.run(opened.context.close())


async def test_pages_fit_desktop_and_phone_widths(
    browser: Browser, url: str, staff: Staff, customer: int, backend: str, client: TestClient,
    deps: Deps,
) -> None:  # fmt: skip
    """The sign-in page, the customer list and the card render at 1280 and 390 px with
    nothing wider than the screen; with LOYALTY_SCREENSHOTS set (SQLite run) they are
    saved there as the README's screenshots."""
    for n, name in enumerate(("Иван Петров", "Мария Кузнецова", "Ольга Новикова")):
        await register_over_api(client, deps, f"+7900100000{n + 2}", name=name)
    target = os.environ.get("LOYALTY_SCREENSHOTS")
    out = Path(target) if target and backend == "sqlite" else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    b = browser
    for width, name in ((1280, "desktop"), (390, "phone")):
        page = await b.page(width)
        pages = (
            ("login", url + "/cabinet/login"),
            ("customers", url + "/cabinet/customers"),
            ("customer", f"{url}/cabinet/customers/{customer}"),
        )
        for shot, address in pages:
            await b.run(page.goto(address))
            overflow = await b.run(page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            ))  # fmt: skip
            assert overflow <= 0, (shot, width, overflow)
            if out is not None:
                await b.run(page.screenshot(
                    path=str(out / f"cabinet-{shot}-{name}.png"), full_page=True
                ))  # fmt: skip
            if shot == "login":
                await sign_in_page(b, page, url, staff.owner)
                await b.run(page.wait_for_url("**/cabinet/customers"))
        await b.run(page.context.close())
