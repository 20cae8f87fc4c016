"""A receipt's QR code sent to the bot: a linked customer pastes the code's text (the
phone camera shows it) and hears whether the bonuses were accrued, wait for the tax
service, or why not. The claim is the self-service page's (``cloud.fiscal.claims``),
under the bot's merchant."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloud.fiscal import claims

if TYPE_CHECKING:
    from cloud.telegram.dialogue import Chat

_PREFIX = {"accrued": "✅ ", "pending": "⏳ ", "refused": "❌ "}


def looks_like_fiscal_qr(text: str) -> bool:
    """The code's text, not a command nor a comment: it names a drive and a sign."""
    lowered = text.lower()
    return "fn=" in lowered and "fp=" in lowered


async def claim_in_chat(chat: Chat, customer_id: int, text: str) -> None:
    from cloud.telegram import views as v

    result = await claims.claim(chat.deps, chat.merchant_id, customer_id, text, "telegram")
    await chat.say(_PREFIX[result.status] + result.message, v.MENU)
