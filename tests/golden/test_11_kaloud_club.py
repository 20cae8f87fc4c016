"""Golden receipts for Kaloud Club (fixtures/programs/11_kaloud_club.json), a hookah
lounge, priced over the public API.

The program (programs.md #11): Стандартная 3 % at the first purchase, Серебряная 6 %
when lifetime purchases are strictly greater than 5 000 ₽, Золотая 10 % when greater
than 10 000 ₽. Up to 100 % of a receipt payable by bonuses. Accrual is on the part paid
in money, floored to the kopeck; bonuses are spendable at once and lapse at the local
(Moscow) midnight 365 days after the purchase day. Receipts are closed on 20.11.2026
12:00 MSK (09:00 UTC) unless the clock is moved.

The three-level referral of this program is priced in tests/services/test_referrals.py.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cloud.clock import ManualClock
from cloud.services.deps import Deps
from tests.golden.support import epoch, instant, line, open_till, per_line, receipt, utc
from tests.helpers import money

PROGRAM = "11_kaloud_club.json"
PHONE = "+79161111111"


def hookah_receipt(receipt_id: str) -> dict[str, Any]:
    return receipt(
        receipt_id,
        [line("hookah", "1500.00", category="hookah"), line("tea", "250.00", "2", category="tea")],
        phone=PHONE,
    )


async def test_tiers_by_lifetime_purchases_strictly_over_the_threshold(
    aiohttp_client: Any, deps: Deps
) -> None:
    """No tier before the first purchase; the first purchase gives Стандартная; a tier
    is reached only when lifetime purchases are strictly over its threshold, after the
    receipt that crosses it (which is priced at the old tier).

    5 000,00 at 3 %: 150,00; lifetime 5 000 (not > 5 000) -> Стандартная.
    1 000,00 at 3 %: 30,00; lifetime 6 000 > 5 000 -> Серебряная.
    4 000,00 at 6 %: 240,00; lifetime 10 000 (not > 10 000) -> Серебряная.
    500,00 at 6 %: 30,00; lifetime 10 500 > 10 000 -> Золотая.
    A 1 000,00 quote at Золотая: 10 % = 100,00.
    """
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer = await till.register(PHONE)
    assert (await till.profile(customer))["tier"] is None
    steps = [
        ("11-t1", "5000.00", "150.00", "standard"),
        ("11-t2", "1000.00", "30.00", "silver"),
        ("11-t3", "4000.00", "240.00", "silver"),
        ("11-t4", "500.00", "30.00", "gold"),
    ]
    for receipt_id, amount, accrued, tier_after in steps:
        body = receipt(receipt_id, [line("bar", amount, category="hookah")], phone=PHONE)
        done = await till.confirm(body)
        assert money(done["accrued"]) == Decimal(accrued), receipt_id
        assert done["customer"]["tier"] == tier_after, receipt_id
    quote = await till.calculate(
        receipt("11-t5", [line("bar", "1000.00", category="hookah")], phone=PHONE)
    )
    assert quote["customer"]["tier"] == "gold"
    assert money(quote["accrual"]) == Decimal("100.00")
    assert (await till.balance(customer))["available"] == Decimal("450.00")  # 150+30+240+30


async def test_a_big_first_purchase_is_priced_at_the_entry_tier_and_jumps_to_gold(
    aiohttp_client: Any, deps: Deps
) -> None:
    """A first receipt of 12 000,00 is priced at Стандартная (3 % = 360,00); lifetime
    12 000 is over both thresholds, so the card becomes Золотая at once, skipping
    Серебряная."""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer = await till.register(PHONE)
    done = await till.confirm(
        receipt("11-big", [line("party", "12000.00", category="hookah")], phone=PHONE)
    )
    assert money(done["accrued"]) == Decimal("360.00")
    assert done["customer"]["tier"] == "gold"
    assert (await till.profile(customer))["tier"]["code"] == "gold"


async def test_full_bonus_payment_accrues_on_money_and_partial_refunds_add_up(
    aiohttp_client: Any, deps: Deps
) -> None:
    """The whole balance can pay a receipt (100 % share), spread over the lines in
    proportion to their caps; accrual is on what was paid in money; returning the tea
    one cup at a time gives back and reverses pro rata (half-up), and both returns add
    up exactly to the line's figures.

    Sale 1: hookah 1 500,00 + tea 2 x 250,00 = 2 000,00 -> 45,00 + 15,00 = 60,00.
    Sale 2, same lines: caps 1 500,00 and 500,00 -> max_redeem min(2 000; 60) = 60,00.
      Hold 60,00 spread 3:1 -> hookah 45,00, tea 15,00.
      Money paid 1 455,00 + 485,00 = 1 940,00 -> 3 % = 43,65 + 14,55 = 58,20.
      Balance 60 - 60 + 58,20 = 58,20; lifetime 4 000 -> still Стандартная.
    Refund 1 tea: back 15,00 / 2 = 7,50; reversed 14,55 / 2 = 7,275 -> 7,28;
      balance 58,20 + 7,50 - 7,28 = 58,42.
    Refund the other tea: back 7,50; reversed 14,55 - 7,28 = 7,27; balance 58,65
      (= 60 - 45 + 43,65: only the hookah's part of sale 2 remains).
    """
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer = await till.register(PHONE)
    first = await till.confirm(hookah_receipt("11-s1"))
    assert per_line(first, "accrual") == {"hookah": Decimal("45.00"), "tea": Decimal("15.00")}

    sale = hookah_receipt("11-s2")
    quote = await till.calculate(sale)
    assert per_line(quote, "max_redeem") == {
        "hookah": Decimal("1500.00"), "tea": Decimal("500.00")
    }  # fmt: skip
    assert money(quote["max_redeem"]) == Decimal("60.00")

    held = await till.hold(sale, "60.00")
    assert per_line(held, "redeem") == {"hookah": Decimal("45.00"), "tea": Decimal("15.00")}
    assert per_line(held, "accrual") == {"hookah": Decimal("43.65"), "tea": Decimal("14.55")}
    assert await till.balance(customer) == {
        "available": Decimal(0), "held": Decimal("60.00"), "pending": Decimal(0)
    }  # fmt: skip

    done = await till.confirm(sale, redeemed="60.00")
    assert money(done["redeemed"]) == Decimal("60.00")
    assert money(done["accrued"]) == Decimal("58.20")
    assert per_line(done, "accrual") == {"hookah": Decimal("43.65"), "tea": Decimal("14.55")}
    assert done["customer"]["tier"] == "standard"
    assert (await till.balance(customer))["available"] == Decimal("58.20")

    one = await till.refund("11-r1", "11-s2", [("tea", 1)])
    assert money(one["returned_bonuses"]) == Decimal("7.50")
    assert money(one["reversed_accrual"]) == Decimal("7.28")
    assert (await till.balance(customer))["available"] == Decimal("58.42")

    other = await till.refund("11-r2", "11-s2", [("tea", 1)])
    assert money(other["returned_bonuses"]) == Decimal("7.50")
    assert money(other["reversed_accrual"]) == Decimal("7.27")
    assert (await till.balance(customer))["available"] == Decimal("58.65")


async def test_expiry_counts_from_the_local_purchase_day(
    aiohttp_client: Any, deps: Deps, clock: ManualClock
) -> None:
    """Two purchases an hour apart straddle Moscow midnight: 23:30 MSK on 20.11.2026
    (20:30 UTC) and 00:30 MSK on 21.11.2026 (21:30 UTC), on the same UTC day. Their
    lifetimes count from their local days: the first lapses at 00:00 MSK 20.11.2027
    (19.11.2027 21:00 UTC), the second a day later (20.11.2027 21:00 UTC).

    1 000,00 at 3 % = 30,00; 2 000,00 at 3 % (lifetime 3 000, still Стандартная) = 60,00.
    """
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer = await till.register(PHONE)
    clock.now = utc(2026, 11, 20, 20, 30)
    late = await till.confirm(
        receipt("11-late", [line("bar", "1000.00", category="hookah")], phone=PHONE)
    )
    assert money(late["accrued"]) == Decimal("30.00")
    assert instant(late["accrual_expires_at"]) == utc(2027, 11, 19, 21, 0)
    clock.now = utc(2026, 11, 20, 21, 30)
    early = await till.confirm(
        receipt("11-early", [line("bar", "2000.00", category="hookah")], phone=PHONE)
    )
    assert money(early["accrued"]) == Decimal("60.00")
    assert instant(early["accrual_expires_at"]) == utc(2027, 11, 20, 21, 0)

    clock.now = utc(2027, 11, 19, 20, 59, 59)
    assert (await till.balance(customer))["available"] == Decimal("90.00")
    clock.now = utc(2027, 11, 19, 21, 0)
    await till.expire()
    assert (await till.balance(customer))["available"] == Decimal("60.00")
    clock.now = utc(2027, 11, 20, 21, 0)
    await till.expire()
    assert (await till.balance(customer))["available"] == Decimal(0)
    lots = await till.lots(customer)
    assert [(lot["amount"], lot["remaining"], lot["expires_at"]) for lot in lots] == [
        (3000, 0, epoch(utc(2027, 11, 19, 21, 0))),
        (6000, 0, epoch(utc(2027, 11, 20, 21, 0))),
    ]
