"""Files of a customer base built in memory, and merchant-key clients to upload them."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any

from aiohttp.test_utils import TestClient
from openpyxl import Workbook

from cloud.services.customers_io.columns import COLUMNS
from cloud.services.customers_io.exporter import MEDIA_TYPE as XLSX

HEADER = [column.title for column in COLUMNS]
IMPORT = "/api/v1/merchant/customers/import"
EXPORT = "/api/v1/merchant/customers/export"


def xlsx(rows: list[list[Any]], header: list[str] | None = None) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(header or HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def csv_bytes(
    rows: list[list[Any]], *, encoding: str = "utf-8-sig", delimiter: str = ";",
    header: list[str] | None = None,
) -> bytes:  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header or HEADER)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue().encode(encoding)


def row(
    phone: str, card: str | None = None, name: str | None = None, birthday: Any = None,
    email: str | None = None, tier: str | None = None, lifetime: Any = None,
    balance: Any = None, expires: Any = None, messages: Any = None, personal: Any = None,
) -> list[Any]:  # fmt: skip
    return [phone, card, name, birthday, email, tier, lifetime, balance, expires, messages,
            personal]  # fmt: skip


def thousand() -> list[list[Any]]:
    """1 000 valid customers: customer i has phone +7 916 100-00-00 + i, card 5000000+i,
    lifetime purchases 10 ₽ x i, 1.50 ₽ + i bonuses (every third without expiry, the
    others lapsing after 31.12.2026 or 30.06.2027)."""
    rows = []
    for i in range(1000):
        expires = None if i % 3 == 0 else date(2026, 12, 31) if i % 3 == 1 else "30.06.2027"
        rows.append(row(
            f"+7916{1000000 + i:07d}", f"{5000000 + i}", f"Клиент {i}", date(1980, 1, 1 + i % 28),
            f"c{i}@example.ru", None, Decimal(10 * i), Decimal(i) + Decimal("1.50"), expires,
            date(2024, 1, 10), date(2024, 1, 10),
        ))  # fmt: skip
    return rows


async def upload(admin: TestClient, data: bytes, *, dry_run: bool, media: str = XLSX) -> Any:
    return await admin.post(
        IMPORT, data=data, params={"dry_run": "true" if dry_run else "false"},
        headers={"Content-Type": media},
    )  # fmt: skip
