"""``loyalty telegram`` as an operator types it, against the local fake Bot API."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest

from cloud.services.deps import Deps
from cloud.telegram import bots
from tests.conftest import Tenant
from tests.telegram.conftest import TOKEN_A, FakeTelegram


def _run(database_url: str, api_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    env.update(
        LOYALTY_DATABASE_URL=database_url, LOYALTY_LOG_LEVEL="WARNING",
        LOYALTY_TELEGRAM_API_URL=api_url, LOYALTY_PUBLIC_URL="https://bonus.example",
    )  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "cloud.main", "telegram", *args],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


# The command calls the service the webhook tests run on both databases; one backend
# keeps its subprocess runs (each migrates and imports afresh) affordable in CI.
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_set_bot_registers_the_webhook_with_its_secret(
    deps: Deps, demo_tenant: Tenant, database_url: str, telegram: FakeTelegram
) -> None:
    """set-bot checks the token and registers ``<public url>/telegram/<bot id>`` with
    the secret the webhook checks; webhook --url registers another base; a merchant
    without a bot gets the Russian refusal and exit code 1."""
    merchant = str(demo_tenant.merchant_id)
    done = await asyncio.to_thread(
        _run, database_url, telegram.url, "set-bot", "--merchant", merchant, "--token", TOKEN_A
    )
    assert done.returncode == 0, done.stderr
    assert "@demo_shop_bot" in done.stdout
    assert "https://bonus.example/telegram/1111111" in done.stdout
    [hook] = telegram.sent("setWebhook")
    assert hook.payload["secret_token"] == bots.webhook_secret(deps.settings.secret_key, 1111111)
    again = await asyncio.to_thread(
        _run, database_url, telegram.url, "webhook", "--merchant", merchant,
        "--url", "https://other.example/",
    )  # fmt: skip
    assert again.returncode == 0 and "https://other.example/telegram/1111111" in again.stdout
    missing = await asyncio.to_thread(
        _run, database_url, telegram.url, "webhook", "--merchant", "999"
    )
    assert missing.returncode == 1 and "нет бота Telegram" in missing.stderr
