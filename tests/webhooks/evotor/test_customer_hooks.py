"""Terminal customer hooks: a cashier on an Evotor smart terminal sends the SMS code,
registers the customer into the device's merchant and store, looks customers up, and
pays with bonuses under a program that asks for the customer's code. Refusals answer in
Evotor's error shape with a Russian message, never a 500."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cloud.clock import to_epoch
from cloud.ledger.lots import accrue
from cloud.services import programs
from cloud.services.deps import Deps
from tests.helpers import money, sms_code
from tests.webhooks.evotor.conftest import DEVICE, DEVICE2, call, error_codes, install, user_auth
from tests.webhooks.evotor.test_terminal_hooks import (
    FIVE_PERCENT,
    PHONE,
    customer_with_bonuses,
    merchant_of,
)

SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
NEWCOMER = "+79035550101"
OTHER_USER = "01-000000000000002"
SMS = "/terminal/v1/customers/sms-code"
REGISTER = "/terminal/v1/customers/register"
LOOKUP = "/terminal/v1/customers/lookup"
PAY = "/terminal/v1/receipts/bonus-payment"


@pytest.fixture
async def token(evotor: TestClient, deps: Deps) -> str:
    """An installed merchant with synced devices and the 5 % program."""
    token = await install(evotor)
    await programs.publish(deps.db, await merchant_of(deps), FIVE_PERCENT, deps.clock())
    return token


async def send(
    evotor: TestClient, headers: dict[str, str], phone: str = NEWCOMER,
    purpose: str = "registration", status: int = 200,
) -> Any:  # fmt: skip
    return await call(evotor, "POST", SMS, {"phone": phone, "purpose": purpose}, headers,
                      status=status)  # fmt: skip


def registration(deps: Deps, phone: str = NEWCOMER, **extra: Any) -> dict[str, Any]:
    """A registration body with the code the phone received last."""
    return {"phone": phone, "smsCode": sms_code(deps, phone), "consentPersonalData": True,
            "consentMessages": False, **extra}  # fmt: skip


def reason(body: Any) -> tuple[int, str, str | None]:
    error_codes(body)
    item = body["errors"][0]
    assert item["message"], item  # a sentence for the cashier
    return item["code"], item["reason"], item.get("subject")


async def terminal_of(deps: Deps, merchant_id: int, device: str) -> tuple[int, int]:
    row = await deps.db.fetch_one(
        "SELECT id, store_id FROM terminals WHERE merchant_id = :m AND external_id = :d",
        {"m": merchant_id, "d": device},
    )
    assert row is not None
    return int(row["id"]), int(row["store_id"])


async def test_cashier_registers_a_customer_with_the_sms_code(
    evotor: TestClient, deps: Deps, token: str
) -> None:
    """The code goes out from the device's till; registration with it creates the
    customer in the device's store with channel ``terminal`` and the consents given, and
    answers what the till shows: tier, balance, the virtual card, the referral code and
    Russian lines. The new card then finds the customer through the look-up hook."""
    merchant_id = await merchant_of(deps)
    terminal_id, store_id = await terminal_of(deps, merchant_id, DEVICE)
    sent = await send(evotor, user_auth(token))
    assert sent["sent"] is True and sent["expiresIn"] == deps.settings.sms_code_ttl_seconds
    assert sent["messages"][0] == "Код отправлен на +7903***0101"
    assert (
        await deps.db.fetch_value(
            "SELECT terminal_id FROM sms_codes WHERE merchant_id = :m", {"m": merchant_id}
        )
        == terminal_id
    )
    body = registration(deps, name="Анна", birthday="1990-05-17", gender="female",
                        email="anna@example.ru", consentMessages=True,
                        consentPersonalDataVersion="2026-01", card="7700-0001")  # fmt: skip
    answer = await call(evotor, "POST", REGISTER, body, user_auth(token))
    assert answer["tier"] == "base" and answer["tierName"] == "Базовая"
    assert money(answer["balance"]) == 0 and answer["physicalCard"] == "77000001"
    assert len(answer["card"]) == 13 and answer["card"] in answer["slip"][0]
    assert answer["referralCode"] in answer["slip"][1]
    assert answer["messages"][0] == "Клиент зарегистрирован: +7903***0101"
    row = await deps.db.fetch_one(
        "SELECT registration_channel, registered_store_id, consent_messages_at, "
        "consent_personal_data_version, gender FROM customers WHERE id = :c",
        {"c": answer["id"]},
    )
    assert row is not None
    assert row["registration_channel"] == "terminal" and row["registered_store_id"] == store_id
    assert row["consent_messages_at"] == to_epoch(deps.clock())
    assert row["consent_personal_data_version"] == "2026-01" and row["gender"] == "female"
    found = await call(evotor, "POST", LOOKUP, {"card": answer["card"]}, user_auth(token))
    assert found["id"] == answer["id"] and found["name"] == "Анна"
    assert found["messages"][0] == "Клиент: Анна"


@SQLITE
async def test_refused_registrations_answer_in_evotor_shape(
    evotor: TestClient, deps: Deps, token: str
) -> None:
    """Without consent to personal data, with a wrong code, for a phone already
    registered, or naming an unknown referrer, registration is refused with code 2003,
    our reason, the field to fix and a Russian message; the refusals do not use up the
    code, which then registers the customer."""
    await customer_with_bonuses(deps, await merchant_of(deps), 100)
    headers = user_auth(token)
    await send(evotor, headers)
    body = registration(deps)
    refused = await call(evotor, "POST", REGISTER, {**body, "consentPersonalData": False},
                         headers, status=400)  # fmt: skip
    assert reason(refused) == (2003, "consent_required", "consentPersonalData")
    unknown = await call(evotor, "POST", REGISTER, {**body, "referrer": {"code": "ZZZZZZZZ"}},
                         headers, status=422)  # fmt: skip
    assert reason(unknown) == (2003, "referrer_not_found", "referrer")
    wrong = "000000" if body["smsCode"] != "000000" else "111111"
    bad_code = await call(evotor, "POST", REGISTER, {**body, "smsCode": wrong}, headers,
                          status=422)  # fmt: skip
    assert reason(bad_code) == (2003, "sms_code_invalid", "smsCode")
    assert "Неверный код" in bad_code["errors"][0]["message"]
    await call(evotor, "POST", REGISTER, body, headers)
    await send(evotor, headers, PHONE)
    taken = await call(evotor, "POST", REGISTER, registration(deps, PHONE), headers,
                       status=409)  # fmt: skip
    assert reason(taken) == (2003, "customer_exists", "phone")


@SQLITE
async def test_malformed_customer_calls_get_evotor_errors(evotor: TestClient, token: str) -> None:
    """A missing field is 2002 naming it, a wrong value 2003 (a consent flag must be a
    JSON boolean, the purpose one of two), a wrong token 1002: never a 500."""
    headers = user_auth(token)
    missing = await call(evotor, "POST", REGISTER,
                         {"phone": NEWCOMER, "consentPersonalData": True,
                          "consentMessages": False}, headers, status=400)  # fmt: skip
    assert error_codes(missing) == [2002] and missing["errors"][0]["subject"] == "smsCode"
    lax = await call(evotor, "POST", REGISTER,
                     {"phone": NEWCOMER, "smsCode": "123456", "consentPersonalData": "yes",
                      "consentMessages": False}, headers, status=400)  # fmt: skip
    assert error_codes(lax) == [2003] and lax["errors"][0]["subject"] == "consentPersonalData"
    purpose = await send(evotor, headers, purpose="login", status=400)
    assert error_codes(purpose) == [2003]
    nobody = await call(evotor, "POST", LOOKUP, {}, headers, status=400)
    assert error_codes(nobody) == [2003]
    foreign = await call(evotor, "POST", SMS, {"phone": NEWCOMER, "purpose": "redeem"},
                         {**headers, "Authorization": "Bearer wrong"}, status=401)  # fmt: skip
    assert error_codes(foreign) == [1002]


@SQLITE
async def test_codes_are_limited_per_till(evotor: TestClient, deps: Deps, token: str) -> None:
    """Past the per-terminal limit the till gets 429 with a Russian message; another
    device of the same merchant still sends codes (the limit is the device's)."""
    limit = deps.settings.sms_codes_per_terminal
    for n in range(limit):
        await send(evotor, user_auth(token), f"+7903555{n:04d}")
    refused = await send(evotor, user_auth(token), "+79035559999", status=429)
    assert reason(refused)[:2] == (2003, "too_many_codes")
    assert "с этой кассы" in refused["errors"][0]["message"]
    await send(evotor, user_auth(token, DEVICE2), "+79035559999")


@SQLITE
async def test_referrer_by_personal_code(evotor: TestClient, deps: Deps, token: str) -> None:
    """The cashier types the referrer's personal code (as the look-up shows it): the
    newcomer is recorded as invited by that customer, and the till is told so."""
    merchant_id = await merchant_of(deps)
    referrer_id = await customer_with_bonuses(deps, merchant_id, 100)
    card = await call(evotor, "POST", LOOKUP, {"phone": "8 916 123-45-67"}, user_auth(token))
    assert card["id"] == referrer_id
    await send(evotor, user_auth(token))
    body = registration(deps, referrer={"code": card["referralCode"].lower()})
    answer = await call(evotor, "POST", REGISTER, body, user_auth(token))
    assert "Пригласивший клиент учтён" in answer["messages"]
    assert (
        await deps.db.fetch_value(
            "SELECT referrer_id FROM customers WHERE id = :c", {"c": answer["id"]}
        )
        == referrer_id
    )


@SQLITE
async def test_proxy_retry_with_the_same_key_gets_the_same_answer(
    evotor: TestClient, deps: Deps, token: str
) -> None:
    """Evotor's proxy retries: the same idempotency key and body return the first answer
    (not «already registered») and register nobody twice; the same key with another
    body is refused."""
    merchant_id = await merchant_of(deps)
    await send(evotor, user_auth(token))
    body = registration(deps, idempotencyKey="reg-1", name="Олег")
    first = await call(evotor, "POST", REGISTER, body, user_auth(token))
    again = await call(evotor, "POST", REGISTER, body, user_auth(token))
    assert again == first
    assert (
        await deps.db.fetch_value(
            "SELECT COUNT(*) FROM customers WHERE merchant_id = :m", {"m": merchant_id}
        )
        == 1
    )
    other = await call(evotor, "POST", REGISTER, {**body, "name": "Пётр"}, user_auth(token),
                       status=409)  # fmt: skip
    assert reason(other)[:2] == (2003, "idempotency_key_reused")


async def test_redeem_code_program_pays_only_with_the_customers_code(
    evotor: TestClient, deps: Deps
) -> None:
    """Under a program with ``redeem_requires_sms_code`` the bonus payment without a
    code, or with a wrong one, is refused in Evotor's shape naming ``smsCode``; after the
    cashier sends a ``redeem`` code, the payment with it is held and the receipt closes
    with it; the code cannot pay a second time."""
    token = await install(evotor)
    merchant_id = await merchant_of(deps)
    await programs.publish(deps.db, merchant_id, {**FIVE_PERCENT,
                                                  "redeem_requires_sms_code": True},
                           deps.clock())  # fmt: skip
    await customer_with_bonuses(deps, merchant_id, 10000)
    body = {"receiptUuid": "r-sms", "customer": {"phone": PHONE}, "sum": 40,
            "positions": [{"uuid": "p1", "price": 1000, "quantity": 1}]}  # fmt: skip
    refused = await call(evotor, "POST", PAY, body, user_auth(token), status=422)
    assert reason(refused) == (2003, "sms_code_required", "smsCode")
    assert refused["errors"][0]["message"] == (
        "Для оплаты бонусами нужен код из SMS, отправленного клиенту"
    )
    sent = await send(evotor, user_auth(token), PHONE, "redeem")
    assert "для оплаты бонусами" in sent["messages"][1]
    code = sms_code(deps, PHONE)
    wrong = "000000" if code != "000000" else "111111"
    bad = await call(evotor, "POST", PAY, {**body, "smsCode": wrong}, user_auth(token),
                     status=422)  # fmt: skip
    assert reason(bad)[:2] == (2003, "sms_code_invalid")
    held = await call(evotor, "POST", PAY, {**body, "smsCode": code}, user_auth(token))
    assert money(held["sum"]) == Decimal("40.00") and money(held["balance"]) == 60
    closed = await call(evotor, "POST", "/terminal/v1/receipts/close",
                        {**{k: v for k, v in body.items() if k != "sum"}, "bonusPayment": 40},
                        user_auth(token))  # fmt: skip
    assert closed["status"] == "confirmed" and money(closed["redeemed"]) == Decimal("40.00")
    spent = await call(evotor, "POST", PAY, {**body, "receiptUuid": "r-sms-2", "smsCode": code},
                       user_auth(token), status=422)  # fmt: skip
    assert reason(spent)[:2] == (2003, "sms_code_not_found")


@SQLITE
async def test_lookup_shows_bonuses_lapsing_soon(
    evotor: TestClient, deps: Deps, token: str
) -> None:
    """The look-up gives the spendable balance and, nearest first, the bonuses lapsing
    within 30 days with their last day in the store's calendar; later or never-lapsing
    bonuses are not listed. An unknown phone is 404 in Evotor's shape."""
    merchant_id = await merchant_of(deps)
    customer_id = await customer_with_bonuses(deps, merchant_id, 1000)
    now = deps.clock()
    async with deps.db.transaction() as tx:
        for key, amount, days in (("soon", 2500, 5), ("late", 700, 40)):
            await accrue(
                tx, merchant_id=merchant_id, customer_id=customer_id, kind="welcome",
                amount=amount, available_from=to_epoch(now),
                expires_at=to_epoch(now + timedelta(days=days)), receipt_id=None, key=key,
                now=to_epoch(now),
            )  # fmt: skip
    card = await call(evotor, "POST", LOOKUP, {"phone": PHONE}, user_auth(token))
    assert money(card["balance"]) == Decimal("42.00")
    # 2026-11-20 09:00 UTC + 5 days lapses during the 25th in the store's zone: the 25th
    # is still a day to spend them.
    assert card["expiringSoon"] == [{"lastDay": "2026-11-25", "amount": 25.00}]
    assert card["messages"][-1] == "25,00 бонусов сгорят после 25.11.2026"
    missing = await call(evotor, "POST", LOOKUP, {"phone": NEWCOMER}, user_auth(token),
                         status=404)  # fmt: skip
    assert reason(missing)[:2] == (2003, "customer_not_found")


@SQLITE
async def test_a_device_registers_only_into_its_own_merchant(
    evotor: TestClient, deps: Deps, token: str
) -> None:
    """A second Evotor merchant (same device ids, same phones) registers into itself
    only: the first merchant's code is worthless there, the first merchant's customers
    are not found, and a shared idempotency key replays nothing across merchants."""
    first = await merchant_of(deps)
    other = await install(evotor, user=OTHER_USER, company="Другая")
    second = await merchant_of(deps, OTHER_USER)
    theirs = user_auth(other, user=OTHER_USER)
    await customer_with_bonuses(deps, first, 100)
    await send(evotor, user_auth(token))
    body = registration(deps, idempotencyKey="shared")
    refused = await call(evotor, "POST", REGISTER, body, theirs, status=422)
    assert reason(refused)[:2] == (2003, "sms_code_not_found")
    mine = await call(evotor, "POST", REGISTER, body, user_auth(token))
    lookup = await call(evotor, "POST", LOOKUP, {"phone": PHONE}, theirs, status=404)
    assert reason(lookup)[:2] == (2003, "customer_not_found")
    await send(evotor, theirs)
    answer = await call(evotor, "POST", REGISTER, registration(deps, idempotencyKey="shared"),
                        theirs)  # fmt: skip
    assert answer["id"] != mine["id"]
    owners = await deps.db.fetch_all(
        "SELECT merchant_id, COUNT(*) AS n FROM customers GROUP BY merchant_id ORDER BY merchant_id"
    )
    assert [(r["merchant_id"], r["n"]) for r in owners] == [(first, 2), (second, 1)]
    # The first merchant's token presented as the second's user is refused outright.
    mixed = await call(evotor, "POST", REGISTER, body, {**user_auth(token),
                       "X-Evotor-User-Id": OTHER_USER}, status=401)  # fmt: skip
    assert error_codes(mixed) == [1002]
