"""``loyalty telegram``: set a merchant's bot, register its webhook, or run the bot by
long polling where the service has no public HTTPS address.

- ``set-bot --merchant N --token T`` checks the token (``getMe``) and keeps it
  (encrypted); with ``LOYALTY_PUBLIC_URL`` set it registers the webhook too;
- ``webhook --merchant N [--url BASE]`` registers ``BASE/telegram/<bot id>`` with the
  secret Telegram will send back in ``X-Telegram-Bot-Api-Secret-Token``;
- ``poll --merchant N`` removes the webhook and handles updates from ``getUpdates``
  until stopped (each update recorded once, as the webhook does);
- ``remove --merchant N`` disconnects the bot and unlinks its chats.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from cloud.db import migrate
from cloud.db.database import open_database
from cloud.errors import DomainError
from cloud.messages.setup import close_providers
from cloud.services.deps import Deps
from cloud.settings import Settings
from cloud.telegram import bots
from cloud.telegram.webhook import accept

log = structlog.get_logger(__name__)

RETRY_SECONDS = 5.0


def add_commands(commands: Any) -> None:
    telegram = commands.add_parser("telegram", help="a merchant's Telegram bot")
    sub = telegram.add_subparsers(dest="action", required=True)
    set_bot = sub.add_parser("set-bot", help="connect the merchant's bot (token from @BotFather)")
    set_bot.add_argument("--merchant", type=int, required=True)
    set_bot.add_argument("--token", required=True)
    hook = sub.add_parser("webhook", help="register the bot's webhook (setWebhook)")
    hook.add_argument("--merchant", type=int, required=True)
    hook.add_argument("--url", help="the service's public HTTPS base (default LOYALTY_PUBLIC_URL)")
    poll = sub.add_parser("poll", help="run the bot by getUpdates (no public HTTPS needed)")
    poll.add_argument("--merchant", type=int, required=True)
    remove = sub.add_parser("remove", help="disconnect the bot; chats are unlinked")
    remove.add_argument("--merchant", type=int, required=True)
    telegram.set_defaults(run=run)


async def _with_deps(settings: Settings, work: Callable[[Deps], Awaitable[str]]) -> str:
    await migrate.upgrade_async(settings.database_url)
    db = await open_database(settings.database_url)
    deps = Deps.build(settings, db)
    try:
        return await work(deps)
    finally:
        await close_providers(deps.telegram)
        await db.close()


async def _bot(deps: Deps, merchant_id: int) -> bots.Bot:
    bot = await bots.bot_of_merchant(deps, merchant_id)
    if bot is None:
        raise bots.not_set()
    return bot


async def poll(deps: Deps, bot: bots.Bot, stop: asyncio.Event) -> None:
    """Long-poll ``getUpdates``; an update is confirmed (the offset moves past it) only
    once handled, so a failure gets it again on the next call."""
    api = bots.deps_bots(deps).api(bot.token)
    await api.delete_webhook()  # getUpdates refuses to run while a webhook is set
    offset: int | None = None
    while not stop.is_set():
        try:
            updates = await api.get_updates(offset, deps.settings.telegram_poll_seconds)
            for update in updates:
                await accept(deps, bot, update)
                offset = int(update["update_id"]) + 1
        except Exception as exc:  # Telegram, the network or the database: try again
            log.warning("telegram.poll_failed", merchant=bot.merchant_id, error=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RETRY_SECONDS)


def run(settings: Settings, args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    async def set_bot(deps: Deps) -> str:
        bot = await bots.set_bot(deps, args.merchant, args.token)
        line = f"Merchant #{args.merchant}: bot @{bot.username} (id {bot.bot_id}) connected"
        if settings.public_url:
            url = await bots.register_webhook(deps, bot, settings.public_url)
            line += f"; webhook {url}"
        return line

    async def webhook(deps: Deps) -> str:
        base = args.url or settings.public_url
        if not base:
            raise DomainError("public_url_required", "Укажите --url или LOYALTY_PUBLIC_URL")
        url = await bots.register_webhook(deps, await _bot(deps, args.merchant), base)
        return f"Webhook registered: {url}"

    async def poll_forever(deps: Deps) -> str:
        bot = await _bot(deps, args.merchant)
        print(f"Polling @{bot.username} for merchant #{args.merchant} (Ctrl-C stops)", flush=True)
        await poll(deps, bot, asyncio.Event())
        return "stopped"

    async def remove(deps: Deps) -> str:
        await bots.remove_bot(deps, args.merchant)
        return f"Merchant #{args.merchant}: bot disconnected, chats unlinked"

    work = {"set-bot": set_bot, "webhook": webhook, "poll": poll_forever, "remove": remove}
    try:
        with contextlib.suppress(KeyboardInterrupt):
            print(asyncio.run(_with_deps(settings, work[args.action])))
    except DomainError as exc:
        parser.exit(1, f"loyalty: {exc.message}\n")
