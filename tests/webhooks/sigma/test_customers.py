"""SIGMA customer hooks: the look-up for the cashier, the SMS code (registration and a
bonus payment under ``redeem_requires_sms_code``) and registration at the till, through
the same services as the native API and the Evotor till, refusals as ``{"code",
"message"}`` in Russian."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient

from cloud.clock import to_epoch
from cloud.services import customers
from cloud.services.deps import Deps
from tests.helpers import sms_code
from tests.webhooks.sigma.conftest import (
    CARD,
    PHONE,
    SigmaTerminal,
    bearer,
    encode,
    hook,
    signed,
    signed_hook,
)

NEWCOMER = "+79035550177"
LINES = [{"id": "1", "name": "Капучино", "price": "200.00", "quantity": 1}]


def lookup(**customer: str) -> dict[str, Any]:
    return {"event": "customer.lookup", "customer": customer}


def code_for(phone: str, purpose: str) -> dict[str, Any]:
    return {"event": "customer.sms_code", "phone": phone, "purpose": purpose}


def registration(deps: Deps, **extra: Any) -> dict[str, Any]:
    return {"event": "customer.register", "phone": NEWCOMER, "sms_code": sms_code(deps, NEWCOMER),
            "consent_personal_data": True, "consent_messages": True, "name": "Олег",
            "idempotency_key": "reg-1", **extra}  # fmt: skip


async def count(deps: Deps, table: str, merchant_id: int) -> int:
    return int(
        await deps.db.fetch_value(
            f"SELECT COUNT(*) FROM {table} WHERE merchant_id = :m", {"m": merchant_id}
        )
    )


async def test_lookup_by_phone_card_or_qr_and_an_unknown_customer(
    sigma: TestClient, till: SigmaTerminal
) -> None:
    """Phone, card and QR code find the same customer with tier and balance; a phone
    nobody has is 404 customer_not_found with a Russian message; a malformed phone 400."""
    found = [
        await hook(sigma, lookup(**ref), bearer(till))
        for ref in ({"phone": "8 (916) 123-45-67"}, {"card": CARD}, {"qr": f"https://x/c/{CARD}"})
    ]
    assert {answer["customer"]["id"] for answer in found} == {till.customer_id}
    first = found[0]
    assert first["customer"]["tier_name"] == "Базовая" and first["customer"]["balance"] == "0.00"
    assert first["messages"] == ["Телефон: +7916***4567", "Уровень: Базовая",
                                 "Баланс: 0,00 бонусов"]  # fmt: skip
    assert first["slip"] == [f"Карта лояльности: {CARD}", "Баланс бонусов: 0,00"]
    missing = await hook(sigma, lookup(phone="+79990000000"), bearer(till), 404)
    assert missing["code"] == "customer_not_found" and "Клиент не найден" in missing["message"]
    bad = await hook(sigma, lookup(phone="не телефон"), bearer(till), 400)
    assert bad["code"] == "invalid_phone"
    both = await hook(sigma, lookup(phone=PHONE, card=CARD), bearer(till), 400)
    assert both["code"] == "validation_error"


async def test_a_bonus_payment_needs_the_code_the_customer_received(
    sigma: TestClient, deps: Deps, till: SigmaTerminal
) -> None:
    """Under ``redeem_requires_sms_code`` bonus.hold without a code is 422
    sms_code_required, with a wrong one sms_code_invalid; after customer.sms_code the
    code from the SMS holds, and the same code cannot pay a second receipt."""
    sale = {"event": "receipt.closed", "receipt_id": "S-0", "customer": {"card": CARD},
            "lines": [{"id": "1", "price": "1000.00", "quantity": 1}]}  # fmt: skip
    await hook(sigma, sale, bearer(till))  # 5 % of the 1000.00 charged: 50.00 accrued
    hold = {"event": "bonus.hold", "receipt_id": "S-1", "customer": {"card": CARD},
            "lines": LINES, "amount": "10.00"}  # fmt: skip
    refused = await hook(sigma, hold, bearer(till), 422)
    assert refused["code"] == "sms_code_required" and "SMS" in refused["message"]
    sent = await hook(sigma, code_for(PHONE, "redeem"), bearer(till))
    assert sent["sent_to"] == "+7916***4567" and "для оплаты бонусами" in sent["messages"][1]
    code = sms_code(deps, PHONE)
    wrong = "000000" if code != "000000" else "111111"
    bad = await hook(sigma, {**hold, "sms_code": wrong}, bearer(till), 422)
    assert bad["code"] == "sms_code_invalid"
    held = await hook(sigma, {**hold, "sms_code": code}, bearer(till))
    assert (held["amount"], held["balance"]) == ("10.00", "40.00")
    again = {**hold, "receipt_id": "S-2", "sms_code": code}
    assert (await hook(sigma, again, bearer(till), 422))["code"] == "sms_code_not_found"


async def test_registration_at_the_till_refusals_and_a_retry(
    sigma: TestClient, deps: Deps, till: SigmaTerminal
) -> None:
    """Registration needs the personal-data consent (400 consent_required) and the right
    code (422 sms_code_invalid); a retry with the same idempotency key and body answers
    the first registration and adds no customer; the phone again under a new key is 409
    customer_exists; a consent given as a string is a validation error."""
    await hook(sigma, code_for(NEWCOMER, "registration"), bearer(till))
    body = registration(deps)
    no_consent = await hook(sigma, {**body, "consent_personal_data": False}, bearer(till), 400)
    assert no_consent["code"] == "consent_required"
    typed = await hook(sigma, {**body, "consent_personal_data": "да"}, bearer(till), 400)
    assert typed["code"] == "validation_error"
    wrong = "000000" if body["sms_code"] != "000000" else "111111"
    bad = await hook(sigma, {**body, "sms_code": wrong}, bearer(till), 422)
    assert bad["code"] == "sms_code_invalid"
    before = await count(deps, "customers", till.merchant_id)
    first = await hook(sigma, body, bearer(till))
    assert first["customer"]["name"] == "Олег" and first["customer"]["physical_card"] is None
    assert first["customer"]["card"] is not None
    assert f"Карта лояльности: {first['customer']['card']}" in first["slip"]
    assert await hook(sigma, body, bearer(till)) == first
    assert await count(deps, "customers", till.merchant_id) == before + 1
    profile = await customers.customer_profile(deps, till.merchant_id, first["customer"]["id"])
    assert profile.consent_messages_at is not None and profile.registered_store_id == (
        till.store_id
    )
    again = await hook(sigma, {**body, "idempotency_key": "reg-2"}, bearer(till), 409)
    assert again["code"] == "customer_exists"


async def test_the_answer_says_when_a_new_code_may_be_asked_for(
    sigma: TestClient, deps: Deps, till: SigmaTerminal
) -> None:
    """Codes may be asked for again at once until the per-phone limit; the code that
    fills it answers resend_at at the end of the window (and says so to the cashier);
    the next request is 429 sms_rate_limited. No answer carries a code."""
    limit, window = deps.settings.sms_codes_per_phone, deps.settings.sms_rate_window_seconds
    moscow = ZoneInfo("Europe/Moscow")
    now = deps.clock()
    answers = [
        await hook(sigma, code_for(NEWCOMER, "registration"), bearer(till)) for _ in range(limit)
    ]
    assert answers[0]["resend_at"] == now.astimezone(moscow).isoformat()
    assert len(answers[0]["messages"]) == 2
    last = answers[-1]
    assert last["resend_at"] == (now + timedelta(seconds=window)).astimezone(moscow).isoformat()
    assert last["messages"][-1] == f"Новый код можно запросить через {window // 60} мин."
    refused = await hook(sigma, code_for(NEWCOMER, "registration"), bearer(till), 429)
    assert refused["code"] == "sms_rate_limited" and "Повторите через" in refused["message"]
    assert all(sms_code(deps, NEWCOMER) not in str(answer) for answer in answers)
    refused = await hook(sigma, {**code_for(NEWCOMER, "login")}, bearer(till), 400)
    assert refused["code"] == "validation_error"


async def test_a_signed_sms_code_request_is_sent_once(
    sigma: TestClient, deps: Deps, till: SigmaTerminal
) -> None:
    """customer.sms_code signed with the terminal's HMAC secret sends one SMS; the same
    signed request again is 409 sigma_replayed, a body altered after signing 401
    sigma_bad_signature, and neither sends another SMS."""
    body = code_for(NEWCOMER, "registration")
    sent = await signed_hook(sigma, deps, till, body)
    assert sent["sent_to"] == "+7903***0177"
    raw = encode(body)
    headers = signed(till, raw, to_epoch(deps.clock()))
    replayed = await hook(sigma, None, headers, 409, raw=raw, event="customer.sms_code")
    assert replayed["code"] == "sigma_replayed"
    altered = raw.replace(b"registration", b"redeem")
    forged = await hook(sigma, None, headers, 401, raw=altered, event="customer.sms_code")
    assert forged["code"] == "sigma_bad_signature"
    assert await count(deps, "sms_codes", till.merchant_id) == 1
    mismatch = await hook(sigma, body, bearer(till), 400, event="customer.lookup")
    assert mismatch["code"] == "sigma_event_mismatch"
