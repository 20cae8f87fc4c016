"""Scheduled jobs at scale: one merchant with N customers (default 1 000 000), three
bonus lots each (one lapsed, one lapsing in the coming weeks, one without an end) with
their journal entries, and one sale each within the tier window; then each job's time,
on SQLite and on PostgreSQL (a throw-away cluster, as the tests start one).

    python bench/jobs.py                      # 1 M customers, both databases
    python bench/jobs.py --customers 100000 --backend sqlite

Seeding is set-based (``INSERT ... SELECT`` over a generated series), so it measures the
jobs, not the seeding. The program (``PROGRAM``) has rolling tiers recomputed before the
1st, a birthday gift, expiry warnings and two reanimation rules; the clock is 1 June
2026, 12:00 in Moscow. Targets of issue 9: expiry < 10 s, birthday < 5 s, reanimation
< 10 s, tier recompute < 30 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cloud.clock import ManualClock, to_epoch
from cloud.db import migrate
from cloud.db.database import open_database
from cloud.services import jobs, lifecycle, merchants, notices, programs
from cloud.services.deps import Deps
from cloud.settings import Settings

PROGRAM: dict[str, Any] = {
    "name": "Бенчмарк: все задания",
    "tiers": [
        {"code": "base", "name": "Базовый", "accrual_percent": "5"},
        {"code": "silver", "name": "Серебряный", "accrual_percent": "7",
         "purchases_over": "3000"},
        {"code": "gold", "name": "Золотой", "accrual_percent": "10", "purchases_over": "6000"},
    ],
    "tier_assignment": "registration",
    "tier_rule": {"basis": "rolling", "period_months": 6, "recompute": "monthly_before_1st"},
    "lifetime_days": 180,
    "expiry_warning_days": 7,
    "gifts": {
        "birthday": {"amount": "500", "days_before": 3, "valid_days": 10},
        "reanimation": [
            {"code": "r90", "name": "90 дней", "days_without_purchase": 90,
             "purchase_count": {"at_least": 2}, "amount": "300", "valid_days": 14},
            {"code": "r180", "name": "180 дней", "days_without_purchase": 180,
             "amount": "500", "valid_days": 14},
        ],
    },
}  # fmt: skip

NOW = datetime(2026, 6, 1, 9, tzinfo=UTC)  # 12:00 in Moscow
DAY = 86_400


def _series(dialect: str, n: int) -> str:
    """``SELECT i`` for i in 1..n, on either database."""
    if dialect == "postgresql":
        return f"SELECT i FROM generate_series(1, {n}) AS s(i)"
    return f"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) " \
        "SELECT i FROM s"  # fmt: skip


async def seed(deps: Deps, customers: int) -> int:
    db = deps.db
    now = to_epoch(NOW)
    merchant = await merchants.create_merchant(db, "Бенчмарк", NOW, "Europe/Moscow")
    store = await merchants.create_store(db, merchant, "Магазин", NOW)
    await programs.publish(db, merchant, json.dumps(PROGRAM), NOW)
    phone = deps.cipher.encrypt(merchant, "+79990000000")
    series = _series(db.dialect, customers)
    p = {"m": merchant, "now": now, "phone": phone, "store": store}
    async with db.transaction() as tx:
        # Last purchase 1..400 days ago; purchases 1..5; birthdays over the year; two
        # customers in three consent to messages.
        await tx.execute(
            "INSERT INTO customers (merchant_id, phone_index, phone_enc, tier_code, "
            "lifetime_purchases, purchase_count, last_purchase_at, registration_channel, "
            "consent_messages_at, created_at, birthday_md) "
            "SELECT :m, 'bench-' || i, :phone, 'base', (i % 5 + 1) * 150000, i % 5 + 1, "
            f":now - (i % 400 + 1) * {DAY}, 'import', "
            "CASE WHEN i % 3 <> 0 THEN :now ELSE NULL END, :now, "
            f"((i / 28) % 12 + 1) * 100 + (i % 28) + 1 FROM ({series}) s",
            p,
        )
    async with db.transaction() as tx:
        # Lots: one lapsed (1..30 days ago), one lapsing 1..60 days ahead, one never.
        for expires in (
            f"CAST(:now AS BIGINT) - (c.id % 30 + 1) * {DAY}",
            f"CAST(:now AS BIGINT) + (c.id % 60 + 1) * {DAY}",
            "NULL",
        ):
            await tx.execute(
                "INSERT INTO bonus_lots (merchant_id, customer_id, kind, amount, remaining, "
                "available_from, expires_at, receipt_id, created_at) "
                f"SELECT :m, c.id, 'purchase', 10000, 10000, :now - 200 * {DAY}, {expires}, "
                f"NULL, :now - 200 * {DAY} FROM customers c WHERE c.merchant_id = :m",
                p,
            )
        await tx.execute(
            "INSERT INTO ledger_entries (merchant_id, customer_id, kind, amount, lot_id, "
            "receipt_id, idempotency_key, created_at) SELECT merchant_id, customer_id, "
            "'accrue', amount, id, NULL, 'seed:' || id, created_at FROM bonus_lots "
            "WHERE merchant_id = :m",
            p,
        )
        # One sale each within the tier window (December..May), 1 000..10 000 ₽.
        await tx.execute(
            "INSERT INTO receipts (merchant_id, store_id, customer_id, source, kind, "
            "external_id, amount, discount, redeemed, accrued, local_date, created_at, "
            "response) SELECT :m, :store, c.id, 'native', 'sale', 's-' || c.id, "
            "(c.id % 10 + 1) * 100000, 0, 0, 0, "
            "CASE WHEN c.id % 2 = 0 THEN '2026-03-15' ELSE '2026-05-20' END, "
            f":now - 30 * {DAY}, '{{}}' FROM customers c WHERE c.merchant_id = :m",
            p,
        )
    # A live database has statistics (autovacuum, SQLite's ``PRAGMA optimize``); a
    # freshly seeded one has none, and PostgreSQL would plan blind.
    await db.execute("ANALYZE")
    return merchant


async def _timed(name: str, work: Any) -> tuple[str, float, Any]:
    started = time.perf_counter()
    report = await work
    return name, time.perf_counter() - started, report


async def bench(url: str, customers: int, label: str) -> list[tuple[str, float, str]]:
    await migrate.upgrade_async(url)
    db = await open_database(url, 4)
    clock = ManualClock(NOW)
    deps = Deps.build(Settings(database_url=url), db, clock=clock)
    try:
        started = time.perf_counter()
        merchant = await seed(deps, customers)
        rows = [("seed", time.perf_counter() - started, f"{customers} customers, "
                 f"{3 * customers} lots")]  # fmt: skip
        for name, work in (
            ("expiry", jobs.run_expiry(deps)),
            ("birthday", lifecycle.run_birthday(deps)),
            ("expiry_warnings", notices.run_expiry_warnings(deps)),
            ("reanimation", lifecycle.run_reanimation(deps)),
            ("tiers", jobs.run_tiers(deps, date(2026, 6, 1))),
        ):
            job, seconds, report = await _timed(name, work)
            detail = report.details.get(str(merchant), {})
            detail = {k: v for k, v in detail.items() if k not in ("window", "date")}
            rows.append((job, seconds, json.dumps(detail, ensure_ascii=False)))
            print(f"  {label} {job:16} {seconds:8.2f} s  {rows[-1][2]}", flush=True)
        again = time.perf_counter()
        for rerun in (jobs.run_expiry, lifecycle.run_birthday, lifecycle.run_reanimation):
            await rerun(deps, None, None)
        rows.append(("second run (all)", time.perf_counter() - again, "nothing to do"))
        return rows
    finally:
        await db.close()


def _postgres() -> tuple[Any, str]:
    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root))
    from tests.postgres_cluster import PostgresCluster, find_bindir

    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("no PostgreSQL server binaries (install the test extras: pgserver)")
    cluster = PostgresCluster.start(bindir)
    cluster.create_database("bench_jobs")
    return cluster, cluster.url("bench_jobs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    results: dict[str, list[tuple[str, float, str]]] = {}
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/jobs.sqlite3"
            results["SQLite"] = asyncio.run(bench(url, args.customers, "sqlite"))
    if args.backend in ("postgresql", "both"):
        cluster, url = _postgres()
        try:
            results["PostgreSQL"] = asyncio.run(bench(url, args.customers, "postgresql"))
        finally:
            cluster.stop()
    print(f"\n| job | {' | '.join(results)} |")
    print(f"|---|{'---|' * len(results)}")
    names = [row[0] for row in next(iter(results.values()))]
    for i, name in enumerate(names):
        print(
            f"| {name} | " + " | ".join(f"{rows[i][1]:.2f} s" for rows in results.values()) + " |"
        )
    for backend, rows in results.items():
        print(f"\n{backend}:")
        for name, _, detail in rows:
            print(f"  {name}: {detail}")


if __name__ == "__main__":
    main()
