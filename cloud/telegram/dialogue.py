"""The bot's dialogue with one customer, update by update.

/start (with an optional deep-link payload: a friend's referral code, or ``c_<campaign>``)
asks for the phone by a ``request_contact`` button. Only the user's own contact counts
(``contact.user_id == from.id``: a number Telegram verified, so no SMS code is needed).
A phone the merchant knows links the chat to that customer; a new one is registered
after the two consents the self-registration pages ask, with the same texts and
versions (personal data required, messages optional), as a self-registration (the
program's welcome gift on self-registration applies) with acquisition channel
``telegram``. Then «Карта», «Баланс», «История», «Отзыв» and «Отписаться» / «СТОП»,
and a receipt's QR code text for its bonuses (``cloud.telegram.fiscal``).

Every query is by the bot's merchant: a bot never reaches another merchant's customers.
Where a chat stands between two messages (the consents, a rating) is kept in
``telegram_chats``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import structlog

from cloud.clock import to_epoch
from cloud.errors import DomainError
from cloud.phones import normalize_phone
from cloud.selfservice import links
from cloud.services import customers, feedback
from cloud.services.deps import Deps
from cloud.telegram import views as v
from cloud.telegram.api import BotApi, BotApiError
from cloud.telegram.bots import Bot, deps_bots, unlink_chat
from cloud.telegram.fiscal import claim_in_chat, claim_photo_in_chat, looks_like_fiscal_qr
from schemas.customers import RegisterCustomer

log = structlog.get_logger(__name__)

_REFERRER_ERRORS = {"referrer_not_found", "self_referral"}
_COMMANDS = {
    v.CARD: "card", "/card": "card", v.BALANCE: "balance", "/balance": "balance",
    v.HISTORY: "history", "/history": "history", v.FEEDBACK: "feedback",
    "/feedback": "feedback", v.STOP: "stop", "/stop": "stop", "стоп": "stop",
}  # fmt: skip


@dataclass
class Chat:
    deps: Deps
    bot: Bot
    api: BotApi
    chat_id: int
    state: str = "idle"
    data: dict[str, Any] | None = None
    phone_enc: bytes | None = None

    @property
    def merchant_id(self) -> int:
        return self.bot.merchant_id

    async def say(self, text: str, keyboard: dict[str, Any] | None = None) -> None:
        """Reply; a refusal by Telegram is logged, not raised (the update is handled
        all the same), and a 403 (the user blocked the bot) unlinks the chat."""
        try:
            await self.api.send_message(self.chat_id, text, keyboard)
        except BotApiError as exc:
            await self._refused(exc)
        except httpx.HTTPError as exc:
            log.warning("telegram.reply_failed", merchant=self.merchant_id, error=str(exc))

    async def photo(self, png: bytes, caption: str) -> None:
        try:
            await self.api.send_photo(self.chat_id, png, caption, v.MENU)
        except BotApiError as exc:
            await self._refused(exc)
        except httpx.HTTPError as exc:
            log.warning("telegram.reply_failed", merchant=self.merchant_id, error=str(exc))

    async def _refused(self, exc: BotApiError) -> None:
        log.warning("telegram.reply_refused", merchant=self.merchant_id, error=str(exc))
        if exc.code == 403:
            await unlink_chat(self.deps, self.merchant_id, self.chat_id)

    async def save(self, state: str, data: dict[str, Any] | None = None,
                   phone_enc: bytes | None = None) -> None:  # fmt: skip
        params = {"m": self.merchant_id, "chat": self.chat_id, "state": state,
                  "data": json.dumps(data or {}), "phone": phone_enc,
                  "now": to_epoch(self.deps.clock())}  # fmt: skip
        async with self.deps.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO telegram_chats (merchant_id, chat_id, state, phone_enc, data, "
                "updated_at) VALUES (:m, :chat, :state, :phone, :data, :now) "
                "ON CONFLICT (merchant_id, chat_id) DO UPDATE SET state = :state, "
                "phone_enc = :phone, data = :data, updated_at = :now",
                params,
            )
        self.state, self.data, self.phone_enc = state, data or {}, phone_enc

    async def customer(self) -> int | None:
        found = await self.deps.db.fetch_value(
            "SELECT id FROM customers WHERE merchant_id = :m AND telegram_chat_id = :chat "
            "ORDER BY id LIMIT 1",
            {"m": self.merchant_id, "chat": self.chat_id},
        )
        return None if found is None else int(found)


async def handle_update(deps: Deps, bot: Bot, update: dict[str, Any]) -> None:
    """Handle one update; shapes the bot does not use are ignored."""
    member = update.get("my_chat_member")
    if isinstance(member, dict):
        chat = member.get("chat") or {}
        status = (member.get("new_chat_member") or {}).get("status")
        if chat.get("type") == "private" and status == "kicked" and isinstance(chat.get("id"), int):
            await unlink_chat(deps, bot.merchant_id, int(chat["id"]))
        return
    message = update.get("message")
    if not isinstance(message, dict):
        return
    chat_info, sender = message.get("chat") or {}, message.get("from") or {}
    if chat_info.get("type") != "private" or not isinstance(chat_info.get("id"), int):
        return  # groups and channels are not the customer's card
    chat = Chat(deps, bot, deps_bots(deps).api(bot.token), int(chat_info["id"]))
    row = await deps.db.fetch_one(
        "SELECT state, data, phone_enc FROM telegram_chats WHERE merchant_id = :m "
        "AND chat_id = :chat",
        {"m": bot.merchant_id, "chat": chat.chat_id},
    )
    if row is not None:
        chat.state, chat.data = str(row["state"]), json.loads(row["data"] or "{}")
        chat.phone_enc = None if row["phone_enc"] is None else bytes(row["phone_enc"])
    contact = message.get("contact")
    text = message.get("text")
    if isinstance(contact, dict):
        await _contact(chat, contact, sender)
    elif isinstance(message.get("photo"), list):
        await claim_photo_in_chat(chat, message["photo"])
    elif isinstance(text, str):
        await _text(chat, text.strip()[: feedback.COMMENT_MAX])


async def _merchant_name(chat: Chat) -> str:
    name = await chat.deps.db.fetch_value(
        "SELECT name FROM merchants WHERE id = :m", {"m": chat.merchant_id}
    )
    return str(name)


async def _text(chat: Chat, text: str) -> None:
    if text.startswith("/start"):
        payload = text[len("/start") :].strip()[:64]
        customer_id = await chat.customer()
        await chat.save("idle", {"payload": payload} if payload else {})
        if customer_id is not None:
            await chat.say(f"С возвращением в «{await _merchant_name(chat)}»!", v.MENU)
        else:
            await chat.say(v.ask_contact(await _merchant_name(chat)), v.ASK_CONTACT)
        return
    if chat.state == "consent_pd":
        await _consent_pd(chat, text)
        return
    if chat.state == "consent_ads":
        await _consent_ads(chat, text)
        return
    customer_id = await chat.customer()
    if customer_id is None:
        await chat.say(v.ask_contact(await _merchant_name(chat)), v.ASK_CONTACT)
        return
    if looks_like_fiscal_qr(text):
        if chat.state != "idle":
            await chat.save("idle")
        await claim_in_chat(chat, customer_id, text)
        return
    command = _COMMANDS.get(text) or _COMMANDS.get(text.lower())
    if command is None and chat.state in ("rating", "comment"):
        await _feedback_step(chat, customer_id, text)
        return
    if chat.state != "idle":
        await chat.save("idle")
    if command == "card":
        await chat.photo(*await v.card(chat.deps, chat.merchant_id, customer_id))
    elif command == "balance":
        await chat.say(await v.balance(chat.deps, chat.merchant_id, customer_id), v.MENU)
    elif command == "history":
        await chat.say(await v.history(chat.deps, chat.merchant_id, customer_id), v.MENU)
    elif command == "feedback":
        await _feedback_start(chat, customer_id)
    elif command == "stop":
        await _opt_out(chat, customer_id)
    else:
        await chat.say("Выберите, что показать: кнопки внизу.", v.MENU)


# ---- the contact: link or register ---------------------------------------------------


async def _contact(chat: Chat, contact: dict[str, Any], sender: dict[str, Any]) -> None:
    user_id = contact.get("user_id")
    if user_id is None or user_id != sender.get("id"):
        await chat.say(
            "Нужен ваш собственный номер: нажмите кнопку «Поделиться номером» ниже.",
            v.ASK_CONTACT,
        )
        return
    try:
        phone = normalize_phone(str(contact.get("phone_number") or ""))
    except DomainError:
        await chat.say("Не удалось разобрать номер телефона.", v.ASK_CONTACT)
        return
    deps = chat.deps
    customer_id = await customers.find_customer(deps, chat.merchant_id, phone=phone)
    if customer_id is not None:
        await _link(chat, customer_id)
        await chat.save("idle")
        await chat.say(
            f"Карта найдена и привязана к этому чату, {customers.mask_phone(phone)}.\n"
            "Выберите, что показать:",
            v.MENU,
        )
        return
    data = dict(chat.data or {})
    await chat.save("consent_pd", data, deps.cipher.encrypt(chat.merchant_id, phone))
    await chat.say(v.ask_personal_data(), v.PD_KEYBOARD)


async def _link(chat: Chat, customer_id: int) -> None:
    """One customer per chat and merchant: a chat that shares another number moves."""
    async with chat.deps.db.transaction() as tx:
        await tx.execute(
            "UPDATE customers SET telegram_chat_id = NULL WHERE merchant_id = :m "
            "AND telegram_chat_id = :chat AND id <> :c",
            {"m": chat.merchant_id, "chat": chat.chat_id, "c": customer_id},
        )
        await tx.execute(
            "UPDATE customers SET telegram_chat_id = :chat WHERE merchant_id = :m AND id = :c",
            {"m": chat.merchant_id, "chat": chat.chat_id, "c": customer_id},
        )


async def _consent_pd(chat: Chat, text: str) -> None:
    if text == v.AGREE:
        await chat.save("consent_ads", chat.data, chat.phone_enc)
        await chat.say(v.ask_messages(), v.ADS_KEYBOARD)
    elif text == v.CANCEL:
        await chat.save("idle")
        await chat.say(
            "Без согласия на обработку персональных данных зарегистрировать карту нельзя. "
            "Если передумаете — поделитесь номером ещё раз.",
            v.ASK_CONTACT,
        )
    else:
        await chat.say(v.ask_personal_data(), v.PD_KEYBOARD)


async def _consent_ads(chat: Chat, text: str) -> None:
    if text not in (v.ADS_YES, v.ADS_NO) or chat.phone_enc is None:
        await chat.say(v.ask_messages(), v.ADS_KEYBOARD)
        return
    deps, merchant_id = chat.deps, chat.merchant_id
    phone = deps.cipher.decrypt(merchant_id, chat.phone_enc)
    payload = str((chat.data or {}).get("payload") or "")
    campaign = payload[2:] if payload.startswith("c_") else None
    referral = payload if payload and campaign is None else None
    fields: dict[str, Any] = {
        "phone": phone,
        "consent": {
            "personal_data": True,
            "personal_data_version": links.CONSENT_PERSONAL_DATA_VERSION,
            "messages": text == v.ADS_YES,
            "messages_version": links.CONSENT_MESSAGES_VERSION,
        },
        "acquisition_channel": "telegram",
        "campaign": campaign or None,
        "referrer": {"code": referral} if referral else None,
    }
    try:
        customer_id = await _register(deps, merchant_id, fields)
    except DomainError as exc:
        if exc.code != "customer_exists":
            await chat.save("idle")
            await chat.say(f"Не удалось зарегистрировать карту: {exc.message}", v.ASK_CONTACT)
            return
        # Registered meanwhile (at a till, say): the number is theirs, link it.
        found = await customers.find_customer(deps, merchant_id, phone=phone)
        assert found is not None
        customer_id = found
    await _link(chat, customer_id)
    await chat.save("idle")
    log.info("telegram.registered", merchant=merchant_id, customer=customer_id)
    await chat.say(
        f"Готово! Вы участник программы «{await _merchant_name(chat)}».\n\n"
        + await v.balance(deps, merchant_id, customer_id),
        v.MENU,
    )


async def _register(deps: Deps, merchant_id: int, fields: dict[str, Any]) -> int:
    for attempt in range(2):
        try:
            return await customers.register_customer(
                deps, merchant_id, RegisterCustomer.model_validate(fields), store_id=None,
                channel="self_service", sms_code=None, phone_proven=True,
            )  # fmt: skip
        except DomainError as exc:
            # A deep link with a code that names nobody (or the newcomer): still welcome.
            if exc.code not in _REFERRER_ERRORS or attempt:
                raise
            fields = {**fields, "referrer": None}
        except ValueError:
            # The payload was no referral code nor campaign the wire accepts.
            if attempt:
                raise
            fields = {**fields, "referrer": None, "campaign": None}
    raise AssertionError("unreachable")


# ---- feedback and opt-out --------------------------------------------------------------


async def _feedback_start(chat: Chat, customer_id: int) -> None:
    deps = chat.deps
    receipt_id = await deps.db.fetch_value(
        "SELECT r.id FROM receipts r WHERE r.merchant_id = :m AND r.customer_id = :c "
        "AND r.kind = 'sale' AND NOT EXISTS (SELECT 1 FROM receipts x WHERE "
        "x.merchant_id = :m AND x.kind = 'refund' AND x.original_receipt_id = r.id) "
        "ORDER BY r.created_at DESC, r.id DESC LIMIT 1",
        {"m": chat.merchant_id, "c": customer_id},
    )
    if receipt_id is None:
        await chat.say("Покупок по карте пока не было — оценивать нечего.", v.MENU)
        return
    page = await feedback.page(deps, feedback.token_for(deps.settings.secret_key, int(receipt_id)))
    assert page is not None
    if page.rating is not None:
        await chat.say(f"Вы уже оценили последнюю покупку на {page.rating} из 5. Спасибо!", v.MENU)
        return
    await chat.save("rating", {"receipt": int(receipt_id)})
    await chat.say(v.feedback_question(page), v.RATING_KEYBOARD)


async def _feedback_step(chat: Chat, customer_id: int, text: str) -> None:
    data = dict(chat.data or {})
    if text == v.CANCEL:
        await chat.save("idle")
        await chat.say("Хорошо, без отзыва.", v.MENU)
        return
    if chat.state == "rating":
        if text not in ("1", "2", "3", "4", "5"):
            await chat.say("Выберите оценку от 1 до 5 кнопками ниже.", v.RATING_KEYBOARD)
            return
        await chat.save("comment", {**data, "rating": int(text)})
        await chat.say("Напишите пару слов о покупке или нажмите «Без комментария».",
                       v.COMMENT_KEYBOARD)  # fmt: skip
        return
    deps, receipt_id = chat.deps, int(data["receipt"])
    comment = None if text == v.NO_COMMENT else text
    fresh = await feedback.submit(deps, receipt_id, int(data["rating"]), comment)
    await chat.save("idle")
    if not fresh:
        await chat.say("Эта покупка уже оценена. Спасибо!", v.MENU)
        return
    page = await feedback.page(deps, feedback.token_for(deps.settings.secret_key, receipt_id))
    thanks = "Спасибо за отзыв!"
    if page is not None and page.gifted:
        thanks += f" Начислено {v.amount(page.gifted)} бонусов."
    await chat.say(thanks, v.MENU)


async def _opt_out(chat: Chat, customer_id: int) -> None:
    """At once: the outbox checks the flag when it sends (as the «СТОП» link does)."""
    async with chat.deps.db.transaction() as tx:
        await tx.execute(
            "UPDATE customers SET messages_opt_out_at = :now WHERE merchant_id = :m "
            "AND id = :c AND messages_opt_out_at IS NULL",
            {"now": to_epoch(chat.deps.clock()), "m": chat.merchant_id, "c": customer_id},
        )
    await chat.say(
        "Вы отписались от сообщений программы. Карта, баланс и история здесь остаются.",
        v.MENU,
    )
