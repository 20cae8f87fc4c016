"""Shared set-up of the bridge tests: a simple program, a merchant with a till, a bridge
terminal and customers, and starting the cloud and the bridge as real processes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson

from cloud.services import customers, merchants
from cloud.services.deps import Deps
from schemas.customers import Consent, RegisterCustomer
from tests.conftest import Tenant, make_tenant

PROGRAM: dict[str, Any] = {
    "name": "Бридж: тестовая программа",
    "kind": "bonus",
    "card": "phone",
    "tier_assignment": "registration",
    "tiers": [
        {"code": "base", "name": "Базовый", "accrual_percent": "5", "max_redeem_percent": "50"},
        {"code": "vip", "name": "VIP", "accrual_percent": "10", "max_redeem_percent": "50",
         "purchases_over": "99999999"},
    ],
    "lifetime_days": 365,
}  # fmt: skip
PHONES = ["+79990000001", "+79990000002", "+79990000003", "+79990000004", "+79990000005"]


@dataclass
class Store:
    tenant: Tenant
    bridge_token: str
    bridge_terminal: int
    customers: dict[str, int]
    """Phone -> customer id."""


async def make_store(deps: Deps, name: str = "Бридж") -> Store:
    tenant = await make_tenant(deps, name, program=json.dumps(PROGRAM))
    now = deps.clock()
    terminal = await merchants.create_terminal(
        deps.db, tenant.merchant_id, tenant.store_id, "Сервер магазина", now, channel="bridge"
    )
    token = await merchants.issue_terminal_token(deps.db, tenant.merchant_id, terminal, now)
    found: dict[str, int] = {}
    for phone in PHONES:
        data = RegisterCustomer(phone=phone, consent=Consent(personal_data=True))
        found[phone] = await customers.register_customer(
            deps, tenant.merchant_id, data, store_id=tenant.store_id, channel="import",
            sms_code=None,
        )  # fmt: skip
    async with deps.db.transaction() as tx:
        await tx.execute(
            "UPDATE customers SET tier_code = 'vip' WHERE id = :c", {"c": found[PHONES[1]]}
        )
    return Store(tenant, token, terminal, found)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def env(database_url: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    clean.update(
        LOYALTY_DATABASE_URL=database_url, LOYALTY_ENV="test", LOYALTY_LOAD_DEMO="false",
        LOYALTY_LOG_FORMAT="json",
    )  # fmt: skip
    return clean


def wait_until(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
            if value:
                return value
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def start_cloud(database_url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "cloud.main", "serve", "--host", "127.0.0.1",
             "--port", str(port)],
            env=env(database_url), stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    wait_until(
        lambda: httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200,
        90, "the cloud",
    )  # fmt: skip
    return process


def start_bridge(
    cloud_port: int, port: int, token: str, data: Path, log: Path
) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "cloud.main", "bridge", "serve",
             "--cloud", f"http://127.0.0.1:{cloud_port}", "--token", token,
             "--listen", f"127.0.0.1:{port}", "--data", str(data),
             "--sync-interval", "1", "--heartbeat-interval", "0.3"],
            env=env("sqlite+aiosqlite:///unused"), stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def bridge_health(port: int) -> dict[str, Any]:
    response = httpx.get(f"http://127.0.0.1:{port}/bridge/health", timeout=2)
    response.raise_for_status()
    document: dict[str, Any] = response.json()
    return document


def receipt(rid: str, phone: str | None, price: Decimal, created_at: str) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": rid, "created_at": created_at,
        "lines": [{"id": "1", "name": "Товар", "price": price, "quantity": Decimal(2)},
                  {"id": "2", "name": "Пакет", "price": Decimal("7.99"), "quantity": Decimal(1)}],
    }  # fmt: skip
    if phone is not None:
        document["customer"] = {"phone": phone}
    return document


def dumps(document: Any) -> bytes:
    """JSON with Decimals as exact numbers (what a till sends; never a float)."""
    return orjson.dumps(document, default=lambda value: orjson.Fragment(str(value)))


def post(client: httpx.Client, path: str, document: Any) -> httpx.Response:
    return client.post(path, content=dumps(document), headers={"Content-Type": "application/json"})
