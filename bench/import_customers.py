"""Import benchmark: a 100 000-row customer base as .xlsx and .csv, imported into a fresh
database (SQLite; PostgreSQL too where server binaries are found, as the tests find
them), then exported; prints the time of each step. Target: an import under 60 s on
SQLite. Results: bench/RESULTS.md, section "Import".

    .venv/bin/python bench/import_customers.py [--rows 100000] [--no-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from openpyxl import Workbook

from cloud.db import migrate
from cloud.db.database import open_database
from cloud.services import customers_io
from cloud.services.customers_io.columns import COLUMNS
from cloud.services.deps import Deps
from cloud.settings import Settings
from tests.conftest import make_tenant
from tests.postgres_cluster import PostgresCluster, find_bindir

HEADER = [column.title for column in COLUMNS]


def base_rows(count: int) -> list[list[object]]:
    """Customer i: a phone, a card, a name, a birthday, an email, lifetime purchases, a
    lot of bonuses lapsing in 2027 (every tenth row a second lot of the customer before)."""
    rows: list[list[object]] = []
    for i in range(count):
        if i % 10 == 9:
            previous = rows[-1]
            rows.append([previous[0], None, None, None, None, None, None, Decimal("50.00"),
                         date(2027, 3, 31), None, None])  # fmt: skip
            continue
        rows.append([f"+79{100000000 + i:09d}", f"77{i:08d}", f"Клиент {i}",
                     date(1970 + i % 40, 1 + i % 12, 1 + i % 28), f"client{i}@example.ru",
                     None, Decimal(i % 50000) + Decimal("0.50"), Decimal(1 + i % 3000),
                     date(2027, 12, 31), date(2024, 5, 1), date(2024, 5, 1)])  # fmt: skip
    return rows


def as_xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Клиенты")
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def as_csv(rows: list[list[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow(["" if v is None else v.strftime("%d.%m.%Y") if isinstance(v, date)
                         else str(v).replace(".", ",") if isinstance(v, Decimal) else v
                         for v in row])  # fmt: skip
    return out.getvalue().encode("utf-8-sig")


class Timer:
    """Wall time, and the process's CPU time (all threads): on a machine shared with
    other work the CPU time is what the step costs; the wall time what it took here."""

    def __enter__(self) -> Timer:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu

    def __str__(self) -> str:
        return f"{self.wall:5.1f} s (cpu {self.cpu:5.1f} s)"


async def measure(url: str, label: str, files: dict[str, bytes]) -> None:
    for kind, data in files.items():
        db = await open_database(url)
        try:
            deps = Deps.build(Settings(database_url=url, env="test", load_demo=False), db)
            tenant = await make_tenant(deps, f"Бенчмарк {kind}")
            with Timer() as checked:
                dry = await customers_io.import_base(
                    deps, tenant.merchant_id, data, kind, dry_run=True
                )
            with Timer() as imported:
                result = await customers_io.import_base(
                    deps, tenant.merchant_id, data, kind, dry_run=False
                )
            assert result.status == "imported" and not dry.errors_total, dry.errors[:3]
            with Timer() as export_time, tempfile.TemporaryFile() as target:
                exported = await customers_io.export_base(deps, tenant.merchant_id, target)
                size = target.tell()
        finally:
            await db.close()
        print(f"{label:10} {kind:4}  {result.rows} rows, {result.customers_new} customers, "
              f"{result.lots} lots | dry run {checked} | import {imported} | "
              f"export {exported} customers {export_time} ({size / 2**20:.1f} MB)",
              flush=True)  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    rows = base_rows(args.rows)
    started = time.perf_counter()
    files = {"xlsx": as_xlsx(rows), "csv": as_csv(rows)}
    sizes = ", ".join(f"{kind} {len(data) / 2**20:.1f} MB" for kind, data in files.items())
    print(f"generated {args.rows} rows in {time.perf_counter() - started:.1f} s: {sizes}")
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite+aiosqlite:///{directory}/bench.sqlite3"
        migrate.upgrade(url)
        await measure(url, "SQLite", files)
    bindir = None if args.no_postgres else find_bindir()
    if bindir is None:
        print("PostgreSQL: server binaries not found, skipped")
        return
    cluster = PostgresCluster.start(bindir)
    try:
        cluster.create_database("bench")
        migrate.upgrade(cluster.url("bench"))
        await measure(cluster.url("bench"), "PostgreSQL", files)
    finally:
        cluster.stop()


if __name__ == "__main__":
    asyncio.run(main())
