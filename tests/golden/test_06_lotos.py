"""Golden receipts of Лотос (fixtures/programs/06_lotos.json).

The program: a SPA; the phone is the card. Стартовая (``start``) 5 % at the first
purchase, Серебряная (``silver``) 10 % over 8 000 ₽, Золотая (``gold``) 15 % over
20 000 ₽ of lifetime purchases (strictly greater). Bonuses pay up to 50 % of services
(category ``services``) and up to 10 % of goods (``goods``); uncategorised lines count
as goods (10 %, the tier's share). Accrual on the money part, floored once per receipt
and spread over lines in proportion to base x rate. Bonuses become spendable at the
next local midnight and lapse 180 days after that day. No discounts. (Birthday,
referral and review gifts are granted outside the checkout and are not covered here.)

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

PROGRAM = "06_lotos.json"
MSK = ZoneInfo("Europe/Moscow")
PHONE = "+79036660606"


async def test_first_purchase_category_caps_and_next_day_activation(
    aiohttp_client: Any, deps: Deps, clock: ManualClock
) -> None:
    """Services are payable up to 50 %, goods and uncategorised lines up to 10 %; the
    first purchase is priced at Стартовая 5 % and confers it; the bonuses wait for the
    next local midnight and lapse 180 days after that day.

    l1: massage (services) 4 500,00; cream (goods) 1 290,00; certificate (no
    category) 700,00 (6 490,00).
    * caps: 50 % of 4 500,00 = 2 250,00; 10 % of 1 290,00 = 129,00; 10 % of 700,00 =
      70,00; max_redeem min(2 449,00, balance 0) = 0.
    * accrual 5 % of 6 490,00 = 324,50 → 225,00 / 64,50 / 35,00 (exact).
    * available from 2026-11-21 00:00 MSK; lapses 2026-11-21 + 180 = 2027-05-20 00:00
      MSK. Pending 324,50 until then; a receipt the same day may spend nothing."""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer_id = await till.register(PHONE)
    assert (await till.profile(customer_id))["tier"] is None
    body = receipt(
        "l1",
        [
            line("massage", "4500.00", category="services"),
            line("cream", "1290.00", category="goods"),
            line("certificate", "700.00"),
        ],
        phone=PHONE,
    )
    quote = await till.calculate(body)
    assert column(quote["lines"], "discount") == [d("0.00")] * 3
    assert column(quote["lines"], "max_redeem") == [d("2250.00"), d("129.00"), d("70.00")]
    assert money(quote["max_redeem"]) == d("0.00")
    assert column(quote["lines"], "accrual") == [d("225.00"), d("64.50"), d("35.00")]

    done = await till.confirm(body)
    assert money(done["accrued"]) == d("324.50")
    assert done["customer"]["tier"] == "start"
    assert instant(done["accrual_available_from"]) == datetime(2026, 11, 21, tzinfo=MSK)
    assert instant(done["accrual_expires_at"]) == datetime(2027, 5, 20, tzinfo=MSK)
    assert await till.balance(customer_id) == {
        "available": d("0.00"), "held": d("0.00"), "pending": d("324.50"),
    }  # fmt: skip
    same_day = await till.calculate(
        receipt("l2", [line("massage", "1000.00", category="services")], phone=PHONE)
    )
    assert money(same_day["max_redeem"]) == d("0.00")
    clock.now = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)  # 2026-11-21 00:00 MSK
    assert (await till.balance(customer_id))["available"] == d("324.50")


async def test_partial_payment_over_services_and_goods_silver_and_goods_refund(
    aiohttp_client: Any, deps: Deps, clock: ManualClock
) -> None:
    """The bonus payment spreads over the lines in proportion to their category caps;
    accrual is 5 % of the money part; lifetime purchases over 8 000 make the card
    Серебряная (10 %) for the next receipt; a returned goods line gives back its bonuses
    and reverses its accrual (from the still-pending lot).

    l1 2026-11-20: 6 490,00 → 324,50 (as above), spendable from 11-21.
    l2 2026-11-21: services 3 000,00; goods 2 000,00; no category 555,55 (5 555,55).
    * caps 1 500,00 / 200,00 / 10 % of 555,55 = 55,555 → 55,55; max_redeem
      min(1 755,55, 324,50) = 324,50.
    * hold 300,00 = 30 000 kop over 150 000 : 20 000 : 5 555: 25 632,99 / 3 417,73 /
      949,28 → floors 29 998, kopecks to .99 and .73: 256,33 / 34,18 / 9,49.
    * money paid 2 743,67 + 1 965,82 + 546,06 = 5 255,55; 5 % = 262,7775 → 262,77;
      spread in proportion: 13 717,96 / 9 828,82 / 2 730,22 → floors 26 275, kopecks to
      .96 and .82: 137,18 / 98,29 / 27,30. Available 324,50 − 300,00 = 24,50, pending
      262,77 (until 11-22). Lifetime 6 490,00 + 5 555,55 = 12 045,55 > 8 000 → silver.
    * return the goods: 34,18 back, 98,29 reversed → available 58,68, pending 164,48;
      lifetime 10 045,55, still silver.
    * quote l3 at silver: services 1 000,00 + goods 500,00 → 10 % = 100,00 + 50,00 =
      150,00; caps 500,00 / 50,00; max_redeem min(550,00, 58,68) = 58,68."""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer_id = await till.register(PHONE)
    await till.confirm(
        receipt(
            "l1",
            [
                line("massage", "4500.00", category="services"),
                line("cream", "1290.00", category="goods"),
                line("certificate", "700.00"),
            ],
            phone=PHONE,
        )
    )
    clock.advance(days=1)
    sale = receipt(
        "l2",
        [
            line("spa", "3000.00", category="services"),
            line("oil", "2000.00", category="goods"),
            line("tea", "555.55"),
        ],
        phone=PHONE,
    )
    quote = await till.calculate(sale)
    assert column(quote["lines"], "max_redeem") == [d("1500.00"), d("200.00"), d("55.55")]
    assert money(quote["max_redeem"]) == d("324.50")
    held = await till.hold(sale, "300")
    assert column(held["lines"], "redeem") == [d("256.33"), d("34.18"), d("9.49")]
    done = await till.confirm(sale, redeemed="300")
    assert column(done["lines"], "redeem") == [d("256.33"), d("34.18"), d("9.49")]
    assert column(done["lines"], "accrual") == [d("137.18"), d("98.29"), d("27.30")]
    assert money(done["accrued"]) == d("262.77")
    assert done["customer"]["tier"] == "silver"
    assert instant(done["accrual_available_from"]) == datetime(2026, 11, 22, tzinfo=MSK)
    assert await till.balance(customer_id) == {
        "available": d("24.50"), "held": d("0.00"), "pending": d("262.77"),
    }  # fmt: skip

    back = await till.refund("l2-r", "l2", [("oil", 1)])
    assert (money(back["returned_bonuses"]), money(back["reversed_accrual"])) == (
        d("34.18"),
        d("98.29"),
    )
    assert await till.balance(customer_id) == {
        "available": d("58.68"), "held": d("0.00"), "pending": d("164.48"),
    }  # fmt: skip
    profile = await till.profile(customer_id)
    assert money(profile["purchases"]["total"]) == d("10045.55")
    assert profile["tier"]["code"] == "silver"

    quote = await till.calculate(
        receipt(
            "l3",
            [line("spa", "1000.00", category="services"), line("oil", "500.00", category="goods")],
            phone=PHONE,
        )
    )
    assert column(quote["lines"], "accrual") == [d("100.00"), d("50.00")]
    assert column(quote["lines"], "max_redeem") == [d("500.00"), d("50.00")]
    assert money(quote["max_redeem"]) == d("58.68")
    await assert_journal_matches(till, customer_id)


async def test_older_lot_is_spent_first_and_only_its_rest_lapses(
    aiohttp_client: Any, deps: Deps, clock: ManualClock
) -> None:
    """Redemption takes the soonest-expiring lot first; at its lapse only its unspent
    rest expires, the later lot stays, and the journal matches the lots.

    l1 2026-11-20: services 1 000,00 → 50,00; from 11-21, lapses 2027-05-20 00:00 MSK
    (2027-05-19 21:00 UTC).
    l2 2026-12-01: services 1 000,00 (cap 500,00) paying 30,00 from l1's lot → 5 % of
    970,00 = 48,50; from 12-02, lapses 2026-12-02 + 180 = 2027-05-31 00:00 MSK.
    At 2027-05-19 21:00 UTC l1's 20,00 lapse: 48,50 left."""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer_id = await till.register(PHONE)
    await till.confirm(
        receipt("l1", [line("massage", "1000.00", category="services")], phone=PHONE)
    )
    clock.now = datetime(2026, 12, 1, 9, tzinfo=UTC)
    second = await till.confirm(
        receipt("l2", [line("massage", "1000.00", category="services")], phone=PHONE),
        redeemed="30",
    )
    assert money(second["accrued"]) == d("48.50")
    assert instant(second["accrual_expires_at"]) == datetime(2027, 5, 31, tzinfo=MSK)
    assert [lot["remaining"] for lot in await till.lots(customer_id)] == [2000, 4850]

    clock.now = datetime(2027, 5, 19, 20, 59, tzinfo=UTC)
    assert (await till.balance(customer_id))["available"] == d("68.50")
    clock.now = datetime(2027, 5, 19, 21, 0, tzinfo=UTC)
    await till.expire()
    assert [lot["remaining"] for lot in await till.lots(customer_id)] == [0, 4850]
    assert (await till.balance(customer_id))["available"] == d("48.50")
    await assert_journal_matches(till, customer_id)
