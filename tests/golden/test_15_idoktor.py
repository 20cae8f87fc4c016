"""Golden receipts for iДоктор (fixtures/programs/15_idoktor.json), a repair centre,
priced over the public API.

The program (programs.md #15): one tier, 10 % bonuses, given at the first purchase
(the fixture reads "10 % of the receipt" as the rate, accrued on the part paid in
money, floored to the kopeck). Bonuses pay only for labour (category ``labour``), up to
100 % of it; parts are paid in money. Bonuses become spendable the next local (Moscow)
day and never expire. Receipts are closed on 20.11.2026 12:00 MSK (09:00 UTC) unless
the clock is moved.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cloud.clock import ManualClock
from cloud.services.deps import Deps
from tests.golden.support import epoch, instant, line, open_till, per_line, receipt, utc
from tests.helpers import money

PROGRAM = "15_idoktor.json"
PHONE = "+79161111515"


FIRST = [
    line("screen", "6000.00", category="parts"),
    line("labour", "2000.00", category="labour"),
]
SECOND = [
    line("battery", "3000.00", category="parts"),
    line("labour", "500.00", "2", category="labour"),
]


async def test_first_repair_accrues_ten_percent_next_day_without_expiry(
    aiohttp_client: Any, deps: Deps
) -> None:
    """No tier before the first purchase; the first repair gives the single tier and
    accrues 10 % of every line, pending until the next Moscow midnight, with no expiry
    date; only the labour line has a bonus cap (100 % of it).

    screen (parts) 6 000,00 + labour 2 000,00 = 8 000,00 -> 600,00 + 200,00 = 800,00.
    Caps: screen 0, labour 2 000,00. Available from 21.11 00:00 MSK = 20.11 21:00 UTC.
    """
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer = await till.register(PHONE)
    assert (await till.profile(customer))["tier"] is None

    body = receipt("15-s1", FIRST, phone=PHONE)
    quote = await till.calculate(body)
    assert per_line(quote, "discount") == {"screen": Decimal(0), "labour": Decimal(0)}
    assert per_line(quote, "max_redeem") == {"screen": Decimal(0), "labour": Decimal("2000.00")}
    assert per_line(quote, "accrual") == {"screen": Decimal("600.00"), "labour": Decimal("200.00")}

    done = await till.confirm(body)
    assert done["customer"]["tier"] == "base"
    assert money(done["accrued"]) == Decimal("800.00")
    assert instant(done["accrual_available_from"]) == utc(2026, 11, 20, 21, 0)
    assert done["accrual_expires_at"] is None
    assert await till.balance(customer) == {
        "available": Decimal(0), "held": Decimal(0), "pending": Decimal("800.00")
    }  # fmt: skip
    [lot] = await till.lots(customer)
    assert (lot["amount"], lot["available_from"], lot["expires_at"]) == (
        80000, epoch(utc(2026, 11, 20, 21, 0)), None
    )  # fmt: skip


async def test_bonuses_pay_only_labour_and_refund_settles_by_line(
    aiohttp_client: Any, deps: Deps, clock: ManualClock
) -> None:
    """Bonuses can pay the labour lines only (up to all of them, within the balance);
    parts stay money-only, and a parts-only receipt can't be paid by bonuses at all.
    Accrual is on what was paid in money; a labour return gives back its bonuses and
    reverses its accrual pro rata.

    Balance 800,00 (sale 1, active from 21.11). On 21.11, sale 2: battery (parts)
    3 000,00 + labour 2 x 500,00 = 1 000,00.
      caps 0 and 1 000,00 -> max_redeem min(1 000,00; 800,00) = 800,00.
      Hold 800,01 is more than the balance (refused); hold 600,00 -> all on labour.
      Money paid 3 000,00 + 400,00 -> 300,00 + 40,00 = 340,00 (pending until 22.11).
      Balance: available 200,00, pending 340,00.
    Refund one labour unit: back 600,00 / 2 = 300,00; reversed 40,00 / 2 = 20,00
      -> available 500,00, pending 320,00.
    """
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer = await till.register(PHONE)
    await till.confirm(receipt("15-s1", FIRST, phone=PHONE))
    clock.now = utc(2026, 11, 21, 9, 0)

    parts_only = receipt("15-parts", [line("case", "1200.00", category="parts")], phone=PHONE)
    quote = await till.calculate(parts_only)
    assert money(quote["max_redeem"]) == Decimal(0)
    refused = await till.post(
        "/api/v1/checkout/hold", {"receipt": parts_only, "amount": 1}, status=422
    )
    assert refused["code"] == "redeem_exceeds_limit"

    sale = receipt("15-s2", SECOND, phone=PHONE)
    quote = await till.calculate(sale)
    assert per_line(quote, "max_redeem") == {"battery": Decimal(0), "labour": Decimal("1000.00")}
    assert money(quote["max_redeem"]) == Decimal("800.00")
    too_much = await till.post(
        "/api/v1/checkout/hold", {"receipt": sale, "amount": 800.01}, status=422
    )
    assert too_much["code"] == "insufficient_bonuses"

    held = await till.hold(sale, "600.00")
    assert per_line(held, "redeem") == {"battery": Decimal(0), "labour": Decimal("600.00")}
    assert per_line(held, "accrual") == {"battery": Decimal("300.00"), "labour": Decimal("40.00")}

    done = await till.confirm(sale, redeemed="600.00")
    assert money(done["redeemed"]) == Decimal("600.00")
    assert money(done["accrued"]) == Decimal("340.00")
    assert per_line(done, "accrual") == {"battery": Decimal("300.00"), "labour": Decimal("40.00")}
    assert await till.balance(customer) == {
        "available": Decimal("200.00"), "held": Decimal(0), "pending": Decimal("340.00")
    }  # fmt: skip

    back = await till.refund("15-r1", "15-s2", [("labour", 1)])
    assert money(back["returned_bonuses"]) == Decimal("300.00")
    assert money(back["reversed_accrual"]) == Decimal("20.00")
    assert await till.balance(customer) == {
        "available": Decimal("500.00"), "held": Decimal(0), "pending": Decimal("320.00")
    }  # fmt: skip


async def test_bonuses_never_expire(aiohttp_client: Any, deps: Deps, clock: ManualClock) -> None:
    """With no lifetime, bonuses have no expiry date: ten years on, after the expiry
    job, the balance is intact.

    Sale 1: 800,00. Sale 2 (21.11): pays 600,00, accrues 340,00. Balance 200 + 340 =
    540,00 once both are active.
    """
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer = await till.register(PHONE)
    await till.confirm(receipt("15-s1", FIRST, phone=PHONE))
    clock.now = utc(2026, 11, 21, 9, 0)
    sale = receipt("15-s2", SECOND, phone=PHONE)
    await till.hold(sale, "600.00")
    await till.confirm(sale, redeemed="600.00")

    clock.advance(days=3650)
    await till.expire()
    assert await till.balance(customer) == {
        "available": Decimal("540.00"), "held": Decimal(0), "pending": Decimal(0)
    }  # fmt: skip
    lots = await till.lots(customer)
    assert [(lot["amount"], lot["remaining"], lot["expires_at"]) for lot in lots] == [
        (80000, 20000, None),
        (34000, 34000, None),
    ]
