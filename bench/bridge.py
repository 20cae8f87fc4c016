"""Store bridge benchmark: an offline quote at the bridge, and replaying a day's outbox.

    python bench/bridge.py [--customers 10000] [--quotes 3000] [--receipts 10000] [--runs 3]

1. A fresh SQLite database (``bench/checkout.py``'s ``seed``: one merchant, the BreezeVape
   program, N customers), plus a terminal of channel ``bridge`` and its token.
2. The cloud in its own process (``python -m cloud.main serve``, logging at WARNING).
3. Offline quote, two ways, ``--quotes`` receipts each (the 10 lines of
   ``bench/receipt.json``, two customers in three named by phone, the rest anonymous):
   (i) in process: what the bridge does for a quote once it knows the cloud is away
   (classify, parse, snapshot look-up, ``engine.settle``, render), timed per call;
   (h) over HTTP: ``loyalty bridge serve`` as its own process, its cloud address a closed
   port, its data directory the synced snapshot; one client, sequential calls, the
   till's view (connect refused once every 3 s, then offline at once).
4. Direct: ``--direct`` confirms sent straight to the cloud one at a time (the floor of
   any in-order replay: the cloud's own latency for one sale).
5. Replay: ``--receipts`` confirms committed to the bridge's outbox (SQLite, FULL), then
   the replay worker sends them to the cloud one at a time in arrival order, as it does
   after an outage; timed from the first send to an empty outbox, and the cloud's
   receipts counted.
Medians over ``--runs`` rounds. Exit 1 when the quote p99 is 5 ms or more or the replay
takes 60 s or more, 2 when a receipt is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from checkout import (  # type: ignore[import-not-found]  # bench/checkout.py, run as a script
    BENCH,
    PROGRAM,
    ROOT,
    describe_machine,
    free_port,
    phone,
    seed,
    start_server,
    wait_ready,
)

from cloud.db import migrate
from cloud.db.database import open_database
from cloud.services import merchants
from terminal_bridge.channels.native import CHANNEL
from terminal_bridge.store import pricing
from terminal_bridge.store.server import Bridge

TARGET_QUOTE_P99_MS = 5.0
TARGET_REPLAY_S = 60.0


async def bridge_token(database_url: str) -> str:
    db = await open_database(database_url)
    try:
        merchant_id, store_id = (await db.fetch_all("SELECT merchant_id, id FROM stores"))[0]
        now = datetime.now(UTC)
        terminal = await merchants.create_terminal(
            db, merchant_id, store_id, "Сервер магазина", now, channel="bridge"
        )
        return await merchants.issue_terminal_token(db, merchant_id, terminal, now)
    finally:
        await db.close()


def bodies(count: int, customers: int, prefix: str, rng: random.Random) -> list[bytes]:
    lines = json.loads((BENCH / "receipt.json").read_text())
    out = []
    for n in range(count):
        receipt: dict[str, Any] = {"id": f"{prefix}-{n}", "lines": lines}
        if n % 3 != 2:
            receipt["customer"] = {"phone": phone(rng.randint(1, customers))}
        out.append(json.dumps({"receipt": receipt}).encode())
    return out


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def quote_in_process(bridge: Bridge, requests: list[bytes]) -> tuple[list[float], list[float]]:
    """Milliseconds per offline quote, the bridge's own work without the socket: wall
    time, and the process's CPU time (what a busy shared machine does not inflate)."""
    program = bridge.program
    assert program is not None
    timings, cpu = [], []
    for body in requests:
        started, started_cpu = time.perf_counter(), time.process_time()
        call = CHANNEL.classify("POST", "/api/v1/checkout/calculate", body)
        assert call.kind == "quote"
        request = CHANNEL.quote_request(body)
        customer, found = pricing.find_customer(bridge.state, program, request.receipt.customer)
        quote = pricing.offline_quote(program, customer, found, request, bridge.clock())
        status, _ = CHANNEL.render_quote(body, quote)
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        assert status == 200
    return timings, cpu


async def direct_confirms(cloud: str, token: str, sales: list[bytes]) -> float:
    """Milliseconds per confirm sent straight to the cloud, one at a time: the floor
    any in-order replay stands on."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=cloud, headers=headers, timeout=10) as client:
        started = time.perf_counter()
        for body in sales:
            answer = await client.post("/api/v1/checkout/confirm", content=body)
            assert answer.status_code == 200, answer.text
    return (time.perf_counter() - started) * 1000 / len(sales)


def quote_over_http(
    data: Path, token: str, requests: list[bytes], env: dict[str, str]
) -> list[float]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "cloud.main", "bridge", "serve", "--cloud",
         f"http://127.0.0.1:{free_port()}", "--token", "unused", "--listen",
         f"127.0.0.1:{port}", "--data", str(data), "--sync-interval", "3600"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    timings = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    client.get("/bridge/health")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "the bridge did not start"
                    time.sleep(0.1)
            for body in requests[:50]:  # warm-up
                client.post("/api/v1/checkout/calculate", content=body, headers=headers)
            for body in requests:
                started = time.perf_counter()
                answer = client.post("/api/v1/checkout/calculate", content=body, headers=headers)
                timings.append((time.perf_counter() - started) * 1000)
                assert answer.status_code == 200 and "Нет связи".encode() in answer.content
    finally:
        process.kill()
        process.wait()
    return timings


async def one_round(
    round_no: int, cloud: str, database_url: str, token: str, bridge_secret: str, workdir: Path,
    args: argparse.Namespace, env: dict[str, str],
) -> dict[str, float]:  # fmt: skip
    rng = random.Random(round_no)
    data = workdir / f"bridge-{round_no}"
    bridge = Bridge(cloud, bridge_secret, data, background=False, backoff=(0.05, 1.0))
    await bridge._start()
    try:
        await bridge.sync_once(page=1000)
        quotes = bodies(args.quotes, args.customers, f"q{round_no}", rng)
        in_process, cpu = quote_in_process(bridge, quotes)
        snapshot = workdir / f"snapshot-{round_no}"
        shutil.copytree(data, snapshot)
        http = await asyncio.to_thread(quote_over_http, snapshot, token, quotes, env)
        direct = await direct_confirms(
            cloud, token, bodies(args.direct, args.customers, f"d{round_no}", rng)
        )
        sales = bodies(args.receipts, args.customers, f"r{round_no}", rng)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        for n, body in enumerate(sales):
            bridge.state.enqueue("native", "POST", "/api/v1/checkout/confirm", headers, body,
                                 f"confirm:r{round_no}-{n}")  # fmt: skip
        started = time.perf_counter()
        worker = asyncio.create_task(bridge._replay_forever())
        for _ in range(20 * 600):  # up to 10 minutes, checked every 50 ms
            if not bridge.state.depth():
                break
            await asyncio.sleep(0.05)
        replay = time.perf_counter() - started
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        rejected = bridge.state.rejected_count()
    finally:
        await bridge._stop()
    db = await open_database(database_url)
    try:
        landed = await db.fetch_value(
            "SELECT COUNT(*) FROM receipts WHERE external_id LIKE :p", {"p": f"r{round_no}-%"}
        )
    finally:
        await db.close()
    if landed != args.receipts or rejected:
        raise SystemExit(2)
    figures = {
        "quote_p50_ms": statistics.median(in_process),
        "quote_p99_ms": percentile(in_process, 0.99),
        "quote_cpu_p99_ms": percentile(cpu, 0.99),
        "http_p50_ms": statistics.median(http),
        "http_p99_ms": percentile(http, 0.99),
        "replay_s": replay,
        "replay_per_s": args.receipts / replay,
        "replay_ms_each": replay * 1000 / args.receipts,
        "direct_confirm_ms_each": direct,
    }
    print(f"round {round_no}: " + ", ".join(f"{k} {v:.2f}" for k, v in figures.items()))
    return figures


async def run(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="bench-bridge-"))
    database_url = f"sqlite+aiosqlite:///{workdir}/cloud.sqlite3"
    migrate.upgrade(database_url)
    token = await seed(database_url, args.customers, PROGRAM.read_text())
    secret = await bridge_token(database_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    env.update(LOYALTY_DATABASE_URL=database_url, LOYALTY_LOAD_DEMO="false",
               LOYALTY_LOG_LEVEL="WARNING", LOYALTY_ENV="test")  # fmt: skip
    server = start_server("cloud", [sys.executable, "-m", "cloud.main", "serve"], env, workdir)
    rounds = []
    try:
        wait_ready(server)
        for round_no in range(args.runs):
            rounds.append(await one_round(round_no, server.url, database_url, token, secret,
                                          workdir, args, env))  # fmt: skip
    finally:
        server.process.terminate()
        server.process.wait()
    medians = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    print(json.dumps({"machine": describe_machine(), "medians": medians}, indent=2,
                     ensure_ascii=False))  # fmt: skip
    shutil.rmtree(workdir, ignore_errors=True)
    ok = medians["quote_p99_ms"] < TARGET_QUOTE_P99_MS and medians["replay_s"] < TARGET_REPLAY_S
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--quotes", type=int, default=3000)
    parser.add_argument("--receipts", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--direct", type=int, default=2000, help="confirms sent straight")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
