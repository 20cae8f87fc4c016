"""Golden receipts of Мойдодыр (fixtures/programs/07_moidodyr.json).

The program: a car wash; the phone is the card. Стандартная (``standard``) 5 % given at
registration, Золотая (``gold``) 10 % over 5 000 ₽, VIP (``vip``) 15 % over 10 000 ₽ of
lifetime purchases (strictly greater); up to 100 % payable by bonuses; accrual on the
money part, floored once per receipt and spread over lines in proportion to base x
rate; bonuses spendable at once, lapse at the Moscow midnight 180 days after the
purchase day. No discounts. (Referral and review gifts are granted outside the
checkout and are not covered here.)

The clock starts at 2026-11-20 09:00 UTC = 12:00 in Moscow (UTC+3).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from cloud.clock import ManualClock
from cloud.services.deps import Deps
from tests.golden.support import (
    assert_journal_matches,
    column,
    d,
    instant,
    line,
    open_till,
    receipt,
)
from tests.helpers import money

PROGRAM = "07_moidodyr.json"
MSK = ZoneInfo("Europe/Moscow")
PHONE = "+79037770707"


async def test_registration_gives_standard_and_first_wash_accrues_5_percent(
    aiohttp_client: Any, deps: Deps, clock: ManualClock
) -> None:
    """Стандартная is given at registration (before any purchase), so the first receipt
    is priced at it and changes no tier; 5 % accrues, spendable at once, lapsing at the
    Moscow midnight 180 days after the purchase day.

    m1: complex wash 1 200,00; tyre blacking 300,00; freshener 250,00 x 2 = 500,00
    (2 000,00). Caps 100 %: 1 200,00 / 300,00 / 500,00, max_redeem 0 (no balance).
    Accrual 5 % = 100,00 → 60,00 / 15,00 / 25,00. Lapses 2026-11-20 + 180 =
    2027-05-19 00:00 MSK."""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer_id = await till.register(PHONE)
    assert (await till.profile(customer_id))["tier"]["code"] == "standard"
    body = receipt(
        "m1",
        [line("wash", "1200.00"), line("tyres", "300.00"), line("freshener", "250.00", "2")],
        phone=PHONE,
    )
    quote = await till.calculate(body)
    assert quote["customer"]["tier"] == "standard"
    assert column(quote["lines"], "max_redeem") == [d("1200.00"), d("300.00"), d("500.00")]
    assert money(quote["max_redeem"]) == d("0.00")
    assert column(quote["lines"], "accrual") == [d("60.00"), d("15.00"), d("25.00")]
    done = await till.confirm(body)
    assert money(done["accrued"]) == d("100.00")
    assert done["customer"]["tier"] == "standard"
    assert not any(message.startswith("Новый уровень") for message in done["messages"])
    assert instant(done["accrual_available_from"]) == clock.now
    assert instant(done["accrual_expires_at"]) == datetime(2027, 5, 19, tzinfo=MSK)
    assert (await till.balance(customer_id))["available"] == d("100.00")


async def test_full_payment_refund_of_spent_accrual_and_tiers_that_never_go_down(
    aiohttp_client: Any, deps: Deps
) -> None:
    """Up to 100 % is payable and a fully bonus-paid wash accrues nothing. Returning a
    line whose accrual was already spent reverses only what is left and reports the
    rest as unrecovered (no lot goes negative). A return lowers lifetime purchases but
    never the tier; Золотая and VIP need strictly more than 5 000 / 10 000.

    m1: wash 4 000,00 + polish 2 000,00 → 5 % = 200,00 + 100,00 = 300,00; lifetime
    6 000,00 > 5 000 → gold.
    m2: 299,99 paid by bonuses in full (max_redeem min(299,99, 300,00) = 299,99) →
    no money part, accrual 0; balance 0,01; lifetime 6 299,99.
    Return m1's polish: reverse 100,00, but only 0,01 is left → reversed 0,01,
    unrecovered 99,99, nothing to give back; balance 0,00; lifetime 4 299,99, still gold.
    m3 5 700,01 at gold: 10 % = 570,001 → 570,00; lifetime 10 000,00 (not > 10 000).
    m4 0,01 at gold: 0,001 → 0,00; lifetime 10 000,01 → vip. Quote 100,00 at vip: 15,00."""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer_id = await till.register(PHONE)
    first = await till.confirm(
        receipt("m1", [line("wash", "4000.00"), line("polish", "2000.00")], phone=PHONE)
    )
    assert column(first["lines"], "accrual") == [d("200.00"), d("100.00")]
    assert first["customer"]["tier"] == "gold"
    assert "Новый уровень карты: Золотая" in first["messages"]

    whole = receipt("m2", [line("wash", "299.99")], phone=PHONE)
    assert money((await till.calculate(whole))["max_redeem"]) == d("299.99")
    await till.hold(whole, "299.99")
    paid = await till.confirm(whole, redeemed="299.99")
    assert money(paid["accrued"]) == d("0.00")
    assert (await till.balance(customer_id))["available"] == d("0.01")

    back = await till.refund("m1-r", "m1", [("polish", 1)])
    assert money(back["returned_bonuses"]) == d("0.00")
    assert money(back["reversed_accrual"]) == d("0.01")
    assert money(back["unrecovered_accrual"]) == d("99.99")
    assert (await till.balance(customer_id))["available"] == d("0.00")
    profile = await till.profile(customer_id)
    assert money(profile["purchases"]["total"]) == d("4299.99")
    assert profile["tier"]["code"] == "gold"

    third = await till.confirm(receipt("m3", [line("wash", "5700.01")], phone=PHONE))
    assert (money(third["accrued"]), third["customer"]["tier"]) == (d("570.00"), "gold")
    fourth = await till.confirm(receipt("m4", [line("air", "0.01")], phone=PHONE))
    assert (money(fourth["accrued"]), fourth["customer"]["tier"]) == (d("0.00"), "vip")
    quote = await till.calculate(receipt("m5", [line("wash", "100.00")], phone=PHONE))
    assert money(quote["accrual"]) == d("15.00")
    await assert_journal_matches(till, customer_id)


async def test_partial_payment_then_the_older_lot_lapses_after_180_days(
    aiohttp_client: Any, deps: Deps, clock: ManualClock
) -> None:
    """A partial bonus payment spreads over the lines by their 100 % caps and accrual is
    on the money part; the payment comes from the older lot, and at its lapse (the Moscow
    midnight 180 days after its purchase day) only its unspent rest expires.

    m1 2026-11-20: 2 000,00 → 100,00, lapses 2027-05-19 00:00 MSK (05-18 21:00 UTC).
    m2 2026-11-21: wash 1 500,00 + wax 500,00; hold 60,00 spread 1 500 : 500 =
    45,00 / 15,00; accrual 5 % of (1 455,00 + 485,00) = 97,00 → 72,75 / 24,25, lapses
    2026-11-21 + 180 = 2027-05-20 00:00 MSK. Balance 100,00 − 60,00 + 97,00 = 137,00
    (m1's lot 40,00, m2's 97,00); lifetime 4 000,00 → still standard.
    2027-05-18 20:59 UTC: 137,00; 21:00 UTC: m1's 40,00 lapse → 97,00."""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer_id = await till.register(PHONE)
    await till.confirm(receipt("m1", [line("wash", "2000.00")], phone=PHONE))
    clock.advance(days=1)
    sale = receipt("m2", [line("wash", "1500.00"), line("wax", "500.00")], phone=PHONE)
    held = await till.hold(sale, "60")
    assert column(held["lines"], "redeem") == [d("45.00"), d("15.00")]
    done = await till.confirm(sale, redeemed="60")
    assert column(done["lines"], "redeem") == [d("45.00"), d("15.00")]
    assert column(done["lines"], "accrual") == [d("72.75"), d("24.25")]
    assert money(done["accrued"]) == d("97.00")
    assert done["customer"]["tier"] == "standard"
    assert instant(done["accrual_expires_at"]) == datetime(2027, 5, 20, tzinfo=MSK)
    assert [lot["remaining"] for lot in await till.lots(customer_id)] == [4000, 9700]

    clock.now = datetime(2027, 5, 18, 20, 59, tzinfo=UTC)
    assert (await till.balance(customer_id))["available"] == d("137.00")
    clock.now = datetime(2027, 5, 18, 21, 0, tzinfo=UTC)
    assert (await till.balance(customer_id))["available"] == d("97.00")
    await till.expire()
    assert [(lot["amount"], lot["remaining"]) for lot in await till.lots(customer_id)] == [
        (10000, 0),
        (9700, 9700),
    ]
    await assert_journal_matches(till, customer_id)
