"""The customer base as files in the cabinet: the check page lists every bad row with
its number and reason and changes nothing, the load takes only the checked file, the
export is the base as xlsx; viewers and the signed-out get none of it."""

from __future__ import annotations

import hashlib
import io
import re
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from openpyxl import load_workbook

from cloud.cabinet import core
from cloud.services.deps import Deps
from tests.cabinet.conftest import PHONE, Staff, cabinet_client, csrf_of
from tests.conftest import Tenant
from tests.customer_io.conftest import csv_bytes, row, xlsx

GOOD = [row("+79160000001", name="Пётр Иванов", balance="100,50"),
        row("+79160000002", name="Ирина Орлова")]  # fmt: skip
BAD = [*GOOD, row("12345", name="Без телефона")]


async def upload(
    client: TestClient, data: bytes, action: str = "check", digest: str | None = None,
    name: str = "base.xlsx",
) -> Any:  # fmt: skip
    """Post the import form as a browser does: multipart, with the page's CSRF token."""
    token = csrf_of(await (await client.get("/cabinet/import")).text())
    form = FormData()
    form.add_field("csrf", token)
    form.add_field("action", action)
    if digest is not None:
        form.add_field("digest", digest)
    form.add_field("file", io.BytesIO(data), filename=name, content_type="application/octet-stream")
    return await client.post("/cabinet/import", data=form, allow_redirects=False)


def _digest(html: str) -> str:
    match = re.search(r'name="digest" value="([0-9a-f]{64})"', html)
    assert match is not None, html[-2000:]
    return match.group(1)


async def _count(deps: Deps, merchant_id: int) -> int:
    return int(await deps.db.fetch_value(
        "SELECT COUNT(*) FROM customers WHERE merchant_id = :m", {"m": merchant_id}
    ))  # fmt: skip


async def test_a_bad_row_is_reported_with_its_number_and_nothing_is_loaded(
    aiohttp_client: Any, deps: Deps, staff: Staff, demo_tenant: Tenant
) -> None:
    """A check of a file with one bad phone lists row 4, the column and the reason, says
    how many rows and new customers it read, offers no load button, and writes nothing;
    loading it anyway is refused with the same report."""
    manager = await cabinet_client(aiohttp_client, deps, staff.manager)
    before = await _count(deps, demo_tenant.merchant_id)
    data = xlsx(BAD)
    checked = await upload(manager, data)
    html = await checked.text()
    assert checked.status == 200, html
    table = html[html.index('id="bad-rows"') :]
    assert re.search(r">4</td>\s*<td[^>]*>Телефон</td>\s*<td[^>]*>Некорректный номер", table)
    assert 'id="errors-total">1<' in html and 'id="rows">3<' in html
    assert 'id="apply"' not in html
    forced = await upload(manager, data, "apply", digest=_digest_of(data))
    assert forced.status == 422 and "Файл не загружен" in await forced.text()
    assert await _count(deps, demo_tenant.merchant_id) == before


def _digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_a_clean_file_is_checked_then_loaded_once(
    aiohttp_client: Any, deps: Deps, staff: Staff, demo_tenant: Tenant
) -> None:
    """A clean csv checks with no errors and a load form carrying its digest; another
    file under that digest is refused; the same file loads two customers with their
    bonuses; loading it again says it was already loaded and adds nobody."""
    manager = await cabinet_client(aiohttp_client, deps, staff.manager)
    before = await _count(deps, demo_tenant.merchant_id)
    data = csv_bytes(GOOD)
    checked = await upload(manager, data, name="base.csv")
    html = await checked.text()
    assert checked.status == 200 and 'id="new">2<' in html and "Ошибок нет" in html
    digest = _digest(html)
    assert await _count(deps, demo_tenant.merchant_id) == before
    other = await upload(manager, csv_bytes(GOOD[:1]), "apply", digest=digest)
    assert other.status == 422 and "не тот файл" in await other.text()
    loaded = await upload(manager, data, "apply", digest=digest)
    html = await loaded.text()
    assert loaded.status == 200 and "загружен" in html and "100,50" in html
    assert await _count(deps, demo_tenant.merchant_id) == before + 2
    again = await upload(manager, data, "apply", digest=digest)
    assert "уже загружен" in await again.text()
    assert await _count(deps, demo_tenant.merchant_id) == before + 2


async def test_unreadable_and_missing_files_are_said_on_the_page(
    aiohttp_client: Any, deps: Deps, staff: Staff
) -> None:
    """A zip that is no workbook and a form without a file are 4xx pages with the
    reason in Russian beside the form, never a 500."""
    manager = await cabinet_client(aiohttp_client, deps, staff.manager)
    broken = await upload(manager, b"PK\x03\x04 not really a workbook")
    assert broken.status == 400 and "Файл не читается" in await broken.text()
    token = csrf_of(await (await manager.get("/cabinet/import")).text())
    empty = await manager.post("/cabinet/import", data={"csrf": token, "action": "check"})
    assert empty.status == 422 and "Выберите файл" in await empty.text()


async def test_export_is_the_merchants_base_as_xlsx(
    aiohttp_client: Any, deps: Deps, staff: Staff, customer: int
) -> None:
    """The export is an xlsx download holding our customer's phone; another merchant's
    owner downloads a workbook without it; a viewer is refused both pages; the
    signed-out are sent to the sign-in."""
    manager = await cabinet_client(aiohttp_client, deps, staff.manager)
    response = await manager.get("/cabinet/export")
    assert response.status == 200 and "attachment" in response.headers["Content-Disposition"]
    cells = _cells(await response.read())
    assert any(PHONE[2:] in cell for cell in cells)
    stranger = await cabinet_client(aiohttp_client, deps, staff.stranger)
    theirs = await stranger.get("/cabinet/export")
    assert theirs.status == 200 and not any(PHONE[2:] in cell for cell in _cells(
        await theirs.read()))  # fmt: skip
    viewer = await cabinet_client(aiohttp_client, deps, staff.viewer)
    for path in ("/cabinet/export", "/cabinet/import"):
        refused = await viewer.get(path)
        assert refused.status == 403 and "Нет доступа" in await refused.text()
    anonymous = await cabinet_client(aiohttp_client, deps, None)
    for path in ("/cabinet/export", "/cabinet/import"):
        assert (await anonymous.get(path, allow_redirects=False)).status == 303


async def test_other_merchants_owner_loads_into_their_own_base_only(
    aiohttp_client: Any, deps: Deps, staff: Staff, demo_tenant: Tenant, other_tenant: Tenant
) -> None:
    """A file loaded by another merchant's owner creates customers of that merchant and
    none of ours."""
    ours = await _count(deps, demo_tenant.merchant_id)
    stranger = await cabinet_client(aiohttp_client, deps, staff.stranger)
    data = csv_bytes(GOOD)
    digest = _digest(await (await upload(stranger, data, name="b.csv")).text())
    assert (await upload(stranger, data, "apply", digest=digest)).status == 200
    assert await _count(deps, demo_tenant.merchant_id) == ours
    assert await _count(deps, other_tenant.merchant_id) >= 2


def _cells(data: bytes) -> list[str]:
    sheet = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    return [str(v) for r in sheet.iter_rows(values_only=True) for v in r if v is not None]


async def test_a_file_over_the_limit_is_a_413_page(
    aiohttp_client: Any, deps: Deps, staff: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import takes files beyond the API's 1 MB body limit (up to its own), and a
    file over its limit is a Russian 413 page, not the API's JSON."""
    manager = await cabinet_client(aiohttp_client, deps, staff.manager)
    name = "Очень Длинное Имя " * 10  # ~330 bytes a row: few rows, over a megabyte
    big = csv_bytes([row(f"+7916{1000000 + i:07d}", name=name.strip()) for i in range(3500)])
    assert len(big) > 1024 * 1024
    checked = await upload(manager, big, name="big.csv")
    assert checked.status == 200 and 'id="rows">3500<' in await checked.text()
    monkeypatch.setitem(core.UPLOAD_LIMITS, "/cabinet/import", 1000)
    refused = await upload(manager, csv_bytes(GOOD * 20), name="b.csv")
    assert refused.status == 413 and "Слишком большой файл" in await refused.text()
