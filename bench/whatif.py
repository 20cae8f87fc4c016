"""The what-if replay at scale: one merchant, 10 000 customers and 100 000 sales (two
lines each, one sale in five anonymous, one in ten paying by bonuses) spread over 90
days; then the replay of those 90 days under a draft beside the live version, timed
end to end (queries, engine, progress writes). Target of issue 13: < 30 s.

    python bench/whatif.py                       # SQLite in a temp dir
    python bench/whatif.py --receipts 20000
    python bench/whatif.py --database-url postgresql://...   # an empty database

Seeding is set-based (``INSERT ... SELECT`` over a generated series), so it measures the
replay, not the seeding.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import structlog

from cloud.clock import ManualClock, to_epoch
from cloud.db import migrate
from cloud.db.database import open_database
from cloud.services import merchants, programs, whatif
from cloud.services.deps import Deps
from cloud.settings import Settings

PROGRAM: dict[str, Any] = {
    "name": "Бенчмарк: что будет, если",
    "tiers": [
        {"code": "base", "name": "Базовый", "accrual_percent": "5"},
        {"code": "silver", "name": "Серебряный", "accrual_percent": "7",
         "purchases_over": "30000"},
        {"code": "gold", "name": "Золотой", "accrual_percent": "10",
         "purchases_over": "60000"},
    ],
    "categories": {"tobacco": {"accrual": False, "redemption": False}},
    "lifetime_days": 180,
}  # fmt: skip
NOW = datetime(2026, 6, 1, 9, tzinfo=UTC)
DAY = 86_400
CUSTOMERS = 10_000


def _series(dialect: str, n: int) -> str:
    if dialect == "postgresql":
        return f"SELECT i FROM generate_series(1, {n}) AS s(i)"
    return f"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) " \
        "SELECT i FROM s"  # fmt: skip


async def seed(deps: Deps, receipts: int) -> tuple[int, int]:
    """The merchant and its draft version's id."""
    db, now = deps.db, to_epoch(NOW)
    merchant = await merchants.create_merchant(db, "Бенчмарк", NOW, "Europe/Moscow")
    await programs.publish(db, merchant, json.dumps(PROGRAM), NOW)
    draft = json.loads(json.dumps(PROGRAM))
    draft["tiers"][0]["accrual_percent"] = "6"
    draft["tiers"][1]["purchases_over"] = "20000"
    loaded = await programs.create_version(db, merchant, draft, NOW)
    p = {"m": merchant, "now": now, "phone": deps.cipher.encrypt(merchant, "+79990000000")}
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO customers (merchant_id, phone_index, phone_enc, tier_code, "
            "lifetime_purchases, purchase_count, last_purchase_at, registration_channel, "
            "created_at) SELECT :m, 'bench-' || i, :phone, 'base', 0, 0, NULL, 'import', "
            f":now FROM ({_series(db.dialect, CUSTOMERS)}) s",
            p,
        )
        first = await tx.fetch_value("SELECT MIN(id) FROM customers WHERE merchant_id = :m", p)
        # Sale i: 90 days back to now, customer i % N (none for one in five), 500..5 490 ₽
        # in two lines (the second tobacco), one in ten paying 100 ₽ by bonuses.
        await tx.execute(
            "INSERT INTO receipts (merchant_id, customer_id, source, kind, external_id, "
            "program_version_id, amount, discount, redeemed, accrued, local_date, created_at, "
            "response) SELECT :m, CASE WHEN i % 5 = 0 THEN NULL ELSE :first + i % "
            f"{CUSTOMERS} END, 'api', 'sale', 'B-' || i, NULL, 50000 + (i % 50) * 10000, 0, "
            "CASE WHEN i % 10 = 1 THEN 10000 ELSE 0 END, 0, '2026-06-01', "
            f":now - 90 * {DAY} + i * {90 * DAY // receipts}, '' "
            f"FROM ({_series(db.dialect, receipts)}) s",
            {**p, "first": first},
        )
        for position, share, category in ((0, "0.8", "NULL"), (1, "0.2", "'tobacco'")):
            await tx.execute(
                "INSERT INTO receipt_lines (merchant_id, receipt_id, position, line_id, sku, "
                "name, category, price, quantity_milli, amount, discount, redeemed, accrual, "
                "returned_quantity_milli, returned_redeemed, reversed_accrual) SELECT :m, id, "
                f":pos, ':pos', NULL, 'Товар', {category}, CAST(amount * {share} AS BIGINT), "
                f"1000, CAST(amount * {share} AS BIGINT), 0, 0, 0, 0, 0, 0 FROM receipts "
                "WHERE merchant_id = :m",
                {**p, "pos": position},
            )
    return merchant, loaded.id


async def bench(url: str, receipts: int) -> float:
    await migrate.upgrade_async(url)
    db = await open_database(url, 4)
    deps = Deps.build(Settings(database_url=url), db, clock=ManualClock(NOW))
    try:
        started = time.perf_counter()
        merchant, draft = await seed(deps, receipts)
        print(f"seed: {receipts} sales in {time.perf_counter() - started:.1f} s", flush=True)
        run_id = await whatif.start(deps, merchant, draft, 90, "bench")
        started = time.perf_counter()
        await whatif.execute(deps, merchant, run_id)
        elapsed = time.perf_counter() - started
        run = await whatif.get(deps, merchant, run_id)
        assert run is not None and run.status == "done" and run.result is not None, run
        assert run.result["sales"] == receipts, run.result
        print(json.dumps(run.result, ensure_ascii=False))
        return elapsed
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--receipts", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/whatif.db"
        elapsed = asyncio.run(bench(url, args.receipts))
    verdict = "met" if elapsed < 30 else "NOT met"
    print(f"what-if replay of {args.receipts} sales: {elapsed:.1f} s (target < 30 s: {verdict})")


if __name__ == "__main__":
    main()
