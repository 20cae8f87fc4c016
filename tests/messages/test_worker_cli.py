"""The worker where it runs: ``loyalty outbox drain --once`` and the background task of
``loyalty serve`` (which a setting turns off)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient

from cloud.main import build_app, outbox_worker_ctx
from cloud.services.deps import Deps
from tests.conftest import Tenant
from tests.messages.conftest import add_customer, queue, row


# The command runs the drain tests/messages runs on both databases; one backend keeps
# its subprocess run (it migrates and imports afresh) affordable in CI.
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_drain_once_sends_what_is_due_and_exits(
    deps: Deps, demo_tenant: Tenant, database_url: str
) -> None:
    """The command sends the due message (log provider by default), records it and says
    so. (Quiet hours are set twelve hours away from the real clock the command reads.)"""
    customer = await add_customer(deps, demo_tenant.merchant_id, "+79161234567")
    message = await queue(deps, demo_tenant.merchant_id, customer, "tier_changed", {"tier": "A"})
    far = (datetime.now(ZoneInfo("Europe/Moscow")) + timedelta(hours=12)).strftime("%H")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    env.update(LOYALTY_DATABASE_URL=database_url, LOYALTY_LOG_LEVEL="WARNING",
               LOYALTY_QUIET_HOURS=f"{far}:00-{far}:01")  # fmt: skip
    result = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "cloud.main", "outbox", "drain", "--once"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("outbox: 1 sent (0.00 ₽)"), result.stdout
    assert (await row(deps, message))["status"] == "sent"


async def test_serve_drains_in_the_background(
    aiohttp_client: Any, deps: Deps, demo_tenant: Tenant
) -> None:
    """With the worker's context on the application, a queued message is sent without
    anyone calling the command; the task stops with the application."""
    deps.settings.outbox_poll_seconds = 0.05
    customer = await add_customer(deps, demo_tenant.merchant_id, "+79161234567")
    message = await queue(deps, demo_tenant.merchant_id, customer, "tier_changed", {"tier": "A"})
    app = build_app(deps.settings, deps=deps)
    app.cleanup_ctx.append(outbox_worker_ctx)
    client: TestClient = await aiohttp_client(app)
    for _ in range(100):
        if (await row(deps, message))["status"] == "sent":
            break
        await asyncio.sleep(0.05)
    assert (await row(deps, message))["status"] == "sent"
    await client.close()
