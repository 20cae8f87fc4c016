"""The receipt calls as 1C makes them: calc -> hold -> confirm -> return, cancel, and
every mutating call repeated after a timeout with the same idempotency key (the stored
answer, nothing done twice); the sale's date-time is the receipt's."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal as D
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient

from cloud.clock import ManualClock, to_epoch
from cloud.notify import LogSmsProvider
from cloud.services.deps import Deps
from tests.helpers import sms_code
from tests.terminal_bridge.onec.conftest import BOM, CARD, PHONE, OnecTill, call, encode

LINES = [
    {"id": "1", "name": "Кофе", "price": 1250.00, "quantity": 2},
    {"id": "2", "name": "Сыр", "price": 890.00, "quantity": 0.350, "amount": 311.50},
]
CHARGED = [
    {"id": "1", "price": 1250.00, "quantity": 2, "amount": 2375.00},
    {"id": "2", "price": 890.00, "quantity": 0.350, "amount": 295.93},
]


async def count(deps: Deps, sql: str, merchant_id: int) -> int:
    return int(await deps.db.fetch_value(sql, {"m": merchant_id}))


async def earn(service: TestClient, receipt_id: str = "sale-0") -> Any:
    return await call(service, "receipts/confirm", {"receiptId": receipt_id, "phone": PHONE[1:],
                      "lines": CHARGED, "saleDate": "2026-11-20T11:55:00"})  # fmt: skip


async def test_calc_hold_confirm_return_with_repeats(
    service: TestClient, deps: Deps, till: OnecTill
) -> None:
    """A whole receipt: the calc shows the discount and the accrual; the hold spends
    with the SMS code; each call repeated with its key (the same bytes, with a BOM) gets
    the same answer and the balance moves once; the return is partial by line."""
    await earn(service)
    calc = await call(service, "receipts/calc",
                      {"receiptId": "R1", "card": CARD, "lines": LINES, "redeem": 50})  # fmt: skip
    assert calc["discount"] == D("140.57") and calc["redeem"] == 50 and calc["customerFound"]
    code_request = {"requestId": "sms-1", "phone": PHONE[1:], "purpose": "redeem"}
    sent = await call(service, "sms-codes", code_request)
    assert await call(service, "sms-codes", BOM + encode(code_request)) == sent
    sms = deps.sms
    assert isinstance(sms, LogSmsProvider)
    assert len([m for m in sms.sent if m.phone == PHONE]) == 1
    hold = {"requestId": "h-1", "receiptId": "R1", "card": CARD, "lines": LINES, "amount": 50,
            "smsCode": sms_code(deps, PHONE)}  # fmt: skip
    held = await call(service, "receipts/hold", hold)
    assert await call(service, "receipts/hold", BOM + encode(hold)) == held
    assert held["amount"] == 50 and held["balance"] == D("83.54")
    confirm = {"receiptId": "R1", "saleDate": "2026-11-20T12:05:00", "lines": CHARGED}
    confirmed = await call(service, "receipts/confirm", confirm)
    assert confirmed["redeemed"] == 50 and confirmed["status"] == "confirmed"
    again = await call(service, "receipts/confirm", {**confirm, "lines": CHARGED[:1]})
    assert again == confirmed
    created = await deps.db.fetch_value(
        "SELECT created_at FROM receipts WHERE merchant_id = :m AND external_id = 'R1'",
        {"m": till.merchant_id},
    )
    moscow = ZoneInfo("Europe/Moscow")
    assert created == to_epoch(datetime(2026, 11, 20, 12, 5, tzinfo=moscow))
    back = {"returnId": "ret-1", "receiptId": "R1", "returnDate": "2026-11-20T12:06:00",
            "lines": [{"id": "2", "quantity": 0.350}]}  # fmt: skip
    returned = await call(service, "receipts/return", back)
    assert await call(service, "receipts/return", back) == returned
    assert [line["id"] for line in returned["lines"]] == ["2"]
    refunds = "SELECT COUNT(*) FROM receipts WHERE merchant_id = :m AND kind = 'refund'"
    assert await count(deps, refunds, till.merchant_id) == 1
    other = await call(service, "receipts/return", {**back, "returnId": "ret-2", "lines": None})
    assert [line["id"] for line in other["lines"]] == ["1"]


async def test_cancel_releases_the_hold_once(
    service: TestClient, deps: Deps, till: OnecTill
) -> None:
    """A cancel after a hold gives the bonuses back; its repeat answers the same and
    a confirm of the cancelled receipt spends nothing it no longer holds."""
    await earn(service)
    await call(service, "sms-codes", {"requestId": "s", "phone": PHONE[1:], "purpose": "redeem"})
    await call(service, "receipts/hold", {"requestId": "h", "receiptId": "R2", "phone": PHONE[1:],
               "lines": LINES, "amount": 30, "smsCode": sms_code(deps, PHONE)})  # fmt: skip
    cancelled = await call(service, "receipts/cancel", {"receiptId": "R2"})
    assert cancelled == {"receiptId": "R2", "status": "cancelled", "released": 30}
    assert await call(service, "receipts/cancel", {"receiptId": "R2"}) == cancelled
    lookup = await call(service, "customers/lookup", {"phone": PHONE[1:]})
    assert lookup["balance"] == D("133.54")


async def test_hold_without_the_code_the_program_asks_for(
    service: TestClient, till: OnecTill
) -> None:
    """The program asks for an SMS code to spend bonuses: a hold without it is 422
    sms_code_required, and a retry with the same requestId runs again (nothing stored)."""
    await earn(service)
    hold = {"requestId": "h", "receiptId": "R3", "card": CARD, "lines": LINES, "amount": 10}
    refused = await call(service, "receipts/hold", hold, status=422)
    assert refused["code"] == "sms_code_required"
    assert (await call(service, "receipts/hold", hold, status=422))["code"] == "sms_code_required"


async def test_a_key_reused_for_another_request_is_409(service: TestClient, till: OnecTill) -> None:
    """The same requestId with a different body is refused, not answered for the first."""
    await call(service, "sms-codes", {"requestId": "k", "phone": PHONE[1:], "purpose": "redeem"})
    other = {"requestId": "k", "phone": "79035550177", "purpose": "registration"}
    assert (await call(service, "sms-codes", other, status=409))["code"] == "idempotency_key_reused"


async def test_lookup_by_phone_and_card_and_registration(
    service: TestClient, deps: Deps, till: OnecTill
) -> None:
    """Lookup by 11-digit phone, by 8-prefixed phone and by card finds one customer;
    registration with a 1C birthday and the consents records them, once per requestId."""
    refs = ({"phone": "79161234567"}, {"phone": "89161234567"}, {"card": CARD})
    ids = {(await call(service, "customers/lookup", ref))["customerId"] for ref in refs}
    assert ids == {till.customer_id}
    await call(service, "sms-codes",
               {"requestId": "r", "phone": "79035550177", "purpose": "registration"})  # fmt: skip
    body = {"requestId": "reg", "phone": "79035550177", "smsCode": sms_code(deps, "+79035550177"),
            "name": "Олег", "birthday": "1990-05-17T00:00:00", "consentPersonalData": True,
            "consentMessages": True}  # fmt: skip
    first = await call(service, "customers/register", body)
    assert await call(service, "customers/register", body) == first
    row = await deps.db.fetch_one(
        "SELECT consent_personal_data_at, consent_messages_at, registration_channel, "
        "registered_store_id FROM customers WHERE merchant_id = :m AND id = :c",
        {"m": till.merchant_id, "c": first["customerId"]},
    )
    assert row is not None and row["consent_personal_data_at"] and row["consent_messages_at"]
    assert row["registration_channel"] == "terminal" and row["registered_store_id"] == till.store_id
    no_consent = {**body, "requestId": "reg2", "phone": "79035550188",
                  "consentPersonalData": False}  # fmt: skip
    assert (await call(service, "customers/register", no_consent, status=400))["code"]


async def test_a_late_confirm_whose_hold_lapsed_is_still_recorded(
    service: TestClient, deps: Deps, till: OnecTill, clock: ManualClock
) -> None:
    """The closed ЧекККМ is the truth: a confirm that arrives after its hold lapsed (a
    store bridge replaying it when the cloud is back) is recorded without the bonuses it
    can no longer debit, not refused, and the session says what was left unsettled."""
    await earn(service)
    await call(service, "sms-codes", {"requestId": "s", "phone": PHONE[1:], "purpose": "redeem"})
    await call(service, "receipts/hold", {"requestId": "h", "receiptId": "R3", "phone": PHONE[1:],
               "lines": LINES, "amount": 50, "smsCode": sms_code(deps, PHONE)})  # fmt: skip
    clock.advance(seconds=deps.settings.hold_ttl_seconds + 60)
    confirm = {"receiptId": "R3", "saleDate": "2026-11-20T12:05:00", "lines": CHARGED}
    confirmed = await call(service, "receipts/confirm", confirm)
    assert confirmed["redeemed"] == 0 and confirmed["status"] == "confirmed"
    assert await call(service, "receipts/confirm", confirm) == confirmed
    row = await deps.db.fetch_one(
        "SELECT state, unsettled, unsettled_reason FROM receipt_sessions WHERE merchant_id = :m "
        "AND channel = '1c' AND external_id = 'R3'",
        {"m": till.merchant_id},
    )
    assert row is not None and (row["state"], int(row["unsettled"])) == ("unsettled", 5000)
    assert row["unsettled_reason"] == "sms_code_required"
