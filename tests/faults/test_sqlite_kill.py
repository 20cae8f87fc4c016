"""SQLite survives the service process killed mid-commit: WAL with ``synchronous=NORMAL``
(``cloud/db/database.py``) makes every committed transaction durable across a crash of
the process, and the file is never left corrupt. (Across a power cut NORMAL may lose the
last commits since the WAL was last synced, never consistency: docs/faults.md.)"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from cloud.clock import ManualClock
from cloud.db.database import open_database
from cloud.notify import LogSmsProvider
from cloud.services.deps import Deps
from cloud.settings import Settings
from tests.conftest import START, make_tenant
from tests.ledger.helpers import assert_ledger_consistent, create_customer, ledger_state

ROOT = Path(__file__).resolve().parents[2]
ACKNOWLEDGED = 260
"""More than the commits between two WAL checkpoints (200): one runs before the kill."""


def _confirm_then_kill(url: str, *args: str) -> list[str]:
    """Run the writer, SIGKILL it after ``ACKNOWLEDGED`` answers; every id it printed."""
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.faults.sqlite_writer", url, *args],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert writer.stdout is not None
    with writer.stdout:
        acknowledged = [writer.stdout.readline().strip() for _ in range(ACKNOWLEDGED)]
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
        return acknowledged + writer.stdout.read().split()  # printed before the kill


async def test_kill_9_while_confirming_keeps_every_acknowledged_sale(
    tmp_path: Path, sqlite_template: Path
) -> None:
    """A process confirming sales one after another is killed with SIGKILL after 260
    acknowledgements, in the middle of its next commits. Reopened: ``PRAGMA
    integrity_check`` is ok, every acknowledged sale is there (a later one may be too:
    committed, its answer never sent, a repeat would replay it), each with its line and
    its accrual, and the ledger adds up."""
    path = tmp_path / "store.sqlite3"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite+aiosqlite:///{path}"
    db = await open_database(url)
    deps = Deps.build(
        Settings(database_url=url, env="test", load_demo=False), db, sms=LogSmsProvider(),
        clock=ManualClock(START),
    )  # fmt: skip
    tenant = await make_tenant(deps, "Кофейня")
    member = await create_customer(deps, tenant.merchant_id)
    await db.close()

    args = [str(tenant.merchant_id), str(tenant.store_id), str(tenant.terminal_id)]
    acknowledged = await asyncio.to_thread(_confirm_then_kill, url, *args, member.phone)
    assert acknowledged[-1] == f"k{len(acknowledged) - 1}", acknowledged[-3:]

    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    db = await open_database(url)
    try:
        deps = Deps.build(deps.settings, db, sms=LogSmsProvider(), clock=ManualClock(START))
        rows = await db.fetch_all(
            "SELECT r.external_id, (SELECT COUNT(*) FROM receipt_lines l "
            "WHERE l.receipt_id = r.id) AS lines, (SELECT COUNT(*) FROM bonus_lots b "
            "WHERE b.receipt_id = r.id) AS lots FROM receipts r"
        )
        stored = {row["external_id"] for row in rows}
        assert set(acknowledged) <= stored
        assert len(stored) <= len(acknowledged) + 1  # at most the one cut before its answer
        assert {(row["lines"], row["lots"]) for row in rows} == {(1, 1)}
        state = await ledger_state(deps, member.id)
        assert_ledger_consistent(state)
        assert state.receipts == len(stored)
    finally:
        await db.close()
