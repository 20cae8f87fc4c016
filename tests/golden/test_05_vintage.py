"""Golden receipts of Винтаж (fixtures/programs/05_vintage.json).

The program: a beauty salon; the phone is the card. Accrual is "one bonus per N
roubles" of the whole receipt's money part, in whole bonuses: Стандартная
(``standard``, at the first purchase) per 30 ₽, Серебряная (``silver``) per 20 ₽,
Золотая per 15 ₽, Платиновая per 10 ₽, VIP per 5 ₽. The tier follows purchases over
the last 6 months (over 30 000 / 50 000 / 80 000 / 100 000, strictly), recomputed in
the night before the 1st of each month, up or down; a purchase itself does not move it.
Up to 20 % of a line is payable by bonuses. Bonuses become spendable at the next local
midnight and lapse 60 days after that day. No discounts. (Referral and birthday gifts
are granted outside the checkout and are not covered here.)

The clock starts at 2026-11-20 09:00 UTC = 12:00 in Moscow (UTC+3).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from cloud.clock import ManualClock
from cloud.services import jobs
from cloud.services.deps import Deps
from tests.golden.support import (
    Till,
    assert_journal_matches,
    column,
    d,
    instant,
    line,
    open_till,
    receipt,
)
from tests.helpers import money

PROGRAM = "05_vintage.json"
MSK = ZoneInfo("Europe/Moscow")
PHONE = "+79035550505"


async def recompute_tiers(till: Till) -> None:
    """The nightly tier job, as of the (moved) clock's local date in the store."""
    await jobs.run_tiers(till.deps)


async def test_first_purchase_one_bonus_per_30_roubles_available_next_day(
    aiohttp_client: Any, deps: Deps, clock: ManualClock
) -> None:
    """Стандартная accrues one whole bonus per full 30 ₽ of the receipt, spread over the
    lines; 20 % of a line is payable; the bonuses wait until the next local midnight and
    lapse 60 days after that day.

    v1: cut 2 500,00; colour 4 200,00; shampoo 899,00 (7 599,00).
    * caps 20 %: 500,00 / 840,00 / 179,80; max_redeem min(1 519,80, balance 0) = 0.
    * 7 599,00 / 30 = 253,3 → 253 whole bonuses = 253,00; spread in proportion to the
      line amounts: 25 300 kop x 2 500 / 7 599 = 8 323,46; x 4 200 / 7 599 = 13 983,42;
      x 899 / 7 599 = 2 993,12 → floors 25 299, the kopeck to .46: 83,24 / 139,83 /
      29,93.
    * available from 2026-11-21 00:00 MSK (2026-11-20 21:00 UTC); lapses 2026-11-21 +
      60 days = 2027-01-20 00:00 MSK. Until then: available 0, pending 253,00."""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer_id = await till.register(PHONE)
    body = receipt(
        "v1",
        [line("cut", "2500.00"), line("colour", "4200.00"), line("shampoo", "899.00")],
        phone=PHONE,
    )
    quote = await till.calculate(body)
    assert quote["customer"]["tier"] == "standard"
    assert column(quote["lines"], "discount") == [d("0.00")] * 3
    assert column(quote["lines"], "max_redeem") == [d("500.00"), d("840.00"), d("179.80")]
    assert money(quote["max_redeem"]) == d("0.00")
    assert column(quote["lines"], "accrual") == [d("83.24"), d("139.83"), d("29.93")]
    assert money(quote["accrual"]) == d("253.00")

    done = await till.confirm(body)
    assert money(done["accrued"]) == d("253.00")
    assert column(done["lines"], "accrual") == [d("83.24"), d("139.83"), d("29.93")]
    assert done["customer"]["tier"] == "standard"
    assert instant(done["accrual_available_from"]) == datetime(2026, 11, 21, tzinfo=MSK)
    assert instant(done["accrual_available_from"]) == datetime(2026, 11, 20, 21, tzinfo=UTC)
    assert instant(done["accrual_expires_at"]) == datetime(2027, 1, 20, tzinfo=MSK)
    assert await till.balance(customer_id) == {
        "available": d("0.00"), "held": d("0.00"), "pending": d("253.00"),
    }  # fmt: skip
    later = await till.calculate(receipt("v2", [line("cut", "1000.00")], phone=PHONE))
    assert money(later["max_redeem"]) == d("0.00")

    clock.now = datetime(2026, 11, 20, 20, 59, tzinfo=UTC)
    assert (await till.balance(customer_id))["pending"] == d("253.00")
    clock.now = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
    assert await till.balance(customer_id) == {
        "available": d("253.00"), "held": d("0.00"), "pending": d("0.00"),
    }  # fmt: skip
    await assert_journal_matches(till, customer_id)


async def test_partial_payment_refund_and_tiers_over_six_months_before_the_1st(
    aiohttp_client: Any, deps: Deps, clock: ManualClock
) -> None:
    """A purchase never moves a rolling tier; the night before the 1st the tier is
    recomputed from the last six whole months (returns count against them) and may go
    up or down. The bonus payment spreads by the 20 % caps; accrual is one bonus per
    full N roubles of the money part; a returned line gives back and reverses its share.

    v1 2026-11-20: 7 599,00 → 253,00 (available from 11-21).
    v2 2026-11-25: course 25 000,00; care 6 000,00 (31 000,00).
    * caps 20 %: 5 000,00 / 1 200,00; max_redeem min(6 200,00, 253,00) = 253,00.
    * hold 200,00 = 20 000 kop over 5 000 : 1 200: 16 129,03 / 3 870,97 → floors
      19 999, the kopeck to .97: 161,29 / 38,71.
    * money paid 30 800,00 / 30 = 1 026,67 → 1 026 bonuses; spread 102 600 kop in
      proportion to 24 838,71 : 5 961,29 = 82 741,94 / 19 858,06 → 827,42 / 198,58
      (kopeck to .94). Pending until 11-26: available 253 − 200 = 53,00, pending 1 026,00.
      Tier still standard although 38 599,00 > 30 000 (rolling: no move on a purchase).
    * return the care line: 38,71 back, 198,58 reversed → available 91,71, pending
      827,42.
    * night before 2026-12-01: window 2026-06-01 … 2026-11-30 = 7 599 + 31 000 − 6 000
      = 32 599,00 > 30 000 → silver. v3 on 12-01: 1 010,00 / 20 = 50,5 → 50,00
      bonuses, cap 20 % = 202,00.
    * night before 2027-06-01: window 2026-12-01 … 2027-05-31 = 1 010,00 → standard
      (downgrade)."""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer_id = await till.register(PHONE)
    await till.confirm(
        receipt(
            "v1",
            [line("cut", "2500.00"), line("colour", "4200.00"), line("shampoo", "899.00")],
            phone=PHONE,
        )
    )
    clock.now = datetime(2026, 11, 25, 9, tzinfo=UTC)
    sale = receipt("v2", [line("course", "25000.00"), line("care", "6000.00")], phone=PHONE)
    quote = await till.calculate(sale)
    assert column(quote["lines"], "max_redeem") == [d("5000.00"), d("1200.00")]
    assert money(quote["max_redeem"]) == d("253.00")
    held = await till.hold(sale, "200")
    assert column(held["lines"], "redeem") == [d("161.29"), d("38.71")]
    done = await till.confirm(sale, redeemed="200")
    assert column(done["lines"], "redeem") == [d("161.29"), d("38.71")]
    assert column(done["lines"], "accrual") == [d("827.42"), d("198.58")]
    assert money(done["accrued"]) == d("1026.00")
    assert done["customer"]["tier"] == "standard"
    assert await till.balance(customer_id) == {
        "available": d("53.00"), "held": d("0.00"), "pending": d("1026.00"),
    }  # fmt: skip

    back = await till.refund("v2-r", "v2", [("care", 1)])
    assert (money(back["returned_bonuses"]), money(back["reversed_accrual"])) == (
        d("38.71"),
        d("198.58"),
    )
    assert await till.balance(customer_id) == {
        "available": d("91.71"), "held": d("0.00"), "pending": d("827.42"),
    }  # fmt: skip

    clock.now = datetime(2026, 11, 30, 21, 5, tzinfo=UTC)  # 2026-12-01 00:05 MSK
    await recompute_tiers(till)
    assert (await till.profile(customer_id))["tier"]["code"] == "silver"
    third = receipt("v3", [line("cut", "1010.00")], phone=PHONE)
    quote = await till.calculate(third)
    assert quote["customer"]["tier"] == "silver"
    assert money(quote["accrual"]) == d("50.00")
    assert column(quote["lines"], "max_redeem") == [d("202.00")]
    assert money((await till.confirm(third))["accrued"]) == d("50.00")

    clock.now = datetime(2027, 5, 31, 21, 5, tzinfo=UTC)  # 2027-06-01 00:05 MSK
    await recompute_tiers(till)
    assert (await till.profile(customer_id))["tier"]["code"] == "standard"
    await assert_journal_matches(till, customer_id)


async def test_receipt_after_local_midnight_activates_and_lapses_by_moscow_days(
    aiohttp_client: Any, deps: Deps, clock: ManualClock
) -> None:
    """A receipt at 2026-11-20 22:30 UTC is 01:30 on 2026-11-21 in Moscow: its bonuses
    become spendable at the next local midnight, 2026-11-22 00:00 MSK (11-21 21:00 UTC),
    and lapse 60 days after that day, 2027-01-21 00:00 MSK (01-20 21:00 UTC); the expiry
    run then takes them all. 3 029,99 / 30 = 100,9997 → 100 whole bonuses."""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer_id = await till.register(PHONE)
    clock.now = datetime(2026, 11, 20, 22, 30, tzinfo=UTC)
    done = await till.confirm(receipt("v1", [line("spa", "3029.99")], phone=PHONE))
    assert money(done["accrued"]) == d("100.00")
    assert instant(done["accrual_available_from"]) == datetime(2026, 11, 22, tzinfo=MSK)
    assert instant(done["accrual_expires_at"]) == datetime(2027, 1, 21, tzinfo=MSK)

    clock.now = datetime(2026, 11, 21, 20, 59, tzinfo=UTC)
    balance = await till.balance(customer_id)
    assert (balance["available"], balance["pending"]) == (d("0.00"), d("100.00"))
    clock.now = datetime(2026, 11, 21, 21, 0, tzinfo=UTC)
    balance = await till.balance(customer_id)
    assert (balance["available"], balance["pending"]) == (d("100.00"), d("0.00"))

    clock.now = datetime(2027, 1, 20, 20, 59, tzinfo=UTC)
    assert (await till.balance(customer_id))["available"] == d("100.00")
    clock.now = datetime(2027, 1, 20, 21, 0, tzinfo=UTC)
    assert (await till.balance(customer_id))["available"] == d("0.00")
    await till.expire()
    assert [(lot["amount"], lot["remaining"]) for lot in await till.lots(customer_id)] == [
        (10000, 0)
    ]
    await assert_journal_matches(till, customer_id)
