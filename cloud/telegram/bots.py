"""Each merchant's own bot: its token (encrypted, the merchant bound as associated data),
its webhook address and secret, and the providers the outbox sends through.

One bot per merchant, set by the merchant (API or ``loyalty telegram set-bot``): the
customer talks to the shop's brand, and a bot only ever sees its merchant's customers —
the webhook names the bot, the bot names the merchant. A chat linked through one bot
cannot be written to by another, so replacing the bot by a different one (or removing
it) unlinks the merchant's chats; re-entering the same bot's new token keeps them.

The webhook secret (Telegram's ``X-Telegram-Bot-Api-Secret-Token``) is derived from the
service's secret key and the bot id, so nothing more is stored; a new secret key needs
``loyalty telegram webhook`` again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass, field

import httpx
import structlog

from cloud.clock import to_epoch
from cloud.db.database import Transaction
from cloud.errors import BadRequest, Conflict, NotFound, Unavailable, Unprocessable
from cloud.messages.providers import TelegramProvider
from cloud.services.deps import Deps
from cloud.telegram.api import BotApi, BotApiError

log = structlog.get_logger(__name__)

_TOKEN = re.compile(r"^([0-9]{1,19}):[A-Za-z0-9_-]{20,100}$")
WEBHOOK_PREFIX = "/telegram/"


@dataclass(frozen=True, slots=True)
class Bot:
    merchant_id: int
    bot_id: int
    username: str
    token: str


@dataclass
class TelegramBots:
    """``deps.telegram``: one HTTP pool for every merchant's bot."""

    url: str = "https://api.telegram.org"
    client: httpx.AsyncClient | None = None
    _providers: dict[tuple[int, str], TelegramProvider] = field(default_factory=dict)

    def http(self) -> httpx.AsyncClient:
        if self.client is None:
            self.client = httpx.AsyncClient(limits=httpx.Limits(max_connections=100))
        return self.client

    def api(self, token: str) -> BotApi:
        return BotApi(token, self.http(), self.url)

    def provider(self, deps: Deps, merchant_id: int, token_enc: bytes) -> TelegramProvider:
        """The outbox's provider for this merchant's bot; a 403 unlinks the chat."""
        token = deps.cipher.decrypt(merchant_id, token_enc)
        key = (merchant_id, token)
        found = self._providers.get(key)
        if found is None:

            async def blocked(recipient: str) -> None:
                await unlink_chat(deps, merchant_id, int(recipient))

            found = TelegramProvider(token, self.http(), self.url, on_blocked=blocked)
            self._providers[key] = found
        return found


def bot_id_of(token: str) -> int:
    match = _TOKEN.match(token.strip())
    if match is None:
        raise BadRequest(
            "telegram_token_malformed", "Токен бота имеет вид «123456789:AA…» (из @BotFather)"
        )
    return int(match.group(1))


def webhook_secret(secret_key: str, bot_id: int) -> str:
    mac = hmac.new(secret_key.encode(), f"telegram-webhook:{bot_id}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def webhook_url(base: str, bot_id: int) -> str:
    return f"{base.rstrip('/')}{WEBHOOK_PREFIX}{bot_id}"


async def _load(deps: Deps, where: str, value: int) -> Bot | None:
    row = await deps.db.fetch_one(
        f"SELECT merchant_id, bot_id, username, token_enc FROM telegram_bots WHERE {where} = :v",
        {"v": value},
    )
    if row is None:
        return None
    merchant_id = int(row["merchant_id"])
    token = deps.cipher.decrypt(merchant_id, bytes(row["token_enc"]))
    return Bot(merchant_id, int(row["bot_id"]), str(row["username"]), token)


async def bot_of_merchant(deps: Deps, merchant_id: int) -> Bot | None:
    return await _load(deps, "merchant_id", merchant_id)


async def bot_by_id(deps: Deps, bot_id: int) -> Bot | None:
    return await _load(deps, "bot_id", bot_id)


def not_set() -> NotFound:
    return NotFound("telegram_bot_not_set", "У компании нет бота Telegram")


async def set_bot(deps: Deps, merchant_id: int, token: str) -> Bot:
    """Check the token with ``getMe`` and keep it as the merchant's bot."""
    token = token.strip()
    bot_id = bot_id_of(token)
    try:
        me = await deps_bots(deps).api(token).get_me()
    except BotApiError as exc:
        if exc.code in (401, 404):
            raise Unprocessable(
                "telegram_token_invalid", "Telegram не принял токен бота: проверьте его"
            ) from exc
        raise _unavailable() from exc
    except httpx.HTTPError as exc:
        raise _unavailable() from exc
    if int(me.get("id") or 0) != bot_id or not me.get("is_bot"):
        raise Unprocessable(
            "telegram_token_invalid", "Telegram не принял токен бота: проверьте его"
        )
    username = str(me.get("username") or "")[:64]
    now = to_epoch(deps.clock())
    async with deps.db.transaction() as tx:
        owner = await tx.fetch_value(
            "SELECT merchant_id FROM telegram_bots WHERE bot_id = :b", {"b": bot_id}
        )
        if owner is not None and int(owner) != merchant_id:
            raise Conflict("telegram_bot_taken", "Этот бот уже подключён к другой компании")
        previous = await tx.fetch_value(
            "SELECT bot_id FROM telegram_bots WHERE merchant_id = :m", {"m": merchant_id}
        )
        params = {"m": merchant_id, "b": bot_id, "u": username, "now": now,
                  "t": deps.cipher.encrypt(merchant_id, token)}  # fmt: skip
        if previous is None:
            await tx.execute(
                "INSERT INTO telegram_bots (merchant_id, bot_id, username, token_enc, "
                "created_at, updated_at) VALUES (:m, :b, :u, :t, :now, :now)",
                params,
            )
        else:
            if int(previous) != bot_id:
                await _unlink_all(tx, merchant_id)
            await tx.execute(
                "UPDATE telegram_bots SET bot_id = :b, username = :u, token_enc = :t, "
                "updated_at = :now WHERE merchant_id = :m",
                params,
            )
    log.info("telegram.bot_set", merchant=merchant_id, bot=bot_id)
    return Bot(merchant_id, bot_id, username, token)


async def register_webhook(deps: Deps, bot: Bot, base_url: str) -> str:
    """``setWebhook`` with the bot's secret; returns the address given to Telegram."""
    url = webhook_url(base_url, bot.bot_id)
    try:
        await (
            deps_bots(deps)
            .api(bot.token)
            .set_webhook(url, webhook_secret(deps.settings.secret_key, bot.bot_id))
        )
    except (BotApiError, httpx.HTTPError) as exc:
        raise _unavailable() from exc
    return url


async def remove_bot(deps: Deps, merchant_id: int) -> None:
    bot = await bot_of_merchant(deps, merchant_id)
    if bot is None:
        raise not_set()
    try:
        await deps_bots(deps).api(bot.token).delete_webhook()
    except (BotApiError, httpx.HTTPError) as exc:
        # The token may be revoked already: the bot goes all the same.
        log.warning("telegram.delete_webhook_failed", merchant=merchant_id, error=str(exc))
    async with deps.db.transaction() as tx:
        await _unlink_all(tx, merchant_id)
        await tx.execute("DELETE FROM telegram_bots WHERE merchant_id = :m", {"m": merchant_id})


async def _unlink_all(tx: Transaction, merchant_id: int) -> None:
    await tx.execute(
        "UPDATE customers SET telegram_chat_id = NULL WHERE merchant_id = :m "
        "AND telegram_chat_id IS NOT NULL",
        {"m": merchant_id},
    )
    await tx.execute("DELETE FROM telegram_chats WHERE merchant_id = :m", {"m": merchant_id})


async def unlink_chat(deps: Deps, merchant_id: int, chat_id: int) -> None:
    """The user blocked the bot: their messages go by SMS again, the dialogue is over."""
    async with deps.db.transaction() as tx:
        await tx.execute(
            "UPDATE customers SET telegram_chat_id = NULL WHERE merchant_id = :m "
            "AND telegram_chat_id = :chat",
            {"m": merchant_id, "chat": chat_id},
        )
        await tx.execute(
            "DELETE FROM telegram_chats WHERE merchant_id = :m AND chat_id = :chat",
            {"m": merchant_id, "chat": chat_id},
        )
    log.info("telegram.unlinked", merchant=merchant_id)


def deps_bots(deps: Deps) -> TelegramBots:
    assert isinstance(deps.telegram, TelegramBots)
    return deps.telegram


def _unavailable() -> Unavailable:
    return Unavailable("telegram_unavailable", "Telegram не ответил, повторите позже")
