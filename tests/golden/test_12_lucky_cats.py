"""Golden receipts for Lucky Cats (fixtures/programs/12_lucky_cats.json), a coffee
shop, priced over the public API.

The program (programs.md #12): Стандартная 10 % at the first purchase, Золотая 15 % when
lifetime purchases are strictly greater than 5 000 ₽. Up to 50 % of a receipt payable
by bonuses. Accrual is on the part paid in money, floored to the kopeck. Bonuses become
spendable the next local day (at local midnight) and lapse at the local midnight
60 days after that activation day. Receipts are closed on 20.11.2026 12:00 MSK
(09:00 UTC) unless the clock is moved; one test runs the shop in Novosibirsk (UTC+7).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cloud.clock import ManualClock
from cloud.services.deps import Deps
from tests.golden.support import epoch, instant, line, open_till, per_line, receipt, utc
from tests.helpers import money

PROGRAM = "12_lucky_cats.json"
PHONE = "+79161111212"


async def test_late_receipt_in_novosibirsk_activates_at_local_midnight(
    aiohttp_client: Any, deps: Deps, clock: ManualClock
) -> None:
    """A receipt at 23:30 in Novosibirsk (16:30 UTC, 20.11.2026) belongs to that local
    day: its bonuses are pending until 00:00 local on 21.11 (17:00 UTC on 20.11 — half
    an hour later, not the next UTC day) and lapse at 00:00 local 60 days after the
    activation day: 21.11.2026 + 60 = 20.01.2027 00:00 local = 19.01.2027 17:00 UTC.

    latte 4 x 250,00 = 1 000,00 at 10 % = 100,00.
    """
    till = await open_till(aiohttp_client, deps, PROGRAM, timezone="Asia/Novosibirsk")
    clock.now = utc(2026, 11, 20, 16, 30)
    customer = await till.register(PHONE)
    done = await till.confirm(
        receipt("12-nsk", [line("latte", "250.00", "4", category="coffee")], phone=PHONE)
    )
    assert money(done["accrued"]) == Decimal("100.00")
    assert instant(done["accrual_available_from"]) == utc(2026, 11, 20, 17, 0)
    assert instant(done["accrual_expires_at"]) == utc(2027, 1, 19, 17, 0)

    clock.now = utc(2026, 11, 20, 16, 59, 59)
    assert await till.balance(customer) == {
        "available": Decimal(0), "held": Decimal(0), "pending": Decimal("100.00")
    }  # fmt: skip
    clock.now = utc(2026, 11, 20, 17, 0)
    assert await till.balance(customer) == {
        "available": Decimal("100.00"), "held": Decimal(0), "pending": Decimal(0)
    }  # fmt: skip

    clock.now = utc(2027, 1, 19, 16, 59, 59)
    assert (await till.balance(customer))["available"] == Decimal("100.00")
    clock.now = utc(2027, 1, 19, 17, 0)
    await till.expire()
    assert (await till.balance(customer))["available"] == Decimal(0)
    [lot] = await till.lots(customer)
    assert (lot["amount"], lot["remaining"]) == (10000, 0)
    assert lot["available_from"] == epoch(utc(2026, 11, 20, 17, 0))
    assert lot["expires_at"] == epoch(utc(2027, 1, 19, 17, 0))


async def test_half_of_the_receipt_payable_next_day_bonuses_and_a_partial_refund(
    aiohttp_client: Any, deps: Deps, clock: ManualClock
) -> None:
    """Bonuses accrued today can't be spent today; tomorrow at most 50 % of each line
    can be paid by them; the accrual of a receipt paid partly by bonuses is on the money
    part and waits for the next day; a partial refund gives back the spent bonuses at
    once and takes the reversed accrual from the still-pending lot.

    Sale 1 (20.11, 12:00 MSK): beans 2 x 1 500,00 = 3 000,00 -> 300,00, pending until
      21.11 00:00 MSK (20.11 21:00 UTC); lapses 20.01.2027 00:00 MSK (19.01 21:00 UTC).
      A quote the same day: max_redeem 0 (nothing available yet).
    Sale 2 (21.11, 12:00 MSK): cappuccino 2 x 200,00 = 400,00 + cake 100,00.
      caps 200,00 + 50,00 = 250,00 < balance 300,00 -> max_redeem 250,00;
      a hold of 250,01 is over the limit; hold 250,00 -> 200,00 / 50,00.
      Money paid 200,00 + 50,00 -> 10 % = 20,00 + 5,00 = 25,00, pending until 22.11.
      Balance: available 300 - 250 = 50,00, pending 25,00.
    Refund one cappuccino: back 200,00 / 2 = 100,00; reversed 20,00 / 2 = 10,00
      -> available 150,00, pending 15,00; on 22.11: available 165,00.
    Expiry takes only what is left of each lot: sale 1's lot (300,00, 250,00 spent,
      100,00 given back -> 150,00 left) lapses at 20.01.2027 00:00 MSK (19.01 21:00
      UTC), leaving 15,00; sale 2's lot (active from 22.11) lapses a day later,
      21.01.2027 00:00 MSK (20.01 21:00 UTC), leaving 0.
    """
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer = await till.register(PHONE)
    first = await till.confirm(
        receipt("12-s1", [line("beans", "1500.00", "2", category="beans")], phone=PHONE)
    )
    assert money(first["accrued"]) == Decimal("300.00")
    assert instant(first["accrual_available_from"]) == utc(2026, 11, 20, 21, 0)
    assert instant(first["accrual_expires_at"]) == utc(2027, 1, 19, 21, 0)
    assert await till.balance(customer) == {
        "available": Decimal(0), "held": Decimal(0), "pending": Decimal("300.00")
    }  # fmt: skip

    sale = receipt(
        "12-s2",
        [
            line("cappuccino", "200.00", "2", category="coffee"),
            line("cake", "100.00", category="dessert"),
        ],
        phone=PHONE,
    )
    today = await till.calculate(sale)
    assert per_line(today, "max_redeem") == {
        "cappuccino": Decimal("200.00"), "cake": Decimal("50.00")
    }  # fmt: skip
    assert money(today["max_redeem"]) == Decimal(0)

    clock.now = utc(2026, 11, 21, 9, 0)
    quote = await till.calculate(sale)
    assert money(quote["max_redeem"]) == Decimal("250.00")
    over = await till.post("/api/v1/checkout/hold", {"receipt": sale, "amount": 250.01}, status=422)
    assert over["code"] == "redeem_exceeds_limit"

    held = await till.hold(sale, "250.00")
    assert per_line(held, "redeem") == {"cappuccino": Decimal("200.00"), "cake": Decimal("50.00")}
    assert await till.balance(customer) == {
        "available": Decimal("50.00"), "held": Decimal("250.00"), "pending": Decimal(0)
    }  # fmt: skip

    done = await till.confirm(sale, redeemed="250.00")
    assert money(done["redeemed"]) == Decimal("250.00")
    assert per_line(done, "accrual") == {"cappuccino": Decimal("20.00"), "cake": Decimal("5.00")}
    assert money(done["accrued"]) == Decimal("25.00")
    assert instant(done["accrual_available_from"]) == utc(2026, 11, 21, 21, 0)
    assert await till.balance(customer) == {
        "available": Decimal("50.00"), "held": Decimal(0), "pending": Decimal("25.00")
    }  # fmt: skip

    back = await till.refund("12-r1", "12-s2", [("cappuccino", 1)])
    assert money(back["returned_bonuses"]) == Decimal("100.00")
    assert money(back["reversed_accrual"]) == Decimal("10.00")
    assert money(back["unrecovered_accrual"]) == Decimal(0)
    assert await till.balance(customer) == {
        "available": Decimal("150.00"), "held": Decimal(0), "pending": Decimal("15.00")
    }  # fmt: skip

    clock.now = utc(2026, 11, 22, 9, 0)
    assert await till.balance(customer) == {
        "available": Decimal("165.00"), "held": Decimal(0), "pending": Decimal(0)
    }  # fmt: skip

    clock.now = utc(2027, 1, 19, 21, 0)
    await till.expire()
    assert (await till.balance(customer))["available"] == Decimal("15.00")
    clock.now = utc(2027, 1, 20, 21, 0)
    await till.expire()
    assert (await till.balance(customer))["available"] == Decimal(0)
    lots = await till.lots(customer)
    assert [(lot["amount"], lot["remaining"], lot["expires_at"]) for lot in lots] == [
        (30000, 0, epoch(utc(2027, 1, 19, 21, 0))),
        (2500, 0, epoch(utc(2027, 1, 20, 21, 0))),
    ]


async def test_golden_after_lifetime_purchases_exceed_5000(aiohttp_client: Any, deps: Deps) -> None:
    """The first purchase gives Стандартная; 5 000,00 of lifetime purchases is not over
    the threshold; the next receipt crosses it and is still priced at 10 %.

    5 000,00 at 10 % = 500,00 -> Стандартная (5 000 is not > 5 000).
    10,00 at 10 % = 1,00 -> lifetime 5 010 > 5 000 -> Золотая.
    A 100,00 quote at Золотая: 15 % = 15,00.
    """
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer = await till.register(PHONE)
    assert (await till.profile(customer))["tier"] is None
    first = await till.confirm(
        receipt("12-t1", [line("catering", "5000.00", category="coffee")], phone=PHONE)
    )
    assert money(first["accrued"]) == Decimal("500.00")
    assert first["customer"]["tier"] == "standard"
    second = await till.confirm(
        receipt("12-t2", [line("espresso", "10.00", category="coffee")], phone=PHONE)
    )
    assert money(second["accrued"]) == Decimal("1.00")
    assert second["customer"]["tier"] == "gold"
    quote = await till.calculate(
        receipt("12-t3", [line("espresso", "100.00", category="coffee")], phone=PHONE)
    )
    assert quote["customer"]["tier"] == "gold"
    assert money(quote["accrual"]) == Decimal("15.00")
