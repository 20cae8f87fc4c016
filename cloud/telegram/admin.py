"""The merchant's bot over the API (merchant key; setting and removing it is the
owner's, as the keys are): ``/api/v1/merchant/telegram-bot``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from cloud.api.keys import MERCHANT, deps_of
from cloud.api.openapi import Operation
from cloud.api.wire import json_response, read_model
from cloud.services.admin.keys import require_owner
from cloud.services.deps import Deps
from cloud.telegram import bots
from schemas import telegram as wire

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PATH = "/api/v1/merchant/telegram-bot"


async def _info(deps: Deps, bot: bots.Bot, registered: bool) -> wire.TelegramBotInfo:
    linked = await deps.db.fetch_value(
        "SELECT COUNT(*) FROM customers WHERE merchant_id = :m AND telegram_chat_id IS NOT NULL",
        {"m": bot.merchant_id},
    )
    base = deps.settings.public_url
    return wire.TelegramBotInfo(
        bot_id=bot.bot_id, username=bot.username, link=f"https://t.me/{bot.username}",
        webhook_url=bots.webhook_url(base, bot.bot_id) if base else None,
        webhook_registered=registered, linked_customers=int(linked or 0),
    )  # fmt: skip


async def get_bot(request: web.Request) -> web.Response:
    deps = deps_of(request)
    bot = await bots.bot_of_merchant(deps, request[MERCHANT].merchant_id)
    if bot is None:
        raise bots.not_set()
    return json_response(await _info(deps, bot, False))


async def put_bot(request: web.Request) -> web.Response:
    merchant = request[MERCHANT]
    require_owner(merchant)
    body = await read_model(request, wire.TelegramBotSet)
    deps = deps_of(request)
    bot = await bots.set_bot(deps, merchant.merchant_id, body.token)
    registered = False
    if deps.settings.public_url:
        await bots.register_webhook(deps, bot, deps.settings.public_url)
        registered = True
    return json_response(await _info(deps, bot, registered))


async def delete_bot(request: web.Request) -> web.Response:
    merchant = request[MERCHANT]
    require_owner(merchant)
    await bots.remove_bot(deps_of(request), merchant.merchant_id)
    return json_response(wire.TelegramBotRemoved(removed=True))


ROUTES: list[tuple[Operation, Handler]] = [
    (Operation("get", PATH, "Бот Telegram компании", None, wire.TelegramBotInfo), get_bot),
    (Operation("put", PATH, "Подключить бота Telegram компании (только владелец): токен "
               "проверяется в Telegram, вебхук регистрируется при заданном публичном адресе",
               wire.TelegramBotSet, wire.TelegramBotInfo), put_bot),
    (Operation("delete", PATH, "Отключить бота Telegram (только владелец): чаты клиентов "
               "отвязываются", None, wire.TelegramBotRemoved), delete_bot),
]  # fmt: skip
