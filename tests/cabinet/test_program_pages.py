"""The program's pages over HTTP: the form makes a draft, errors are shown beside their
field, a receipt is previewed against the draft, the what-if replay shows its figures,
the draft is activated; roles and tenancy."""

from __future__ import annotations

import asyncio
import json
import re
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

from aiohttp.test_utils import TestClient

from cloud.services import experiments, whatif
from cloud.services.deps import Deps
from tests.cabinet.conftest import PHONE, Staff, cabinet_client, csrf_of
from tests.conftest import Tenant


class _Form(HTMLParser):
    """The values a browser would post from ``#program-form`` as rendered."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.select: str | None = None
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == "program-form"
        elif self.inside and tag == "input" and a.get("name"):
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.values[str(a["name"])] = "on"
            else:
                self.values[str(a["name"])] = a.get("value") or ""
        elif self.inside and tag == "select":
            self.select = a.get("name")
        elif self.inside and tag == "option" and self.select and "selected" in a:
            self.values[self.select] = a.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False


async def program_form(client: TestClient) -> dict[str, str]:
    page = await client.get("/cabinet/program")
    assert page.status == 200
    parser = _Form()
    parser.feed(await page.text())
    return parser.values


async def save(client: TestClient, **changes: str) -> Any:
    values = await program_form(client)
    values.update(changes)
    return await client.post("/cabinet/program", data=values, allow_redirects=False)


async def versions(deps: Deps, tenant: Tenant) -> list[tuple[int, str, dict[str, Any]]]:
    rows = await deps.db.fetch_all(
        "SELECT version, status, document FROM program_versions WHERE merchant_id = :m "
        "ORDER BY version",
        {"m": tenant.merchant_id},
    )
    return [(r["version"], r["status"], json.loads(r["document"])) for r in rows]


async def finish_runs() -> None:
    await asyncio.gather(*list(whatif._tasks))


async def test_owner_changes_a_tier_rate_and_a_draft_is_made(
    aiohttp_client: Any, deps: Deps, staff: Staff, demo_tenant: Tenant
) -> None:
    """Saving the form with Silver at 8,5 % creates version 2 as a draft with that rate
    (everything else as it was); version 1 stays live. A second save makes version 3
    from the draft, keeping the first change."""
    owner = await cabinet_client(aiohttp_client, deps, staff.owner)
    response = await save(owner, **{"tiers.1.accrual_percent": "8,5"})
    assert response.status == 303
    stored = await versions(deps, demo_tenant)
    assert [(v, s) for v, s, _ in stored] == [(1, "active"), (2, "draft")]
    before, after = stored[0][2], stored[1][2]
    assert after["tiers"][1]["accrual_percent"] == "8.5"
    after["tiers"][1]["accrual_percent"] = before["tiers"][1]["accrual_percent"]
    assert after == before
    page = await (await owner.get("/cabinet/program")).text()
    assert "Черновик сохранён: версия 2" in page and 'value="8,5"' in page
    assert (await save(owner, **{"lifetime_days": "120"})).status == 303
    latest = (await versions(deps, demo_tenant))[-1]
    assert latest[0] == 3 and latest[2]["lifetime_days"] == 120
    assert latest[2]["tiers"][1]["accrual_percent"] == "8.5"


async def test_errors_are_shown_beside_their_fields_and_nothing_is_saved(
    aiohttp_client: Any, deps: Deps, staff: Staff, demo_tenant: Tenant
) -> None:
    """A rate over 100 %, a word for a number of days and a threshold below the previous
    tier's come back as a 422 page with each message beside its input (or its tier) and
    the values as typed; no version is created."""
    owner = await cabinet_client(aiohttp_client, deps, staff.owner)
    response = await save(owner, **{
        "tiers.1.accrual_percent": "150", "lifetime_days": "девяносто",
        "gifts.welcome.amount": "-5",
    })  # fmt: skip
    assert response.status == 422
    page = await response.text()
    assert re.search(r'data-for="tiers\.1\.accrual_percent">должно быть не больше 100<', page)
    assert re.search(r'data-for="lifetime_days">ожидается целое число<', page)
    assert re.search(r'data-for="gifts\.welcome\.amount">должно быть больше 0<', page)
    assert 'value="девяносто"' in page and "Черновик не сохранён" in page
    response = await save(owner, **{"tiers.2.purchases_over": "4000"})
    assert response.status == 422
    assert "пороги уровней должны возрастать" in await response.text()
    both = await save(owner, **{"tiers.1.discount_percent": "3"})
    assert both.status == 422 and "программа без скидки" in await both.text()
    assert len(await versions(deps, demo_tenant)) == 1


async def test_gifts_and_referrals_are_set_and_removed_through_the_form(
    aiohttp_client: Any, deps: Deps, staff: Staff, demo_tenant: Tenant
) -> None:
    """A welcome gift of 200 ₽, a birthday gift of 300 ₽ three days before, and a
    referral program of 3 % with 100 ₽ for the newcomer land in the draft; emptying
    the gift's amount removes the gift."""
    owner = await cabinet_client(aiohttp_client, deps, staff.owner)
    response = await save(owner, **{
        "gifts.welcome.amount": "200", "gifts.welcome.on_self_registration": "on",
        "gifts.birthday.amount": "300,00", "gifts.birthday.days_before": "3",
        "gifts.referral.levels.0.accrual_percent": "3",
        "gifts.referral.referee_bonus": "100",
    })  # fmt: skip
    assert response.status == 303, await response.text()
    gifts = (await versions(deps, demo_tenant))[-1][2]["gifts"]
    assert gifts["welcome"]["amount"] == "200.00" and gifts["welcome"]["on_self_registration"]
    assert gifts["birthday"]["amount"] == "300.00" and gifts["birthday"]["days_before"] == 3
    assert gifts["referral"]["levels"] == [
        {"accrual_percent": "3", "accrual_roubles_per_bonus": None}
    ]
    assert gifts["referral"]["referee_bonus"] == "100.00"
    assert (await save(owner, **{"gifts.welcome.amount": ""})).status == 303
    gifts = (await versions(deps, demo_tenant))[-1][2]["gifts"]
    assert gifts["welcome"] is None and gifts["birthday"]["amount"] == "300.00"


async def test_preview_prices_a_receipt_by_the_draft_beside_the_live_version(
    aiohttp_client: Any, deps: Deps, staff: Staff, demo_tenant: Tenant
) -> None:
    """A 1 000 ₽ receipt of a Silver customer: 85 ₽ of bonuses by the draft (8,5 %),
    70 ₽ by the live version (7 %); a sum that is not one is refused beside the field."""
    owner = await cabinet_client(aiohttp_client, deps, staff.owner)
    assert (await save(owner, **{"tiers.1.accrual_percent": "8,5"})).status == 303
    html = await (await owner.get("/cabinet/program")).text()
    response = await owner.post("/cabinet/program/preview", data={
        "csrf": csrf_of(html), "amount": "1 000,00", "tier": "silver"})  # fmt: skip
    page = await response.text()
    assert response.status == 200
    row = re.search(r"Начислится бонусов</td>(.*?)</tr>", page, re.S)
    assert row is not None
    assert re.findall(r'class="num">([^<]+)<', row.group(1)) == ["85,00", "70,00"]
    bad = await owner.post("/cabinet/program/preview", data={"csrf": csrf_of(html),
                                                             "amount": "сто"})  # fmt: skip
    assert bad.status == 422 and "Сумма чека: больше нуля" in await bad.text()


async def _sale(client: TestClient, rid: str, amount: int, phone: str | None = PHONE,
                redeemed: int = 0) -> None:  # fmt: skip
    receipt: dict[str, Any] = {"id": rid, "lines": [
        {"id": "1", "name": "Жидкость", "price": amount, "quantity": 1}]}  # fmt: skip
    if phone is not None:
        receipt["customer"] = {"phone": phone}
    response = await client.post(
        "/api/v1/checkout/confirm", json={"receipt": receipt, "redeemed": redeemed}
    )
    assert response.status == 200, await response.text()


async def test_whatif_replays_the_sales_and_shows_the_figures_then_activates(
    aiohttp_client: Any, client: TestClient, deps: Deps, staff: Staff, customer: int,
    demo_tenant: Tenant,
) -> None:  # fmt: skip
    """Sales of 1 000 ₽ and 6 000 ₽ by one customer and an anonymous one of 500 ₽,
    replayed with Standard at 6 % and Silver at 9 %: by hand, the live version accrues
    50 + 300 = 350 ₽ and lets 50 ₽ be paid by bonuses (the balance before the second
    sale), the draft 60 + 360 = 420 ₽ and 60 ₽; both end with the customer on Silver
    (one tier change each, no one on a different tier). The page shows the progress
    while it runs, the figures when done, and activates the draft."""
    await _sale(client, "R-2", 6000)
    await _sale(client, "R-3", 500, phone=None)
    owner = await cabinet_client(aiohttp_client, deps, staff.owner)
    changed = {"tiers.0.accrual_percent": "6", "tiers.1.accrual_percent": "9"}
    assert (await save(owner, **changed)).status == 303
    html = await (await owner.get("/cabinet/program")).text()
    started = await owner.post("/cabinet/program/whatif", data={
        "csrf": csrf_of(html), "days": "30", "version": "2"}, allow_redirects=False)  # fmt: skip
    assert started.status == 303
    run_page = started.headers["Location"]
    running = await owner.get(run_page)
    # Either still going (the bar, and the page reloads itself) or already done.
    assert running.status == 200
    if "<progress" in await running.text():
        assert running.headers["Refresh"] == "2"
    await finish_runs()
    page = await (await owner.get(run_page)).text()
    rows = re.findall(
        r'<tr id="row-(\w+)">.*?class="num draft">([^<]+)</td>\s*'
        r'<td data-label="Действующая" class="num live">([^<]+)</td>',
        page, re.S,
    )  # fmt: skip
    table = {key: (draft, live) for key, draft, live in rows}
    assert table["discount"] == ("0,00", "0,00")
    assert table["accrued"] == ("420,00", "350,00")
    assert table["redeemable"] == ("60,00", "50,00")
    assert table["redeemed"] == ("0,00", "0,00")
    assert table["liability"] == ("420,00", "350,00")
    assert table["tier_changed"] == ("1", "1")
    assert 'id="tier-differs">0<' in page and "Пересчитано чеков: 3, клиентов: 1" in page
    activated = await owner.post("/cabinet/program/activate", data={
        "csrf": csrf_of(page), "version": "2"}, allow_redirects=False)  # fmt: skip
    assert activated.status == 303
    assert [(v, s) for v, s, _ in await versions(deps, demo_tenant)] == [
        (1, "archived"), (2, "active")]  # fmt: skip
    assert "Версия 2 включена" in await (await owner.get("/cabinet/program")).text()


async def test_viewer_reads_and_manager_cannot_change_the_program(
    aiohttp_client: Any, deps: Deps, staff: Staff, demo_tenant: Tenant
) -> None:
    """A viewer and a manager see the program (the form disabled, no save, run or
    activate buttons); their posts to save, run or activate are 403 pages and change
    nothing. The preview is open to them (it changes nothing)."""
    owner = await cabinet_client(aiohttp_client, deps, staff.owner)
    assert (await save(owner, **{"tiers.1.accrual_percent": "8"})).status == 303
    for login in (staff.viewer, staff.manager):
        reader = await cabinet_client(aiohttp_client, deps, login)
        html = await (await reader.get("/cabinet/program")).text()
        assert "<fieldset disabled>" in html and 'id="save-draft"' not in html
        assert 'id="activate"' not in html and 'id="run-whatif"' not in html
        token = csrf_of(html)
        for path, form in (("/cabinet/program", {"tiers.1.accrual_percent": "20"}),
                           ("/cabinet/program/whatif", {"days": "30", "version": "2"}),
                           ("/cabinet/program/activate", {"version": "2"})):  # fmt: skip
            response = await reader.post(path, data={"csrf": token, **form})
            assert response.status == 403 and "Нет доступа" in await response.text(), path
        preview = await reader.post(
            "/cabinet/program/preview", data={"csrf": token, "amount": "100", "tier": "gold"}
        )
        assert preview.status == 200
    assert [(v, s) for v, s, _ in await versions(deps, demo_tenant)] == [
        (1, "active"), (2, "draft")]  # fmt: skip
    assert not await deps.db.fetch_value("SELECT COUNT(*) FROM whatif_runs")


async def test_another_merchants_owner_reaches_none_of_our_program(
    aiohttp_client: Any, deps: Deps, staff: Staff, demo_tenant: Tenant,
    other_tenant: Tenant,
) -> None:  # fmt: skip
    """Another merchant's owner sees their own program, not our draft; our what-if run
    is a 404 page to them and to the signed-out (sent to sign in); activating our draft's
    version number activates nothing of ours; their preview prices by their own program
    only; their save makes their own draft."""
    owner = await cabinet_client(aiohttp_client, deps, staff.owner)
    assert (await save(owner, **{"tiers.1.accrual_percent": "8"})).status == 303
    html = await (await owner.get("/cabinet/program")).text()
    started = await owner.post("/cabinet/program/whatif", data={
        "csrf": csrf_of(html), "days": "90", "version": "2"}, allow_redirects=False)  # fmt: skip
    run_page = started.headers["Location"]
    await finish_runs()
    stranger = await cabinet_client(aiohttp_client, deps, staff.stranger)
    theirs = await (await stranger.get("/cabinet/program")).text()
    assert 'id="draft-version"' not in theirs and 'value="8"' not in theirs
    assert (await stranger.get(run_page)).status == 404
    token = csrf_of(theirs)
    refused = await stranger.post("/cabinet/program/activate", data={"csrf": token, "version": "2"})
    assert refused.status == 409
    refused = await stranger.post("/cabinet/program/whatif", data={
        "csrf": token, "days": "30", "version": "2"})  # fmt: skip
    assert refused.status == 409
    preview = await (await stranger.post("/cabinet/program/preview", data={
        "csrf": token, "amount": "1000", "tier": "silver"})).text()  # fmt: skip
    row = re.search(r"Начислится бонусов</td>(.*?)</tr>", preview, re.S)
    assert row is not None  # their live 7 %, no draft of theirs (ours says 8 %)
    assert re.findall(r'class="num">([^<]+)<', row.group(1)) == ["—", "70,00"]
    assert (await save(stranger, **{"tiers.0.accrual_percent": "4"})).status == 303
    assert [(v, s) for v, s, _ in await versions(deps, demo_tenant)] == [
        (1, "active"), (2, "draft")]  # fmt: skip
    assert [(v, s) for v, s, _ in await versions(deps, other_tenant)] == [
        (1, "active"), (2, "draft")]  # fmt: skip
    anonymous = await cabinet_client(aiohttp_client, deps, None)
    for path in ("/cabinet/program", run_page):
        response = await anonymous.get(path, allow_redirects=False)
        assert response.status == 303 and response.headers["Location"] == "/cabinet/login"


async def test_tiers_and_categories_are_added_and_removed_through_the_form(
    aiohttp_client: Any, deps: Deps, staff: Staff, demo_tenant: Tenant
) -> None:
    """A new tier «VIP» (12 % over 20 000 ₽) is appended after Gold; a new category
    «tobacco» without accrual is added; a new tier with a threshold below Gold's has its
    error beside the new row's field. Then Silver and the category are removed."""
    owner = await cabinet_client(aiohttp_client, deps, staff.owner)
    low = await save(owner, **{
        "new_tier.code": "vip", "new_tier.name": "VIP", "new_tier.accrual_percent": "12",
        "new_tier.purchases_over": "abc"})  # fmt: skip
    assert low.status == 422
    assert re.search(r'data-for="new_tier\.purchases_over">ожидается число<', await low.text())
    bad_code = await save(owner, **{"new_category.code": "табак"})
    assert bad_code.status == 422
    assert re.search(r'data-for="new_category\.code">неверный формат<', await bad_code.text())
    response = await save(owner, **{
        "new_tier.code": "vip", "new_tier.name": "VIP", "new_tier.accrual_percent": "12",
        "new_tier.purchases_over": "20 000", "new_category.code": "tobacco",
        "new_category.accrual": ""})  # fmt: skip
    assert response.status == 303, await response.text()
    document = (await versions(deps, demo_tenant))[-1][2]
    assert [t["code"] for t in document["tiers"]] == ["standard", "silver", "gold", "vip"]
    assert document["tiers"][3]["purchases_over"] == "20000.00"
    tobacco = document["categories"]["tobacco"]
    assert (tobacco["accrual"], tobacco["redemption"], tobacco["discount"]) == (False, True, True)
    response = await save(owner, **{"tiers.1.remove": "on", "categories.tobacco.remove": "on"})
    assert response.status == 303
    document = (await versions(deps, demo_tenant))[-1][2]
    assert [t["code"] for t in document["tiers"]] == ["standard", "gold", "vip"]
    assert document["categories"] == {}


async def test_an_ab_test_variant_is_not_offered_as_the_programs_draft(
    aiohttp_client: Any, deps: Deps, staff: Staff, demo_tenant: Tenant
) -> None:
    """Starting an A/B test stores its variant B as a draft version; the program page
    still edits the live version (no draft to preview, replay or activate), and a save
    makes a draft of its own from the live version, not from the variant."""
    await experiments.start(
        deps.db, deps.programs, demo_tenant.merchant_id, name="Начисление 10 %",
        parameter="accrual_percent", tier_code=None, value=Decimal(10), share_b=50,
        now=deps.clock(),
    )  # fmt: skip
    owner = await cabinet_client(aiohttp_client, deps, staff.owner)
    page = await (await owner.get("/cabinet/program")).text()
    assert "Черновика нет: сохранение формы создаст его." in page
    assert (await save(owner, **{"lifetime_days": "120"})).status == 303
    latest = (await versions(deps, demo_tenant))[-1]
    assert latest[0] == 3 and latest[2]["lifetime_days"] == 120
    live = (await versions(deps, demo_tenant))[0][2]
    assert latest[2]["tiers"] == live["tiers"]
