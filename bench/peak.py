"""A chain's peak hour: every channel at once against one service.

    python bench/peak.py [--duration 20] [--stores 4] [--workers 1]
                         [--database postgresql|sqlite] [--database-url URL]

1. The database: a throw-away PostgreSQL cluster (as ``bench/jobs.py`` starts one,
   durable settings), an existing one (``--database-url``), or a SQLite file
   (``--database sqlite``, the quick run); migrated to head.
2. One chain merchant (``peak_setup.seed_chain``): the BreezeVape program, N customers
   (``checkout.seed``), customers 1..``--payers`` with bonuses to pay with, ``--stores``
   stores and in each a till per channel: native API, native through the store's bridge
   (``loyalty bridge serve``, one per store), Frontol (``FrontolAuth md5(key + body)``),
   SIGMA hooks (terminal token), Evotor terminal hooks followed by the SELL document
   Evotor sends for the same sale, and an Evotor till without the app (documents only).
3. The service (``python -m cloud.main serve``, ``--workers N`` passed on when N > 1).
4. Every till runs full sales in its own protocol, back to back, all tills at once:
   quote, a bonus payment in ``--bonus-share`` of sales, close, a return in
   ``--return-share``; ``--warmup`` seconds first (not measured), then ``--duration``.
5. Per channel: sales/s, p50/p99 of each step, errors; the total. Then every confirmed
   sale and return is counted in the database per till: each exactly once.
An error is any non-2xx answer, a vendor's error code (Frontol ``code`` -1, an Evotor
document result that is not the expected one) or a failed connection. Exit 2 when there
is an error or a sale is missing or doubled, 0 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import peak_setup as setup  # type: ignore[import-not-found]  # bench/, run as a script
import peak_tills as tills  # type: ignore[import-not-found]
from checkout import Server, describe_machine, start_server, wait_ready  # type: ignore[import-not-found]

from cloud.db.database import open_database


class Load:
    """What the tills did: latencies per channel and step, sales, errors, and per till
    the sales and returns the service confirmed (checked against the database)."""

    def __init__(self, chain: setup.Chain, args: argparse.Namespace,
                 session: aiohttp.ClientSession) -> None:  # fmt: skip
        self.chain, self.args, self.session = chain, args, session
        self.prefix = f"pk{setup.stamp()}"
        self.latency: dict[tuple[str, str], list[float]] = defaultdict(list)
        self.sales: Counter[str] = Counter()
        self.returns: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.offline: Counter[str] = Counter()
        """Sales the bridge queued (the cloud too slow for its budget), replayed later."""
        self.samples: list[str] = []
        self.sold: Counter[int] = Counter()
        self.refunded: Counter[int] = Counter()

    def reset_figures(self) -> None:
        """After the warm-up: its sales stay counted for the database check."""
        self.latency.clear()
        self.sales.clear()
        self.returns.clear()
        self.offline.clear()

    def customer(self, rng: random.Random, pays: bool) -> str:
        high = self.chain.payers if pays else self.chain.customers
        return setup.phone(rng.randint(1, high))

    async def call(
        self, till: setup.Till, step: str, path: str, body: Any,
        headers: dict[str, str] | Callable[[bytes], dict[str, str]],
        check: Callable[[Any], str | None] | None = None, method: str = "POST",
    ) -> Any:  # fmt: skip
        """Send one step; its answer, or None after counting the error."""
        raw = json.dumps(body, ensure_ascii=False, default=float).encode()
        extra = headers(raw) if callable(headers) else headers
        started = time.perf_counter()
        try:
            async with self.session.request(
                method, till.base + path, data=raw,
                headers={"Content-Type": "application/json", **extra},
            ) as response:  # fmt: skip
                status, text = response.status, await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            return self.fail(till, step, f"{type(exc).__name__}: {exc}")
        self.latency[(till.channel, step)].append((time.perf_counter() - started) * 1000)
        if status >= 300:
            return self.fail(till, step, f"HTTP {status}: {text[:300].decode(errors='replace')}")
        try:
            answer = json.loads(text)
        except ValueError:
            return self.fail(till, step, f"HTTP {status}, not JSON: {text[:200]!r}")
        problem = check(answer) if check is not None else None
        if problem:
            return self.fail(till, step, problem)
        return answer

    def fail(self, till: setup.Till, step: str, what: str) -> None:
        self.errors[till.channel] += 1
        if len(self.samples) < 10:
            self.samples.append(f"{till.channel} {step} (terminal {till.terminal_id}): {what}")
        return None


async def till_loop(load: Load, till: setup.Till, until: float, seed: int) -> None:
    rng = random.Random(seed)
    sale = tills.PROTOCOLS[till.channel]
    while time.monotonic() < until:
        till.number += 1
        try:
            await sale(load, till, rng, till.number)
        except (KeyError, TypeError, ValueError) as exc:  # an answer not in its shape
            load.fail(till, "answer", f"{type(exc).__name__}: {exc}")
        if load.args.pace:  # the cashier's time between sales, exponential around --pace
            await asyncio.sleep(min(rng.expovariate(1 / load.args.pace), until - time.monotonic()))


async def phase(load: Load, seconds: float) -> float:
    until = time.monotonic() + seconds
    started = time.perf_counter()
    await asyncio.gather(
        *(till_loop(load, till, until, hash((load.prefix, till.terminal_id, till.number)))
          for till in load.chain.tills)
    )  # fmt: skip
    return time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def report(load: Load, elapsed: float) -> dict[str, Any]:
    print(f"\n{len(load.chain.tills)} tills, {elapsed:.1f} s measured:\n")
    print("| channel | sales | sales/s | returns | errors | queued by the bridge "
          "| p50 / p99 ms per step |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    summary: dict[str, Any] = {}
    for channel in setup.CHANNELS:
        steps = [(step, values) for (ch, step), values in load.latency.items() if ch == channel]
        cells = ", ".join(
            f"{step} {statistics.median(v):.0f} / {percentile(v, 0.99):.0f}" for step, v in steps
        )
        rate = load.sales[channel] / elapsed
        summary[channel] = {
            "sales": load.sales[channel], "sales_per_s": round(rate, 2),
            "returns": load.returns[channel], "errors": load.errors[channel],
            "offline": load.offline[channel],
            "steps": {s: {"p50_ms": round(statistics.median(v), 1),
                          "p99_ms": round(percentile(v, 0.99), 1)} for s, v in steps},
        }  # fmt: skip
        print(f"| {channel} | {load.sales[channel]} | {rate:.1f} | {load.returns[channel]} "
              f"| {load.errors[channel]} | {load.offline[channel]} | {cells} |")  # fmt: skip
    total = sum(load.sales.values())
    every = [v for values in load.latency.values() for v in values]
    p99 = percentile(every, 0.99) if every else 0.0
    print(f"| **total** | {total} | {total / elapsed:.1f} | {sum(load.returns.values())} "
          f"| {sum(load.errors.values())} | {sum(load.offline.values())} "
          f"| every call: {len(every) / elapsed:.0f}/s, p99 {p99:.0f} |")  # fmt: skip
    queued = sum(load.offline.values())
    print(f"\nAnswered by the cloud: {(total - queued) / elapsed:.1f} sales/s; queued by "
          f"the bridges (kept offline, replayed after): {queued / elapsed:.1f}/s")  # fmt: skip
    for sample in load.samples:
        print("  error:", sample)
    summary["total"] = {"sales": total, "sales_per_s": round(total / elapsed, 2),
                        "queued_by_bridges": queued,
                        "calls_per_s": round(len(every) / elapsed, 1),
                        "errors": sum(load.errors.values())}  # fmt: skip
    return summary


async def verify(url: str, load: Load) -> list[str]:
    """Every sale and return a till was told is done, in the database exactly once."""
    db = await open_database(url)
    try:
        rows = await db.fetch_all(
            "SELECT terminal_id, kind, COUNT(*) AS n, COUNT(DISTINCT external_id) AS ids "
            "FROM receipts WHERE merchant_id = :m GROUP BY terminal_id, kind",
            {"m": load.chain.merchant_id},
        )
    finally:
        await db.close()
    found: dict[tuple[int, str], int] = {}
    problems = []
    for row in rows:
        found[(int(row["terminal_id"]), str(row["kind"]))] = int(row["n"])
        if int(row["n"]) != int(row["ids"]):
            problems.append(f"terminal {row['terminal_id']}: {row['kind']} recorded twice")
    for till in load.chain.tills:
        for kind, sent in (("sale", load.sold), ("refund", load.refunded)):
            got = found.pop((till.terminal_id, kind), 0)
            if got != sent[till.terminal_id]:
                problems.append(
                    f"{till.channel} terminal {till.terminal_id}: {kind} "
                    f"{sent[till.terminal_id]} confirmed, {got} in the database"
                )
    problems.extend(f"unexpected receipts: terminal {t} {k} x{n}" for (t, k), n in found.items())
    sales, returns = sum(load.sold.values()), sum(load.refunded.values())
    print(
        f"\nDatabase: {sales} sales and {returns} returns confirmed to the tills "
        f"(warm-up included): {'each exactly once' if not problems else 'MISMATCH'}"
    )
    for problem in problems[:20]:
        print("  ", problem)
    return problems


async def drive(chain: setup.Chain, args: argparse.Namespace) -> tuple[Load, float]:
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        load = Load(chain, args, session)
        if args.warmup:
            await phase(load, args.warmup)
            load.reset_figures()
        return load, await phase(load, args.duration)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument("--stores", type=int, default=4, help="a till per channel in each")
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--payers", type=int, default=200, help="customers with bonuses")
    parser.add_argument("--bonus-share", type=float, default=0.25)
    parser.add_argument("--return-share", type=float, default=0.1)
    parser.add_argument(
        "--pace", type=float, default=0.0,
        help="mean seconds between a till's sales (0: back to back, the service saturated)",
    )  # fmt: skip
    parser.add_argument("--workers", type=int, default=1, help="passed to loyalty serve")
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--database-url", help="an existing PostgreSQL (migrated here)")
    parser.add_argument("--pg-settings", default=setup.PG_SETTINGS)
    parser.add_argument("--json", type=Path, help="also write the summary here")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    args = parser.parse_args()
    try:
        print("  ".join(f"{k}: {v}" for k, v in describe_machine().items()))
    except OSError:
        pass
    load_start = os.getloadavg()
    workdir = Path(tempfile.mkdtemp(prefix="loyalty-bench-peak-"))
    cluster: Any = None
    servers: list[Server] = []
    try:
        if args.database_url:
            url = args.database_url
        elif args.database == "sqlite":
            url = f"sqlite+aiosqlite:///{workdir / 'peak.sqlite3'}"
        else:
            cluster, url = setup.start_postgres(args.pg_settings)
        started = time.monotonic()
        setup.prepare_database(url)
        chain = asyncio.run(setup.seed_chain(url, args.stores, args.customers, args.payers))
        print(f"Seeded {args.customers} customers, {args.stores} stores, {len(chain.tills)} "
              f"tills in {time.monotonic() - started:.1f} s ({url.split('@')[-1]})")  # fmt: skip
        env = {**os.environ, "LOYALTY_DATABASE_URL": url, "LOYALTY_LOAD_DEMO": "false",
               "LOYALTY_LOG_LEVEL": "WARNING"}  # fmt: skip
        serve = [sys.executable, "-m", "cloud.main", "serve"]
        if args.workers != 1:
            serve += ["--workers", str(args.workers)]
        ready = time.monotonic()
        service = start_server("service", serve, env, workdir)
        servers.append(service)
        wait_ready(service)
        bridges = {}
        for n, (store, token) in enumerate(chain.bridge_tokens.items(), 1):
            bridges[store] = setup.start_bridge(service.url, token, workdir, env, n)
            servers.append(bridges[store])
        for bridge in bridges.values():
            setup.wait_bridge(bridge, args.customers)
        print(f"Service and {len(bridges)} bridges ready in {time.monotonic() - ready:.1f} s")
        for till in chain.tills:
            till.base = bridges[till.store].url if till.channel == "bridge" else service.url
        load, elapsed = asyncio.run(drive(chain, args))
        summary = report(load, elapsed)
        drained = time.monotonic()
        for bridge in bridges.values():  # what a bridge queued must land before counting
            deadline = time.monotonic() + 120
            while setup.outbox_depth(bridge) and time.monotonic() < deadline:
                time.sleep(0.2)
        print(f"Outboxes drained in {time.monotonic() - drained:.1f} s")
        problems = asyncio.run(verify(url, load))
    finally:
        for server in servers:
            server.stop()
        if cluster is not None:
            cluster.stop()
        if args.keep:
            print(f"Kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    load_end = os.getloadavg()
    print(f"Load average at the start {load_start[0]:.1f}, at the end {load_end[0]:.1f}")
    if args.json:
        summary["verified"] = not problems
        summary["settings"] = {k: v for k, v in vars(args).items() if k != "json"}
        args.json.write_text(json.dumps(summary, indent=2, ensure_ascii=False, default=str))
    return 2 if problems or summary["total"]["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
