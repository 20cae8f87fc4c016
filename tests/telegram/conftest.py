"""A local fake of the Telegram Bot API (an aiohttp server that records every call) and
helpers that post updates to our webhook the way Telegram does."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from cloud.api.app import create_app
from cloud.services.deps import Deps
from cloud.telegram import bots
from cloud.telegram.bots import TelegramBots

TOKEN_A = "1111111:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
TOKEN_B = "2222222:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
USERNAMES = {1111111: "demo_shop_bot", 2222222: "other_shop_bot"}


@dataclass
class Call:
    token: str
    method: str
    payload: dict[str, Any]
    photo: bytes | None = None


@dataclass
class FakeTelegram:
    url: str = ""
    calls: list[Call] = field(default_factory=list)
    blocked: set[int] = field(default_factory=set)
    """Chats whose user blocked the bot: sending there answers 403."""
    updates: list[dict[str, Any]] = field(default_factory=list)
    ids: Any = field(default_factory=lambda: itertools.count(100))

    def sent(self, method: str = "sendMessage", chat: int | None = None) -> list[Call]:
        return [c for c in self.calls if c.method == method
                and (chat is None or int(c.payload.get("chat_id", 0)) == chat)]  # fmt: skip

    def last_text(self, chat: int) -> str:
        return str(self.sent(chat=chat)[-1].payload["text"])

    async def handle(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        photo = None
        if request.content_type == "multipart/form-data":
            payload: dict[str, Any] = {}
            async for part in await request.multipart():
                if part.name == "photo":
                    photo = await part.read()  # type: ignore[union-attr]
                else:
                    payload[str(part.name)] = await part.text()  # type: ignore[union-attr]
        else:
            payload = await request.json() if request.can_read_body else {}
        self.calls.append(Call(token, method, payload, photo))
        bot_id = int(token.split(":")[0])
        if bot_id not in USERNAMES:
            return web.json_response({"ok": False, "error_code": 401,
                                      "description": "Unauthorized"}, status=401)  # fmt: skip
        if method == "getMe":
            return _ok({"id": bot_id, "is_bot": True, "username": USERNAMES[bot_id]})
        if method in ("sendMessage", "sendPhoto"):
            if int(payload["chat_id"]) in self.blocked:
                refusal = {"ok": False, "error_code": 403,
                           "description": "Forbidden: bot was blocked by the user"}  # fmt: skip
                return web.json_response(refusal, status=403)
            return _ok({"message_id": next(self.ids)})
        if method == "getUpdates":
            batch, self.updates = self.updates, []
            return _ok(batch)
        return _ok(True)


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


@pytest.fixture
async def telegram(aiohttp_server: Any, deps: Deps) -> Any:
    fake = FakeTelegram()
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", fake.handle)
    server = await aiohttp_server(app)
    fake.url = str(server.make_url("")).rstrip("/")
    deps.telegram = TelegramBots(url=fake.url)
    yield fake
    await deps.telegram.http().aclose()


@pytest.fixture
async def hook(aiohttp_client: Any, deps: Deps, telegram: FakeTelegram) -> TestClient:
    client: TestClient = await aiohttp_client(create_app(deps.settings, deps=deps))
    return client


async def connect(deps: Deps, merchant_id: int, token: str = TOKEN_A) -> bots.Bot:
    return await bots.set_bot(deps, merchant_id, token)


_update_ids = itertools.count(1)


def message(chat: int, text: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "message_id": 1, "date": 0, "chat": {"id": chat, "type": "private"},
        "from": {"id": chat, "is_bot": False, "first_name": "Анна"},
    }  # fmt: skip
    if text is not None:
        body["text"] = text
    body.update(extra)
    return {"update_id": next(_update_ids), "message": body}


def contact(chat: int, phone: str, user_id: int | None = None) -> dict[str, Any]:
    return message(chat, contact={"phone_number": phone, "first_name": "Анна",
                                  "user_id": chat if user_id is None else user_id})  # fmt: skip


async def post(
    hook: TestClient, deps: Deps, bot: bots.Bot, update: dict[str, Any] | bytes,
    secret: str | None = None,
) -> int:  # fmt: skip
    """Post an update as Telegram does; returns the status."""
    headers = {"X-Telegram-Bot-Api-Secret-Token":
               secret or bots.webhook_secret(deps.settings.secret_key, bot.bot_id),
               "Content-Type": "application/json"}  # fmt: skip
    body = update if isinstance(update, bytes) else json.dumps(update).encode()
    response = await hook.post(f"/telegram/{bot.bot_id}", data=body, headers=headers)
    return response.status


async def say(hook: TestClient, deps: Deps, bot: bots.Bot, chat: int, *texts: str) -> None:
    for text in texts:
        assert await post(hook, deps, bot, message(chat, text)) == 200
