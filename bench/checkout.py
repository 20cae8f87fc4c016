"""Checkout benchmark: the service's calculate and complete sales against bare aiohttp.

    python bench/checkout.py [--duration 10] [--customers 10000] [--connections 32]
        [--database-url postgresql://… | --postgres] [--workers N]

1. A fresh SQLite database in a temp dir (``--database-url``: that PostgreSQL database;
   ``--postgres``: a throw-away cluster, as the tests start one), migrated to head; a
   merchant with one store, terminal, token and the BreezeVape program; N customers
   registered through ``register_customer`` (channel "import"), so phones are encrypted
   and blind-indexed exactly as in production. Phones are ``+7900`` and a 7-digit number 1..N, which
   lets the wrk scripts pick a random registered customer without a phone list.
2. Two servers, each its own OS process: ``bench/bare_server.py`` (parse JSON, answer
   JSON) and the real service (``python -m cloud.main serve``, logging at WARNING).
3. wrk (-t1 -c<connections> --latency) runs, interleaved a, b, c, a, b, c, ...:
   (a) bare, (b) POST /api/v1/checkout/calculate, (c) sales = calculate + confirm.
   Interleaving spreads machine noise and database growth over all scenarios; the
   medians of ``--runs`` rounds are reported, ratios taken within the same round.
   ``--workers N`` (PostgreSQL) adds a bare server of N processes and the service with
   N workers (aN, bN, cN in the same rounds): what N processes gain over one, for bare
   aiohttp and for the service.
4. A table with req/s (sales/s for c), p50, p99 and the ratio to bare, checked against
   the targets. A run with any non-2xx answer or socket error is invalid: the exit code
   is 2 then, 1 when a target is missed, 0 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp

from cloud.db import migrate
from cloud.db.database import open_database
from cloud.services import merchants, programs
from cloud.services.customers import register_customer
from cloud.services.deps import Deps
from cloud.settings import Settings
from schemas.customers import Consent, RegisterCustomer

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PROGRAM = ROOT / "fixtures" / "programs" / "03_breezevape.json"
CALCULATE = "/api/v1/checkout/calculate"

# Targets, as ratios to the bare server measured in the same round (absolute req/s
# move +-20 % between runs on the same machine; ratios do not).
TARGET_CALCULATE_RATIO = 0.20
TARGET_SALES_RATIO = 0.04
TARGET_SALES_RATIO_POSTGRES = 0.06
TARGET_CALCULATE_P99_MS = 25.0
TARGET_P99_TO_BARE = 4.0
TARGET_GAIN_SHARE = 0.90
"""N workers gain at least this share of what N bare processes gain over one."""


def phone(n: int) -> str:
    """The n-th customer's phone (1-based); the wrk scripts build the same pattern."""
    return f"+7900{n:07d}"


# ---- setup ------------------------------------------------------------------------------


async def seed(database_url: str, customers: int, document: str, name: str = "bench") -> str:
    """Create the tenant and register the customers; return the terminal's token."""
    settings = Settings(database_url=database_url, load_demo=False)
    db = await open_database(database_url)
    try:
        deps = Deps.build(settings, db)
        now = deps.clock()
        merchant_id = await merchants.create_merchant(db, f"Merchant ({name})", now)
        store_id = await merchants.create_store(db, merchant_id, "Магазин на Ленина", now)
        terminal_id = await merchants.create_terminal(db, merchant_id, store_id, "Касса 1", now)
        token = await merchants.issue_terminal_token(db, merchant_id, terminal_id, now)
        await programs.publish(db, merchant_id, document, now)
        consent = Consent(personal_data=True)
        for n in range(1, customers + 1):
            # One transaction per customer, as an import through the service does; with
            # WAL and synchronous=NORMAL a commit costs no fsync, so 10 000 take seconds.
            await register_customer(
                deps,
                merchant_id,
                RegisterCustomer(phone=phone(n), consent=consent),
                store_id=store_id,
                channel="import",
                sms_code=None,
            )
    finally:
        await db.close()
    return token


def asyncpg_url(url: str) -> str:
    """``postgresql://…`` as the service's driver spells it."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    return url


def start_cluster(options: str) -> tuple[Any, str]:
    """A throw-away cluster (tests/postgres_cluster.py) with the server's durable
    defaults restored: the tests turn fsync and synchronous_commit off, production keeps
    them on (``--pg-options`` changes them for a comparison)."""
    sys.path.insert(0, str(ROOT))
    from tests.postgres_cluster import PostgresCluster, find_bindir

    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("no PostgreSQL server binaries (install the test extras: pgserver)")
    durable = "-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
    # pg_stat_statements: --count-statements reads what one sale costs the database.
    extras = "-c shared_buffers=256MB -c shared_preload_libraries=pg_stat_statements"
    cluster = PostgresCluster.start(bindir, f"{durable} {extras} {options}")
    cluster.create_database("bench_checkout")
    return cluster, cluster.url("bench_checkout")


def count_statements(
    database_url: str, service: Server, token: str, lines: list[dict[str, Any]], sales: int
) -> None:
    """Make ``sales`` sales one after another and print each statement's calls per sale
    (``pg_stat_statements``, BEGIN and COMMIT included): the database round trips of one
    calculate + confirm."""
    import asyncpg

    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://")

    async def stats(reset: bool) -> list[Any]:
        db = await asyncpg.connect(dsn)
        try:
            await db.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            if reset:
                await db.execute("SELECT pg_stat_statements_reset()")
                return []
            return list(await db.fetch(
                "SELECT calls, rows, total_exec_time, query FROM pg_stat_statements "
                "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND query NOT LIKE '%pg_stat_statements%' ORDER BY calls DESC"
            ))  # fmt: skip
        finally:
            await db.close()

    asyncio.run(stats(reset=True))
    for n in range(sales):
        receipt = {"id": f"count-{n}", "customer": {"phone": phone(n + 1)}, "lines": lines}
        post(service.url + CALCULATE, token, {"receipt": receipt})
        post(service.url + "/api/v1/checkout/confirm", token, {"receipt": receipt})
    rows = asyncio.run(stats(reset=False))
    print(f"\nStatements per sale (calculate + confirm), {sales} sales, pg_stat_statements:")
    for row in rows:
        if row["calls"] >= sales / 2:
            query = " ".join(row["query"].split())[:110]
            print(f"  {row['calls'] / sales:5.2f}  {row['total_exec_time'] / row['calls']:6.3f} ms"
                  f"  {query}")  # fmt: skip
    total = sum(row["calls"] for row in rows) / sales
    print(f"  total: {total:.1f} statements per sale (background tasks included)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    processes: int = 1

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(
    name: str, argv: list[str], env: dict[str, str], workdir: Path, processes: int = 1
) -> Server:
    port = free_port()
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*argv, "--port", str(port)], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    return Server(name, port, process, log, processes)


def wait_ready(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(f"{server.name} exited on start:\n{server.tail()}")
        try:
            with urllib.request.urlopen(server.url + "/health", timeout=1) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise SystemExit(f"{server.name} did not answer within {timeout:.0f} s:\n{server.tail()}")


def post(url: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            result: dict[str, Any] = json.loads(answer.read())
            return result
    except urllib.error.HTTPError as exc:
        raise SystemExit(f"POST {url}: {exc.code} {exc.read().decode(errors='replace')}") from exc


def smoke_test(service: Server, token: str, lines: list[dict[str, Any]], customers: int) -> None:
    """One sale by hand before measuring: the scenarios must measure success, not a
    fast error path (a 404 for an unknown phone is much cheaper than a quote)."""
    receipt = {"id": "smoke-1", "customer": {"phone": phone(customers)}, "lines": lines}
    quote = post(service.url + CALCULATE, token, {"receipt": receipt})
    if quote["customer"] is None or float(quote["accrual"]) <= 0:
        raise SystemExit(f"calculate gave no customer or no accrual: {quote}")
    sale = post(service.url + "/api/v1/checkout/confirm", token, {"receipt": receipt})
    if sale["status"] != "confirmed" or float(sale["accrued"]) <= 0:
        raise SystemExit(f"confirm did not accrue: {sale}")


# ---- measuring --------------------------------------------------------------------------


@dataclass
class Run:
    scenario: str
    rate: float
    """Requests per second; completed sales per second for the sales scenario."""
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non2xx: int
    socket_errors: int
    sample: str


def wrk(
    scenario: str,
    script: str,
    url: str,
    args: argparse.Namespace,
    wrk_args: list[str],
    duration: int | None = None,
) -> Run:
    command = [
        "wrk", "-t1", f"-c{args.connections}", f"-d{duration or args.duration}s", "--latency",
        "--timeout", "10s", "-s", str(BENCH / script), url, "--", *wrk_args,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    summary = sample = None
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            summary = json.loads(line.removeprefix("BENCH_JSON "))
        elif line.startswith("BENCH_SAMPLE "):
            sample = line.removeprefix("BENCH_SAMPLE ")
    if done.returncode != 0 or summary is None:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    seconds = summary["duration_us"] / 1e6
    requests_per_s = summary["requests"] / seconds
    return Run(
        scenario=scenario,
        rate=summary["sales"] / seconds if script == "sale.lua" else requests_per_s,
        requests_per_s=requests_per_s,
        p50_ms=summary["p50_us"] / 1000,
        p99_ms=summary["p99_us"] / 1000,
        non2xx=summary["non2xx"],
        socket_errors=summary["socket_errors"],
        sample=sample or "",
    )


def profile(
    name: str, service: Server, workdir: Path, load: Callable[[], Run], top: int = 25
) -> None:
    """Sample the service with py-spy while ``load()`` runs wrk; print the share of
    samples each of our functions (and the HTTP stack) was on the stack for."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        print("py-spy not found (pip install py-spy): skipping the profile")
        return
    raw = workdir / f"profile-{name}.txt"
    # --nonblocking: the sampler does not stop the service to read its stack.
    # --subprocesses: with N workers the parent only waits; the workers do the work.
    sampler = subprocess.Popen(
        [py_spy, "record", "--nonblocking", "-r", "250", "-f", "raw", "-o", str(raw),
         "--pid", str(service.process.pid), *(["--subprocesses"] if service.processes > 1 else [])],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(1.0)  # py-spy attaches before the load starts
    run = load()
    sampler.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
    sampler.wait(timeout=30)
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, text = line.rpartition(" ")
        samples = int(text)
        total += samples
        # "func (path/file.py:line)" -> "func (file.py)": one entry per function.
        frames = {f.split(":")[0] + ")" if "(" in f else f for f in stack.split(";")}
        for frame in frames:
            inclusive[frame] += samples
    print(f"\nProfile of ({name}) at {run.requests_per_s:.0f} req/s, {total} samples "
          f"(inclusive share; raw stacks in {raw}):")  # fmt: skip
    shown = 0
    for frame, count in inclusive.most_common():
        ours = ("cloud/" in frame and "cloud/main.py" not in frame) or "schemas/" in frame
        if ours or "phonenumbers/" in frame or "RequestHandler._handle_request" in frame:
            print(f"  {100 * count / max(total, 1):5.1f}%  {frame}")
            shown += 1
            if shown == top:
                break


SCENARIOS = {
    "a": "bare: parse JSON, answer JSON",
    "b": "calculate (10 lines, random customer)",
    "c": "sale: calculate + confirm (sales/s)",
}


def describe_machine() -> dict[str, str]:
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": str(os.cpu_count()),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "aiohttp": aiohttp.__version__,
        "wrk": (wrk_version.stdout or wrk_version.stderr).split("\n")[0].strip(),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def report(runs: list[list[Run]], args: argparse.Namespace) -> tuple[dict[str, Any], bool]:
    """Print per-round figures and the medians; return the summary and whether every
    target was met."""
    print("\nPer round (rate = req/s; sales/s for c):")
    for number, round_runs in enumerate(runs, 1):
        cells = "  ".join(
            f"{r.scenario}: {r.rate:8.0f}/s p50 {r.p50_ms:6.2f} p99 {r.p99_ms:7.2f} ms"
            for r in round_runs
        )
        print(f"  round {number}: {cells}")

    by = {key: [next(r for r in rnd if r.scenario == key) for rnd in runs] for key in SCENARIOS}
    # Each against the bare server of as many processes, in the same round.
    base = {key: "aN" if key.endswith("N") else "a" for key in SCENARIOS}
    ratio = {
        key: statistics.median(
            r.rate / bare.rate for r, bare in zip(by[key], by[base[key]], strict=True)
        )
        for key in SCENARIOS
    }
    summary: dict[str, Any] = {"scenarios": {}}
    print(f"\nMedians of {len(runs)} rounds, {args.duration} s each, -c{args.connections}:\n")
    header = f"| {'scenario':<58} | {'rate':>9} | {'p50 ms':>7} | {'p99 ms':>7} | {'x bare':>7} |"
    print(header)
    print("|" + "|".join("-" * (len(cell) + 0) for cell in header.split("|")[1:-1]) + "|")
    for key, title in SCENARIOS.items():
        rate = statistics.median(r.rate for r in by[key])
        p50 = statistics.median(r.p50_ms for r in by[key])
        p99 = statistics.median(r.p99_ms for r in by[key])
        unit = "sales/s" if key.startswith("c") else "req/s"
        print(
            f"| ({key:>2}) {title:<52} | {rate:>9.0f} | {p50:>7.2f} | {p99:>7.2f} "
            f"| {ratio[key]:>7.3f} |"
        )
        summary["scenarios"][key] = {
            "title": title, "unit": unit, "rate": round(rate, 1), "p50_ms": round(p50, 2),
            "p99_ms": round(p99, 2), "ratio_to_bare": round(ratio[key], 4),
            "requests_per_s": round(statistics.median(r.requests_per_s for r in by[key]), 1),
        }  # fmt: skip
    c_requests = summary["scenarios"]["c"]["requests_per_s"]
    print(f"\n(c) carried {c_requests:.0f} req/s (calculate + confirm); its p50/p99 mix both.")

    if "d" in by:
        slower = statistics.median(
            1 - d.rate / b.rate for d, b in zip(by["d"], by["b"], strict=True)
        )
        summary["compare_slower"] = round(slower, 4)
        print(f"(d) vs (b), same rounds: {100 * slower:.1f} % slower (median of rounds)")

    calc_p99 = summary["scenarios"]["b"]["p99_ms"]
    p99_to_bare = statistics.median(
        b.p99_ms / a.p99_ms for b, a in zip(by["b"], by["a"], strict=True)
    )
    sales_target = TARGET_SALES_RATIO_POSTGRES if args.postgresql else TARGET_SALES_RATIO
    checks = [
        ("(b)/(a) calculate", ratio["b"], f">= {TARGET_CALCULATE_RATIO}",
         ratio["b"] >= TARGET_CALCULATE_RATIO),
        ("(c)/(a) sales", ratio["c"], f">= {sales_target}", ratio["c"] >= sales_target),
        ("p99 of calculate, ms", calc_p99, f"< {TARGET_CALCULATE_P99_MS}",
         calc_p99 < TARGET_CALCULATE_P99_MS),
        ("p99 (b) / p99 (a)", p99_to_bare, f"<= {TARGET_P99_TO_BARE}",
         p99_to_bare <= TARGET_P99_TO_BARE),
    ]  # fmt: skip
    if "aN" in by:
        # Gain of N processes over one, within each round: xN / x1 - 1.
        gain = {
            key: statistics.median(
                n.rate / one.rate - 1 for n, one in zip(by[key + "N"], by[key], strict=True)
            )
            for key in ("a", "b", "c")
        }
        summary["gain"] = {key: round(value, 4) for key, value in gain.items()}
        print(
            f"\n{args.workers} processes over one (median of rounds): bare {1 + gain['a']:.3f}x, "
            f"calculate {1 + gain['b']:.3f}x, sales {1 + gain['c']:.3f}x"
        )
        for key, name in (("b", "calculate"), ("c", "sales")):
            share = gain[key] / gain["a"] if gain["a"] > 0 else float("nan")
            checks.append((f"{name} gain / bare gain", share, f">= {TARGET_GAIN_SHARE}",
                           share >= TARGET_GAIN_SHARE))  # fmt: skip
    print("\nTargets:")
    for name, value, target, met in checks:
        print(f"  {name:<22} {value:8.3f}  target {target:<6}  {'met' if met else 'MISSED'}")
    summary["targets"] = {name: {"value": value, "target": target, "met": met}
                          for name, value, target, met in checks}  # fmt: skip
    return summary, all(met for *_, met in checks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument(
        "--compare-program", type=Path,
        help="also run (d): calculate for a second merchant with this program, interleaved "
        "with (b) in the same rounds, so (d)/(b) is the cost of that program",
    )  # fmt: skip
    parser.add_argument(
        "--program", type=Path, default=PROGRAM,
        help="program document to price with (bench/richest_program.json: every rule)",
    )  # fmt: skip
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3, help="rounds of a, b, c")
    parser.add_argument("--json", type=Path, help="also write the summary here")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (DB, logs)")
    parser.add_argument(
        "--profile", action="store_true",
        help="after the measured rounds, run (b) and (c) once more under py-spy",
    )  # fmt: skip
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL database to run on (postgresql://…; a merchant is added to it)",
    )
    parser.add_argument(
        "--postgres", action="store_true",
        help="run on a throw-away PostgreSQL cluster (the tests' server binaries)",
    )  # fmt: skip
    parser.add_argument(
        "--pg-options", default="",
        help="more -c name=value for --postgres (default: the server's defaults, durable)",
    )  # fmt: skip
    parser.add_argument(
        "--count-statements", type=int, metavar="SALES",
        help="with --postgres: make SALES sales one by one and print the statements each "
        "costs (pg_stat_statements), then measure as usual",
    )  # fmt: skip
    parser.add_argument(
        "--workers", type=int, default=1,
        help="also run N bare processes and the service with N workers (PostgreSQL)",
    )  # fmt: skip
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    if not 1 <= args.customers <= 9_999_999:
        raise SystemExit("--customers must be 1..9 999 999 (phones are +7900 and 7 digits)")
    args.postgresql = bool(args.database_url or args.postgres)
    if args.workers > 1 and not args.postgresql:
        raise SystemExit("--workers N needs PostgreSQL (--database-url or --postgres)")

    machine = describe_machine()
    print("  ".join(f"{key}: {value}" for key, value in machine.items()))
    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    workdir = Path(tempfile.mkdtemp(prefix="loyalty-bench-"))
    database_url = f"sqlite+aiosqlite:///{workdir / 'bench.sqlite3'}"
    servers: list[Server] = []
    cluster = None
    if args.database_url:
        database_url = asyncpg_url(args.database_url)
    elif args.postgres:
        cluster, database_url = start_cluster(args.pg_options)
    try:
        started = time.monotonic()
        migrate.upgrade(database_url)
        token = asyncio.run(seed(database_url, args.customers, args.program.read_text()))
        compare_token = None
        if args.compare_program is not None:
            SCENARIOS["d"] = f"calculate, {args.compare_program.name}"
            # Same customers' phones, another merchant: the only difference is the program.
            compare_token = asyncio.run(
                seed(database_url, args.customers, args.compare_program.read_text(), "compare")
            )
        # With --keep, the token lets one rerun wrk or a profiler against the kept DB.
        (workdir / "token.txt").write_text(token + "\n")
        print(
            f"Seeded {args.customers} customers in {time.monotonic() - started:.1f} s ({workdir})"
        )

        env = {
            **os.environ,
            "LOYALTY_DATABASE_URL": database_url,
            "LOYALTY_LOAD_DEMO": "false",
            # Logging at INFO writes a line per request and would dominate the profile.
            "LOYALTY_LOG_LEVEL": "WARNING",
        }
        bare_argv = [sys.executable, str(BENCH / "bare_server.py")]
        service_argv = [sys.executable, "-m", "cloud.main", "serve"]
        bare = start_server("bare", bare_argv, env, workdir)
        service = start_server("service", [*service_argv, "--workers", "1"], env, workdir)
        servers += [bare, service]
        many: dict[str, Server] = {}
        if args.workers > 1:
            n = str(args.workers)
            many["aN"] = start_server(
                f"bare{n}", [*bare_argv, "--processes", n], env, workdir, args.workers
            )
            many["bN"] = many["cN"] = start_server(
                f"service{n}", [*service_argv, "--workers", n], env, workdir, args.workers
            )
            servers += [many["aN"], many["bN"]]
            for key, title in list(SCENARIOS.items()):
                SCENARIOS[key + "N"] = f"{title}, {n} processes"
        for server in servers:
            wait_ready(server)

        lines = json.loads((BENCH / "receipt.json").read_text())
        smoke_test(service, token, lines, args.customers)
        if args.count_statements:
            count_statements(database_url, service, token, lines, args.count_statements)
        lines_json = json.dumps(lines, ensure_ascii=False, separators=(",", ":"))
        stamp = datetime.now(UTC).strftime("%H%M%S")

        def script_args(run: str, as_token: str | None = None) -> list[str]:
            # A fresh receipt-id prefix per run keeps confirm ids unique across rounds.
            return [as_token or token, str(args.customers), f"bench-{stamp}-{run}", lines_json]

        # Warm-up, not counted: first requests fill the token and program caches and
        # the page cache; without it round 1 reads lower than the others.
        warm_up = [("a", bare.url + CALCULATE), ("b", service.url + CALCULATE)]
        warm_up += [(key, server.url + CALCULATE) for key, server in many.items() if key != "cN"]
        for name, url in warm_up:
            warm = wrk(name, "calculate.lua", url, args, script_args(f"warm{name}"), duration=2)
            if warm.non2xx or warm.socket_errors:
                raise SystemExit(f"warm-up of ({name}) failed: {warm.sample}")

        runs: list[list[Run]] = []
        for number in range(1, args.runs + 1):
            round_runs = [
                wrk("a", "calculate.lua", bare.url + CALCULATE, args, script_args(f"a{number}")),
                wrk("b", "calculate.lua", service.url + CALCULATE, args,
                    script_args(f"b{number}")),
                wrk("c", "sale.lua", service.url + "/", args, script_args(f"c{number}")),
            ]  # fmt: skip
            if many:
                round_runs += [
                    wrk("aN", "calculate.lua", many["aN"].url + CALCULATE, args,
                        script_args(f"A{number}")),
                    wrk("bN", "calculate.lua", many["bN"].url + CALCULATE, args,
                        script_args(f"B{number}")),
                    wrk("cN", "sale.lua", many["cN"].url + "/", args, script_args(f"C{number}")),
                ]  # fmt: skip
            if compare_token is not None:
                round_runs.append(
                    wrk("d", "calculate.lua", service.url + CALCULATE, args,
                        script_args(f"d{number}", compare_token))
                )  # fmt: skip
            runs.append(round_runs)
            for run in round_runs:
                print(
                    f"  round {number} ({run.scenario}): {run.rate:.0f}/s, p99 {run.p99_ms:.2f} ms"
                )
        if args.profile:
            # Separate runs, so the sampler never perturbs the measured figures.
            for name, script, url in (
                ("b", "calculate.lua", service.url + CALCULATE),
                ("c", "sale.lua", service.url + "/"),
            ):
                load = partial(wrk, name, script, url, args, script_args(f"prof{name}"))
                profile(name, service, workdir, load)
    finally:
        for server in servers:
            server.stop()
        if cluster is not None:
            cluster.stop()
        if args.keep:
            print(f"Kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    summary, targets_met = report(runs, args)
    invalid = [r for rnd in runs for r in rnd if r.non2xx or r.socket_errors]
    for run in invalid:
        print(
            f"INVALID ({run.scenario}): {run.non2xx} non-2xx, {run.socket_errors} socket errors;"
            f" first: {run.sample[:300]}"
        )
    if not invalid:
        print("\nEvery wrk run: 0 non-2xx responses, 0 socket errors.")
    if args.json:
        summary["machine"] = machine
        summary["settings"] = {"duration": args.duration, "customers": args.customers,
                               "connections": args.connections, "runs": args.runs,
                               "database": "postgresql" if args.postgresql else "sqlite",
                               "workers": args.workers}  # fmt: skip
        summary["valid"] = not invalid
        args.json.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    if invalid:
        return 2
    return 0 if targets_met else 1


if __name__ == "__main__":
    sys.exit(main())
