"""The rules of an import beyond the happy path: CSV in UTF-8 (with or without BOM) and
cp1251 with either delimiter, one customer for every spelling of a phone, several lots
of one customer, merging into a customer already in the base, cards that belong to
someone else, and the file-level refusals (415, 413, unreadable, unknown columns)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cloud.api import customer_files
from cloud.services.deps import Deps
from tests.conftest import Tenant
from tests.customer_io.conftest import HEADER, IMPORT, csv_bytes, row, upload, xlsx
from tests.helpers import money, register_over_api


@pytest.mark.parametrize(
    ("encoding", "delimiter"), [("utf-8-sig", ";"), ("utf-8", ","), ("cp1251", ";")]
)
async def test_csv_spellings_of_one_phone_are_one_customer_with_several_lots(
    admin: TestClient, deps: Deps, demo_tenant: Tenant, encoding: str, delimiter: str
) -> None:
    """``8 916…``, ``+7 (916)…`` and ``7916…`` are one customer: three rows, three lots
    (the later rows may leave the customer's cells empty); a Cyrillic name survives
    cp1251; a tier given by its name is stored as its code."""
    rows = [
        row("8 916 555-00-11", "CARD-1", "Пётр Ёжиков", "01.02.1985", "P@Example.ru",
            "Серебряная", "6 000,00", "100,00", "31.12.2027", "да", "01.01.2024"),
        row("+7 (916) 555-00-11", None, None, None, None, None, None, "50", "30.06.2027"),
        row("79165550011", "card-1", None, None, None, None, None, "25,5"),
    ]  # fmt: skip
    data = csv_bytes(rows, encoding=encoding, delimiter=delimiter)
    response = await upload(admin, data, dry_run=False, media="text/csv")
    assert response.status == 200, await response.text()
    report = await response.json()
    assert (report["customers_new"], report["lots"]) == (1, 3)
    assert money(report["bonuses"]) == Decimal("175.50")
    found = await (await admin.get("/api/v1/merchant/customers",
                                   params={"phone": "+79165550011"})).json()  # fmt: skip
    card = await (
        await admin.get(f"/api/v1/merchant/customers/{found['customers'][0]['id']}")
    ).json()
    assert card["name"] == "Пётр Ёжиков" and card["email"] == "p@example.ru"
    assert card["tier"] == "silver" and card["birthday"] == "1985-02-01"
    assert money(card["purchases_total"]) == 6000 and card["registration_channel"] == "import"
    assert sorted(c["kind"] for c in card["cards"]) == ["phone", "physical", "virtual"]


async def test_rows_of_one_phone_that_disagree_and_repeated_rows_are_reported(
    admin: TestClient,
) -> None:
    """A later row of the same phone with another name is a bad row naming the first
    one; a row equal to an earlier one cell for cell is a duplicate; a card given for two
    phones is a bad row; a tier the program lacks, an amount with three decimals, a
    birthday in the future and an expiry without bonuses are bad rows."""
    rows = [
        row("+79160000001", "A1", "Анна", balance=10),
        row("89160000001", None, "Мария", balance=5),
        row("+79160000001", "A1", "Анна", balance=10),
        row("+79160000002", "A1"),
        row("+79160000003", tier="platinum"),
        row("+79160000004", lifetime="10,005"),
        row("+79160000005", birthday=date(2030, 1, 1)),
        row("+79160000006", expires=date(2027, 1, 1)),
        row("", name="Без телефона"),
    ]
    report = await (await upload(admin, xlsx(rows), dry_run=True)).json()
    found = [(e["row"], e["column"]) for e in report["errors"]]
    assert found == [(3, "Имя"), (4, "Телефон"), (5, "Номер карты"), (6, "Уровень"),
                     (7, "Сумма покупок"), (8, "Дата рождения"), (9, "Сгорают"),
                     (10, "Телефон")]  # fmt: skip
    messages = {e["row"]: e["message"] for e in report["errors"]}
    assert "строке 2" in messages[3] and messages[4] == "Строка повторяет строку 2"
    assert messages[10] == "Не указан телефон"


async def test_an_existing_customer_is_merged_never_overwritten(
    admin: TestClient, client: TestClient, deps: Deps
) -> None:
    """A customer registered at the till keeps their name; the import fills the empty
    email, adds the card and the lot (an ``import`` movement naming the upload); the
    card of another customer of the base is a bad row that stops the whole file."""
    mine = await register_over_api(client, deps, "+79167770001", name="Ольга")
    other = await register_over_api(client, deps, "+79167770002", card="OTHER-7")
    merged = [row("8 916 777-00-01", "NEW-1", "Не Ольга", email="olga@example.ru", balance=40)]
    report = await (await upload(admin, xlsx(merged), dry_run=False)).json()
    assert report["status"] == "imported" and report["customers_merged"] == 1
    card = await (await admin.get(f"/api/v1/merchant/customers/{mine['id']}")).json()
    assert card["name"] == "Ольга" and card["email"] == "olga@example.ru"
    assert "NEW1" in [c["number"] for c in card["cards"]]  # compared without dashes
    assert money(card["balance"]) == 40 and card["registration_channel"] != "import"
    history = await (await admin.get(f"/api/v1/merchant/customers/{mine['id']}/movements")).json()
    imported = history["movements"][0]
    assert imported["kind"] == "import" and money(imported["amount"]) == 40
    assert imported["by"] == f"загрузка базы №{report['import_id']}"
    taken = [row("+79167770003", "other-7", balance=5)]
    response = await upload(admin, xlsx(taken), dry_run=False)
    assert response.status == 422
    errors = (await response.json())["report"]["errors"]
    assert errors == [{"row": 2, "column": "Номер карты",
                       "message": "Карта уже привязана к другому клиенту"}]  # fmt: skip
    assert other["id"] != mine["id"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_file_level_refusals(admin: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """A body that is neither xlsx nor csv is 415; one over the size limit 413; a
    broken xlsx, an empty file, an unknown column or a missing phone column 400 with
    the code named; ``dry_run`` other than true/false is 400."""

    async def post(data: bytes, media: str, **params: str) -> tuple[int, Any]:
        response = await admin.post(IMPORT, data=data, params=params,
                                    headers={"Content-Type": media})  # fmt: skip
        return response.status, (await response.json())["code"]

    assert await post(b"{}", "application/json") == (415, "unsupported_media_type")
    media = customer_files.XLSX
    assert await post(b"PK\x03\x04broken", media) == (400, "import_unreadable")
    assert await post(b"", "text/csv") == (400, "import_empty")
    assert await post("Телефон;Рост\n+79160000001;180\n".encode(), "text/csv") == (
        400,
        "import_columns",
    )
    assert await post("Имя\nАнна\n".encode(), "text/csv") == (400, "import_columns")
    assert await post(b"x", "text/csv", dry_run="maybe") == (400, "invalid_query")
    monkeypatch.setattr(customer_files, "MAX_FILE_BYTES", 100)
    big = csv_bytes([row(f"+7916000{i:04d}") for i in range(20)])
    assert await post(big, "text/csv") == (413, "import_too_large")
    assert HEADER[0] == "Телефон"
