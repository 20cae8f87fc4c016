"""Setup of ``bench/peak.py``: one chain merchant, its stores, a till per channel per
store, the customers and the program; the database (a throw-away PostgreSQL cluster, an
existing one, or a SQLite file), and the processes (the service, a store bridge per
store). Every row is made through the services production uses (``checkout.seed``,
``merchants``, ``evotor_accounts``, ``frontol_accounts``, the ledger)."""

from __future__ import annotations

import random
import secrets
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from checkout import (  # type: ignore[import-not-found]  # bench/checkout.py, run as a script
    PROGRAM,
    ROOT,
    Server,
    free_port,
    phone,
    seed,
)

from cloud.clock import to_epoch
from cloud.db import migrate
from cloud.db.database import open_database
from cloud.ledger.lots import accrue
from cloud.services import evotor_accounts, frontol_accounts, merchants
from cloud.services.customers import find_customer
from cloud.services.deps import Deps
from cloud.services.evotor_accounts import DeviceRecord, StoreRecord
from cloud.settings import Settings

CHANNELS = ("native", "bridge", "frontol", "sigma", "evotor", "evotor-docs")
"""``evotor``: the loyalty app's receipt hooks, then the SELL document Evotor sends for
the same sale (must be a duplicate); ``evotor-docs``: a till without the app, whose
sales reach us only as documents; ``bridge``: native calls through the store's bridge."""
PAYER_BALANCE = 5_000_000  # kopecks (50 000 ₽): bonus payments never run dry in a run
# Durable, as production runs: fsync and synchronous commit on (the tests' cluster turns
# both off). --pg-settings replaces this.
PG_SETTINGS = "-c fsync=on -c synchronous_commit=on -c full_page_writes=on -c shared_buffers=256MB"


@dataclass
class Till:
    channel: str
    store: str
    """The store's external id (Evotor store uuid, Frontol ``businessUnit``)."""
    terminal_id: int
    token: str = ""
    """Native, bridge (the till's own, forwarded by the bridge) and SIGMA tills."""
    device: str = ""
    """Evotor device uuid; Frontol ``workPlace``."""
    base: str = ""
    """Where the till sends its calls: the service, or its store's bridge."""
    number: int = 0
    """Sales rung up so far (the receipt number)."""


@dataclass
class Chain:
    merchant_id: int
    evotor_user: str
    evotor_token: str
    frontol_org: str
    frontol_key: str
    payers: int
    customers: int
    tills: list[Till] = field(default_factory=list)
    bridge_tokens: dict[str, str] = field(default_factory=dict)


async def seed_chain(database_url: str, stores: int, customers: int, payers: int) -> Chain:
    """The chain: ``checkout.seed``'s merchant, program and customers, then the stores
    and a till per channel per store; customers 1..``payers`` get bonuses to pay with."""
    name = f"peak-{secrets.token_hex(4)}"
    await seed(database_url, customers, PROGRAM.read_text(), name)
    db = await open_database(database_url)
    try:
        deps = Deps.build(Settings(database_url=database_url, load_demo=False), db)
        now = deps.clock()
        merchant_id = int(
            await db.fetch_value(
                "SELECT id FROM merchants WHERE name = :n", {"n": f"Merchant ({name})"}
            )
        )
        key = await merchants.issue_merchant_key(db, merchant_id, now)
        user = f"01-{random.randrange(10**14, 10**15)}"
        linked = await evotor_accounts.verify_account(deps, user, str(merchant_id), key)
        frontol = await frontol_accounts.issue_key(deps, merchant_id)
        assert frontol.access_key is not None
        chain = Chain(merchant_id, user, linked.token, frontol.organization, frontol.access_key,
                      min(payers, customers), customers)  # fmt: skip
        for n in range(1, stores + 1):
            await _store(deps, chain, n)
        await _give_bonuses(deps, chain)
    finally:
        await db.close()
    return chain


async def _store(deps: Deps, chain: Chain, n: int) -> None:
    db, m, now = deps.db, chain.merchant_id, deps.clock()
    ext = str(uuid.uuid4()).upper()
    store_id = await merchants.create_store(db, m, f"Магазин №{n}", now, external_id=ext)
    await evotor_accounts.sync_stores(deps, m, [StoreRecord(ext, f"Магазин №{n}")])
    devices = {c: str(uuid.uuid4()).upper() for c in ("evotor", "evotor-docs")}
    await evotor_accounts.sync_devices(
        deps, m, [DeviceRecord(d, f"Эвотор ({c})", ext, 10800) for c, d in devices.items()]
    )
    for channel, device in devices.items():
        terminal = await db.fetch_value(
            "SELECT id FROM terminals WHERE merchant_id = :m AND external_id = :d",
            {"m": m, "d": device},
        )
        chain.tills.append(Till(channel, ext, int(terminal), device=device))

    async def till(channel: str, kind: str, external_id: str | None = None) -> Till:
        terminal = await merchants.create_terminal(
            db, m, store_id, f"Касса ({channel})", now, external_id=external_id, channel=kind
        )
        token = "" if kind == "frontol" else await merchants.issue_terminal_token(
            db, m, terminal, now
        )  # fmt: skip
        return Till(channel, ext, terminal, token, device=external_id or "")

    chain.tills.append(await till("native", "native"))
    chain.tills.append(await till("bridge", "native"))
    chain.tills.append(await till("frontol", "frontol", f"pos-{n}"))
    chain.tills.append(await till("sigma", "sigma"))
    bridge = await merchants.create_terminal(db, m, store_id, "Сервер магазина", now,
                                             channel="bridge")  # fmt: skip
    chain.bridge_tokens[ext] = await merchants.issue_terminal_token(db, m, bridge, now)


async def _give_bonuses(deps: Deps, chain: Chain) -> None:
    epoch = to_epoch(deps.clock())
    for n in range(1, chain.payers + 1):
        customer = await find_customer(deps, chain.merchant_id, phone=phone(n))
        assert customer is not None
        async with deps.db.transaction() as tx:
            await accrue(
                tx, merchant_id=chain.merchant_id, customer_id=customer, kind="welcome",
                amount=PAYER_BALANCE, available_from=epoch - 60, expires_at=None,
                receipt_id=None, key=f"peak:{customer}", now=epoch,
            )  # fmt: skip


# ---- the database ---------------------------------------------------------------------------


def start_postgres(settings: str) -> tuple[object, str]:
    """A throw-away cluster as ``bench/jobs.py`` starts one; returns it and its URL."""
    sys.path.insert(0, str(ROOT))
    from tests.postgres_cluster import PostgresCluster, find_bindir

    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("no PostgreSQL server binaries (install the test extras: pgserver)")
    cluster = PostgresCluster.start(bindir, settings)
    cluster.create_database("bench_peak")
    return cluster, cluster.url("bench_peak")


def prepare_database(url: str) -> None:
    migrate.upgrade(url)


# ---- the processes --------------------------------------------------------------------------


def start_bridge(cloud: str, token: str, workdir: Path, env: dict[str, str], n: int) -> Server:
    """``loyalty bridge serve`` for one store, its data in ``workdir``."""
    port = free_port()
    log = workdir / f"bridge-{n}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "cloud.main", "bridge", "serve", "--cloud", cloud,
             "--token", token, "--listen", f"127.0.0.1:{port}", "--data",
             str(workdir / f"bridge-{n}"), "--sync-interval", "3600",
             "--log-format", "console"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return Server(f"bridge-{n}", port, process, log)


def wait_bridge(server: Server, customers: int, timeout: float = 180.0) -> None:
    """Until the bridge answers and its first snapshot (program and every customer) is
    synced, so the sync does not run during the measured traffic."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(f"{server.name} exited on start:\n{server.tail()}")
        try:
            health = httpx.get(server.url + "/bridge/health", timeout=1).json()
            if health["program_version"] is not None and health["customers"] >= customers:
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"{server.name} did not sync within {timeout:.0f} s:\n{server.tail()}")


def outbox_depth(server: Server) -> int:
    return int(httpx.get(server.url + "/bridge/health", timeout=5).json()["outbox_depth"])


def stamp() -> str:
    return datetime.now(UTC).strftime("%H%M%S")
