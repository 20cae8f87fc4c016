"""A merchant whose program prices by category (services accrue 10 %, gifts nothing,
the rest 5 %; a modifier selects «coffee»), catalogue files built in memory, and
merchant-key clients to upload them."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from openpyxl import Workbook

from cloud.services.customers_io.exporter import MEDIA_TYPE as XLSX
from cloud.services.deps import Deps
from tests.conftest import Tenant, make_tenant, merchant_client

PATH = "/api/v1/merchant/product-catalogue"
PROGRAM = {
    "name": "Автосервис",
    "kind": "bonus",
    "tier_assignment": "registration",
    "tiers": [{"code": "base", "name": "Базовый", "accrual_percent": "5",
               "max_redeem_percent": "50"}],
    "categories": {"services": {"accrual_percent": "10"}, "gifts": {"accrual": False}},
    "modifiers": [{"code": "coffee_day", "name": "Кофе", "when": {"weekdays": [1]},
                   "goods": {"categories": ["coffee"]}, "extra_accrual_percent": "1"}],
}  # fmt: skip
CATEGORIES = {"services", "gifts", "coffee"}


@pytest.fixture
async def shop(deps: Deps) -> Tenant:
    return await make_tenant(deps, "Автосервис", PROGRAM)


@pytest.fixture
async def rival(deps: Deps) -> Tenant:
    return await make_tenant(deps, "Чужой автосервис", PROGRAM)


@pytest.fixture
async def office(aiohttp_client: Any, deps: Deps, shop: Tenant) -> TestClient:
    client: TestClient = await merchant_client(aiohttp_client, deps, shop, "Офис")
    return client


@pytest.fixture
async def rival_office(aiohttp_client: Any, deps: Deps, rival: Tenant) -> TestClient:
    client: TestClient = await merchant_client(aiohttp_client, deps, rival, "Чужой офис")
    return client


def csv_file(
    rows: list[list[Any]], *, header: tuple[str, ...] = ("Код", "Категория"),
    delimiter: str = ";", encoding: str = "utf-8-sig",
) -> bytes:  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_file(rows: list[list[Any]], header: tuple[str, ...] = ("code", "category")) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(list(header))
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


async def upload(client: TestClient, data: bytes, media: str = "text/csv") -> tuple[int, Any]:
    response = await client.put(PATH, data=data, headers={"Content-Type": media})
    return response.status, await response.json()


async def upload_xlsx(client: TestClient, data: bytes) -> tuple[int, Any]:
    return await upload(client, data, XLSX)


async def entries(client: TestClient) -> dict[str, str]:
    """The whole catalogue, code -> category, page by page."""
    found: dict[str, str] = {}
    after: int | None = None
    while True:
        query = f"?limit=100&after={after}" if after else "?limit=100"
        response = await client.get(PATH + query)
        assert response.status == 200, await response.text()
        page = await response.json()
        found.update({item["code"]: item["category"] for item in page["items"]})
        after = page["next"]
        if after is None:
            return found
