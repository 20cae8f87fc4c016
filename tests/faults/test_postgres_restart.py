"""PostgreSQL restarted while tills are selling: every call during the outage is answered
with a retryable 503 in its caller's own shape (never a 500, never "ok" for a sale not
recorded), the service reconnects by itself once the server is back, and a confirm cut
by the restart is either wholly recorded or not at all; sent again, it lands once.

The real session cluster of this test process is stopped and started
(``PostgresCluster.stop_server``/``start_server``); nothing else runs on it meanwhile."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from cloud.main import build_app
from cloud.services.deps import Deps
from tests.conftest import Tenant
from tests.helpers import register_over_api
from tests.ledger.helpers import assert_ledger_consistent, ledger_state
from tests.postgres_cluster import PostgresCluster

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PHONE = "+79161234567"
DOWN = {"code": "database_unavailable", "message": "Сервис не готов: база данных не отвечает"}
LINES = [
    {"id": "1", "name": "Жидкость 30 мл", "price": 450.00, "quantity": 2},
    {"id": "2", "name": "Кальян", "price": 1200.00, "quantity": 1},
]


def _sale(number: int) -> dict[str, Any]:
    return {"receipt": {"id": f"r{number}", "customer": {"phone": PHONE}, "lines": LINES}}


async def _confirm(client: TestClient, number: int) -> tuple[int, Any]:
    response = await client.post("/api/v1/checkout/confirm", json=_sale(number))
    return response.status, await response.json()


async def _crash_after(cluster: PostgresCluster, racing: list[asyncio.Task[Any]], n: int) -> None:
    """Crash the server once ``n`` of the racing calls have been answered."""
    pending = set(racing)
    while len(racing) - len(pending) < n:
        _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    await asyncio.to_thread(cluster.stop_server, "immediate")  # a crash, not a polite stop


@pytest.fixture
async def crash_safe_commits(database_url: str, postgres_cluster: PostgresCluster) -> None:
    """The test cluster commits asynchronously for speed; a server crash would then lose
    the last acknowledged commits. A confirm answered 200 must survive one, which it does
    under PostgreSQL's default (``synchronous_commit = on``): the test's database has it
    (set before the service's pool opens, so every session takes it)."""
    admin = await asyncpg.connect(postgres_cluster.dsn("postgres"))
    try:
        name = database_url.rsplit("/", 1)[1]
        await admin.execute(f"ALTER DATABASE {name} SET synchronous_commit = on")
    finally:
        await admin.close()


async def test_a_restart_mid_traffic_loses_nothing_and_writes_nothing_twice(
    crash_safe_commits: None,
    client: TestClient,
    deps: Deps,
    demo_tenant: Tenant,
    postgres_cluster: PostgresCluster,
) -> None:
    """Sixteen confirms race a crash of the server (after the third answer); eight more
    come while it is down.
    Each is answered 200 or 503 ``database_unavailable`` (never 500); those sent while it
    is down all 503. Once the server is back, without restarting the service, every
    receipt is sent again: all 200, each sale recorded exactly once with its lines and
    its accrual, and the ledger adds up (no confirm was half-written)."""
    customer = await register_over_api(client, deps, PHONE)
    try:
        racing = [asyncio.create_task(_confirm(client, n)) for n in range(16)]
        await _crash_after(postgres_cluster, racing, 3)
        answers = await asyncio.gather(*racing)
        answers += [await _confirm(client, n) for n in range(16, 24)]
    finally:
        await asyncio.to_thread(postgres_cluster.start_server)
    for status, body in answers:
        assert (status, body) == (503, DOWN) or status == 200, (status, body)
    assert all(status == 503 for status, _ in answers[16:])
    assert {status for status, _ in answers[:16]} == {200, 503}

    again = [await _confirm(client, n) for n in range(24)]
    assert [status for status, _ in again] == [200] * 24, again
    for (status, first), (_, second) in zip(answers, again, strict=True):
        if status == 200:  # a sale already answered is replayed, not counted again
            assert first == second
    rows = await deps.db.fetch_all(
        "SELECT r.external_id, (SELECT COUNT(*) FROM receipt_lines l WHERE l.receipt_id = r.id)"
        " AS lines, (SELECT COUNT(*) FROM bonus_lots b WHERE b.receipt_id = r.id) AS lots "
        "FROM receipts r WHERE r.merchant_id = :m",
        {"m": demo_tenant.merchant_id},
    )
    assert sorted(row["external_id"] for row in rows) == sorted(f"r{n}" for n in range(24))
    assert {(row["lines"], row["lots"]) for row in rows} == {(2, 1)}
    state = await ledger_state(deps, customer["id"])
    assert_ledger_consistent(state)
    assert state.receipts == 24
    assert (await client.get("/ready")).status == 200


def _fixture(path: str) -> Any:
    return json.loads((FIXTURES / path).read_text(encoding="utf-8-sig"))


# One sale-close per channel, as its till sends it, and the answer it must get while the
# database is down: the channel's own error shape, a status its till sends again on.
CHANNELS: list[tuple[str, str, dict[str, str], Any, int, Any]] = [
    ("native", "/api/v1/checkout/confirm", {"Authorization": "Bearer t"}, _sale(1), 503, DOWN),
    ("1c", "/1c/v1/receipts/confirm", {"Authorization": "Bearer t"},
     _fixture("onec/04-receipts.confirm.request.json"), 503, DOWN),
    ("modulkassa", "/modulkassa/v1/events", {"Authorization": "Bearer t"},
     _fixture("modulkassa/02-events.json")["request"], 503,
     {"code": "retry_later", "message": "Сервер лояльности недоступен, повторите позже"}),
    ("sigma", "/sigma/v1/hooks/receipt.closed", {"Authorization": "Bearer t"},
     _fixture("sigma/04-receipt.closed.json")["request"], 503, DOWN),
    ("frontol", "/frontol/v1/org-demo/document", {"Authorization": "FrontolAuth 00"},
     _fixture("frontol/sale_without_card.json")[0]["request"], 503,
     {"code": -1, "error": DOWN["message"]}),
    ("moysklad", "/moysklad/v1/retaildemand", {"Lognex-Discount-API-Auth-Token": "t"},
     _fixture("moysklad/retaildemand.request.json"), 503,
     {"errors": [{"error": "Сервис временно недоступен", "code": 999,
                  "error_message": DOWN["message"]}], **DOWN}),
    ("evotor", "/evotor/terminal/v1/receipts/close", {"Authorization": "Bearer t"},
     {"receiptUuid": "r1", "positions": [{"uuid": "a", "price": 100, "quantity": 1}]}, 503,
     {"errors": [{"code": 2003, "reason": "database_unavailable",
                  "message": DOWN["message"]}]}),
]  # fmt: skip


async def test_every_channel_answers_the_outage_in_its_own_retryable_shape(
    aiohttp_client: Any, deps: Deps, postgres_cluster: PostgresCluster
) -> None:
    """With the server stopped, a sale's close from every channel (native, 1C,
    Модулькасса, SIGMA, Frontol, МойСклад, Evotor) is answered 503 in that channel's
    error shape with a Russian message: each till keeps the receipt and sends it again
    (Frontol, whose refusals are HTTP 200, gets a 503 here: nothing was recorded)."""
    service = await aiohttp_client(build_app(deps.settings, deps=deps))
    assert (await service.get("/ready")).status == 200
    await asyncio.to_thread(postgres_cluster.stop_server, "immediate")
    try:
        for name, path, headers, body, status, expected in CHANNELS:
            response = await service.post(
                path, data=json.dumps(body, ensure_ascii=False).encode(),
                headers={"Content-Type": "application/json", **headers},
            )  # fmt: skip
            assert (name, response.status, await response.json()) == (name, status, expected)
    finally:
        await asyncio.to_thread(postgres_cluster.start_server)
    assert (await service.get("/ready")).status == 200
