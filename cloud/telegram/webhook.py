"""Updates in: Telegram's webhook (``POST /telegram/{bot_id}``) and the same handling
for the long-poll loop.

The webhook is no part of the native API (no merchant or terminal credential): Telegram
proves itself with ``X-Telegram-Bot-Api-Secret-Token``, the secret given at
``setWebhook`` (compared in constant time). Each update is recorded by ``update_id``
before it is handled and marked when handled, so a redelivered one is handled once (and
one whose first attempt died midway, again); a body that is no update, or
an update the bot does not use, is answered 200 and dropped (Telegram would otherwise
resend it for a day). An update we could not record or handle (the database is down) is
answered 500, its record removed, so Telegram delivers it again.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

import structlog
from aiohttp import web

from cloud.api.keys import DEPS
from cloud.clock import to_epoch
from cloud.services.deps import Deps
from cloud.telegram.bots import WEBHOOK_PREFIX, Bot, bot_by_id, webhook_secret
from cloud.telegram.dialogue import handle_update

log = structlog.get_logger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
RETRY_SECONDS = 60
"""An unfinished attempt older than this is taken for dead (Telegram's own wait for our
answer is shorter)."""
KEEP_SECONDS = 3 * 86400
"""Telegram keeps an undelivered update 24 hours; its record is kept longer than that."""


async def _record(deps: Deps, bot: Bot, update_id: int) -> bool:
    """Whether this update is ours to handle now: new, or taken up before by an attempt
    that died midway (a process killed after recording it) at least ``RETRY_SECONDS``
    ago — Telegram only redelivers what we never acknowledged."""
    now = to_epoch(deps.clock())
    async with deps.db.transaction() as tx:
        fresh = await tx.fetch_value(
            "INSERT INTO telegram_updates (merchant_id, bot_id, update_id, created_at) "
            "VALUES (:m, :b, :u, :now) ON CONFLICT (bot_id, update_id) DO UPDATE "
            "SET created_at = excluded.created_at WHERE telegram_updates.handled_at IS NULL "
            "AND telegram_updates.created_at <= :stale RETURNING id",
            {"m": bot.merchant_id, "b": bot.bot_id, "u": update_id, "now": now,
             "stale": now - RETRY_SECONDS},
        )  # fmt: skip
        if fresh is not None and update_id % 64 == 0:
            await tx.execute(
                "DELETE FROM telegram_updates WHERE bot_id = :b AND created_at < :old",
                {"b": bot.bot_id, "old": now - KEEP_SECONDS},
            )
    return fresh is not None


async def accept(deps: Deps, bot: Bot, update: Any) -> bool:
    """Handle an update once; False when it was dropped (malformed) or seen before.
    Raises when it could not be recorded or handled (then it is not recorded)."""
    if not isinstance(update, dict):
        return False
    update_id = update.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool) or not 0 <= update_id < 2**62:
        return False
    if not await _record(deps, bot, update_id):
        log.info("telegram.duplicate_update", merchant=bot.merchant_id, update=update_id)
        return False
    key = {"b": bot.bot_id, "u": update_id}
    try:
        await handle_update(deps, bot, update)
    except Exception:
        async with deps.db.transaction() as tx:
            await tx.execute(
                "DELETE FROM telegram_updates WHERE bot_id = :b AND update_id = :u", key
            )
        raise
    async with deps.db.transaction() as tx:
        await tx.execute(
            "UPDATE telegram_updates SET handled_at = :now WHERE bot_id = :b AND update_id = :u",
            {**key, "now": to_epoch(deps.clock())},
        )
    return True


async def webhook(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    bot_id = int(request.match_info["bot_id"])
    given = request.headers.get(SECRET_HEADER, "")
    expected = webhook_secret(deps.settings.secret_key, bot_id)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return web.json_response(
            {"code": "telegram_secret_invalid", "message": "Неверный секрет вебхука"}, status=401
        )
    bot = await bot_by_id(deps, bot_id)
    if bot is None:
        # The merchant removed the bot: nothing to do, and nothing for Telegram to retry.
        return web.json_response({"ok": True})
    try:
        update = json.loads(await request.read())
    except ValueError:
        log.warning("telegram.malformed_update", merchant=bot.merchant_id)
        return web.json_response({"ok": True})
    try:
        await accept(deps, bot, update)
    except Exception:
        log.exception("telegram.update_failed", merchant=bot.merchant_id)
        return web.json_response({"ok": False}, status=500)
    return web.json_response({"ok": True})


def setup(app: web.Application) -> None:
    app.router.add_post(WEBHOOK_PREFIX + "{bot_id:[0-9]{1,18}}", webhook)
