"""Golden receipts of BreezeVape (fixtures/programs/03_breezevape.json, the demo
merchant's program).

The program: vape shop and hookah bar; the phone is the card. Стандартная
(``standard``) 5 % at the first purchase, Серебряная (``silver``) 7 % over 5 000 ₽ and
Золотая (``gold``) 10 % over 10 000 ₽ of lifetime purchases ("over" = strictly
greater); up to 100 % payable by bonuses; accrual on the money part, floored to the
kopeck once per receipt and spread over lines in proportion to base x rate; bonuses
spendable at once, lapse at the Moscow midnight 90 days after the purchase day.
No discounts.

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

PROGRAM = "03_breezevape.json"
MSK = ZoneInfo("Europe/Moscow")
PHONE = "+79033330303"


async def test_tier_ladder_thresholds_are_strictly_greater_than(
    aiohttp_client: Any, deps: Deps
) -> None:
    """Стандартная 5 % at the first purchase, Серебряная 7 % when lifetime purchases are
    strictly over 5 000, Золотая 10 % strictly over 10 000; each receipt is priced at
    the tier the customer had before it.

    b1 5 000,00 at standard: 250,00; lifetime 5 000,00 is not > 5 000 → standard.
    b2 5 000,00 at standard: 250,00; lifetime 10 000,00 > 5 000 (not > 10 000) → silver.
    b3 100,00 at silver: 7 % = 7,00; lifetime 10 100,00 > 10 000 → gold.
    quote b4 100,00 at gold: 10 % = 10,00. Balance 250 + 250 + 7 = 507,00."""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer_id = await till.register(PHONE)
    first = await till.confirm(receipt("b1", [line("a", "5000.00")], phone=PHONE))
    assert (money(first["accrued"]), first["customer"]["tier"]) == (d("250.00"), "standard")
    second = await till.confirm(receipt("b2", [line("a", "5000.00")], phone=PHONE))
    assert (money(second["accrued"]), second["customer"]["tier"]) == (d("250.00"), "silver")
    assert "Новый уровень карты: Серебряная" in second["messages"]
    third = await till.confirm(receipt("b3", [line("a", "100.00")], phone=PHONE))
    assert (money(third["accrued"]), third["customer"]["tier"]) == (d("7.00"), "gold")
    assert "Новый уровень карты: Золотая" in third["messages"]
    quote = await till.calculate(receipt("b4", [line("a", "100.00")], phone=PHONE))
    assert money(quote["accrual"]) == d("10.00")
    assert (await till.balance(customer_id))["available"] == d("507.00")


async def test_partial_payment_by_weight_and_piece_then_partial_returns(
    aiohttp_client: Any, deps: Deps
) -> None:
    """An odd bonus payment is spread over the lines by largest remainder in proportion
    to their caps (100 % here); accrual is 5 % of the money part, floored once and spread
    likewise; returns by fractional and whole quantity give back and reverse their share,
    rounded half-up.

    b1 4 000,00 → 5 % = 200,00 (standard; lifetime 4 000,00).
    b2: liquid 450,00 x 3 = 1 350,00; pod 2 490,00; coal 390,00/kg x 0,5 = 195,00
    (4 035,00). max_redeem min(4 035,00, 200,00) = 200,00.
    * hold 133,33 = 13 333 kop over 135 000 : 249 000 : 19 500: exact 4 460,855 /
      8 227,799 / 644,346 → floors 4 460 + 8 227 + 644 = 13 331, the two kopecks to the
      largest remainders (.855, .799): 44,61 / 82,28 / 6,44.
    * money paid 1 305,39 + 2 407,72 + 188,56 = 3 901,67; 5 % = 195,0835 → 195,08;
      spread 19 508 kop in proportion: 6 526,83 / 12 038,38 / 942,78 → floors sum to
      19 506, kopecks to .83 and .78: 65,27 / 120,38 / 9,43.
      Balance 200,00 − 133,33 + 195,08 = 261,75; lifetime 8 035,00 → silver.
    * return 0,2 kg of coal (of 0,5): back 644 x 0,4 = 257,6 → 2,58; reversed 943 x 0,4
      = 377,2 → 3,77 → 261,75 + 2,58 − 3,77 = 260,56.
    * return one liquid (of 3): back 4 461 / 3 = 1 487 → 14,87; reversed 6 527 / 3 =
      2 175,67 → 21,76 → 260,56 + 14,87 − 21,76 = 253,67.
      Lifetime 8 035,00 − 78,00 − 450,00 = 7 507,00: still silver."""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer_id = await till.register(PHONE)
    await till.confirm(receipt("b1", [line("kit", "4000.00")], phone=PHONE))
    sale = receipt(
        "b2",
        [line("liquid", "450.00", "3"), line("pod", "2490.00"), line("coal", "390.00", "0.5")],
        phone=PHONE,
    )
    quote = await till.calculate(sale)
    assert column(quote["lines"], "max_redeem") == [d("1350.00"), d("2490.00"), d("195.00")]
    assert money(quote["max_redeem"]) == d("200.00")
    held = await till.hold(sale, "133.33")
    assert column(held["lines"], "redeem") == [d("44.61"), d("82.28"), d("6.44")]

    done = await till.confirm(sale, redeemed="133.33")
    assert column(done["lines"], "redeem") == [d("44.61"), d("82.28"), d("6.44")]
    assert column(done["lines"], "accrual") == [d("65.27"), d("120.38"), d("9.43")]
    assert money(done["accrued"]) == d("195.08")
    assert done["customer"]["tier"] == "silver"
    assert (await till.balance(customer_id))["available"] == d("261.75")

    coal = await till.refund("b2-r1", "b2", [("coal", "0.2")])
    assert (money(coal["returned_bonuses"]), money(coal["reversed_accrual"])) == (
        d("2.58"),
        d("3.77"),
    )
    assert (await till.balance(customer_id))["available"] == d("260.56")
    liquid = await till.refund("b2-r2", "b2", [("liquid", 1)])
    assert (money(liquid["returned_bonuses"]), money(liquid["reversed_accrual"])) == (
        d("14.87"),
        d("21.76"),
    )
    assert (await till.balance(customer_id))["available"] == d("253.67")
    profile = await till.profile(customer_id)
    assert money(profile["purchases"]["total"]) == d("7507.00")
    assert profile["tier"]["code"] == "silver"
    await assert_journal_matches(till, customer_id)


async def test_purchase_after_local_midnight_lapses_by_the_moscow_calendar(
    aiohttp_client: Any, deps: Deps, clock: ManualClock
) -> None:
    """The purchase day is the store's local day: a receipt at 2026-11-20 21:30 UTC is
    00:30 on 2026-11-21 in Moscow, so its bonuses lapse at 2026-11-21 + 90 days =
    2027-02-19 00:00 MSK (2027-02-18 21:00 UTC), not a day earlier as the UTC date would
    give. 1 000,00 → 5 % = 50,00, spendable at once; the expiry run takes all 50,00."""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer_id = await till.register(PHONE)
    clock.now = datetime(2026, 11, 20, 21, 30, tzinfo=UTC)
    done = await till.confirm(receipt("b1", [line("a", "1000.00")], phone=PHONE))
    assert money(done["accrued"]) == d("50.00")
    assert instant(done["accrual_available_from"]) == clock.now
    assert instant(done["accrual_expires_at"]) == datetime(2027, 2, 19, tzinfo=MSK)

    clock.now = datetime(2027, 2, 18, 20, 59, tzinfo=UTC)
    assert (await till.balance(customer_id))["available"] == d("50.00")
    clock.now = datetime(2027, 2, 18, 21, 0, tzinfo=UTC)
    assert (await till.balance(customer_id))["available"] == d("0.00")
    await till.expire()
    assert [(lot["amount"], lot["remaining"]) for lot in await till.lots(customer_id)] == [
        (5000, 0)
    ]
    await assert_journal_matches(till, customer_id)
