"""The webhook's guard (secret, once per update_id, malformed bodies), tenancy between
merchants' bots, the merchant API to connect a bot, and the long-poll loop."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestClient

from cloud.api.app import create_app
from cloud.clock import ManualClock, to_epoch
from cloud.services.deps import Deps
from cloud.telegram import bots
from cloud.telegram.cli import poll
from tests.conftest import Tenant
from tests.services.test_lifecycle_jobs import _register
from tests.telegram.conftest import (
    TOKEN_A,
    TOKEN_B,
    FakeTelegram,
    connect,
    contact,
    message,
    post,
)

CHAT = 5550002
PHONE = "+79161112233"
PATH = "/api/v1/merchant/telegram-bot"


async def test_a_wrong_or_missing_secret_is_refused(
    deps: Deps, demo_tenant: Tenant, hook: TestClient, telegram: FakeTelegram
) -> None:
    """Without the secret set at setWebhook (or with another bot's) the update is
    answered 401 and not handled."""
    bot = await connect(deps, demo_tenant.merchant_id)
    other = bots.webhook_secret(deps.settings.secret_key, 2222222)
    assert await post(hook, deps, bot, message(CHAT, "/start"), secret=other) == 401
    response = await hook.post(f"/telegram/{bot.bot_id}", json=message(CHAT, "/start"))
    assert response.status == 401
    assert telegram.sent() == []


async def test_a_redelivered_update_is_handled_once_and_junk_is_dropped(
    deps: Deps, demo_tenant: Tenant, hook: TestClient, telegram: FakeTelegram
) -> None:
    """The same update_id twice gets one reply; a body that is not JSON, an update
    without update_id and one of a kind the bot ignores are all answered 200 (so
    Telegram stops resending) and do nothing."""
    bot = await connect(deps, demo_tenant.merchant_id)
    update = message(CHAT, "/start")
    assert await post(hook, deps, bot, update) == 200
    assert await post(hook, deps, bot, update) == 200
    assert len(telegram.sent(chat=CHAT)) == 1
    assert await post(hook, deps, bot, b"{not json") == 200
    assert await post(hook, deps, bot, {"message": update["message"]}) == 200
    assert await post(hook, deps, bot, {"update_id": 77, "edited_message": {}}) == 200
    assert len(telegram.sent(chat=CHAT)) == 1


async def test_an_update_that_fails_is_not_acknowledged(
    deps: Deps, demo_tenant: Tenant, hook: TestClient, telegram: FakeTelegram
) -> None:
    """When handling fails inside our database, the answer is 500 and the update is
    not recorded, so Telegram's redelivery is handled in full."""
    bot = await connect(deps, demo_tenant.merchant_id)
    async with deps.db.transaction() as tx:
        await tx.execute("ALTER TABLE telegram_chats RENAME TO telegram_chats_away")
    update = message(CHAT, "/start")
    assert await post(hook, deps, bot, update) == 500
    async with deps.db.transaction() as tx:
        await tx.execute("ALTER TABLE telegram_chats_away RENAME TO telegram_chats")
    assert await post(hook, deps, bot, update) == 200
    assert len(telegram.sent(chat=CHAT)) == 1


async def test_an_attempt_that_died_midway_is_handled_on_redelivery(
    deps: Deps, demo_tenant: Tenant, hook: TestClient, telegram: FakeTelegram, clock: ManualClock
) -> None:
    """An update recorded by an attempt that never finished (the process was killed
    after recording it, so Telegram got no answer and sends it again) is handled when it
    comes back a minute later; a redelivery while the attempt may still be running is
    not handled twice."""
    bot = await connect(deps, demo_tenant.merchant_id)
    update = message(CHAT, "/start")
    async with deps.db.transaction() as tx:
        await tx.execute(
            "INSERT INTO telegram_updates (merchant_id, bot_id, update_id, created_at) "
            "VALUES (:m, :b, :u, :now)",
            {"m": demo_tenant.merchant_id, "b": bot.bot_id, "u": update["update_id"],
             "now": to_epoch(clock())},
        )  # fmt: skip
    assert await post(hook, deps, bot, update) == 200
    assert telegram.sent(chat=CHAT) == []
    clock.advance(seconds=61)
    assert await post(hook, deps, bot, update) == 200
    assert len(telegram.sent(chat=CHAT)) == 1
    assert await post(hook, deps, bot, update) == 200
    assert len(telegram.sent(chat=CHAT)) == 1


async def test_a_bot_reaches_only_its_own_merchants_customers(
    deps: Deps, demo_tenant: Tenant, other_tenant: Tenant, hook: TestClient,
    telegram: FakeTelegram,
) -> None:  # fmt: skip
    """The phone is the demo merchant's customer; the same person sharing it with the
    other merchant's bot is asked to register there, the demo customer stays unlinked,
    and the other bot's messages go with its own token."""
    demo_customer = await _register(deps, demo_tenant, PHONE)
    await connect(deps, demo_tenant.merchant_id, TOKEN_A)
    other_bot = await connect(deps, other_tenant.merchant_id, TOKEN_B)
    await post(hook, deps, other_bot, contact(CHAT, PHONE))
    assert "не зарегистрирован" in telegram.last_text(CHAT)
    assert telegram.sent(chat=CHAT)[-1].token == TOKEN_B
    linked = await deps.db.fetch_value(
        "SELECT telegram_chat_id FROM customers WHERE id = :c", {"c": demo_customer}
    )
    assert linked is None
    await post(hook, deps, other_bot, message(CHAT, "Баланс"))
    reply = telegram.last_text(CHAT)
    assert "Доступно" not in reply and "согласие" in reply  # still registering there


async def test_merchant_connects_its_bot_through_the_api(
    aiohttp_client: Any, deps: Deps, demo_tenant: Tenant, other_tenant: Tenant,
    admin: TestClient, other_admin: TestClient, telegram: FakeTelegram,
) -> None:  # fmt: skip
    """PUT checks the token with getMe and registers the webhook at the public URL
    with the secret; GET shows the bot to its merchant only; another merchant cannot
    take the same bot (409); a token Telegram refuses is 422, a malformed one 400; a
    manager's key may read but not change it; DELETE unlinks the chats."""
    deps.settings.public_url = "https://loyalty.example"
    assert (await admin.get(PATH)).status == 404
    response = await admin.put(PATH, json={"token": TOKEN_A})
    body = await response.json()
    assert response.status == 200, body
    assert body["username"] == "demo_shop_bot" and body["webhook_registered"] is True
    [hook] = telegram.sent("setWebhook")
    assert hook.payload["url"] == "https://loyalty.example/telegram/1111111"
    assert hook.payload["secret_token"] == bots.webhook_secret(deps.settings.secret_key, 1111111)
    assert (await admin.get(PATH)).status == 200
    assert (await other_admin.get(PATH)).status == 404
    taken = await other_admin.put(PATH, json={"token": TOKEN_A})
    assert (taken.status, (await taken.json())["code"]) == (409, "telegram_bot_taken")
    refused = await other_admin.put(PATH, json={"token": "3333333:" + "C" * 35})
    assert (refused.status, (await refused.json())["code"]) == (422, "telegram_token_invalid")
    assert (await other_admin.put(PATH, json={"token": "nope"})).status == 400
    stored = await deps.db.fetch_value("SELECT token_enc FROM telegram_bots")
    assert TOKEN_A.encode() not in bytes(stored)

    from cloud.services import merchants

    key = await merchants.issue_merchant_key(
        deps.db, demo_tenant.merchant_id, deps.clock(), label="Менеджер", role="manager"
    )
    manager = await aiohttp_client(
        create_app(deps.settings, deps=deps), headers={"Authorization": f"Bearer {key}"}
    )
    assert (await manager.get(PATH)).status == 200
    assert (await manager.delete(PATH)).status == 403

    await _register(deps, demo_tenant, PHONE)
    async with deps.db.transaction() as tx:
        await tx.execute("UPDATE customers SET telegram_chat_id = 42")
    assert (await admin.delete(PATH)).status == 200
    assert (
        await deps.db.fetch_value("SELECT COUNT(*) FROM customers WHERE telegram_chat_id = 42") == 0
    )
    assert (await admin.get(PATH)).status == 404


async def test_long_polling_handles_updates_once_without_a_webhook(
    deps: Deps, demo_tenant: Tenant, telegram: FakeTelegram
) -> None:
    """`loyalty telegram poll` removes the webhook, then each update from getUpdates is
    handled and confirmed by the next call's offset."""
    bot = await connect(deps, demo_tenant.merchant_id)
    update = message(CHAT, "/start")
    telegram.updates = [update]
    deps.settings.telegram_poll_seconds = 1
    stop = asyncio.Event()
    task = asyncio.create_task(poll(deps, bot, stop))
    for _ in range(100):
        if len(telegram.sent("getUpdates")) >= 2:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert telegram.sent("deleteWebhook")
    assert len(telegram.sent(chat=CHAT)) == 1
    assert telegram.sent("getUpdates")[1].payload["offset"] == update["update_id"] + 1


def test_the_removed_deployment_wide_token_is_refused() -> None:
    """LOYALTY_TELEGRAM_BOT_TOKEN no longer does anything, so it is refused with the
    command that replaces it rather than ignored."""
    import pytest

    from cloud.settings import Settings

    with pytest.raises(ValueError, match="telegram set-bot"):
        Settings(env="test", telegram_bot_token=TOKEN_A)
