"""Golden receipts of IRONTULA (fixtures/programs/02_irontula.json).

The program: sports nutrition; the phone is the card. One tier (``base``) accruing 4 %,
given at the first purchase; up to 100 % of the receipt payable by bonuses; accrual on
the part paid in money, floored to the kopeck once per receipt and spread over lines in
proportion to line base x rate by largest remainder; bonuses spendable at once, lapse
at the Moscow midnight 90 days after the purchase day. No discounts. (The referral
reward, 2 % to the referrer, is granted outside the checkout and is not covered here.)

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

PROGRAM = "02_irontula.json"
MSK = ZoneInfo("Europe/Moscow")
PHONE = "+79032220202"


async def test_first_purchase_accrues_4_percent_spread_by_largest_remainder(
    aiohttp_client: Any, deps: Deps, clock: ManualClock
) -> None:
    """One tier, 4 % of every purchase, given at the first purchase; 100 % of a line is
    payable (the cap is its whole amount); bonuses are spendable at once and lapse at the
    Moscow midnight 90 days after the purchase day.

    Receipt i1: protein 2 990,00; bars 149,90 x 3 = 449,70; shaker 399,00 (3 838,70).
    * caps 100 %: 2 990,00 / 449,70 / 399,00; max_redeem min(3 838,70, balance 0) = 0.
    * accrual 4 % of 3 838,70 = 153,548 → floored once to 153,54. Each line keeps its
      own exact 4 % floored: 119,60 (of 2 990,00) + 17,988 → 17,98 (of 449,70) + 15,96
      (of 399,00) = 153,54, so no kopeck is left to hand out by largest fraction:
      119,60 / 17,98 / 15,96.
    * lapses 2026-11-20 + 90 days = 2027-02-18 00:00 MSK (2027-02-17 21:00 UTC).
    """
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer_id = await till.register(PHONE)
    assert (await till.profile(customer_id))["tier"] is None
    body = receipt(
        "i1",
        [line("protein", "2990.00"), line("bars", "149.90", "3"), line("shaker", "399.00")],
        phone=PHONE,
    )
    quote = await till.calculate(body)
    assert column(quote["lines"], "discount") == [d("0.00")] * 3
    assert column(quote["lines"], "max_redeem") == [d("2990.00"), d("449.70"), d("399.00")]
    assert money(quote["max_redeem"]) == d("0.00")
    assert column(quote["lines"], "accrual") == [d("119.60"), d("17.98"), d("15.96")]
    assert money(quote["accrual"]) == d("153.54")

    done = await till.confirm(body)
    assert money(done["accrued"]) == d("153.54")
    assert column(done["lines"], "accrual") == [d("119.60"), d("17.98"), d("15.96")]
    assert done["customer"]["tier"] == "base"
    assert instant(done["accrual_available_from"]) == clock.now
    assert instant(done["accrual_expires_at"]) == datetime(2027, 2, 18, tzinfo=MSK)
    assert await till.balance(customer_id) == {
        "available": d("153.54"), "held": d("0.00"), "pending": d("0.00"),
    }  # fmt: skip
    await assert_journal_matches(till, customer_id)


async def test_partial_payment_then_line_and_full_returns_restore_the_balance(
    aiohttp_client: Any, deps: Deps
) -> None:
    """A bonus payment is spread in proportion to the line caps (here the amounts);
    accrual is on the money part; a partial return by quantity gives back and reverses
    that share, and returning the rest settles the receipt exactly: the balance is what
    it was before the sale.

    i1: 3 838,70 → 153,54 (as above). i2: p 1 200,00; q 150,00 x 2 = 300,00.
    * max_redeem min(1 500,00, 153,54) = 153,54. Hold 100,00 spread 1 200 : 300 =
      80,00 / 20,00; available 53,54, held 100,00.
    * accrual 4 % of (1 120,00 + 280,00) = 56,00 → 44,80 / 11,20 (exact).
      Balance 153,54 − 100,00 + 56,00 = 109,54.
    * return one q: ½ x 20,00 = 10,00 back, ½ x 11,20 = 5,60 reversed → 113,94.
    * return the rest: p 80,00 + q 10,00 = 90,00 back; 44,80 + 5,60 = 50,40 reversed →
      113,94 + 90,00 − 50,40 = 153,54; lifetime purchases back to 3 838,70.
    """
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer_id = await till.register(PHONE)
    await till.confirm(
        receipt(
            "i1",
            [line("protein", "2990.00"), line("bars", "149.90", "3"), line("shaker", "399.00")],
            phone=PHONE,
        )
    )
    sale = receipt("i2", [line("p", "1200.00"), line("q", "150.00", "2")], phone=PHONE)
    quote = await till.calculate(sale)
    assert money(quote["max_redeem"]) == d("153.54")
    held = await till.hold(sale, "100")
    assert column(held["lines"], "redeem") == [d("80.00"), d("20.00")]
    balance = await till.balance(customer_id)
    assert (balance["available"], balance["held"]) == (d("53.54"), d("100.00"))

    done = await till.confirm(sale, redeemed="100")
    assert column(done["lines"], "redeem") == [d("80.00"), d("20.00")]
    assert column(done["lines"], "accrual") == [d("44.80"), d("11.20")]
    assert money(done["accrued"]) == d("56.00")
    assert money(done["customer"]["balance"]) == d("109.54")

    one = await till.refund("i2-r1", "i2", [("q", 1)])
    assert (money(one["returned_bonuses"]), money(one["reversed_accrual"])) == (
        d("10.00"),
        d("5.60"),
    )
    assert (await till.balance(customer_id))["available"] == d("113.94")

    rest = await till.refund("i2-r2", "i2")
    assert [(item["id"], money(item["quantity"])) for item in rest["lines"]] == [
        ("p", d("1")),
        ("q", d("1")),
    ]
    assert money(rest["returned_bonuses"]) == d("90.00")
    assert money(rest["reversed_accrual"]) == d("50.40")
    assert (await till.balance(customer_id))["available"] == d("153.54")
    profile = await till.profile(customer_id)
    assert money(profile["purchases"]["total"]) == d("3838.70")
    await assert_journal_matches(till, customer_id)


async def test_paying_the_whole_receipt_by_bonuses_accrues_nothing(
    aiohttp_client: Any, deps: Deps
) -> None:
    """Up to 100 % is payable: a receipt paid entirely by bonuses (confirmed without a
    prior hold, as a late upload would) has no money part and accrues nothing; the next
    receipt accrues on its money part only.

    i1 3 838,70 → 153,54. i2 150,00 paid 150,00 → 4 % of 0 = 0; balance 3,54.
    i3 100,00 paying 3,54 → 4 % of 96,46 = 3,8584 → 3,85; balance 3,85."""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer_id = await till.register(PHONE)
    await till.confirm(receipt("i1", [line("a", "3838.70")], phone=PHONE))
    whole = receipt("i2", [line("b", "150.00")], phone=PHONE)
    assert money((await till.calculate(whole))["max_redeem"]) == d("150.00")
    paid = await till.confirm(whole, redeemed="150.00")
    assert money(paid["redeemed"]) == d("150.00")
    assert money(paid["accrued"]) == d("0.00")
    assert paid["accrual_available_from"] is None
    assert (await till.balance(customer_id))["available"] == d("3.54")
    rest = await till.confirm(receipt("i3", [line("c", "100.00")], phone=PHONE), redeemed="3.54")
    assert money(rest["accrued"]) == d("3.85")
    assert (await till.balance(customer_id))["available"] == d("3.85")
    await assert_journal_matches(till, customer_id)


async def test_expiry_after_90_days_and_a_refund_into_an_expired_lot(
    aiohttp_client: Any, deps: Deps, clock: ManualClock
) -> None:
    """Bonuses lapse at the Moscow midnight 90 days after the purchase day; only the
    unspent rest of a lot lapses. A later refund would give the spent bonuses back to
    the lot they came from (DESIGN §4), but it has lapsed: they come back as a new lot
    that lives the program's 90 days from the refund's day, and the answer says so
    (issue 7); the journal matches throughout.

    i1 2026-11-20: 1 000,00 → 40,00, lapses 2027-02-18 00:00 MSK (= 02-17 21:00 UTC).
    i2 2026-11-25: 500,00 paying 30,00 (from i1's lot) → 4 % of 470,00 = 18,80, lapses
    2026-11-25 + 90 = 2027-02-23 00:00 MSK. Balance 40,00 − 30,00 + 18,80 = 28,80.
    At 2027-02-17 21:00 UTC i1's remaining 10,00 lapse: 18,80 available.
    Refund of i2 then (2027-02-18 00:00 MSK): 30,00 back as a new lot lapsing
    2027-02-18 + 90 = 2027-05-19 00:00 MSK, 18,80 reversed from i2's lot → 30,00
    available; the next day's run expires nothing more."""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer_id = await till.register(PHONE)
    await till.confirm(receipt("i1", [line("a", "1000.00")], phone=PHONE))
    clock.advance(days=5)
    second = await till.confirm(receipt("i2", [line("b", "500.00")], phone=PHONE), redeemed="30")
    assert money(second["accrued"]) == d("18.80")
    assert instant(second["accrual_expires_at"]) == datetime(2027, 2, 23, tzinfo=MSK)
    assert (await till.balance(customer_id))["available"] == d("28.80")

    clock.now = datetime(2027, 2, 17, 20, 59, tzinfo=UTC)
    assert (await till.balance(customer_id))["available"] == d("28.80")
    clock.now = datetime(2027, 2, 17, 21, 0, tzinfo=UTC)
    await till.expire()
    assert [(lot["amount"], lot["remaining"]) for lot in await till.lots(customer_id)] == [
        (4000, 0),
        (1880, 1880),
    ]
    assert (await till.balance(customer_id))["available"] == d("18.80")
    await assert_journal_matches(till, customer_id)

    back = await till.refund("i2-r", "i2")
    assert money(back["returned_bonuses"]) == d("30.00")
    assert money(back["reversed_accrual"]) == d("18.80")
    assert money(back["reissued_bonuses"]) == d("30.00")
    assert instant(back["reissued_expires_at"]) == datetime(2027, 5, 19, tzinfo=MSK)
    assert (await till.balance(customer_id))["available"] == d("30.00")
    clock.now = datetime(2027, 2, 18, 21, 0, tzinfo=UTC)
    await till.expire()
    assert [lot["remaining"] for lot in await till.lots(customer_id)] == [0, 0, 3000]
    expired = await deps.db.fetch_all(
        "SELECT amount FROM ledger_entries WHERE customer_id = :c AND kind = 'expire' ORDER BY id",
        {"c": customer_id},
    )
    assert [int(row["amount"]) for row in expired] == [-1000]
    await assert_journal_matches(till, customer_id)
