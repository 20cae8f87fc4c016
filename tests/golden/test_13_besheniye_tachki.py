"""Golden receipts for Бешеные тачки (fixtures/programs/13_besheniye_tachki.json), a
karting track, priced over the public API.

The program (programs.md #13): a physical card bound to the phone. Стартовая 5 % at
registration, Золотая 10 % when lifetime purchases are strictly greater than 10 000 ₽.
Up to 50 % of a receipt payable by bonuses. Accrual is on the part paid in money,
floored to the kopeck. Bonuses become spendable the next local (Moscow) day and lapse
at the local midnight 60 days after that activation day. A welcome gift of 100 bonuses
(also on self-registration) is available from the next day and valid 14 days.
Receipts are closed on 20.11.2026 12:00 MSK (09:00 UTC) unless the clock is moved;
the customer is identified by the physical card.

The welcome gift would change balance totals in the first two weeks, so the tests of
receipts read the purchase lots there, and check whole balances only after the gift
has lapsed (05.12.2026 00:00 MSK); the gift itself has its own test.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cloud.clock import ManualClock
from cloud.services.deps import Deps
from tests.golden.support import Till, epoch, instant, line, open_till, per_line, receipt, utc
from tests.helpers import money

PROGRAM = "13_besheniye_tachki.json"
PHONE = "+79161111313"
CARD = "7700 1313 0001"


FIRST = [
    line("race", "1500.00", "2", category="race"),
    line("food", "500.00", category="food"),
]


async def purchase_lots(till: Till, customer: int) -> list[tuple[int, int, int, int | None]]:
    """(amount, remaining, available_from, expires_at) of the purchase lots, kopecks."""
    return [
        (lot["amount"], lot["remaining"], lot["available_from"], lot["expires_at"])
        for lot in await till.lots(customer)
        if lot["kind"] == "purchase"
    ]


async def test_card_receipt_at_the_entry_tier_activates_next_day(
    aiohttp_client: Any, deps: Deps
) -> None:
    """Registration gives Стартовая; a receipt identified by the physical card accrues
    5 %, pending until the next Moscow midnight, lapsing 60 days after that day; every
    line may be paid by bonuses up to half of it.

    race 2 x 1 500,00 = 3 000,00 + food 500,00 = 3 500,00.
    Caps: 1 500,00 and 250,00. Accrual 150,00 + 25,00 = 175,00.
    Available from 21.11.2026 00:00 MSK = 20.11 21:00 UTC; lapses 21.11 + 60 days =
    20.01.2027 00:00 MSK = 19.01.2027 21:00 UTC.
    """
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer = await till.register(PHONE, card=CARD)
    assert (await till.profile(customer))["tier"]["code"] == "start"

    body = receipt("13-s1", FIRST, card="7700-1313-0001")  # the card as scanned, with dashes
    quote = await till.calculate(body)
    assert quote["customer"]["id"] == customer
    assert quote["customer"]["tier"] == "start"
    assert per_line(quote, "max_redeem") == {"race": Decimal("1500.00"), "food": Decimal("250.00")}
    assert per_line(quote, "accrual") == {"race": Decimal("150.00"), "food": Decimal("25.00")}

    done = await till.confirm(body)
    assert money(done["accrued"]) == Decimal("175.00")
    assert instant(done["accrual_available_from"]) == utc(2026, 11, 20, 21, 0)
    assert instant(done["accrual_expires_at"]) == utc(2027, 1, 19, 21, 0)
    assert await purchase_lots(till, customer) == [
        (17500, 17500, epoch(utc(2026, 11, 20, 21, 0)), epoch(utc(2027, 1, 19, 21, 0)))
    ]


async def test_welcome_gift_of_100_next_day_for_14_days(
    aiohttp_client: Any, deps: Deps, clock: ManualClock
) -> None:
    """Registration at the till on 20.11.2026 (12:00 MSK) grants 100 welcome bonuses, pending until
    21.11 00:00 MSK (20.11 21:00 UTC) and valid 14 days from that activation day: they
    lapse at 05.12.2026 00:00 MSK (04.12 21:00 UTC)."""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer = await till.register(PHONE, card=CARD, at_till=True)
    assert await till.balance(customer) == {
        "available": Decimal(0), "held": Decimal(0), "pending": Decimal("100.00")
    }  # fmt: skip
    assert [
        (lot["kind"], lot["amount"], lot["available_from"], lot["expires_at"])
        for lot in await till.lots(customer)
    ] == [("welcome", 10000, epoch(utc(2026, 11, 20, 21, 0)), epoch(utc(2026, 12, 4, 21, 0)))]
    clock.now = utc(2026, 11, 20, 21, 0)
    assert (await till.balance(customer))["available"] == Decimal("100.00")
    clock.now = utc(2026, 12, 4, 20, 59, 59)
    assert (await till.balance(customer))["available"] == Decimal("100.00")
    clock.now = utc(2026, 12, 4, 21, 0)
    await till.expire()
    assert (await till.balance(customer))["available"] == Decimal(0)


async def test_half_payable_hold_confirm_and_refund_by_line(
    aiohttp_client: Any, deps: Deps, clock: ManualClock
) -> None:
    """At most 50 % of each line can be paid by bonuses; the payment is spread over the
    lines in proportion to their caps (largest remainder), accrual is on the money part
    and waits for the next day, and returns give back / reverse pro rata (half-up).

    Sale 1 (20.11): race 6 000,00 -> 300,00 (lapses 20.01.2027).
    On 10.12 (the welcome gift, if any, lapsed on 05.12) the balance is 300,00.
    Sale 2: race 3 x 150,00 = 450,00 (cap 225,00) + drink 90,00 (cap 45,00):
      max_redeem 270,00 (< 300,00); hold 270,01 refused; hold 200,00 spread 225:45 =
      166,666.. / 33,333.. -> 166,66 + 33,33 + the odd kopeck to the larger remainder
      (race) = 166,67 + 33,33.
      Money paid 283,33 + 56,67 = 340,00 -> 5 % = 17,00 exactly; by line 14,1665 and
      2,8335 -> 14,16 + 2,83 + the odd kopeck to race = 14,17 + 2,83.
      Balance: available 100,00, pending 17,00.
    Refund 1 of 3 races: back 166,67 / 3 = 55,556 -> 55,56; reversed 14,17 / 3 =
      4,723 -> 4,72: available 155,56, pending 12,28.
    Refund the drink: back 33,33, reversed 2,83: available 188,89, pending 9,45.
    Next day: available 198,34 (= 300 - 200 + 17 + 55,56 + 33,33 - 4,72 - 2,83).
    """
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer = await till.register(PHONE, card=CARD)
    first = await till.confirm(
        receipt("13-s1", [line("race", "6000.00", category="race")], card=CARD)
    )
    assert money(first["accrued"]) == Decimal("300.00")

    clock.now = utc(2026, 12, 10, 9, 0)
    assert await till.balance(customer) == {
        "available": Decimal("300.00"), "held": Decimal(0), "pending": Decimal(0)
    }  # fmt: skip
    sale = receipt(
        "13-s2",
        [line("race", "150.00", "3", category="race"), line("drink", "90.00", category="food")],
        card=CARD,
    )
    quote = await till.calculate(sale)
    assert per_line(quote, "max_redeem") == {"race": Decimal("225.00"), "drink": Decimal("45.00")}
    assert money(quote["max_redeem"]) == Decimal("270.00")
    over = await till.post("/api/v1/checkout/hold", {"receipt": sale, "amount": 270.01}, status=422)
    assert over["code"] == "redeem_exceeds_limit"

    held = await till.hold(sale, "200.00")
    assert per_line(held, "redeem") == {"race": Decimal("166.67"), "drink": Decimal("33.33")}
    assert per_line(held, "accrual") == {"race": Decimal("14.17"), "drink": Decimal("2.83")}
    assert await till.balance(customer) == {
        "available": Decimal("100.00"), "held": Decimal("200.00"), "pending": Decimal(0)
    }  # fmt: skip

    done = await till.confirm(sale, redeemed="200.00")
    assert per_line(done, "redeem") == {"race": Decimal("166.67"), "drink": Decimal("33.33")}
    assert per_line(done, "accrual") == {"race": Decimal("14.17"), "drink": Decimal("2.83")}
    assert money(done["accrued"]) == Decimal("17.00")
    assert await till.balance(customer) == {
        "available": Decimal("100.00"), "held": Decimal(0), "pending": Decimal("17.00")
    }  # fmt: skip

    race = await till.refund("13-r1", "13-s2", [("race", 1)])
    assert money(race["returned_bonuses"]) == Decimal("55.56")
    assert money(race["reversed_accrual"]) == Decimal("4.72")
    assert await till.balance(customer) == {
        "available": Decimal("155.56"), "held": Decimal(0), "pending": Decimal("12.28")
    }  # fmt: skip

    drink = await till.refund("13-r2", "13-s2", [("drink", 1)])
    assert money(drink["returned_bonuses"]) == Decimal("33.33")
    assert money(drink["reversed_accrual"]) == Decimal("2.83")
    assert await till.balance(customer) == {
        "available": Decimal("188.89"), "held": Decimal(0), "pending": Decimal("9.45")
    }  # fmt: skip

    clock.now = utc(2026, 12, 11, 9, 0)
    assert await till.balance(customer) == {
        "available": Decimal("198.34"), "held": Decimal(0), "pending": Decimal(0)
    }  # fmt: skip


async def test_golden_from_registration_after_10000(aiohttp_client: Any, deps: Deps) -> None:
    """Стартовая from registration; 10 000,00 of lifetime purchases keeps it (not
    strictly over), the next receipt moves the card to Золотая after being priced at 5 %.

    10 000,00 at 5 % = 500,00 -> Стартовая. 100,00 at 5 % = 5,00 -> lifetime 10 100 ->
    Золотая. A 1 000,00 quote at Золотая: 10 % = 100,00.
    """
    till = await open_till(aiohttp_client, deps, PROGRAM)
    await till.register(PHONE, card=CARD)
    first = await till.confirm(
        receipt("13-t1", [line("party", "10000.00", category="race")], card=CARD)
    )
    assert money(first["accrued"]) == Decimal("500.00")
    assert first["customer"]["tier"] == "start"
    second = await till.confirm(
        receipt("13-t2", [line("race", "100.00", category="race")], card=CARD)
    )
    assert money(second["accrued"]) == Decimal("5.00")
    assert second["customer"]["tier"] == "gold"
    quote = await till.calculate(
        receipt("13-t3", [line("race", "1000.00", category="race")], card=CARD)
    )
    assert quote["customer"]["tier"] == "gold"
    assert money(quote["accrual"]) == Decimal("100.00")


async def test_purchase_bonuses_lapse_60_days_after_the_activation_day(
    aiohttp_client: Any, deps: Deps, clock: ManualClock
) -> None:
    """175,00 accrued on 20.11.2026 (active from 21.11) is spendable until 23:59:59 MSK on
    19.01.2027 and lapses at 00:00 MSK on 20.01.2027 (19.01.2027 21:00 UTC); the expiry
    job empties the lot. (A welcome gift, if granted, lapsed on 05.12.2026.)"""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer = await till.register(PHONE, card=CARD)
    await till.confirm(receipt("13-e1", FIRST, card=CARD))
    clock.now = utc(2027, 1, 19, 20, 59, 59)
    assert (await till.balance(customer))["available"] == Decimal("175.00")
    clock.now = utc(2027, 1, 19, 21, 0)
    await till.expire()
    assert (await till.balance(customer))["available"] == Decimal(0)
    assert await purchase_lots(till, customer) == [
        (17500, 0, epoch(utc(2026, 11, 20, 21, 0)), epoch(utc(2027, 1, 19, 21, 0)))
    ]


async def test_imported_customers_get_no_welcome_gift(aiohttp_client: Any, deps: Deps) -> None:
    """An import of the merchant's existing base carries its own balances: importing a
    customer credits no welcome bonuses."""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer = await till.register(PHONE, card=CARD)
    assert await till.lots(customer) == []
