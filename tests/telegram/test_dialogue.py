"""The bot's dialogue against a local fake Telegram Bot API: registration by the user's
own contact with both consents, linking a known phone, the card, balance, history,
feedback and opt-out."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient

from cloud.clock import ManualClock, to_epoch
from cloud.ledger.lots import accrue
from cloud.selfservice import links
from cloud.services import customers
from cloud.services.deps import Deps
from cloud.telegram.views import card_png
from tests.conftest import FIXTURES, Tenant, make_tenant
from tests.feedback.test_feedback import PROGRAM as REVIEW_PROGRAM
from tests.services.test_lifecycle_jobs import _register
from tests.services.test_tier_job import _buy
from tests.telegram.conftest import FakeTelegram, connect, contact, message, post, say

CHAT = 5550001
PHONE = "+79161112233"


async def _customer(deps: Deps, merchant_id: int, chat: int) -> dict[str, Any] | None:
    row = await deps.db.fetch_one(
        "SELECT * FROM customers WHERE merchant_id = :m AND telegram_chat_id = :c",
        {"m": merchant_id, "c": chat},
    )
    return None if row is None else dict(row)


async def test_registration_by_own_contact_asks_both_consents_and_gives_the_welcome_gift(
    deps: Deps, hook: TestClient, telegram: FakeTelegram
) -> None:
    """/start with a campaign payload asks for the contact with a request_contact button;
    the user's own contact of a new phone gets the personal-data consent text of the
    self-registration pages, then the messages consent; «Да, согласен» registers the
    customer (self-service, acquisition channel telegram, the campaign, both consents
    with their versions), links the chat, and the program's self-registration welcome
    gift (100, pending until tomorrow) is shown in the welcome message."""
    tenant = await make_tenant(
        deps, "Бешеные тачки", (FIXTURES / "programs" / "13_besheniye_tachki.json").read_text()
    )
    bot = await connect(deps, tenant.merchant_id)
    await say(hook, deps, bot, CHAT, "/start c_autumn")
    ask = telegram.sent(chat=CHAT)[-1].payload
    assert ask["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    assert "Бешеные тачки" in ask["text"]

    assert await post(hook, deps, bot, contact(CHAT, "79161112233")) == 200
    assert links.CONSENT_PERSONAL_DATA_TEXT in telegram.last_text(CHAT)
    assert await _customer(deps, tenant.merchant_id, CHAT) is None
    await say(hook, deps, bot, CHAT, "Согласен")
    assert links.CONSENT_MESSAGES_TEXT in telegram.last_text(CHAT)
    await say(hook, deps, bot, CHAT, "Да, согласен")

    row = await _customer(deps, tenant.merchant_id, CHAT)
    assert row is not None
    assert (row["registration_channel"], row["acquisition_channel"], row["campaign"]) == (
        "self_service", "telegram", "autumn")  # fmt: skip
    assert row["consent_personal_data_version"] == links.CONSENT_PERSONAL_DATA_VERSION
    assert row["consent_messages_version"] == links.CONSENT_MESSAGES_VERSION
    assert row["consent_messages_at"] == to_epoch(deps.clock())
    assert deps.cipher.decrypt(tenant.merchant_id, bytes(row["phone_enc"])) == PHONE
    welcome = telegram.last_text(CHAT)
    assert "Готово" in welcome and "Ожидают начисления: 100" in welcome
    menu = telegram.sent(chat=CHAT)[-1].payload["reply_markup"]["keyboard"]
    assert [b["text"] for b in menu[0]] == ["Карта", "Баланс"]


async def test_declining_messages_registers_without_advertising_consent(
    deps: Deps, demo_tenant: Tenant, hook: TestClient, telegram: FakeTelegram
) -> None:
    """«Нет» to messages still registers the card, with no consent to advertising."""
    bot = await connect(deps, demo_tenant.merchant_id)
    await post(hook, deps, bot, contact(CHAT, PHONE))
    await say(hook, deps, bot, CHAT, "Согласен", "Нет")
    row = await _customer(deps, demo_tenant.merchant_id, CHAT)
    assert row is not None and row["consent_messages_at"] is None
    assert row["consent_personal_data_at"] is not None


async def test_known_phone_is_linked_without_asking_consents_again(
    deps: Deps, demo_tenant: Tenant, hook: TestClient, telegram: FakeTelegram
) -> None:
    """The merchant's existing customer who shares their contact is linked at once."""
    customer = await _register(deps, demo_tenant, PHONE)
    bot = await connect(deps, demo_tenant.merchant_id)
    await post(hook, deps, bot, contact(CHAT, "+7 916 111-22-33"))
    row = await _customer(deps, demo_tenant.merchant_id, CHAT)
    assert row is not None and row["id"] == customer
    assert "привязана" in telegram.last_text(CHAT)
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM customers") == 1


async def test_someone_elses_contact_is_refused(
    deps: Deps, demo_tenant: Tenant, hook: TestClient, telegram: FakeTelegram
) -> None:
    """A forwarded contact (user_id of another person, or none) links nothing."""
    await _register(deps, demo_tenant, PHONE)
    bot = await connect(deps, demo_tenant.merchant_id)
    await post(hook, deps, bot, contact(CHAT, PHONE, user_id=777))
    no_user = contact(CHAT, PHONE)
    del no_user["message"]["contact"]["user_id"]
    await post(hook, deps, bot, no_user)
    assert await _customer(deps, demo_tenant.merchant_id, CHAT) is None
    assert "собственный номер" in telegram.last_text(CHAT)


async def _linked(deps: Deps, tenant: Tenant, hook: TestClient, phone: str = PHONE) -> int:
    customer = await _register(deps, tenant, phone)
    bot = await connect(deps, tenant.merchant_id)
    await post(hook, deps, bot, contact(CHAT, phone))
    return customer


async def test_balance_shows_pending_and_what_lapses_soon_in_the_store_zone(
    deps: Deps, clock: ManualClock, hook: TestClient, telegram: FakeTelegram
) -> None:
    """With a frozen clock: 250,50 available, 40 pending, and of them 30 lapsing at
    Vladivostok midnight of 5 December (last day 04.12) and 20 on 10 December are listed
    by their last local day; a lot lapsing in 60 days is not «soon»."""
    clock.now = datetime(2026, 11, 20, 3, tzinfo=UTC)
    tenant = await make_tenant(deps, "Восток", timezone="Asia/Vladivostok")
    customer = await _linked(deps, tenant, hook)
    now = to_epoch(clock.now)
    midnight_dec5 = to_epoch(datetime(2026, 12, 4, 14, tzinfo=UTC))  # 00:00 +10
    for key, kopecks, start, end in (
        ("a", 20050, now, None), ("b", 3000, now, midnight_dec5),
        ("c", 2000, now, midnight_dec5 + 5 * 86400), ("d", 4000, now + 86400, now + 60 * 86400),
    ):  # fmt: skip
        async with deps.db.transaction() as tx:
            await accrue(tx, merchant_id=tenant.merchant_id, customer_id=customer,
                         kind="purchase", amount=kopecks, available_from=start, expires_at=end,
                         receipt_id=None, key=key, now=now)  # fmt: skip
    bot = await connect(deps, tenant.merchant_id)
    await say(hook, deps, bot, CHAT, "Баланс")
    text = telegram.last_text(CHAT)
    assert "Доступно бонусов: 250,5\n" in text and "Ожидают начисления: 40" in text
    assert "• 30 — после 04.12.2026" in text and "• 20 — после 09.12.2026" in text
    assert text.count("•") == 2


async def test_card_is_a_png_qr_of_the_number_the_tills_accept(
    deps: Deps, demo_tenant: Tenant, hook: TestClient, telegram: FakeTelegram
) -> None:
    """«Карта» uploads (multipart sendPhoto) the QR code of the virtual card number
    with the number in the caption; a till finds the customer by that number."""
    customer = await _linked(deps, demo_tenant, hook)
    bot = await connect(deps, demo_tenant.merchant_id)
    await say(hook, deps, bot, CHAT, "Карта")
    [photo] = telegram.sent("sendPhoto", CHAT)
    assert photo.photo is not None and photo.photo.startswith(b"\x89PNG\r\n\x1a\n")
    number = photo.payload["caption"].split("\n")[0].removeprefix("Ваша карта: ")
    assert photo.photo == card_png(number)
    assert await customers.find_customer(deps, demo_tenant.merchant_id, card=number) == customer
    assert json.loads(photo.payload["reply_markup"])["keyboard"]


async def test_history_lists_the_last_operations(
    deps: Deps, clock: ManualClock, hook: TestClient, telegram: FakeTelegram
) -> None:
    """«История» lists the ledger's movements, newest first, with local time."""
    clock.now = datetime(2026, 5, 4, 7, tzinfo=UTC)
    tenant = await make_tenant(deps, "Кофейня", REVIEW_PROGRAM)
    customer = await _linked(deps, tenant, hook)
    await _buy(deps, tenant, customer, "S1", 1000)
    bot = await connect(deps, tenant.merchant_id)
    await say(hook, deps, bot, CHAT, "История")
    text = telegram.last_text(CHAT)
    assert text == "Последние операции:\n04.05.2026 10:00  +50  начислено"


async def test_feedback_rates_the_last_purchase_and_gifts_once(
    deps: Deps, clock: ManualClock, hook: TestClient, telegram: FakeTelegram
) -> None:
    """«Отзыв» asks to rate the last purchase (its amount and the gift shown), takes 4
    and a comment, stores them and grants the review gift; asking again says it is
    rated, and no second gift appears."""
    clock.now = datetime(2026, 5, 4, 7, tzinfo=UTC)
    tenant = await make_tenant(deps, "Кофейня", REVIEW_PROGRAM)
    customer = await _linked(deps, tenant, hook)
    await _buy(deps, tenant, customer, "S1", 1000)
    bot = await connect(deps, tenant.merchant_id)
    await say(hook, deps, bot, CHAT, "Отзыв")
    assert "1000 ₽" in telegram.last_text(CHAT) and "100 бонусов" in telegram.last_text(CHAT)
    await say(hook, deps, bot, CHAT, "4", "Всё понравилось")
    assert "Начислено 100 бонусов" in telegram.last_text(CHAT)
    await say(hook, deps, bot, CHAT, "Отзыв")
    assert "уже оценили" in telegram.last_text(CHAT)
    row = await deps.db.fetch_one("SELECT rating, comment FROM feedback")
    assert row is not None and (row["rating"], row["comment"]) == (4, "Всё понравилось")
    gifts = await deps.db.fetch_value(
        "SELECT COUNT(*) FROM bonus_lots WHERE customer_id = :c AND kind = 'review'",
        {"c": customer},
    )
    assert gifts == 1


async def test_stop_opts_out_at_once_and_the_outbox_honours_it(
    deps: Deps, demo_tenant: Tenant, hook: TestClient, telegram: FakeTelegram
) -> None:
    """«СТОП» sets the opt-out; a message queued afterwards is skipped by the outbox and
    never reaches the bot's sendMessage, while a linked customer who did not opt out
    gets theirs through the merchant's own bot."""
    from cloud.messages.outbox import drain
    from tests.messages.conftest import add_customer, queue, row

    customer = await _linked(deps, demo_tenant, hook)
    bot = await connect(deps, demo_tenant.merchant_id)
    await say(hook, deps, bot, CHAT, "СТОП")
    assert "отписались" in telegram.last_text(CHAT)
    other = await add_customer(deps, demo_tenant.merchant_id, "+79161112244", chat=4242)
    stopped = await queue(deps, demo_tenant.merchant_id, customer, "tier_changed", {"tier": "A"})
    sent = await queue(deps, demo_tenant.merchant_id, other, "tier_changed", {"tier": "A"})
    before = len(telegram.sent(chat=CHAT))
    await drain(deps)
    assert (await row(deps, stopped))["status"] == "skipped_opt_out"
    assert len(telegram.sent(chat=CHAT)) == before
    delivered = await row(deps, sent)
    assert (delivered["status"], delivered["channel"], delivered["cost"]) == ("sent", "telegram", 0)
    assert telegram.sent(chat=4242)[-1].token == bot.token


async def test_blocking_the_bot_unlinks_the_chat(
    deps: Deps, demo_tenant: Tenant, hook: TestClient, telegram: FakeTelegram
) -> None:
    """my_chat_member «kicked» unlinks the chat; so does a 403 on an outbox send (the
    message fails for good and the next goes by SMS)."""
    from cloud.messages.outbox import drain
    from tests.messages.conftest import add_customer, queue, row

    await _linked(deps, demo_tenant, hook)
    bot = await connect(deps, demo_tenant.merchant_id)
    kicked = {"update_id": 900001, "my_chat_member": {
        "chat": {"id": CHAT, "type": "private"}, "from": {"id": CHAT},
        "new_chat_member": {"status": "kicked", "user": {"id": bot.bot_id}}}}  # fmt: skip
    assert await post(hook, deps, bot, kicked) == 200
    assert await _customer(deps, demo_tenant.merchant_id, CHAT) is None

    gone = await add_customer(deps, demo_tenant.merchant_id, "+79161112255", chat=666)
    telegram.blocked.add(666)
    first = await queue(deps, demo_tenant.merchant_id, gone, "tier_changed", {"tier": "A"})
    await drain(deps)
    assert (await row(deps, first))["status"] == "failed"
    assert await _customer(deps, demo_tenant.merchant_id, 666) is None
    second = await queue(deps, demo_tenant.merchant_id, gone, "tier_changed", {"tier": "A"})
    await drain(deps)
    assert (await row(deps, second))["channel"] == "sms"


async def test_a_message_in_a_group_is_ignored(
    deps: Deps, demo_tenant: Tenant, hook: TestClient, telegram: FakeTelegram
) -> None:
    """Only private chats are a customer's card: a group's message gets no answer."""
    bot = await connect(deps, demo_tenant.merchant_id)
    update = message(-100, "/start")
    update["message"]["chat"]["type"] = "group"
    assert await post(hook, deps, bot, update) == 200
    assert telegram.sent() == []


async def test_a_deep_link_with_a_referral_code_records_the_referrer(
    deps: Deps, demo_tenant: Tenant, hook: TestClient, telegram: FakeTelegram
) -> None:
    """``t.me/<bot>?start=<code>`` of a customer's personal referral code makes them the
    newcomer's referrer; a code that names nobody still registers, without one."""
    from cloud.services import referrals

    friend = await _register(deps, demo_tenant, "+79160000001")
    code = referrals.referral_code(deps, demo_tenant.merchant_id, friend)
    bot = await connect(deps, demo_tenant.merchant_id)
    await say(hook, deps, bot, CHAT, f"/start {code}")
    await post(hook, deps, bot, contact(CHAT, PHONE))
    await say(hook, deps, bot, CHAT, "Согласен", "Нет")
    row = await _customer(deps, demo_tenant.merchant_id, CHAT)
    assert row is not None and row["referrer_id"] == friend

    await say(hook, deps, bot, CHAT + 1, "/start ZZZZZZZZ")
    await post(hook, deps, bot, contact(CHAT + 1, "+79161112299"))
    await say(hook, deps, bot, CHAT + 1, "Согласен", "Нет")
    stranger = await _customer(deps, demo_tenant.merchant_id, CHAT + 1)
    assert stranger is not None and stranger["referrer_id"] is None
