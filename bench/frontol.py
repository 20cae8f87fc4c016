"""Frontol calculate against native calculate, in the same run: the cost of the signature
check and the translation (issue 10: within 20 %).

    python bench/frontol.py [--duration 10] [--customers 2000] [--runs 3] [--requests 4000]

1. A fresh SQLite database (``bench/checkout.py``'s ``seed``: one merchant, the BreezeVape
   program, N customers), plus the merchant's Frontol organization and access key.
2. The service in its own process (``python -m cloud.main serve``, logging at WARNING).
3. ``--requests`` prepared requests per scenario, the same receipts (the 10 lines of
   ``bench/receipt.json`` without categories, as Frontol sends none, each line with what
   the till charges for it and a floor of 0, and the receipt's local time, both ways) for
   random customers, each with its own receipt id: (n) ``POST /api/v1/checkout/calculate`` with the
   terminal's token, (f) ``POST /frontol/v1/<org>/document`` ``action: calculate`` signed
   ``FrontolAuth md5(key + body)``. wrk sends them in turn (``bench/signed.lua``), rounds
   interleaved n, f, n, f, ...; the ratio f/n is taken within each round, then the median.
A run with any non-2xx answer, ``code: -1`` or socket error is invalid (exit code 2);
exit 1 when the ratio is under 0.80.
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
from pathlib import Path
from typing import Any

from checkout import (  # type: ignore[import-not-found]  # bench/checkout.py, run as a script
    BENCH,
    CALCULATE,
    PROGRAM,
    Server,
    describe_machine,
    phone,
    seed,
    start_server,
    wait_ready,
    wrk,
)

from cloud.db import migrate
from cloud.db.database import open_database
from cloud.services import frontol_accounts
from cloud.services.deps import Deps
from cloud.settings import Settings

TARGET_RATIO = 0.80


async def connect_frontol(database_url: str) -> tuple[str, str]:
    """The bench merchant's Frontol organization and access key."""
    db = await open_database(database_url)
    try:
        deps = Deps.build(Settings(database_url=database_url, load_demo=False), db)
        merchant_id = int(await db.fetch_value("SELECT MIN(id) FROM merchants"))
        link = await frontol_accounts.issue_key(deps, merchant_id)
    finally:
        await db.close()
    assert link.access_key is not None
    return link.organization, link.access_key


def prepare(workdir: Path, token: str, key: str, customers: int, count: int) -> tuple[Path, Path]:
    lines = json.loads((BENCH / "receipt.json").read_text())
    for line in lines:
        line.pop("category", None)
    positions = [
        {"index": int(line["id"]), "id": line["sku"], "text": line["name"],
         "price": line["price"], "quantity": line["quantity"], "minimumPrice": 0,
         "totalAmount": round(line["price"] * line["quantity"], 2)}
        for line in lines
    ]  # fmt: skip
    # The same constraints both ways: what the till charges for each line and its floor
    # (native ``amount`` and ``minimum_price``, Frontol ``totalAmount`` and ``minimumPrice``).
    lines = [{**line, "amount": position["totalAmount"], "minimum_price": 0}
             for line, position in zip(lines, positions, strict=True)]  # fmt: skip
    native, frontol = [], []
    rng = random.Random(7)
    for n in range(count):
        customer = phone(rng.randint(1, customers))
        body = {
            "receipt": {
                "id": f"n-{n}",
                "customer": {"phone": customer},
                "lines": lines,
                "created_at": "2026-11-27T12:00:00+03:00",
            }
        }  # Frontol's dateTime
        native.append(f"Bearer {token}\t{json.dumps(body, ensure_ascii=False)}")
        document = {
            "action": "calculate", "type": "receipt", "businessUnit": "store-1",
            "workPlace": "pos-1", "dateTime": "2026-11-27T12:00:00.000000+0300",
            "cashier": {"code": 1, "name": "Кассир"}, "client": {"mobilePhone": customer},
            "uid": f"00000000-0000-4000-8000-{n:012d}", "number": n, "shift": 1,
            "positions": positions,
        }  # fmt: skip
        raw = json.dumps(document, ensure_ascii=False)
        frontol.append(f"FrontolAuth {frontol_accounts.signature(key, raw.encode())}\t{raw}")
    native_file, frontol_file = workdir / "native.txt", workdir / "frontol.txt"
    native_file.write_text("\n".join(native) + "\n")
    frontol_file.write_text("\n".join(frontol) + "\n")
    return native_file, frontol_file


def serve_seeded(workdir: Path, customers: int, requests: int) -> tuple[Server, str, Path, Path]:
    """A seeded SQLite database in ``workdir`` with the merchant's Frontol organization,
    the prepared native and Frontol requests, and the service serving it, ready; returns
    the server, the organization and the two request files."""
    database_url = f"sqlite+aiosqlite:///{workdir / 'bench.sqlite3'}"
    migrate.upgrade(database_url)
    token = asyncio.run(seed(database_url, customers, PROGRAM.read_text()))
    organization, key = asyncio.run(connect_frontol(database_url))
    native_file, frontol_file = prepare(workdir, token, key, customers, requests)
    env = {**os.environ, "LOYALTY_DATABASE_URL": database_url,
           "LOYALTY_LOAD_DEMO": "false", "LOYALTY_LOG_LEVEL": "WARNING"}  # fmt: skip
    server = start_server("service", [sys.executable, "-m", "cloud.main", "serve"], env, workdir)
    try:
        wait_ready(server)
    except BaseException:
        server.stop()
        raise
    return server, organization, native_file, frontol_file


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=4000)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    print("  ".join(f"{k}: {v}" for k, v in describe_machine().items()))
    workdir = Path(tempfile.mkdtemp(prefix="loyalty-bench-frontol-"))
    server: Server | None = None
    try:
        server, organization, native_file, frontol_file = serve_seeded(
            workdir, args.customers, args.requests
        )
        urls = {"n": server.url + CALCULATE,
                "f": f"{server.url}/frontol/v1/{organization}/document"}  # fmt: skip
        files = {"n": str(native_file), "f": str(frontol_file)}
        for name in ("n", "f"):  # warm-up: caches, and the store and till Frontol creates
            wrk(name, "signed.lua", urls[name], args, [files[name]], duration=2)
        ratios: list[float] = []
        invalid = False
        runs: dict[str, list[Any]] = {"n": [], "f": []}
        for number in range(1, args.runs + 1):
            pair = {name: wrk(name, "signed.lua", urls[name], args, [files[name]])
                    for name in ("n", "f")}  # fmt: skip
            for name, run in pair.items():
                runs[name].append(run)
                invalid |= bool(run.non2xx or run.socket_errors)
                if run.sample:
                    print(f"  ({name}) failure: {run.sample[:300]}")
            ratios.append(pair["f"].rate / pair["n"].rate)
            print(f"  round {number}: native {pair['n'].rate:.0f}/s p99 "
                  f"{pair['n'].p99_ms:.2f} ms; frontol {pair['f'].rate:.0f}/s p99 "
                  f"{pair['f'].p99_ms:.2f} ms; ratio {ratios[-1]:.3f}")  # fmt: skip
        ratio = statistics.median(ratios)
        for name, title in (("n", "native calculate"), ("f", "Frontol calculate")):
            rate = statistics.median(r.rate for r in runs[name])
            p99 = statistics.median(r.p99_ms for r in runs[name])
            print(f"{title:18}: {rate:7.0f} req/s, p99 {p99:.2f} ms")
        print(f"Frontol / native (median of rounds): {ratio:.3f} (target >= {TARGET_RATIO})")
        if invalid:
            print("INVALID: failures above")
            return 2
        return 0 if ratio >= TARGET_RATIO else 1
    finally:
        if server is not None:
            server.stop()
        time.sleep(0.1)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
