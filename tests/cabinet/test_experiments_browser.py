"""The A/B-test story in a real headless Chromium: the owner starts a test through the
form, the tills sell to customers of both variants, the results page shows each
variant's figures, and the owner applies the winner. The page fits desktop and phone
widths; with ``LOYALTY_SCREENSHOTS`` set (SQLite run) it is saved as the README's
screenshots."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from cloud.services import experiments
from cloud.services.deps import Deps
from tests.cabinet.browser import Browser
from tests.cabinet.conftest import Staff, sign_in_page
from tests.conftest import Tenant
from tests.ledger.helpers import create_customer

pytestmark = pytest.mark.browser


async def test_owner_runs_an_ab_test_sees_the_figures_and_applies_the_winner(
    browser: Browser,
    url: str,
    staff: Staff,
    client: TestClient,
    deps: Deps,
    demo_tenant: Tenant,
    backend: str,
) -> None:
    """Start «Начисление 7 %» for every tier through the form; customers (two or more in
    each variant) each buy 1 000 ₽; the page shows 5 % accrued in A (50 ₽ a customer)
    and 7 % in B (70 ₽), the per-customer margin 950 vs 930 ₽; apply B: the flash names the new
    live version. Nothing is wider than the screen at 1280 and 390 px."""
    b, page = browser, await browser.page()
    await sign_in_page(b, page, url, staff.owner)
    await b.run(page.wait_for_url("**/cabinet/customers"))
    await b.run(page.click("nav a[href='/cabinet/experiments']"))
    await b.run(page.fill("input[name=name]", "Начисление 7 %"))
    await b.run(page.select_option("select[name=parameter]", "accrual_percent"))
    await b.run(page.fill("input[name=value]", "7"))
    await b.run(page.click("form.form button[type=submit]"))
    await b.run(page.wait_for_url(re.compile(r".*/cabinet/experiments/\d+$")))
    assert "запущен" in await b.run(page.inner_text(".flash"))
    experiment_id = int(page.url.rsplit("/", 1)[1])
    split = (
        await experiments.get_experiment(deps.db, demo_tenant.merchant_id, experiment_id)
    ).split

    bought: dict[str, int] = {"A": 0, "B": 0}
    while min(bought.values()) < 2:  # every customer buys: each variant's mean is exact
        member = await create_customer(deps, demo_tenant.merchant_id)
        bought[split.variant_of(member.id)] += 1
        line = {"id": "1", "name": "Жидкость", "price": 1000, "quantity": 1}
        receipt = {"id": f"ab-{member.id}", "customer": {"phone": member.phone}, "lines": [line]}
        confirmed = await client.post("/api/v1/checkout/confirm", json={"receipt": receipt})
        assert confirmed.status == 200, await confirmed.text()

    await b.run(page.reload())
    table = await b.run(page.inner_text("table.results"))
    accrued = f"{bought['A'] * 50},00\t{bought['B'] * 70},00"  # 5 % and 7 % of 1 000 ₽
    assert accrued in table.replace("\u00a0", ""), table
    margin = await b.run(page.inner_text("#metric-margin"))
    assert "950,00" in margin and "930,00" in margin

    target = os.environ.get("LOYALTY_SCREENSHOTS")
    out = Path(target) if target and backend == "sqlite" else None
    for width, name in ((1280, "desktop"), (390, "phone")):
        sized = await b.page(width)
        await sign_in_page(b, sized, url, staff.owner)
        await b.run(sized.wait_for_url("**/cabinet/customers"))
        await b.run(sized.goto(page.url))
        overflow = await b.run(sized.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        ))  # fmt: skip
        assert overflow <= 0, (width, overflow)
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            await b.run(sized.screenshot(
                path=str(out / f"cabinet-experiment-{name}.png"), full_page=True
            ))  # fmt: skip
        await b.run(sized.context.close())

    await b.run(page.click("form[action$='/apply']:has(input[value=B]) button"))
    await b.run(page.wait_for_selector(".flash"))
    assert "Вариант B применён" in await b.run(page.inner_text(".flash"))
    await b.run(page.context.close())
