"""Uploading the product catalogue on the merchant key: CSV as Russian Excel saves it
(BOM, «;»), comma-separated CSV, XLSX; a file with unknown categories or broken lines is
refused naming its lines and leaves the previous catalogue as it was; an upload replaces
the whole catalogue; the catalogue reads page by page and clears; a merchant key never
reaches another merchant's catalogue."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cloud.api import product_catalogue as product_catalogue_api
from cloud.api.app import create_app
from cloud.services import catalogue_file, merchants
from cloud.services.deps import Deps
from tests.catalogue.conftest import PATH, csv_file, entries, upload, upload_xlsx, xlsx_file
from tests.conftest import Tenant, merchant_client


async def test_csv_with_bom_and_semicolons_as_excel_saves_it(office: TestClient) -> None:
    """UTF-8 with BOM, «;» between cells, CRLF, a name column the upload ignores and a
    blank row: the codes and prefixes load in the file's order, and the listing reports
    the counts and when."""
    data = csv_file(
        [["A-1", "Масло", "services"], ["", "", ""], ["B*", "Подарки", "gifts"]],
        header=("Артикул", "Наименование", "Категория"),
    )
    assert data.startswith(b"\xef\xbb\xbf")
    status, body = await upload(office, data)
    assert status == 200, body
    assert (body["entries"], body["codes"], body["prefixes"], body["replaced"]) == (2, 1, 1, 0)
    response = await office.get(PATH)
    page = await response.json()
    assert [(i["code"], i["category"]) for i in page["items"]] == [
        ("A-1", "services"),
        ("B*", "gifts"),
    ]
    assert (page["total"], page["prefixes"], page["next"]) == (2, 1, None)
    assert page["uploaded_at"].startswith("2026-11-20T12:00:00+03:00")


async def test_comma_separated_and_windows_1251(office: TestClient) -> None:
    """A «,» separated file in Windows-1251 (older Excel) with English headers."""
    data = csv_file([["7001", "coffee"]], header=("code", "category"), delimiter=",",
                    encoding="cp1251")  # fmt: skip
    assert (await upload(office, data))[0] == 200
    assert await entries(office) == {"7001": "coffee"}
    russian = csv_file([["7002", "gifts"]], header=("Код товара", "Категория"), delimiter=",",
                       encoding="cp1251")  # fmt: skip
    assert (await upload(office, russian))[0] == 200
    assert await entries(office) == {"7002": "gifts"}


async def test_xlsx_with_numeric_codes(office: TestClient) -> None:
    """An .xlsx whose codes Excel keeps as numbers (46001, a barcode 4601234567890)
    loads them as the digits a till sends; a prefix stays text."""
    data = xlsx_file([[46001, "services"], [4601234567890, "gifts"], ["460*", "coffee"]])
    status, body = await upload_xlsx(office, data)
    assert status == 200, body
    assert await entries(office) == {
        "46001": "services",
        "4601234567890": "gifts",
        "460*": "coffee",
    }


async def test_unknown_categories_are_refused_with_their_lines(office: TestClient) -> None:
    """Categories not in the live program are named with their line numbers (the header
    is line 1) and the program's categories listed; nothing is loaded."""
    data = csv_file([["1", "services"], ["2", "cofee"], ["3", "gifts"], ["4", "cofee"],
                     ["5*", "tyres"]])  # fmt: skip
    status, body = await upload(office, data)
    assert status == 422 and body["code"] == "catalogue_unknown_category", body
    assert "«cofee» — строки 3, 5" in body["message"]
    assert "«tyres» — строка 6" in body["message"]
    assert "Категории программы: coffee, gifts, services" in body["message"]
    assert await entries(office) == {}


async def test_broken_lines_are_refused_with_their_lines(office: TestClient) -> None:
    """An empty code, a missing category, a star inside a code, a too long prefix and a
    code given twice with different categories: each named by line; unknown categories
    of the same file are named too."""
    data = csv_file([["", "services"], ["X1", ""], ["a*b", "gifts"], ["9" * 33 + "*", "gifts"],
                     ["K", "gifts"], ["K", "services"], ["K", "gifts"], ["Z", "nope"]])  # fmt: skip
    status, body = await upload(office, data)
    assert status == 422 and body["code"] == "catalogue_invalid_rows", body
    message = body["message"]
    for expected in (
        "строка 2: не указан код",
        "строка 3: не указана категория",
        "строка 4: код «a*b»",
        "строка 5: префикс",
        "строка 7: код «K» уже указан в строке 6",
        "«nope» — строка 9",
    ):
        assert expected in message, (expected, message)
    assert "строка 8" not in message  # the same category again is no conflict
    assert "Ошибки в строках (5)" in message


async def test_a_failed_upload_leaves_the_previous_catalogue(office: TestClient) -> None:
    """After a good upload, a file with one bad category among valid lines, an unreadable
    file and an empty one change nothing; the next good upload replaces the whole
    catalogue (codes not in it are gone) and says how many entries it replaced."""
    assert (await upload(office, csv_file([["1", "services"], ["2*", "gifts"]])))[0] == 200
    before = await entries(office)
    many = [[str(n), "services"] for n in range(100, 400)] + [["bad", "unknown"]]
    assert (await upload(office, csv_file(many)))[1]["code"] == "catalogue_unknown_category"
    assert (await upload_xlsx(office, b"PK\x03\x04 not a workbook"))[1]["code"] == (
        "catalogue_unreadable"
    )
    assert (await upload(office, csv_file([])))[1]["code"] == "catalogue_empty"
    assert (await upload(office, b"sku;name\n1;x\n"))[1]["code"] == "catalogue_columns"
    assert await entries(office) == before
    status, body = await upload(office, csv_file([["3", "coffee"]]))
    assert status == 200 and body["replaced"] == 2
    assert await entries(office) == {"3": "coffee"}


async def test_large_catalogue_pages_and_clears(office: TestClient) -> None:
    """5 000 entries load in one upload and read back in pages of 100 in the file's
    order; a bad page size is refused; DELETE clears it all."""
    rows = [[f"P{n:05d}", "services" if n % 2 else "gifts"] for n in range(5000)]
    status, body = await upload(office, csv_file(rows))
    assert status == 200 and body["entries"] == 5000
    listed = await entries(office)
    assert list(listed) == [code for code, _ in rows]
    response = await office.get(PATH + "?limit=101")
    assert (await response.json())["code"] == "invalid_limit"
    response = await office.get(PATH + "?page=2")
    assert (await response.json())["code"] == "invalid_query"
    response = await office.delete(PATH)
    assert response.status == 200 and (await response.json()) == {"deleted": 5000}
    page = await (await office.get(PATH)).json()
    assert (page["total"], page["items"], page["uploaded_at"]) == (0, [], None)


async def test_wrong_media_type_and_no_program(
    aiohttp_client: Any, deps: Deps, office: TestClient
) -> None:
    """A JSON body is refused 415; a merchant with no live program cannot upload (its
    categories could not be checked), 409 no_program."""
    response = await office.put(PATH, json={"code": "1"})
    assert response.status == 415
    now = deps.clock()
    bare = await merchants.create_merchant(deps.db, "Без программы", now)
    store = await merchants.create_store(deps.db, bare, "Магазин", now)
    tenant = Tenant(bare, store, 0, "", 0)
    client = await merchant_client(aiohttp_client, deps, tenant, "Офис")
    status, body = await upload(client, csv_file([["1", "services"]]))
    assert (status, body["code"]) == (409, "no_program")


async def test_manager_key_may_upload(aiohttp_client: Any, deps: Deps, shop: Tenant) -> None:
    """A manager's key manages the catalogue like the owner's."""
    key = await merchants.issue_merchant_key(
        deps.db, shop.merchant_id, deps.clock(), label="Менеджер", role="manager"
    )
    app = create_app(deps.settings, deps=deps)
    client = await aiohttp_client(app, headers={"Authorization": f"Bearer {key}"})
    assert (await upload(client, csv_file([["1", "services"]])))[0] == 200


async def test_a_merchant_key_reaches_only_its_own_catalogue(
    office: TestClient, rival_office: TestClient
) -> None:
    """The rival's key lists nothing of ours, its DELETE leaves ours in place and its
    upload replaces only its own."""
    assert (await upload(office, csv_file([["1", "services"], ["2", "gifts"]])))[0] == 200
    assert await entries(rival_office) == {}
    response = await rival_office.delete(PATH)
    assert (await response.json()) == {"deleted": 0}
    assert (await upload(rival_office, csv_file([["9", "coffee"]])))[1]["replaced"] == 0
    assert await entries(office) == {"1": "services", "2": "gifts"}
    assert await entries(rival_office) == {"9": "coffee"}


async def test_export_uploads_again_unchanged(office: TestClient, rival_office: TestClient) -> None:
    """The export is a «;» CSV with BOM in the file's order that uploads again as the
    same catalogue; another merchant's export holds only its header."""
    rows = [["Ж-1", "services"], ["7*", "gifts"], ["*", "coffee"]]
    assert (await upload(office, csv_file(rows)))[0] == 200
    response = await office.get(PATH + "/export")
    assert response.status == 200 and response.content_type == "text/csv"
    data = await response.read()
    assert data == csv_file(rows, header=("код", "категория"))
    assert (await upload(office, data))[1]["entries"] == 3
    assert await entries(office) == dict(rows)
    other = await (await rival_office.get(PATH + "/export")).read()
    assert other == "\ufeffкод;категория\r\n".encode()


async def test_size_and_row_limits(office: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file over the size limit is 413 and one over the row limit 400, each with its
    code; the catalogue stays as it was (limits lowered here to keep the test small)."""
    assert (await upload(office, csv_file([["1", "services"]])))[0] == 200
    monkeypatch.setattr(catalogue_file, "MAX_ROWS", 3)
    four = csv_file([[str(n), "gifts"] for n in range(4)])
    status, body = await upload(office, four)
    assert (status, body["code"]) == (400, "catalogue_too_many_rows")
    monkeypatch.setattr(product_catalogue_api, "MAX_FILE_BYTES", 20)
    status, body = await upload(office, four)
    assert (status, body["code"]) == (413, "catalogue_too_large")
    assert await entries(office) == {"1": "services"}
