"""``loyalty serve`` as processes: N workers on one port (PostgreSQL), SQLite refusing
them, and a SIGTERM that lets an in-flight confirm finish and be recorded."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import httpx
import pytest

from cloud.main import main
from cloud.serving import WORKER_HEADER, worker_settings
from cloud.settings import Settings
from tests.cli.test_serve import _free_port
from tests.conftest import database_from_template
from tests.postgres_cluster import PostgresCluster

LINES = [{"id": "1", "name": "Жидкость 30 мл", "price": 450.00, "quantity": 2}]


def _receipt(receipt_id: str) -> dict[str, object]:
    return {"receipt": {"id": receipt_id, "customer": {"phone": "+7 900 100-00-01"},
                        "lines": LINES}}  # fmt: skip


class Service:
    """A real ``loyalty serve`` process (development: the demo is loaded, its token
    printed), its output in a file so a chatty worker never blocks on a full pipe."""

    def __init__(self, tmp_path: Path, database_url: str, *args: str) -> None:
        self.port = _free_port()
        self.output = tmp_path / "serve.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
        env.update(LOYALTY_DATABASE_URL=database_url, LOYALTY_SCHEDULER_IN_SERVE="false")
        with self.output.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cloud.main", "serve", "--port", str(self.port), *args],
                env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.base = f"http://127.0.0.1:{self.port}"
        self.token = self._wait_ready()

    def _wait_ready(self) -> str:
        deadline = time.monotonic() + 180  # workers import the service anew (spawn)
        while True:
            assert self.process.poll() is None, self.output.read_text()
            assert time.monotonic() < deadline, f"did not start:\n{self.output.read_text()}"
            token = [
                line.split(": ", 1)[1]
                for line in self.output.read_text().splitlines()
                if line.startswith("Demo terminal token: ")
            ]
            try:
                if token and httpx.get(f"{self.base}/health", timeout=1).status_code == 200:
                    return token[0]
            except httpx.TransportError:
                pass
            time.sleep(0.1)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


@pytest.fixture
async def postgres_url(
    postgres_cluster: PostgresCluster, postgres_template: str
) -> AsyncIterator[str]:
    """A PostgreSQL database at the migrations' head (the service migrates nothing)."""
    name = f"workers_{os.getpid()}"
    async with database_from_template(postgres_cluster, postgres_template, name) as url:
        yield url


def test_sqlite_refuses_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--workers 2`` on SQLite exits 2 with one line saying it needs PostgreSQL and
    why, before touching the database."""
    monkeypatch.setenv("LOYALTY_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/x.sqlite3")
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--workers", "2"])
    assert exited.value.code == 2
    message = capsys.readouterr().err.strip()
    assert "\n" not in message
    assert "PostgreSQL" in message and "SQLite runs in one process by design" in message
    assert not (tmp_path / "x.sqlite3").exists()


def test_background_tasks_run_in_worker_zero_only() -> None:
    """The scheduler and the outbox worker stay on in worker 0 and are off in the
    others, so N workers never run N copies of them."""
    settings = Settings(workers=3, database_url="postgresql+asyncpg://db/x")
    assert worker_settings(settings, 0).scheduler_in_serve
    assert worker_settings(settings, 0).outbox_worker
    for index in (1, 2):
        assert not worker_settings(settings, index).scheduler_in_serve
        assert not worker_settings(settings, index).outbox_worker


async def test_two_workers_answer_and_record_into_one_database(
    tmp_path: Path, postgres_url: str
) -> None:
    """``serve --workers 2`` on PostgreSQL: confirms are answered by both worker
    processes (new connections spread by SO_REUSEPORT), each is recorded once in the
    shared database, and SIGTERM stops the service with status 0."""
    service = Service(tmp_path, postgres_url, "--workers", "2")
    answered: dict[str, str] = {}
    try:
        # No keep-alive: a fresh connection each time, and the kernel picks a worker
        # per connection.
        async with httpx.AsyncClient(
            base_url=service.base, headers={"Authorization": f"Bearer {service.token}"},
            limits=httpx.Limits(max_keepalive_connections=0), timeout=10,
        ) as client:  # fmt: skip
            for n in range(200):
                answer = await client.post("/api/v1/checkout/confirm", json=_receipt(f"w-{n}"))
                assert answer.status_code == 200, answer.text
                answered[f"w-{n}"] = answer.headers[WORKER_HEADER]
                if len(set(answered.values())) == 2 and n >= 3:
                    break
    finally:
        status = service.stop()
    assert set(answered.values()) == {"0", "1"}
    assert status == 0, service.output.read_text()
    db = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        recorded = await db.fetch(
            "SELECT external_id FROM receipts WHERE external_id LIKE 'w-%' AND kind = 'sale'"
        )
    finally:
        await db.close()
    assert sorted(row["external_id"] for row in recorded) == sorted(answered)


async def test_sigterm_finishes_an_in_flight_confirm(tmp_path: Path, postgres_url: str) -> None:
    """SIGTERM while a confirm is inside its transaction (waiting for a customer row
    another session holds): the service stops accepting connections at once, the
    confirm still completes with 200 and is recorded, then the process exits 0."""
    service = Service(tmp_path, postgres_url)
    db = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        holder = db.transaction()
        await holder.start()
        await db.execute("SELECT 1 FROM customers FOR UPDATE")
        async with httpx.AsyncClient(
            base_url=service.base, headers={"Authorization": f"Bearer {service.token}"},
            timeout=30,
        ) as client:  # fmt: skip
            confirm = asyncio.create_task(
                client.post("/api/v1/checkout/confirm", json=_receipt("in-flight-1"))
            )
            await _until(lambda: _lock_waits(postgres_url), "the confirm never reached its lock")
            service.process.send_signal(signal.SIGTERM)
            await _until(lambda: _refused(service.port), "still accepting after SIGTERM")
            assert not confirm.done()
            await holder.commit()
            answer = await confirm
        status = await asyncio.to_thread(service.process.wait, 30)
        recorded = await db.fetchval(
            "SELECT count(*) FROM receipts WHERE external_id = 'in-flight-1' AND kind = 'sale'"
        )
    finally:
        service.stop()
        await db.close()
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "confirmed"
    assert status == 0, service.output.read_text()
    assert recorded == 1


async def _until(check: Callable[[], Awaitable[bool]], failure: str) -> None:
    deadline = time.monotonic() + 20
    while not await check():
        assert time.monotonic() < deadline, failure
        await asyncio.sleep(0.05)


async def _lock_waits(url: str) -> bool:
    db = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        waiting = await db.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()"
        )
    finally:
        await db.close()
    return bool(waiting)


async def _refused(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except ConnectionRefusedError:
        return True
    writer.close()
    return False
