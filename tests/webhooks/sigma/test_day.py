"""A SIGMA store's day through signed hooks (the published day of ``fixtures/sigma``):
a newcomer registered at the till with an SMS code, a first sale by phone, a look-up by
the card's QR code, a sale with a bonus payment by the card's QR code, a bonus payment
released before the close, a sale without a card, a partial refund, a dropped receipt;
every answer checked field by field against the program (5 % off, 5 % of the money paid
accrued and floored to the kopeck, up to half of a receipt payable by bonuses, a bonus
payment only with the code from SMS). Then a wrong signature, a body altered after
signing, a stale timestamp and a replayed duplicate: nothing changes."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient

from cloud.clock import to_epoch
from cloud.services import customers
from cloud.services.deps import Deps
from tests.webhooks.sigma.conftest import (
    SigmaTerminal,
    encode,
    exchanges,
    hook,
    signed,
    signed_hook,
    with_code,
)


async def balance(deps: Deps, till: SigmaTerminal) -> int:
    summary = await customers.customer_summary(deps, till.merchant_id, till.customer_id)
    return summary.available


async def rows(deps: Deps, till: SigmaTerminal) -> tuple[int, int]:
    counted = await deps.db.fetch_one(
        "SELECT COUNT(*) AS n, COALESCE(SUM(CASE WHEN kind = 'refund' THEN 1 ELSE 0 END), 0) "
        "AS refunds FROM receipts WHERE merchant_id = :m",
        {"m": till.merchant_id},
    )
    assert counted is not None
    return int(counted["n"]), int(counted["refunds"])


def moscow(moment: datetime) -> str:
    """The store's local time (Moscow), as the answers give it."""
    return moment.astimezone(ZoneInfo("Europe/Moscow")).isoformat()


def lines_of(answer: dict[str, Any], name: str) -> list[str]:
    return [line[name] for line in answer["lines"]]


async def test_a_sigma_day_through_signed_hooks(
    sigma: TestClient, deps: Deps, till: SigmaTerminal
) -> None:
    """The whole day, signed; each answer's fields as the program computes them. The
    program asks for an SMS code to pay with bonuses, so each bonus payment follows a
    ``customer.sms_code`` and carries the code the customer received."""
    phones: dict[str, str] = {}
    day = [e["request"] for e in exchanges()]
    start = deps.clock()
    a = []
    for body in day:
        if body in day[: len(a)]:
            # The same code asked for again: a new signature, so a second later.
            deps.clock.advance(seconds=1)  # type: ignore[attr-defined]
        a.append(await signed_hook(sigma, deps, till, with_code(deps, body, phones)))

    # Registration at the till: the code went to the newcomer's phone, never in an answer.
    sent, registered = a[0], a[1]
    assert (sent["purpose"], sent["sent_to"]) == ("registration", "+7903***0101")
    assert sent["expires_at"] == moscow(start + timedelta(seconds=300))
    assert sent["resend_at"] == moscow(start)
    assert sent["messages"][0] == "Код отправлен на +7903***0101"
    newcomer = registered["customer"]
    assert (newcomer["name"], newcomer["phone"], newcomer["tier_name"]) == (
        "Анна", "+7903***0101", "Базовая",
    )  # fmt: skip
    assert (newcomer["balance"], newcomer["physical_card"]) == ("0.00", "7700987654321")
    assert registered["messages"][0] == "Клиент зарегистрирован: +7903***0101"
    assert "Привязана карта: 7700987654321" in registered["messages"]
    row = await deps.db.fetch_one(
        "SELECT registration_channel, registered_store_id, consent_personal_data_at, "
        "consent_messages_at, consent_personal_data_version FROM customers "
        "WHERE merchant_id = :m AND id = :id",
        {"m": till.merchant_id, "id": newcomer["id"]},
    )
    assert row is not None and (row["registration_channel"], row["registered_store_id"]) == (
        "terminal", till.store_id,
    )  # fmt: skip
    assert row["consent_personal_data_at"] is not None and row["consent_messages_at"] is None
    assert row["consent_personal_data_version"] == "2026-09"

    opened, closed = a[2], a[3]
    # 378.00 + 145.00, 5 % off each line; 5 % of 496.85 floored.
    assert (opened["amount"], opened["discount"], opened["amount_after_discount"]) == (
        "523.00", "26.15", "496.85",
    )  # fmt: skip
    assert lines_of(opened, "discount") == ["18.90", "7.25"]
    assert opened["customer"]["balance"] == "0.00" and opened["bonuses_spendable"] == "0.00"
    assert opened["accrual"] == "24.84" and opened["customer_found"] is True
    assert "Будет начислено 24,84 бонусов" in opened["messages"]
    assert "Скидка по карте: 26,15 ₽" in opened["slip"]
    assert (closed["status"], closed["bonus_paid"], closed["accrued"]) == (
        "confirmed", "0.00", "24.84",
    )  # fmt: skip
    assert closed["customer"]["balance"] == "24.84"

    # The cashier looks the customer up by the card's QR code.
    found = a[4]["customer"]
    assert (found["id"], found["balance"], found["tier"], found["lapsing_soon"]) == (
        till.customer_id, "24.84", "base", [],
    )  # fmt: skip
    assert found["physical_card"] == "7700123456789" and found["phone"] == "+7916***4567"
    assert "Баланс: 24,84 бонусов" in a[4]["messages"]

    # By the card's QR code: 2980.00 + 890.00 x 0.347 = 308.83 (half-up), then a syrup.
    first, changed, code, held, paid = a[5:10]
    assert (first["amount"], first["discount"], first["bonuses_spendable"]) == (
        "3288.83", "164.44", "24.84",
    )  # fmt: skip
    assert (changed["amount"], changed["amount_after_discount"]) == ("3638.83", "3456.89")
    assert changed["bonus_payment"] == "20.00" and changed["accrual"] == "171.84"
    assert "Оплата бонусами: 20,00" in changed["messages"]
    assert (code["purpose"], code["sent_to"]) == ("redeem", "+7916***4567")
    assert (held["amount"], held["balance"], held["hold_id"].isdigit()) == ("20.00", "4.84", True)
    assert sum(int(v.replace(".", "")) for v in lines_of(held, "bonus_payment")) == 2000
    assert held["slip"] == ["Оплата бонусами: 20,00"]
    # The close names no bonus payment: the reserve is what is paid.
    assert (paid["bonus_paid"], paid["accrued"], paid["customer"]["balance"]) == (
        "20.00", "171.84", "176.68",
    )  # fmt: skip

    # A bonus payment reserved, then released; the receipt closes without it.
    opened3, _, held3, released, closed3 = a[10:15]
    assert opened3["bonuses_spendable"] == "104.02"  # half of 208.05, floored
    assert held3["balance"] == "166.68" and released["released"] == "10.00"
    assert released["slip"] == ["Отмена оплаты бонусами: 10,00"]
    assert (closed3["bonus_paid"], closed3["accrued"], closed3["customer"]["balance"]) == (
        "0.00", "10.40", "187.08",
    )  # fmt: skip

    # Without a card: priced, recorded, nothing accrued.
    opened4, closed4 = a[15:17]
    assert opened4["customer"] is None and opened4["accrual"] == "0.00"
    assert "Клиент не указан: бонусы не начисляются" in opened4["messages"]
    assert (closed4["customer"], closed4["amount"], closed4["accrued"]) == (None, "283.10", "0.00")

    # One of the two bags of coffee comes back: half its bonus payment returns, half its
    # accrual is taken back.
    refunded = a[17]
    assert refunded["lines"] == [{"id": "1", "quantity": "1", "returned_bonuses": "8.19",
                                  "reversed_accrual": "70.37"}]  # fmt: skip
    assert (refunded["returned_bonuses"], refunded["reversed_accrual"]) == ("8.19", "70.37")
    assert refunded["balance"] == "124.90"

    held5, dropped = a[19:21]
    assert held5["balance"] == "114.90" and dropped["released"] == "10.00"
    assert await balance(deps, till) == 12490
    deps.clock.advance(seconds=2)  # type: ignore[attr-defined]
    assert await signed_hook(sigma, deps, till, day[17]) == refunded  # re-signed: same answer
    assert await balance(deps, till) == 12490
    # No answer about a code carries one (six digits in a row).
    codes = [answer for body, answer in zip(day, a, strict=True) if "purpose" in body]
    assert len(codes) == 4 and not any(re.search(r"[0-9]{6}", str(c)) for c in codes)


async def test_forged_stale_and_replayed_requests_change_nothing(
    sigma: TestClient, deps: Deps, till: SigmaTerminal
) -> None:
    """After a sale, a refund signed with a wrong secret, a refund altered after signing,
    a refund with a stale timestamp and a replay of an accepted refund leave the balance
    and the receipts as they were."""
    day = [e["request"] for e in exchanges()]
    phones: dict[str, str] = {}
    for body in day[:10]:
        await signed_hook(sigma, deps, till, with_code(deps, body, phones))
    first = {"event": "receipt.refunded", "refund_id": "R-1", "receipt_id": "S-1002",
             "lines": [{"id": "3", "quantity": 1}]}  # fmt: skip
    raw = encode(first)
    now = to_epoch(deps.clock())
    accepted = signed(till, raw, now)
    await hook(sigma, None, accepted, raw=raw, event="receipt.refunded")
    before, counted = await balance(deps, till), await rows(deps, till)

    whole = {**first, "refund_id": "R-2", "lines": None}
    raw2 = encode(whole)
    attempts = [
        (signed(till, raw2, now, secret="ss_forged"), raw2, 401, "sigma_bad_signature"),
        (signed(till, raw2, now), raw2.replace(b'"R-2"', b'"R-3"'), 401, "sigma_bad_signature"),
        (signed(till, raw2, now - 301), raw2, 401, "sigma_stale_timestamp"),
        (accepted, raw, 409, "sigma_replayed"),
    ]
    for headers, body, status, code in attempts:
        answer = await hook(sigma, None, headers, status, raw=body, event="receipt.refunded")
        assert answer["code"] == code and answer["message"]
    assert await balance(deps, till) == before and await rows(deps, till) == counted


async def test_a_close_whose_reserve_lapsed_is_still_recorded(
    sigma: TestClient, deps: Deps, till: SigmaTerminal
) -> None:
    """``receipt.closed`` names a printed receipt: when its bonus payment's reserve
    lapsed before the close (and the program wants the customer's code to debit again),
    the sale is recorded without that payment, not refused, and the session keeps what
    was left unsettled and why; the close sent again answers the same."""
    phones: dict[str, str] = {}
    day = [e["request"] for e in exchanges()]
    for body in day[:9]:  # through the reserve of 20.00 for S-1002
        await signed_hook(sigma, deps, till, with_code(deps, body, phones))
    deps.clock.advance(seconds=deps.settings.hold_ttl_seconds + 60)  # type: ignore[attr-defined]
    close = day[9]  # names no payment: the reserve is what was paid
    closed = await signed_hook(sigma, deps, till, close)
    assert (closed["status"], closed["bonus_paid"]) == ("confirmed", "0.00")
    deps.clock.advance(seconds=1)  # type: ignore[attr-defined]
    assert await signed_hook(sigma, deps, till, close) == closed
    assert await rows(deps, till) == (2, 0)
    row = await deps.db.fetch_one(
        "SELECT state, unsettled, unsettled_reason FROM receipt_sessions WHERE merchant_id = :m "
        "AND channel = 'sigma' AND external_id = :r",
        {"m": till.merchant_id, "r": close["receipt_id"]},
    )
    assert row is not None and (row["state"], int(row["unsettled"])) == ("unsettled", 2000)
    assert row["unsettled_reason"] == "sms_code_required"
