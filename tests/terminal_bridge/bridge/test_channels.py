"""Every till channel the bridge fronts works offline through the bridge itself, not
only in its own unit tests: Modul-Kassa's plugin and a 1C till get an offline quote in
their own shape, and their sales are kept in the outbox under the keys the cloud
de-duplicates on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from terminal_bridge.store.server import CHANNELS
from tests.terminal_bridge.bridge.fake_cloud import FakeCloud, running

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"
TILL = {"Authorization": "Bearer till-token", "Content-Type": "application/json"}
OFFLINE = "Нет связи с сервером лояльности"


def _modulkassa(name: str) -> tuple[str, bytes]:
    exchange = json.loads((FIXTURES / "modulkassa" / name).read_text())
    path = exchange["path"]
    path = path if path.startswith("/") else f"/modulkassa/v1/{path}"
    return path, json.dumps(exchange["request"], ensure_ascii=False).encode()


def _onec(name: str) -> tuple[str, bytes]:
    call = name.split("-", 1)[1].removesuffix(".request.json").replace(".", "/")
    return f"/1c/v1/{call}", (FIXTURES / "onec" / name).read_bytes()


def test_every_adapter_is_fronted() -> None:
    """The bridge serves the native API, Modul-Kassa's plugin and 1C."""
    assert {channel.prefix for channel in CHANNELS} >= {"/modulkassa", "/1c"}


async def test_modulkassa_and_1c_work_offline_through_the_bridge(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    """With the cloud down, each channel's quote is answered offline in its own shape
    (the offline notice, no spend) and its sale is kept once in the outbox, a till's
    retry included."""
    fake = FakeCloud(answers=[(503, b"{}")] * 20)
    async with running(fake, tmp_path, start=False) as (bridge, _):
        till: TestClient = await aiohttp_client(bridge.app())
        path, body = _modulkassa("01-loyalty-request.json")
        quoted = await till.post(path, data=body, headers=TILL)
        assert quoted.status == 200
        answer = await quoted.json()
        assert OFFLINE in answer["printableData"]
        assert {i["positionId"] for i in answer["impacts"]} == {
            p["id"] for p in json.loads(body)["positions"]
        }
        path, body = _onec("03-receipts.calc.request.json")
        quoted = await till.post(path, data=body, headers=TILL)
        assert quoted.status == 200 and (await quoted.json())["offline"] is True
        path, body = _onec("04-receipts.confirm.request.json")
        for _ in range(2):
            kept = await till.post(path, data=body, headers=TILL)
            assert kept.status == 200 and (await kept.json())["status"] == "accepted"
        path, body = _modulkassa("02-events.json")
        kept = await till.post(path, data=body, headers=TILL)
        assert kept.status == 200
        assert bridge.state.depth() == 2
