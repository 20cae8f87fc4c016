"""What the bot shows: the texts (Russian), the keyboards and the card's QR code.

Amounts are read through the customer services (``customer_profile``,
``customer_history``, ``cloud.ledger.balance``); days and times are the store's local
ones (the store the customer registered at, else the merchant's zone)."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import segno

from cloud.selfservice import links
from cloud.services import customers
from cloud.services.customer_card import lapsing_soon
from cloud.services.deps import Deps
from cloud.services.merchants import zone
from cloud.telegram.api import contact_keyboard, reply_keyboard
from schemas.money import to_roubles

CARD, BALANCE, HISTORY, FEEDBACK, STOP = "Карта", "Баланс", "История", "Отзыв", "Отписаться"
AGREE, CANCEL = "Согласен", "Отмена"
ADS_YES, ADS_NO = "Да, согласен", "Нет"
NO_COMMENT = "Без комментария"
SHARE_PHONE = "📱 Поделиться номером"
"""How far ahead «Баланс» warns about bonuses that will lapse."""
HISTORY_ROWS = 10

MENU = reply_keyboard([[CARD, BALANCE], [HISTORY, FEEDBACK], [STOP]])
ASK_CONTACT = contact_keyboard(SHARE_PHONE)
PD_KEYBOARD = reply_keyboard([[AGREE], [CANCEL]])
ADS_KEYBOARD = reply_keyboard([[ADS_YES], [ADS_NO]])
RATING_KEYBOARD = reply_keyboard([["1", "2", "3", "4", "5"], [CANCEL]])
COMMENT_KEYBOARD = reply_keyboard([[NO_COMMENT], [CANCEL]])

_KINDS = {
    "accrue": "начислено", "redeem": "списано в оплату",
    "return": "возвращено при возврате покупки", "reverse": "отменено при возврате покупки",
    "expire": "сгорело", "referral": "за приглашённого друга",
}  # fmt: skip


def amount(kopecks: int) -> str:
    """``15050`` -> ``150,50``; ``15000`` -> ``150``."""
    text = f"{to_roubles(kopecks):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",")


def ask_contact(merchant: str) -> str:
    return (
        f"Здравствуйте! Это бот программы лояльности «{merchant}».\n"
        "Чтобы показать вашу карту и бонусы, поделитесь своим номером телефона "
        "кнопкой ниже."
    )


def ask_personal_data() -> str:
    return (
        "Номер пока не зарегистрирован в программе. Для регистрации нужно ваше согласие:\n\n"
        f"{links.CONSENT_PERSONAL_DATA_TEXT}\n\nНажмите «{AGREE}», чтобы продолжить."
    )


def ask_messages() -> str:
    return (
        f"{links.CONSENT_MESSAGES_TEXT}\n\nСогласны получать сообщения? Это необязательно: "
        "карта и бонусы будут и без этого."
    )


async def customer_zone(deps: Deps, merchant_id: int, customer_id: int) -> ZoneInfo:
    name = await deps.db.fetch_value(
        "SELECT COALESCE(s.timezone, m.timezone) FROM customers c "
        "JOIN merchants m ON m.id = c.merchant_id "
        "LEFT JOIN stores s ON s.id = c.registered_store_id AND s.merchant_id = c.merchant_id "
        "WHERE c.merchant_id = :m AND c.id = :c",
        {"m": merchant_id, "c": customer_id},
    )
    return zone(str(name))


def card_png(number: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(number, error="m").save(buffer, kind="png", scale=10, border=4)
    return buffer.getvalue()


async def card(deps: Deps, merchant_id: int, customer_id: int) -> tuple[bytes, str]:
    """The QR code of the customer's virtual card (the number any till accepts) and
    its caption."""
    profile = await customers.customer_profile(deps, merchant_id, customer_id)
    number = next((c.number for c in profile.cards if c.kind == "virtual"), profile.phone)
    caption = f"Ваша карта: {number}\nПокажите QR-код на кассе или назовите номер."
    return card_png(number), caption


async def balance(deps: Deps, merchant_id: int, customer_id: int) -> str:
    profile = await customers.customer_profile(deps, merchant_id, customer_id)
    tz = await customer_zone(deps, merchant_id, customer_id)
    lines = [f"Доступно бонусов: {amount(profile.balance.available)}"]
    if profile.balance.pending:
        lines.append(f"Ожидают начисления: {amount(profile.balance.pending)}")
    if profile.tier_name:
        lines.append(f"Уровень: {profile.tier_name}")
    lapsing = await lapsing_soon(deps, customer_id, tz)
    if lapsing:
        lines.append("")
        lines.append("Скоро сгорят:")
        lines.extend(
            f"• {amount(lapse.amount)} — после {lapse.last_day:%d.%m.%Y}" for lapse in lapsing
        )
    return "\n".join(lines)


async def history(deps: Deps, merchant_id: int, customer_id: int) -> str:
    page = await customers.customer_history(deps, merchant_id, customer_id, limit=HISTORY_ROWS)
    if not page.entries:
        return "Операций по карте пока не было."
    tz = await customer_zone(deps, merchant_id, customer_id)
    lines = ["Последние операции:"]
    for entry in page.entries:
        when = datetime.fromtimestamp(entry.created_at, tz).strftime("%d.%m.%Y %H:%M")
        sign = "+" if entry.amount > 0 else "−"
        label = _KINDS.get(entry.kind, "начислено" if entry.amount > 0 else "списано")
        lines.append(f"{when}  {sign}{amount(abs(entry.amount))}  {label}")
    return "\n".join(lines)


def feedback_question(page: Any) -> str:
    store = f" в «{page.store}»" if page.store else ""
    day = datetime.strptime(page.purchased_on, "%Y-%m-%d").strftime("%d.%m.%Y")
    text = f"Оцените покупку от {day} на {amount(page.amount)} ₽{store}: от 1 до 5."
    if page.gift:
        text += f"\nЗа отзыв — {amount(page.gift)} бонусов."
    return text
