"""Golden receipts for 33 пингвина (fixtures/programs/10_33_pingvina.json), an
ice-cream café, priced over the public API.

The program (programs.md #10): one tier, 10 % bonuses, given at the first purchase.
Bonuses are exchangeable only for special gifts: only lines of category ``gifts`` may
be paid by bonuses (up to 100 % of them), everything else only in money. Accrual is on
the part paid in money, floored to the kopeck; bonuses are spendable at once and lapse
at the local (Moscow) midnight 365 days after the purchase day. Receipts are closed on
20.11.2026 12:00 MSK (09:00 UTC) unless the clock is moved.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cloud.clock import ManualClock
from cloud.services.deps import Deps
from tests.golden.support import epoch, instant, line, open_till, per_line, receipt, utc
from tests.helpers import money

PROGRAM = "10_33_pingvina.json"
PHONE = "+79161111010"


FIRST = [
    line("ice", "150.00", "3", category="icecream"),
    line("coffee", "180.00", category="drinks"),
]


async def test_first_purchase_gives_the_tier_and_ten_percent_at_once(
    aiohttp_client: Any, deps: Deps
) -> None:
    """No tier before the first purchase; the first receipt gets the single tier and
    accrues 10 % on every line, spendable at once; no ordinary line can be paid by
    bonuses.

    ice 3 x 150,00 = 450,00 + coffee 180,00 = 630,00: accrual 45,00 + 18,00 = 63,00.
    Caps: ice 0, coffee 0 (not gifts).
    Expiry: 20.11.2026 + 365 days = 20.11.2027 00:00 MSK = 19.11.2027 21:00 UTC.
    """
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer = await till.register(PHONE)
    assert (await till.profile(customer))["tier"] is None

    body = receipt("10-s1", FIRST, phone=PHONE)
    quote = await till.calculate(body)
    assert per_line(quote, "discount") == {"ice": Decimal(0), "coffee": Decimal(0)}
    assert per_line(quote, "max_redeem") == {"ice": Decimal(0), "coffee": Decimal(0)}
    assert per_line(quote, "accrual") == {"ice": Decimal("45.00"), "coffee": Decimal("18.00")}
    assert money(quote["accrual"]) == Decimal("63.00")

    done = await till.confirm(body)
    assert money(done["accrued"]) == Decimal("63.00")
    assert done["customer"]["tier"] == "base"
    assert instant(done["accrual_available_from"]) == utc(2026, 11, 20, 9, 0)
    assert instant(done["accrual_expires_at"]) == utc(2027, 11, 19, 21, 0)
    assert await till.balance(customer) == {
        "available": Decimal("63.00"), "held": Decimal(0), "pending": Decimal(0)
    }  # fmt: skip


async def test_bonuses_pay_only_for_gifts_and_a_refund_settles_by_line(
    aiohttp_client: Any, deps: Deps
) -> None:
    """Only the gift line can be paid by bonuses, up to 100 % of it but no more than
    the balance; ice cream stays money-only. Accrual is on what was paid in money, and
    returning lines gives back their bonuses and reverses their accrual.

    Balance 63,00 (sale 1). Sale 2: gift 80,00 + ice 2 x 150,00 = 300,00.
      caps: gift 80,00, ice 0 -> max_redeem min(80,00; 63,00) = 63,00.
      Hold 50,00 -> all on the gift; available 13,00, held 50,00.
      Accrual on money: gift 80 - 50 = 30,00 -> 3,00; ice 300,00 -> 30,00; total 33,00.
      Balance: 63 - 50 + 33 = 46,00.
    Refund the gift: 50,00 back, 3,00 reversed -> 93,00.
    Refund one of two ice creams: nothing back, 30,00 x 1/2 = 15,00 reversed -> 78,00.
    """
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer = await till.register(PHONE)
    await till.confirm(receipt("10-s1", FIRST, phone=PHONE))

    sale = receipt(
        "10-s2",
        [line("gift", "80.00", category="gifts"), line("ice", "150.00", "2", category="icecream")],
        phone=PHONE,
    )
    quote = await till.calculate(sale)
    assert per_line(quote, "max_redeem") == {"gift": Decimal("80.00"), "ice": Decimal(0)}
    assert money(quote["max_redeem"]) == Decimal("63.00")

    held = await till.hold(sale, "50.00")
    assert per_line(held, "redeem") == {"gift": Decimal("50.00"), "ice": Decimal(0)}
    assert per_line(held, "accrual") == {"gift": Decimal("3.00"), "ice": Decimal("30.00")}
    assert await till.balance(customer) == {
        "available": Decimal("13.00"), "held": Decimal("50.00"), "pending": Decimal(0)
    }  # fmt: skip

    done = await till.confirm(sale, redeemed="50.00")
    assert money(done["redeemed"]) == Decimal("50.00")
    assert per_line(done, "accrual") == {"gift": Decimal("3.00"), "ice": Decimal("30.00")}
    assert money(done["accrued"]) == Decimal("33.00")
    assert (await till.balance(customer))["available"] == Decimal("46.00")

    gift_back = await till.refund("10-r1", "10-s2", [("gift", 1)])
    assert money(gift_back["returned_bonuses"]) == Decimal("50.00")
    assert money(gift_back["reversed_accrual"]) == Decimal("3.00")
    assert (await till.balance(customer))["available"] == Decimal("93.00")

    ice_back = await till.refund("10-r2", "10-s2", [("ice", 1)])
    assert money(ice_back["returned_bonuses"]) == Decimal(0)
    assert money(ice_back["reversed_accrual"]) == Decimal("15.00")
    assert (await till.balance(customer))["available"] == Decimal("78.00")


async def test_ordinary_goods_cannot_be_paid_by_bonuses(aiohttp_client: Any, deps: Deps) -> None:
    """With a balance of 63,00, a receipt of ice cream and coffee only has max_redeem 0,
    and a hold of any bonus amount on it is refused as over the limit."""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    await till.register(PHONE)
    await till.confirm(receipt("10-s1", FIRST, phone=PHONE))
    body = receipt("10-s2", FIRST, phone=PHONE)
    quote = await till.calculate(body)
    assert money(quote["customer"]["balance"]) == Decimal("63.00")
    assert money(quote["max_redeem"]) == Decimal(0)
    refused = await till.post("/api/v1/checkout/hold", {"receipt": body, "amount": 1}, status=422)
    assert refused["code"] == "redeem_exceeds_limit"


async def test_bonuses_lapse_at_moscow_midnight_365_days_after_the_purchase_day(
    aiohttp_client: Any, deps: Deps, clock: ManualClock
) -> None:
    """63,00 accrued on 20.11.2026 is spendable until 23:59:59 MSK on 19.11.2027 and
    lapses at 00:00 MSK on 20.11.2027 (19.11.2027 21:00 UTC); the expiry job empties
    the lot."""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer = await till.register(PHONE)
    await till.confirm(receipt("10-s1", FIRST, phone=PHONE))

    clock.now = utc(2027, 11, 19, 20, 59, 59)
    assert (await till.balance(customer))["available"] == Decimal("63.00")
    clock.now = utc(2027, 11, 19, 21, 0)
    await till.expire()
    assert (await till.balance(customer))["available"] == Decimal(0)
    [lot] = await till.lots(customer)
    assert (lot["amount"], lot["remaining"]) == (6300, 0)
    assert lot["expires_at"] == epoch(utc(2027, 11, 19, 21, 0))
