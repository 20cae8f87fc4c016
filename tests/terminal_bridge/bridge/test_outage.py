"""The issue's test: the cloud dies in the middle of a trading day, the store keeps
selling through the bridge, the bridge itself is killed once, and when the cloud comes
back every receipt lands exactly once, in order, with the program's accrual."""

from __future__ import annotations

import asyncio
import json
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from cloud import engine
from cloud.engine import types as et
from cloud.services import merchants
from cloud.services.checkout.snapshot import engine_lines
from cloud.services.deps import Deps
from schemas import checkout as wire
from schemas.program import Program
from tests.terminal_bridge.bridge.support import (
    PHONES,
    PROGRAM,
    Store,
    bridge_health,
    free_port,
    make_store,
    post,
    receipt,
    start_bridge,
    start_cloud,
    wait_until,
)

OFFLINE = "Нет связи с сервером лояльности: бонусы будут начислены позже"
SOLD_OFFLINE = 100
KILL_BRIDGE_AT = 60
SPEND_AT = 50


@dataclass
class Sale:
    rid: str
    phone: str | None
    document: dict[str, Any]
    offline_accrual: Decimal | None = None


@dataclass
class Run:
    online: list[Sale] = field(default_factory=list)
    offline: list[Sale] = field(default_factory=list)
    depth_after_restart: int = -1
    refused: list[tuple[str, int, str]] = field(default_factory=list)
    duplicate: dict[str, Any] = field(default_factory=dict)
    merchant_view: list[dict[str, Any]] = field(default_factory=list)


def _sale(number: int, prefix: str) -> Sale:
    phone = PHONES[number % len(PHONES)] if number % 3 != 2 else None
    created = datetime.now(UTC).isoformat()
    document = receipt(f"{prefix}-{number:03d}", phone, Decimal(100 + number) + Decimal("0.37"),
                       created)  # fmt: skip
    return Sale(document["id"], phone, document)


def _scenario(store: Store, database_url: str, tmp: Path, merchant_key: str) -> Run:
    run = Run()
    cloud_port, bridge_port = free_port(), free_port()
    log = tmp / "processes.log"
    till = httpx.Client(
        base_url=f"http://127.0.0.1:{bridge_port}",
        headers={"Authorization": f"Bearer {store.tenant.token}"}, timeout=5,
    )  # fmt: skip
    cloud = start_cloud(database_url, cloud_port, log)
    bridge = start_bridge(cloud_port, bridge_port, store.bridge_token, tmp / "bridge", log)
    processes: list[subprocess.Popen[bytes]] = [cloud, bridge]
    try:
        wait_until(lambda: bridge_health(bridge_port)["customers"] == len(PHONES), 60, "a sync")
        for number in range(5):
            sale = _sale(number, "on")
            confirmed = post(till, "/api/v1/checkout/confirm", {"receipt": sale.document})
            assert confirmed.status_code == 200, confirmed.text
            assert confirmed.json()["status"] != "queued"
            run.online.append(sale)
        cloud.kill()  # the middle of the trading day
        cloud.wait()
        for number in range(SOLD_OFFLINE):
            if number == KILL_BRIDGE_AT:
                bridge.kill()  # TerminateProcess on Windows: no chance to flush anything
                bridge.wait()
                bridge = start_bridge(
                    cloud_port, bridge_port, store.bridge_token, tmp / "bridge", log
                )
                processes.append(bridge)
                wait_until(lambda: bridge_health(bridge_port), 60, "the bridge restart")
                run.depth_after_restart = bridge_health(bridge_port)["outbox_depth"]
            sale = _sale(number, "off")
            body: dict[str, Any] = {"receipt": sale.document}
            if number == SPEND_AT:
                body["redeem"] = Decimal(50)
            quote = post(till, "/api/v1/checkout/calculate", body)
            assert quote.status_code == 200, quote.text
            quoted = quote.json()
            assert quoted["messages"][0] == OFFLINE
            assert Decimal(str(quoted["redeem"])) == 0 and Decimal(str(quoted["discount"])) == 0
            sale.offline_accrual = Decimal(str(quoted["accrual"]))
            if number == SPEND_AT:
                hold = post(till, "/api/v1/checkout/hold", {"receipt": sale.document, "amount": 50})
                spend = post(
                    till, "/api/v1/checkout/confirm", {"receipt": sale.document, "redeemed": 50}
                )
                for refused in (hold, spend):
                    run.refused.append(
                        (refused.json()["code"], refused.status_code, refused.json()["message"])
                    )
            confirmed = post(till, "/api/v1/checkout/confirm", {"receipt": sale.document})
            assert confirmed.status_code == 200, confirmed.text
            assert confirmed.json()["status"] == "queued"
            assert confirmed.json()["messages"] == [OFFLINE]
            run.offline.append(sale)
        assert bridge_health(bridge_port)["outbox_depth"] == SOLD_OFFLINE
        cloud = start_cloud(database_url, cloud_port, log)
        processes.append(cloud)
        wait_until(lambda: bridge_health(bridge_port)["outbox_depth"] == 0, 120, "the replay")
        again = post(till, "/api/v1/checkout/confirm", {"receipt": run.offline[10].document})
        assert again.status_code == 200, again.text
        run.duplicate = again.json()
        admin = httpx.Client(
            base_url=f"http://127.0.0.1:{cloud_port}",
            headers={"Authorization": f"Bearer {merchant_key}"}, timeout=5,
        )  # fmt: skip

        def merchant_sees_empty_outbox() -> list[dict[str, Any]] | None:
            bridges: list[dict[str, Any]] = admin.get("/api/v1/merchant/bridges").json()["bridges"]
            return bridges if bridges and bridges[0]["outbox_depth"] == 0 else None

        with admin:
            run.merchant_view = wait_until(merchant_sees_empty_outbox, 30, "the heartbeat")
    finally:
        till.close()
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    return run


def _expected_accrual(store: Store, sale: Sale, tiers: dict[int, str | None]) -> int:
    compiled = engine.compile_program(Program.model_validate(PROGRAM))
    customer = None
    if sale.phone is not None:
        cid = store.customers[sale.phone]
        customer = et.CustomerSnapshot(cid, tiers[cid], 0, 0)
    request = wire.Receipt.model_validate(sale.document)
    moment = datetime.fromisoformat(sale.document["created_at"])
    tz = merchants.zone("Europe/Moscow")
    return engine.settle(compiled, customer, engine_lines(request), 0, moment, tz).accrual


async def test_cloud_outage_with_a_bridge_restart_loses_nothing(
    deps: Deps, tmp_path: Path, database_url: str
) -> None:
    """100 receipts sold through the bridge while the cloud is down (the bridge killed
    and restarted in the middle) all reach the cloud once, in arrival order, with the
    accrual the program gives and no bonus payment; a spend is refused offline; a
    replayed duplicate changes nothing; the merchant sees the outbox empty again."""
    store = await make_store(deps)
    key = await merchants.issue_merchant_key(deps.db, store.tenant.merchant_id, deps.clock())
    run = await asyncio.to_thread(_scenario, store, database_url, tmp_path, key)

    assert run.depth_after_restart == KILL_BRIDGE_AT
    assert [(code, status) for code, status, _ in run.refused] == [
        ("loyalty_offline", 503),
        ("loyalty_offline", 503),
    ]
    rows = await deps.db.fetch_all(
        "SELECT id, external_id, customer_id, redeemed, accrued FROM receipts "
        "WHERE merchant_id = :m AND kind = 'sale' ORDER BY id",
        {"m": store.tenant.merchant_id},
    )
    ids = [row["external_id"] for row in rows]
    assert ids == [sale.rid for sale in run.online + run.offline]  # once each, in order
    tiers = {
        int(row["id"]): row["tier_code"]
        for row in await deps.db.fetch_all(
            "SELECT id, tier_code FROM customers WHERE merchant_id = :m",
            {"m": store.tenant.merchant_id},
        )
    }
    by_id = {row["external_id"]: row for row in rows}
    for sale in run.offline:
        row = by_id[sale.rid]
        expected = _expected_accrual(store, sale, tiers)
        assert row["redeemed"] == 0
        assert row["accrued"] == expected, sale.rid
        wanted = None if sale.phone is None else store.customers[sale.phone]
        assert row["customer_id"] == wanted
        if sale.phone is not None:
            assert sale.offline_accrual == Decimal(expected) / 100, sale.rid
    assert run.duplicate["receipt_id"] == run.offline[10].rid
    assert run.duplicate["status"] != "queued"
    assert Decimal(str(run.duplicate["accrued"])) * 100 == by_id[run.offline[10].rid]["accrued"]
    spent = await deps.db.fetch_value(
        "SELECT COUNT(*) FROM receipts WHERE merchant_id = :m AND redeemed <> 0",
        {"m": store.tenant.merchant_id},
    )
    assert spent == 0
    view = run.merchant_view[0]
    assert view["terminal_id"] == store.bridge_terminal and view["stale"] is False
    assert view["oldest_unsent_at"] is None and view["rejected_count"] == 0
    json.dumps(view)
