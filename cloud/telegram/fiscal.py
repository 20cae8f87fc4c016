"""A receipt's QR code sent to the bot: a linked customer pastes the code's text (the
phone camera shows it) or sends a photo of it (decoded on the server), and hears whether
the bonuses were accrued, wait for the tax service, or why not. The claim is the
self-service page's (``cloud.fiscal.claims``), under the bot's merchant."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import structlog

from cloud.errors import DomainError
from cloud.fiscal import claims
from cloud.fiscal.photo import MAX_PHOTO_BYTES, decode_qr
from cloud.telegram.api import BotApiError

if TYPE_CHECKING:
    from cloud.telegram.dialogue import Chat

log = structlog.get_logger(__name__)

_PREFIX = {"accrued": "✅ ", "pending": "⏳ ", "refused": "❌ "}


def looks_like_fiscal_qr(text: str) -> bool:
    """The code's text, not a command nor a comment: it names a drive and a sign."""
    lowered = text.lower()
    return "fn=" in lowered and "fp=" in lowered


async def claim_in_chat(chat: Chat, customer_id: int, text: str) -> None:
    from cloud.telegram import views as v

    result = await claims.claim(chat.deps, chat.merchant_id, customer_id, text, "telegram")
    await chat.say(_PREFIX[result.status] + result.message, v.MENU)


async def claim_photo_in_chat(chat: Chat, sizes: list[Any]) -> None:
    """The largest size of the photo Telegram offers within the limit, decoded."""
    from cloud.telegram import views as v

    customer_id = await chat.customer()
    if customer_id is None:
        await chat.say(v.ask_contact(await _merchant_name(chat)), v.ASK_CONTACT)
        return
    fitting = [
        size for size in sizes
        if isinstance(size, dict) and isinstance(size.get("file_id"), str)
        and int(size.get("file_size") or 0) <= MAX_PHOTO_BYTES
    ]  # fmt: skip
    if not fitting:
        await chat.say("Фото слишком большое: снимите QR-код чека крупнее.", v.MENU)
        return
    best = max(fitting, key=lambda size: int(size.get("width") or 0) * int(size.get("height") or 0))
    try:
        photo = await chat.api.download(str(best["file_id"]), MAX_PHOTO_BYTES)
        text = await decode_qr(photo)
    except (BotApiError, httpx.HTTPError) as exc:
        log.warning("telegram.photo_failed", merchant=chat.merchant_id, error=str(exc))
        await chat.say("Не удалось получить фото, пришлите его ещё раз.", v.MENU)
        return
    except DomainError as exc:
        await chat.say(exc.message, v.MENU)
        return
    await claim_in_chat(chat, customer_id, text)


async def _merchant_name(chat: Chat) -> str:
    name = await chat.deps.db.fetch_value(
        "SELECT name FROM merchants WHERE id = :m", {"m": chat.merchant_id}
    )
    return str(name)
