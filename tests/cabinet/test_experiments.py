"""The A/B-test pages: the owner starts a test through the form (errors beside the
field), reads its results, stops it and applies the winner; a viewer only reads; another
merchant's staff and the signed-out reach nothing."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

from cloud.services.deps import Deps
from tests.cabinet.conftest import Staff, cabinet_client, post_form
from tests.conftest import Tenant

LIST = "/cabinet/experiments"
FORM = {"name": "Ставка семь с половиной", "parameter": "accrual_percent", "tier_code": "",
        "value": "7,5", "share_b": "50"}  # fmt: skip


async def _start(client: TestClient, **changes: str) -> Any:
    return await post_form(client, LIST, {**FORM, **changes}, LIST)


def _experiment_path(response: Any) -> str:
    location = response.headers["Location"]
    assert re.fullmatch(r"/cabinet/experiments/\d+", location), location
    return str(location)


async def test_owner_starts_reads_stops_and_applies_a_test(
    aiohttp_client: Any, deps: Deps, staff: Staff, demo_tenant: Tenant, customer: int
) -> None:
    """A value that is not a percent, a gift and a tier the program lacks are refused
    beside their fields (422, nothing started); the valid form starts the test and
    opens its page with both variants and a verdict per metric; stop, then apply B:
    the live version becomes a new one with 7,5 % on every tier."""
    owner = await cabinet_client(aiohttp_client, deps, staff.owner)
    page = await owner.get(LIST)
    assert page.status == 200 and "Новый эксперимент" in await page.text()
    for changes, text in (
        ({"value": "сто"}, "Значение — процент от 0 до 100"),
        ({"parameter": "birthday_gift"}, "Подарки начисляют ночные задания"),
        ({"tier_code": "platinum"}, "Уровня «platinum» нет в программе"),
        ({"share_b": "0"}, "Доля варианта B"),
    ):
        refused = await _start(owner, **changes)
        assert refused.status == 422 and text in await refused.text(), changes
    assert not await deps.db.fetch_value("SELECT COUNT(*) FROM experiments")

    started = await _start(owner)
    assert started.status == 303
    path = _experiment_path(started)
    html = await (await owner.get(path)).text()
    assert "Ставка семь с половиной" in html and "идёт" in html
    assert "Вариант A" in html and "Маржа после бонусов на клиента" in html
    assert "пока нет" in html or "мало данных" in html or "значимо" in html
    busy = await (await owner.get(LIST)).text()
    assert "Одновременно идёт только один эксперимент" in busy

    stopped = await post_form(owner, path + "/stop", {}, path)
    assert stopped.status == 303
    assert "остановлен" in await (await owner.get(path)).text()
    applied = await post_form(owner, path + "/apply", {"winner": "B"}, path)
    assert applied.status == 303
    after = await (await owner.get(path)).text()
    assert "Вариант B применён" in after and "применён" in after
    live = await deps.db.fetch_value(
        "SELECT v.document FROM merchants m JOIN program_versions v "
        "ON v.id = m.active_program_version_id WHERE m.id = :m",
        {"m": demo_tenant.merchant_id},
    )
    assert live.count('"accrual_percent":"7.5"') == 3, live


async def test_a_viewer_reads_but_cannot_start_stop_or_apply(
    aiohttp_client: Any, deps: Deps, staff: Staff
) -> None:
    """The viewer sees the list and a test's results, without the form or the buttons;
    posting them anyway is a 403 page and changes nothing."""
    owner = await cabinet_client(aiohttp_client, deps, staff.owner)
    path = _experiment_path(await _start(owner))
    viewer = await cabinet_client(aiohttp_client, deps, staff.viewer)
    listed = await (await viewer.get(LIST)).text()
    assert "Ставка семь с половиной" in listed and "Новый эксперимент" not in listed
    page = await (await viewer.get(path)).text()
    assert "Клиентов" in page and "Остановить" not in page
    assert (await _start(viewer, name="Другой")).status == 403
    assert (await post_form(viewer, path + "/stop", {}, path)).status == 403
    assert (await post_form(viewer, path + "/apply", {"winner": "B"}, path)).status == 403
    status = await deps.db.fetch_value("SELECT status FROM experiments")
    assert status == "running"


async def test_another_merchants_staff_and_the_signed_out_reach_no_test_of_ours(
    aiohttp_client: Any, deps: Deps, staff: Staff
) -> None:
    """Another merchant's owner: our test's page, its stop and its apply are 404 pages
    and our test is not in their list; their own start makes their own test, not ours.
    Signed out: every experiment route sends to the sign-in."""
    owner = await cabinet_client(aiohttp_client, deps, staff.owner)
    path = _experiment_path(await _start(owner))
    stranger = await cabinet_client(aiohttp_client, deps, staff.stranger)
    assert (await stranger.get(path)).status == 404
    assert "Ставка семь с половиной" not in await (await stranger.get(LIST)).text()
    for action, form in (("/stop", {}), ("/apply", {"winner": "B"})):
        response = await post_form(stranger, path + action, form, LIST)
        assert response.status == 404, action
    assert await deps.db.fetch_value("SELECT status FROM experiments") == "running"
    theirs = _experiment_path(await _start(stranger, name="Их тест"))
    assert theirs != path
    rows = await deps.db.fetch_all("SELECT merchant_id, name FROM experiments ORDER BY id")
    assert rows[0]["merchant_id"] != rows[1]["merchant_id"]
    anonymous = await cabinet_client(aiohttp_client, deps, None)
    for target in (LIST, path):
        response = await anonymous.get(target, allow_redirects=False)
        assert response.status == 303 and response.headers["Location"] == "/cabinet/login"
    for target in (LIST, path + "/stop", path + "/apply"):
        response = await post_form(anonymous, target, {}, "/cabinet/login")
        assert response.status == 303 and response.headers["Location"] == "/cabinet/login"
