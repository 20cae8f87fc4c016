"""Golden receipts of АвтоХелп (fixtures/programs/08_avtohelp.json).

The program: a car service; the phone is the card. Стандартная (``standard``) 5 % given
at registration, Золотая (``gold``) 7 % over 20 000 ₽, VIP (``vip``) 10 % over
50 000 ₽ of lifetime purchases (strictly greater). Bonuses pay up to 50 % of labour
(category ``services``) and up to 10 % of parts (``parts``); uncategorised lines count
as parts (10 %, the tier's share). Accrual on the money part, floored once per receipt
and spread over lines in proportion to base x rate; bonuses spendable at once, lapse
at the Moscow midnight 365 days after the purchase day. No discounts. (Referral and
review gifts are granted outside the checkout and are not covered here.)

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

PROGRAM = "08_avtohelp.json"
MSK = ZoneInfo("Europe/Moscow")
PHONE = "+79038880808"


async def test_first_repair_caps_by_category_and_5_percent_accrual(
    aiohttp_client: Any, deps: Deps, clock: ManualClock
) -> None:
    """Стандартная is given at registration; labour (services) is payable up to 50 %,
    parts and uncategorised lines up to 10 %; 5 % accrues on the receipt, floored once
    and spread by largest remainder; spendable at once, lapsing 365 days later.

    a1: labour (services) 8 000,00; pads (parts) 3 450,00; filter (parts) 689,90 x 2 =
    1 379,80; antifreeze (no category) 1 111,11 (13 940,91).
    * caps: 4 000,00 / 345,00 / 137,98 / 111,111 → 111,11; max_redeem 0 (no balance).
    * accrual 5 % of 13 940,91 = 697,0455 → 697,04; spread 69 704 kop in proportion:
      39 999,68 / 17 249,86 / 6 898,95 / 5 555,51 → floors 69 701, the three kopecks to
      .95, .86, .68: 400,00 / 172,50 / 68,99 / 55,55.
    * lapses 2026-11-20 + 365 = 2027-11-20 00:00 MSK."""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer_id = await till.register(PHONE)
    assert (await till.profile(customer_id))["tier"]["code"] == "standard"
    body = receipt(
        "a1",
        [
            line("labour", "8000.00", category="services"),
            line("pads", "3450.00", category="parts"),
            line("filter", "689.90", "2", category="parts"),
            line("antifreeze", "1111.11"),
        ],
        phone=PHONE,
    )
    quote = await till.calculate(body)
    assert column(quote["lines"], "discount") == [d("0.00")] * 4
    assert column(quote["lines"], "max_redeem") == [
        d("4000.00"), d("345.00"), d("137.98"), d("111.11"),
    ]  # fmt: skip
    assert money(quote["max_redeem"]) == d("0.00")
    assert column(quote["lines"], "accrual") == [
        d("400.00"), d("172.50"), d("68.99"), d("55.55"),
    ]  # fmt: skip
    done = await till.confirm(body)
    assert money(done["accrued"]) == d("697.04")
    assert done["customer"]["tier"] == "standard"
    assert instant(done["accrual_available_from"]) == clock.now
    assert instant(done["accrual_expires_at"]) == datetime(2027, 11, 20, tzinfo=MSK)
    assert (await till.balance(customer_id))["available"] == d("697.04")


async def test_whole_balance_spent_over_labour_and_parts_gold_and_parts_refund(
    aiohttp_client: Any, deps: Deps
) -> None:
    """Spending the whole balance spreads it in proportion to the category caps;
    accrual is on the money part at the tier the customer had; over 20 000 of lifetime
    purchases the card becomes Золотая (7 %); returning the parts line gives back its
    bonuses and reverses its accrual; the lower lifetime does not lower the tier.

    a1: 13 940,91 → 697,04 (as above).
    a2: labour 5 000,00 (cap 2 500,00); parts 2 000,00 (cap 200,00); antifreeze 1 000,00
    (cap 100,00). max_redeem min(2 800,00, 697,04) = 697,04.
    * hold 697,04 = 69 704 kop over 250 000 : 20 000 : 10 000: 62 235,71 / 4 978,86 /
      2 489,43 → floors 69 702, kopecks to .86 and .71: 622,36 / 49,79 / 24,89.
    * money paid 4 377,64 + 1 950,21 + 975,11 = 7 302,96; 5 % = 365,148 → 365,14;
      spread: 21 887,72 / 9 750,84 / 4 875,44 → floors 36 512, kopecks to .84 and .72:
      218,88 / 97,51 / 48,75. Balance 0,00 + 365,14; lifetime 13 940,91 + 8 000,00 =
      21 940,91 > 20 000 → gold.
    * return the parts: 49,79 back, 97,51 reversed → 365,14 + 49,79 − 97,51 = 317,42;
      lifetime 19 940,91, still gold.
    * quote a3 at gold: labour 1 000,00 + parts 1 000,00 → 7 % = 70,00 + 70,00;
      caps 500,00 / 100,00; max_redeem min(600,00, 317,42) = 317,42."""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer_id = await till.register(PHONE)
    await till.confirm(
        receipt(
            "a1",
            [
                line("labour", "8000.00", category="services"),
                line("pads", "3450.00", category="parts"),
                line("filter", "689.90", "2", category="parts"),
                line("antifreeze", "1111.11"),
            ],
            phone=PHONE,
        )
    )
    sale = receipt(
        "a2",
        [
            line("labour", "5000.00", category="services"),
            line("parts", "2000.00", category="parts"),
            line("antifreeze", "1000.00"),
        ],
        phone=PHONE,
    )
    quote = await till.calculate(sale)
    assert column(quote["lines"], "max_redeem") == [d("2500.00"), d("200.00"), d("100.00")]
    assert money(quote["max_redeem"]) == d("697.04")
    held = await till.hold(sale, "697.04")
    assert column(held["lines"], "redeem") == [d("622.36"), d("49.79"), d("24.89")]
    assert money(held["balance"]) == d("0.00")
    done = await till.confirm(sale, redeemed="697.04")
    assert column(done["lines"], "redeem") == [d("622.36"), d("49.79"), d("24.89")]
    assert column(done["lines"], "accrual") == [d("218.88"), d("97.51"), d("48.75")]
    assert money(done["accrued"]) == d("365.14")
    assert done["customer"]["tier"] == "gold"
    assert "Новый уровень карты: Золотая" in done["messages"]
    assert (await till.balance(customer_id))["available"] == d("365.14")

    back = await till.refund("a2-r", "a2", [("parts", 1)])
    assert (money(back["returned_bonuses"]), money(back["reversed_accrual"])) == (
        d("49.79"),
        d("97.51"),
    )
    assert (await till.balance(customer_id))["available"] == d("317.42")
    profile = await till.profile(customer_id)
    assert money(profile["purchases"]["total"]) == d("19940.91")
    assert profile["tier"]["code"] == "gold"

    quote = await till.calculate(
        receipt(
            "a3",
            [
                line("labour", "1000.00", category="services"),
                line("parts", "1000.00", category="parts"),
            ],
            phone=PHONE,
        )
    )
    assert column(quote["lines"], "accrual") == [d("70.00"), d("70.00")]
    assert column(quote["lines"], "max_redeem") == [d("500.00"), d("100.00")]
    assert money(quote["max_redeem"]) == d("317.42")
    await assert_journal_matches(till, customer_id)


async def test_vip_needs_lifetime_purchases_strictly_over_50000(
    aiohttp_client: Any, deps: Deps
) -> None:
    """a1 50 000,00 at standard: 5 % = 2 500,00; lifetime 50 000,00 > 20 000 but not
    > 50 000 → gold. a2 0,01 at gold: 7 % = 0,0007 → 0,00; lifetime 50 000,01 → vip.
    Quote a3 100,00 at vip: 10 % = 10,00."""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    await till.register(PHONE)
    first = await till.confirm(
        receipt("a1", [line("engine", "50000.00", category="services")], phone=PHONE)
    )
    assert (money(first["accrued"]), first["customer"]["tier"]) == (d("2500.00"), "gold")
    second = await till.confirm(receipt("a2", [line("bolt", "0.01")], phone=PHONE))
    assert (money(second["accrued"]), second["customer"]["tier"]) == (d("0.00"), "vip")
    quote = await till.calculate(receipt("a3", [line("bolt", "100.00")], phone=PHONE))
    assert money(quote["accrual"]) == d("10.00")


async def test_bonuses_lapse_365_days_after_the_purchase_day(
    aiohttp_client: Any, deps: Deps, clock: ManualClock
) -> None:
    """a1 2026-11-20: labour 1 000,00 → 50,00, lapsing 2027-11-20 00:00 MSK
    (2027-11-19 21:00 UTC): spendable one minute before, gone at that instant; the run
    expires 50,00 and the journal matches."""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer_id = await till.register(PHONE)
    await till.confirm(receipt("a1", [line("labour", "1000.00", category="services")], phone=PHONE))
    clock.now = datetime(2027, 11, 19, 20, 59, tzinfo=UTC)
    assert (await till.balance(customer_id))["available"] == d("50.00")
    clock.now = datetime(2027, 11, 19, 21, 0, tzinfo=UTC)
    assert (await till.balance(customer_id))["available"] == d("0.00")
    await till.expire()
    assert [(lot["amount"], lot["remaining"]) for lot in await till.lots(customer_id)] == [
        (5000, 0)
    ]
    await assert_journal_matches(till, customer_id)
