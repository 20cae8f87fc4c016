"""Customers: registration, look-up, cards, tiers, profile, history, encryption."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from cloud.clock import to_epoch
from cloud.errors import BadRequest, Conflict, NotFound, Unprocessable
from cloud.services import programs
from cloud.services.customers import (
    attach_card,
    customer_history,
    customer_profile,
    customer_summary,
    find_customer,
    mask_phone,
    register_customer,
)
from cloud.services.deps import Deps
from cloud.services.sms_codes import send_code
from schemas.customers import RegisterCustomer
from tests.conftest import DEMO_PROGRAM, Tenant
from tests.services.test_sms_codes import last_code, wrong

PHONE = "+79991234567"


def form(phone: str = PHONE, **extra: Any) -> RegisterCustomer:
    data: dict[str, Any] = {"phone": phone, "consent": {"personal_data": True, "messages": True}}
    data.update(extra)
    return RegisterCustomer.model_validate(data)


async def register(deps: Deps, tenant: Tenant, phone: str = PHONE, **extra: Any) -> int:
    """Register the way a terminal does: send a code, read it off the phone, submit."""
    sent = await send_code(deps, tenant.merchant_id, phone, "registration")
    return await register_customer(
        deps, tenant.merchant_id, form(phone, **extra), store_id=tenant.store_id,
        channel="terminal", sms_code=last_code(deps, sent.phone),
    )  # fmt: skip


async def test_phone_spellings_are_one_customer(deps: Deps, demo_tenant: Tenant) -> None:
    """8 999…, +7 (999)… and 7999… normalise to one E.164 phone: one customer, found by
    any spelling, and a second registration with another spelling is a 409."""
    customer_id = await register(deps, demo_tenant, "8 999 123-45-67")
    for spelling in ("+7 (999) 123-45-67", "79991234567", "8 999 123-45-67"):
        assert await find_customer(deps, demo_tenant.merchant_id, phone=spelling) == customer_id
    await send_code(deps, demo_tenant.merchant_id, "79991234567", "registration")
    with pytest.raises(Conflict) as error:
        await register_customer(
            deps, demo_tenant.merchant_id, form("79991234567"), store_id=None,
            channel="terminal", sms_code=last_code(deps),
        )  # fmt: skip
    assert error.value.code == "customer_exists"
    assert "уже зарегистрирован" in error.value.message
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM customers") == 1


async def test_registration_needs_a_valid_code(deps: Deps, demo_tenant: Tenant) -> None:
    """Without a code, or with a wrong one, nobody is registered; an import needs none."""
    with pytest.raises(BadRequest) as missing:
        await register_customer(
            deps, demo_tenant.merchant_id, form(), store_id=None, channel="terminal",
            sms_code=None,
        )  # fmt: skip
    assert missing.value.code == "sms_code_required"
    await send_code(deps, demo_tenant.merchant_id, PHONE, "registration")
    with pytest.raises(Unprocessable) as invalid:
        await register_customer(
            deps, demo_tenant.merchant_id, form(), store_id=None, channel="terminal",
            sms_code=wrong(last_code(deps)),
        )  # fmt: skip
    assert invalid.value.code == "sms_code_invalid"
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM customers") == 0
    imported = await register_customer(
        deps, demo_tenant.merchant_id, form(), store_id=None, channel="import", sms_code=None
    )
    assert await find_customer(deps, demo_tenant.merchant_id, phone=PHONE) == imported


async def test_redeem_code_does_not_register(deps: Deps, demo_tenant: Tenant) -> None:
    """A code sent to confirm a redemption cannot be used to register."""
    await send_code(deps, demo_tenant.merchant_id, PHONE, "redeem")
    with pytest.raises(Unprocessable) as error:
        await register_customer(
            deps, demo_tenant.merchant_id, form(), store_id=None, channel="terminal",
            sms_code=last_code(deps),
        )  # fmt: skip
    assert error.value.code == "sms_code_not_found"


async def test_consent_to_personal_data_is_required(deps: Deps, demo_tenant: Tenant) -> None:
    """Without consent to processing of personal data there is no registration; the
    consents given are recorded with their time."""
    refused = form(consent={"personal_data": False, "messages": True})
    with pytest.raises(BadRequest) as error:
        await register_customer(
            deps, demo_tenant.merchant_id, refused, store_id=None, channel="import",
            sms_code=None,
        )  # fmt: skip
    assert error.value.code == "consent_required"
    customer_id = await register_customer(
        deps, demo_tenant.merchant_id, form(consent={"personal_data": True}), store_id=None,
        channel="import", sms_code=None,
    )  # fmt: skip
    row = await deps.db.fetch_one(
        "SELECT consent_personal_data_at, consent_messages_at FROM customers WHERE id = :c",
        {"c": customer_id},
    )
    assert row is not None
    assert row["consent_personal_data_at"] == to_epoch(deps.clock())
    assert row["consent_messages_at"] is None


async def test_personal_data_is_not_stored_in_plaintext(deps: Deps, demo_tenant: Tenant) -> None:
    """The raw customer, card and outbox rows hold no phone digits, name, email,
    birthday or card number in the clear."""
    await register(
        deps, demo_tenant, name="Анна Петрова", email="anna@example.ru",
        birthday="1990-05-17", card="7700 1122 3344",
    )  # fmt: skip
    secrets_ = ("9991234567", "Анна", "anna@example", "1990-05-17", "770011223344")
    for table in ("customers", "cards", "notifications", "sms_codes"):
        for row in await deps.db.fetch_all(f"SELECT * FROM {table}"):
            dumped = repr(dict(row)) + "".join(
                bytes(v).decode("latin-1") for v in dict(row).values() if isinstance(v, bytes)
            )
            for plain in secrets_:
                assert plain not in dumped, (table, plain)


async def test_cards_phone_physical_and_virtual(deps: Deps, demo_tenant: Tenant) -> None:
    """A registration creates a phone card, the physical card given, and a 13-digit
    virtual card; the physical and virtual numbers find the customer like any card."""
    customer_id = await register(deps, demo_tenant, card="ab-1234 5678")
    profile = await customer_profile(deps, demo_tenant.merchant_id, customer_id)
    kinds = {card.kind: card.number for card in profile.cards}
    assert kinds["phone"] == PHONE
    assert kinds["physical"] == "AB12345678"
    virtual = kinds["virtual"]
    assert len(virtual) == 13 and virtual.isdigit()
    checksum = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(virtual[:12]))
    assert int(virtual[12]) == (10 - checksum % 10) % 10
    merchant = demo_tenant.merchant_id
    assert await find_customer(deps, merchant, card="AB 1234-5678") == customer_id
    assert await find_customer(deps, merchant, card=virtual) == customer_id
    assert await find_customer(deps, merchant, card="0000000000000") is None
    assert await find_customer(deps, merchant, phone="+79990000000") is None


async def test_taken_card_refuses_registration_and_keeps_the_code(
    deps: Deps, demo_tenant: Tenant
) -> None:
    """A card bound to another customer gives 409 card_taken; the SMS code is not used
    up, so the customer can register without the card at once."""
    await register(deps, demo_tenant, "+79990000001", card="CARD-1")
    await send_code(deps, demo_tenant.merchant_id, PHONE, "registration")
    code = last_code(deps)
    with pytest.raises(Conflict) as error:
        await register_customer(
            deps, demo_tenant.merchant_id, form(card="card 1"), store_id=None,
            channel="terminal", sms_code=code,
        )  # fmt: skip
    assert error.value.code == "card_taken"
    customer_id = await register_customer(
        deps, demo_tenant.merchant_id, form(), store_id=None, channel="terminal", sms_code=code
    )
    assert customer_id > 0


async def test_attach_card(deps: Deps, demo_tenant: Tenant) -> None:
    """Binding a card is idempotent for its owner and refused for anyone else; an
    unknown or foreign customer is 404."""
    first = await register(deps, demo_tenant)
    second = await register(deps, demo_tenant, "+79990000002")
    merchant = demo_tenant.merchant_id
    card, created = await attach_card(deps, merchant, first, "555 777")
    assert created and card.number == "555777" and card.kind == "physical"
    again, created = await attach_card(deps, merchant, first, "555-777")
    assert not created and again.id == card.id
    with pytest.raises(Conflict) as error:
        await attach_card(deps, merchant, second, "555777")
    assert error.value.code == "card_taken"
    with pytest.raises(NotFound):
        await attach_card(deps, merchant, 999_999, "123")
    assert await find_customer(deps, merchant, card="555777") == first


async def test_tier_given_at_registration(deps: Deps, demo_tenant: Tenant) -> None:
    """With tier_assignment 'registration' the entry tier is set and a tier change is
    written; with 'first_purchase' the customer starts without a tier."""
    without = await register(deps, demo_tenant, "+79990000003")
    profile = await customer_profile(deps, demo_tenant.merchant_id, without)
    assert profile.tier_code is None and profile.tier_name is None

    document = json.loads(DEMO_PROGRAM.read_text())
    document["tier_assignment"] = "registration"
    await programs.publish(deps.db, demo_tenant.merchant_id, document, deps.clock())
    customer_id = await register(deps, demo_tenant)
    profile = await customer_profile(deps, demo_tenant.merchant_id, customer_id)
    assert profile.tier_code == document["tiers"][0]["code"]
    assert profile.tier_name == document["tiers"][0]["name"]
    change = await deps.db.fetch_one(
        "SELECT from_tier, to_tier, reason FROM tier_changes WHERE customer_id = :c",
        {"c": customer_id},
    )
    assert change is not None
    assert dict(change) == {
        "from_tier": None, "to_tier": document["tiers"][0]["code"], "reason": "registration"
    }  # fmt: skip


async def _add_lot(deps: Deps, merchant: int, customer: int, amount: int, available_from: int,
                   created_at: int, receipt_id: int | None = None) -> None:  # fmt: skip
    async with deps.db.transaction() as tx:
        lot = await tx.insert(
            "INSERT INTO bonus_lots (merchant_id, customer_id, kind, amount, remaining, "
            "available_from, expires_at, receipt_id, created_at) "
            "VALUES (:m, :c, 'purchase', :a, :a, :f, NULL, :r, :t) RETURNING id",
            {"m": merchant, "c": customer, "a": amount, "f": available_from, "r": receipt_id,
             "t": created_at},
        )  # fmt: skip
        await tx.insert(
            "INSERT INTO ledger_entries (merchant_id, customer_id, kind, amount, lot_id, "
            "receipt_id, idempotency_key, created_at) "
            "VALUES (:m, :c, 'accrue', :a, :lot, :r, :key, :t) RETURNING id",
            {"m": merchant, "c": customer, "a": amount, "lot": lot, "r": receipt_id,
             "key": f"test:{lot}", "t": created_at},
        )  # fmt: skip


async def test_profile_decrypts_and_reports_balance(deps: Deps, demo_tenant: Tenant) -> None:
    """The profile gives the decrypted data, the balance split into available, held and
    pending, and the purchase statistics."""
    merchant = demo_tenant.merchant_id
    customer_id = await register(
        deps, demo_tenant, name="Иван", email="Ivan@Example.ru", birthday="1985-02-03"
    )
    now = to_epoch(deps.clock())
    await _add_lot(deps, merchant, customer_id, 10_000, now - 10, now - 10)
    await _add_lot(deps, merchant, customer_id, 2_550, now + 86_400, now)
    async with deps.db.transaction() as tx:
        await tx.insert(
            "INSERT INTO holds (merchant_id, customer_id, source, receipt_external_id, amount, "
            "status, expires_at, created_at) "
            "VALUES (:m, :c, 'api', 'R-1', 3000, 'active', :e, :t) RETURNING id",
            {"m": merchant, "c": customer_id, "e": now + 600, "t": now},
        )
        await tx.execute(
            "UPDATE customers SET purchase_count = 3, lifetime_purchases = 456789, "
            "last_purchase_at = :t WHERE id = :c",
            {"t": now - 100, "c": customer_id},
        )
    profile = await customer_profile(deps, merchant, customer_id)
    assert (profile.phone, profile.name, profile.email) == (PHONE, "Иван", "ivan@example.ru")
    assert profile.birthday == date(1985, 2, 3)
    assert (profile.balance.available, profile.balance.held, profile.balance.pending) == (
        7_000, 3_000, 2_550
    )  # fmt: skip
    assert (profile.purchase_count, profile.lifetime_purchases) == (3, 456_789)
    assert profile.last_purchase_at == now - 100
    assert profile.registered_store_id == demo_tenant.store_id
    summary = await customer_summary(deps, merchant, customer_id)
    assert (summary.name, summary.available) == ("Иван", 7_000)


async def test_history_newest_first_with_cursor(deps: Deps, demo_tenant: Tenant) -> None:
    """History pages go from newest to oldest by id, carry the receipt's external id,
    and the cursor reaches every entry exactly once."""
    merchant = demo_tenant.merchant_id
    customer_id = await register(deps, demo_tenant)
    now = to_epoch(deps.clock())
    async with deps.db.transaction() as tx:
        receipt_id = await tx.insert(
            "INSERT INTO receipts (merchant_id, store_id, terminal_id, customer_id, source, "
            "kind, external_id, amount, discount, redeemed, accrued, local_date, created_at, "
            "response) VALUES (:m, NULL, NULL, :c, 'api', 'sale', 'CHK-42', 100000, 0, 0, "
            "5000, '2026-11-20', :t, '{}') RETURNING id",
            {"m": merchant, "c": customer_id, "t": now},
        )
    for i in range(5):
        await _add_lot(deps, merchant, customer_id, 100 * (i + 1), now, now + i,
                       receipt_id if i == 4 else None)  # fmt: skip
    page = await customer_history(deps, merchant, customer_id, limit=2)
    assert [e.amount for e in page.entries] == [500, 400]
    assert page.entries[0].receipt_external_id == "CHK-42"
    assert page.entries[1].receipt_external_id is None
    seen = [e.amount for e in page.entries]
    while page.next_before is not None:
        page = await customer_history(deps, merchant, customer_id, 2, page.next_before)
        seen += [e.amount for e in page.entries]
    assert seen == [500, 400, 300, 200, 100]
    with pytest.raises(BadRequest):
        await customer_history(deps, merchant, customer_id, limit=0)


async def test_one_merchant_cannot_reach_another_merchants_customer(
    deps: Deps, demo_tenant: Tenant, other_tenant: Tenant
) -> None:
    """By phone, card, or id, another merchant's customer does not exist for you."""
    customer_id = await register(deps, demo_tenant, card="SHARED-1")
    other = other_tenant.merchant_id
    assert await find_customer(deps, other, phone=PHONE) is None
    assert await find_customer(deps, other, card="SHARED-1") is None
    assert await find_customer(deps, other, customer_id=customer_id) is None
    with pytest.raises(NotFound):
        await customer_profile(deps, other, customer_id)
    with pytest.raises(NotFound):
        await customer_summary(deps, other, customer_id)
    with pytest.raises(NotFound):
        await customer_history(deps, other, customer_id)
    with pytest.raises(NotFound):
        await attach_card(deps, other, customer_id, "NEW-1")
    # The same phone may join the other merchant's program separately.
    assert await register(deps, other_tenant, card="SHARED-1") != customer_id


def test_mask_phone() -> None:
    """The cashier sees the country, operator code and last four digits only."""
    assert mask_phone("+79991234567") == "+7999***4567"
