"""Scheduled jobs at scale: one merchant with N customers (default 1 000 000), three
bonus lots each (one lapsed, one lapsing in the coming weeks, one without an end) with
their journal entries, and one sale each within the tier window; then each job's time,
on SQLite and on PostgreSQL (a throw-away cluster, as the tests start one).

    python bench/jobs.py                      # 1 M customers, both databases
    python bench/jobs.py --customers 100000 --no-postgres

Seeding is set-based (``INSERT ... SELECT`` over a generated series; on PostgreSQL with
the foreign-key triggers off for the load, then ``VACUUM ANALYZE`` as autovacuum would
have done on a live base), so it measures the jobs, not the seeding. Each job runs
twice: over the seeded base, then again on the same date (which must find nothing).
The PostgreSQL cluster gets a server's memory (``PG_SETTINGS``) rather than the
defaults of a test cluster (128 MB of shared buffers).

The program (``PROGRAM``) has rolling tiers recomputed before the 1st, a birthday gift,
expiry warnings and two reanimation rules; the clock is 1 June 2026, 12:00 in Moscow.
Targets of issue 9: expiry < 10 s, birthday < 5 s, reanimation < 10 s, tier recompute
< 30 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import structlog

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
PG_SETTINGS = (
    "-c shared_buffers=1GB -c work_mem=64MB -c maintenance_work_mem=512MB "
    "-c max_wal_size=8GB -c checkpoint_timeout=30min"
)
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
        if db.dialect == "postgresql":
            # The load only: every row references the merchant and customers just made.
            await tx.execute("SET LOCAL session_replication_role = replica")
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
        if db.dialect == "postgresql":
            await tx.execute("SET LOCAL session_replication_role = replica")
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
    await db.execute("VACUUM ANALYZE" if db.dialect == "postgresql" else "ANALYZE")
    return merchant


JOBS: list[tuple[str, Any]] = [
    ("expiry", lambda deps: jobs.run_expiry(deps)),
    ("birthday", lambda deps: lifecycle.run_birthday(deps)),
    ("expiry_warnings", lambda deps: notices.run_expiry_warnings(deps)),
    ("reanimation", lambda deps: lifecycle.run_reanimation(deps)),
    ("tiers", lambda deps: jobs.run_tiers(deps, date(2026, 6, 1))),
]
TARGETS = {"expiry": 10.0, "birthday": 5.0, "reanimation": 10.0, "tiers": 30.0}

# job, first run (wall), second run (wall), first run (CPU), what the first did
Row = tuple[str, float, float, float, str]


def _cpu(server: Path | None) -> float:
    """CPU seconds spent so far by this process and, for PostgreSQL, by every process
    of the cluster (``server`` is its data directory). On a machine shared with other
    work the wall time includes waiting for a core; the CPU time is what the job cost,
    and about its wall time on an idle machine (the client waits for the server, so
    their CPU adds up rather than overlaps)."""
    total = time.process_time()
    if server is None:
        return total
    postmaster = (server / "postmaster.pid").read_text().split()[0]
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat.parent.name == postmaster or fields[1] == postmaster:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


async def bench(url: str, customers: int, label: str, server: Path | None) -> list[Row]:
    await migrate.upgrade_async(url)
    db = await open_database(url, 4)
    clock = ManualClock(NOW)
    deps = Deps.build(Settings(database_url=url), db, clock=clock)
    try:
        started = time.perf_counter()
        merchant = await seed(deps, customers)
        rows: list[Row] = [
            ("seed", time.perf_counter() - started, 0.0, 0.0,
             f"{customers} customers, {3 * customers} lots"),
        ]  # fmt: skip
        print(f"  {label} seed {rows[0][1]:8.2f} s", flush=True)
        for name, work in JOBS:
            times, cpu, details = [], [], []
            for _ in range(2):
                began, began_cpu = time.perf_counter(), _cpu(server)
                report = await work(deps)
                times.append(time.perf_counter() - began)
                cpu.append(_cpu(server) - began_cpu)
                detail = report.details.get(str(merchant), {"skipped": report.skipped})
                details.append({k: v for k, v in detail.items() if k not in ("window", "date")})
            done = json.dumps(details[0], ensure_ascii=False)
            rows.append((name, times[0], times[1], cpu[0], done))
            print(
                f"  {label} {name:16} {times[0]:8.2f} s (cpu {cpu[0]:.2f} s), again "
                f"{times[1]:6.2f} s  {done}  (again: {json.dumps(details[1], ensure_ascii=False)})"
                f"  load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        return rows
    finally:
        await db.close()


def _postgres(settings: str) -> tuple[Any, str]:
    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root))
    from tests.postgres_cluster import PostgresCluster, find_bindir

    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("no PostgreSQL server binaries (install the test extras: pgserver)")
    cluster = PostgresCluster.start(bindir, settings)
    cluster.create_database("bench_jobs")
    return cluster, cluster.url("bench_jobs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument(
        "--runs", type=int, default=1, help="seed and run this many times; medians reported"
    )
    parser.add_argument(
        "--pg-settings", default=PG_SETTINGS, help="server options of the PostgreSQL cluster"
    )
    args = parser.parse_args()
    backend = "sqlite" if args.no_postgres else args.backend
    # The jobs log each batch; the benchmark prints its own lines.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    results: dict[str, list[list[Row]]] = {}
    load = os.getloadavg()
    for _ in range(args.runs):
        if backend in ("sqlite", "both"):
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite+aiosqlite:///{tmp}/jobs.sqlite3"
                run = asyncio.run(bench(url, args.customers, "sqlite", None))
                results.setdefault("SQLite", []).append(run)
        if backend in ("postgresql", "both"):
            cluster, url = _postgres(args.pg_settings)
            try:
                run = asyncio.run(bench(url, args.customers, "postgresql", cluster.datadir))
                results.setdefault("PostgreSQL", []).append(run)
            finally:
                cluster.stop()
    print(f"\n{args.customers} customers, {3 * args.customers} lots, median of {args.runs}:")
    print(f"\nload average at the start: {load}, at the end: {os.getloadavg()}")
    print(f"\n| job | target | {' | '.join(f'{b} wall (cpu) | {b} again' for b in results)} |")
    print(f"|---|---|{'---|---|' * len(results)}")
    names = [row[0] for row in next(iter(results.values()))[0]]
    for i, name in enumerate(names):
        cells = []
        for runs in results.values():
            first = statistics.median(run[i][1] for run in runs)
            again = statistics.median(run[i][2] for run in runs)
            cpu = statistics.median(run[i][3] for run in runs)
            cells.append(
                f"{first:.2f} s ({cpu:.2f} s) | {again:.2f} s" if name != "seed"
                else f"{first:.0f} s | "
            )  # fmt: skip
        target = f"< {TARGETS[name]:.0f} s" if name in TARGETS else ""
        print(f"| {name} | {target} | " + " | ".join(cells) + " |")
    for backend_name, runs in results.items():
        print(f"\n{backend_name} (first run's work):")
        for name, _, _, _, detail in runs[0]:
            print(f"  {name}: {detail}")


if __name__ == "__main__":
    main()
