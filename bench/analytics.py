"""The cabinet's analytics at scale: one merchant with N receipts (default 1 000 000)
over two years, a customer per five receipts, refunds, bonus lots, expiry warnings,
reanimation gifts and mailings; the nightly ``analytics`` job (its months up to
yesterday); then each report's time (``analytics.build`` over the last 12 months: wall
and CPU, the database server's and ours) and each report page's time over HTTP (signed in
as a viewer), and the customer list's and a customer card's, on PostgreSQL (a throw-away
cluster, as the tests start one) or SQLite.

    python bench/analytics.py                          # 1 M receipts, PostgreSQL
    python bench/analytics.py --receipts 20000 --backend sqlite

Seeding is set-based (``INSERT ... SELECT`` over a generated series; on PostgreSQL with
the foreign-key triggers off for the load, then ``VACUUM ANALYZE``). Targets of issue
13: every report < 1 s on PostgreSQL over 1 M receipts; a page < 300 ms to render (the
page's time less its report's).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import structlog
from aiohttp.test_utils import TestClient, TestServer

from cloud.api.app import create_app
from cloud.cabinet import accounts
from cloud.clock import ManualClock, to_epoch
from cloud.db import migrate
from cloud.db.database import open_database
from cloud.services import analytics, merchants
from cloud.services.analytics import rollup
from cloud.services.deps import Deps
from cloud.settings import Settings

NOW = datetime(2026, 6, 15, 9, tzinfo=UTC)  # 12:00 in Moscow
DAY = 86_400
PG_SETTINGS = "-c shared_buffers=1GB -c work_mem=64MB -c maintenance_work_mem=512MB"
PASSWORD = "bench password 1"


def _series(dialect: str, n: int) -> str:
    if dialect == "postgresql":
        # bigint: the seed multiplies i by a prime, past 2^31 at 1 M.
        return f"SELECT CAST(i AS BIGINT) AS i FROM generate_series(1, {n}) AS g(i)"
    return f"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) " \
        "SELECT i FROM s"  # fmt: skip


def _local_day(dialect: str, epoch: str) -> str:
    if dialect == "postgresql":
        return f"to_char(to_timestamp({epoch}) AT TIME ZONE 'Europe/Moscow', 'YYYY-MM-DD')"
    return f"date({epoch}, 'unixepoch', '+3 hours')"


async def seed(deps: Deps, receipts: int) -> int:
    db, d = deps.db, deps.db.dialect
    now = to_epoch(NOW)
    merchant = await merchants.create_merchant(db, "Бенчмарк аналитики", NOW, "Europe/Moscow")
    customers = max(receipts // 5, 1)
    p = {"m": merchant, "now": now, "phone": deps.cipher.encrypt(merchant, "+79990000000")}
    replica = "SET LOCAL session_replication_role = replica"
    async with db.transaction() as tx:
        if d == "postgresql":
            await tx.execute(replica)
        await tx.execute(
            "INSERT INTO customers (merchant_id, phone_index, phone_enc, lifetime_purchases, "
            "purchase_count, registration_channel, acquisition_channel, created_at) "
            "SELECT :m, 'bench-' || i, :phone, 0, 0, 'till', CASE i % 4 WHEN 0 THEN 'social' "
            "WHEN 1 THEN 'website' WHEN 2 THEN 'store' ELSE NULL END, "
            f":now - (i % 730) * {DAY} - i % {DAY} FROM ({_series(d, customers)}) s",
            p,
        )
        first = int(await tx.fetch_value(
            "SELECT MIN(id) FROM customers WHERE merchant_id = :m", p))  # fmt: skip
        await tx.execute(
            "UPDATE customers SET referrer_id = id - 1 WHERE merchant_id = :m "
            "AND id % 10 = 0 AND id > :first",
            {**p, "first": first},
        )
        # Receipts after their customer's registration, up to now.
        at = f"(c.created_at + ((s.i * 7919) % 700) * {DAY} % (:now - c.created_at + 1))"
        await tx.execute(
            "INSERT INTO receipts (merchant_id, customer_id, source, kind, external_id, amount, "
            "discount, redeemed, accrued, local_date, created_at, response) "
            "SELECT :m, c.id, 'native', 'sale', 's-' || s.i, (s.i % 50 + 1) * 10000, "
            "(s.i % 7) * 1000, (s.i % 5) * 500, (s.i % 50 + 1) * 500, "
            f"{_local_day(d, at)}, {at}, '' FROM ({_series(d, receipts)}) s "
            f"JOIN customers c ON c.merchant_id = :m AND c.id = {first} + s.i % {customers}",
            p,
        )
        await tx.execute(
            "INSERT INTO receipts (merchant_id, customer_id, source, kind, external_id, "
            "original_receipt_id, amount, discount, redeemed, accrued, local_date, created_at, "
            "response) SELECT merchant_id, customer_id, 'native', 'refund', 'f-' || id, id, "
            "amount / 2, 0, 0, 0, local_date, created_at, '' FROM receipts "
            "WHERE merchant_id = :m AND id % 20 = 0",
            p,
        )
    async with db.transaction() as tx:
        if d == "postgresql":
            await tx.execute(replica)
        await tx.execute(
            "INSERT INTO bonus_lots (merchant_id, customer_id, kind, amount, remaining, "
            "available_from, expires_at, created_at) SELECT :m, id, 'purchase', 10000, "
            f"id % 100 * 100, :now + (id % 10 - 8) * {DAY}, "
            f"CASE WHEN id % 7 = 0 THEN NULL ELSE :now + (id % 365) * {DAY} END, :now "
            "FROM customers WHERE merchant_id = :m",
            p,
        )
        await tx.execute(
            "INSERT INTO notifications (merchant_id, customer_id, channel, recipient_enc, body, "
            "status, cost, created_at, kind) SELECT :m, id, 'sms', :phone, '', 'sent', 250, "
            f":now - (id % 360) * {DAY}, 'expiry_warning' FROM customers "
            "WHERE merchant_id = :m AND id % 10 = 1",
            p,
        )
        await tx.execute(
            "INSERT INTO reanimations (merchant_id, customer_id, rule_code, last_purchase_at, "
            "amount, run_date, granted_at) SELECT :m, id, CASE WHEN id % 2 = 0 THEN 'r90' "
            f"ELSE 'r180' END, :now - 400 * {DAY}, 20000, '2026-01-01', "
            f":now - (id % 300) * {DAY} FROM customers WHERE merchant_id = :m AND id % 20 = 3",
            p,
        )
        for n in range(3):
            mailing = await tx.insert(
                "INSERT INTO mailings (merchant_id, text, segment, attribution_days, "
                "participants, estimated_cost, created_at) VALUES (:m, :t, '{}', 7, 0, 0, "
                ":at) RETURNING id",
                {"m": merchant, "t": f"Рассылка {n + 1}", "at": now - (30 + 60 * n) * DAY},
            )
            await tx.execute(
                "INSERT INTO notifications (merchant_id, customer_id, channel, recipient_enc, "
                "body, status, cost, created_at, mailing_id) SELECT :m, id, 'sms', :phone, '', "
                "'delivered', 250, :at, :ml FROM customers WHERE merchant_id = :m "
                f"AND id % 10 = {n + 4}",
                {**p, "at": now - (30 + 60 * n) * DAY, "ml": mailing},
            )
    await db.execute("VACUUM ANALYZE" if d == "postgresql" else "ANALYZE")
    await accounts.create_user(deps, merchant, "bench@analytics.ru", PASSWORD, "viewer")
    return merchant


async def _signed_in(deps: Deps) -> TestClient:
    client = TestClient(TestServer(create_app(deps.settings, deps=deps)))
    await client.start_server()
    page = await (await client.get("/cabinet/login")).text()
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match is not None
    response = await client.post(
        "/cabinet/login", allow_redirects=False,
        data={"csrf": match.group(1), "login": "bench@analytics.ru", "password": PASSWORD},
    )  # fmt: skip
    assert response.status == 303, await response.text()
    return client


def _ticks(pid: int) -> int:
    """User and system CPU ticks of a process (Linux), 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


class CpuMeter:
    """CPU seconds spent by this process and by the database's server processes (on a
    loaded machine wall time measures the neighbours; CPU time measures the work)."""

    def __init__(self, db: Any) -> None:
        self.db, self.tick = db, os.sysconf("SC_CLK_TCK")

    async def read(self) -> float:
        own = time.process_time()
        if self.db.dialect != "postgresql":
            return own
        pids = await self.db.fetch_all(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        )
        return own + sum(_ticks(int(row["pid"])) for row in pids) / self.tick


Row = tuple[str, float, float, float]


async def _timed(meter: CpuMeter, runs: int, call: Any) -> tuple[float, float]:
    """Median wall and CPU seconds of ``runs`` calls."""
    walls, cpus = [], []
    for _ in range(runs):
        cpu, began = await meter.read(), time.perf_counter()
        await call()
        walls.append(time.perf_counter() - began)
        cpus.append(await meter.read() - cpu)
    return statistics.median(walls), statistics.median(cpus)


async def bench(url: str, receipts: int, runs: int) -> tuple[list[Row], list[Row]]:
    await migrate.upgrade_async(url)
    db = await open_database(url, 4)
    deps = Deps.build(Settings(database_url=url), db, clock=ManualClock(NOW))
    meter = CpuMeter(db)
    try:
        started = time.perf_counter()
        merchant = await seed(deps, receipts)
        print(f"  seed {time.perf_counter() - started:.1f} s", flush=True)
        wall, cpu = await _timed(meter, 1, lambda: rollup.run_analytics(deps))
        print(f"  analytics job (first run, all months) {wall:.1f} s, CPU {cpu:.1f} s", flush=True)
        span = analytics.period(NOW, merchants.zone("Europe/Moscow"))
        client = await _signed_in(deps)
        reports: list[Row] = []
        pages: list[Row] = []

        async def get(path: str) -> None:
            response = await client.get(path)
            await response.read()
            assert response.status == 200, path

        try:
            for key in analytics.REPORTS:
                q, qc = await _timed(meter, runs, lambda k=key: analytics.build(
                    deps, merchant, k, span))  # fmt: skip
                pg, _ = await _timed(meter, runs, lambda k=key: get(f"/cabinet/analytics/{k}"))
                reports.append((key, q, qc, pg))
                print(f"  {key:10} report {q * 1000:8.1f} ms (CPU {qc * 1000:6.1f} ms)  "
                      f"page {pg * 1000:8.1f} ms (render {(pg - q) * 1000:6.1f} ms)",
                      flush=True)  # fmt: skip
            customer = await db.fetch_value(
                "SELECT customer_id FROM receipts WHERE merchant_id = :m AND customer_id "
                "IS NOT NULL ORDER BY id DESC LIMIT 1",
                {"m": merchant},
            )
            for name, path in (("customers", "/cabinet/customers"),
                               ("customers?q=", "/cabinet/customers?q=%2B79990000000"),
                               ("card", f"/cabinet/customers/{customer}")):  # fmt: skip
                pg, pc = await _timed(meter, runs, lambda p=path: get(p))
                pages.append((name, pg, pc, pg))
                print(f"  page {name:12} {pg * 1000:8.1f} ms (CPU {pc * 1000:6.1f} ms)", flush=True)
        finally:
            await client.close()
        return reports, pages
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--receipts", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--runs", type=int, default=3, help="times per report; median shown")
    parser.add_argument("--pg-settings", default=PG_SETTINGS)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    load = os.getloadavg()
    if args.backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            reports, pages = asyncio.run(bench(f"sqlite+aiosqlite:///{tmp}/a.sqlite3",
                                               args.receipts, args.runs))  # fmt: skip
    else:
        from tests.postgres_cluster import PostgresCluster, find_bindir

        bindir = find_bindir()
        if bindir is None:
            raise SystemExit("no PostgreSQL server binaries (install the test extras)")
        cluster = PostgresCluster.start(bindir, args.pg_settings)
        try:
            cluster.create_database("bench_analytics")
            reports, pages = asyncio.run(
                bench(cluster.url("bench_analytics"), args.receipts, args.runs)
            )
        finally:
            cluster.stop()
    print(f"\n{args.receipts} receipts on {args.backend}, median of {args.runs}; load "
          f"{load} -> {os.getloadavg()}\n")  # fmt: skip
    print("| report | query (< 1 s) | its CPU | page | render (< 300 ms) |\n|---|---|---|---|---|")
    for key, q, qc, pg in reports:
        print(f"| {key} | {q * 1000:.0f} ms | {qc * 1000:.0f} ms | {pg * 1000:.0f} ms | "
              f"{(pg - q) * 1000:.0f} ms |")  # fmt: skip
    print("\n| page | wall (< 300 ms) | CPU |\n|---|---|---|")
    for name, pg, pc, _ in pages:
        print(f"| {name} | {pg * 1000:.0f} ms | {pc * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
