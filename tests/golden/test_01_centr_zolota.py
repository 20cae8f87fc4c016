"""Golden receipts of Центр Золота (fixtures/programs/01_centr_zolota.json).

The program, as its document states it: a jewellery chain; a physical card bound to the
phone. Золотая (code ``gold``) 10 % bonuses, given at the first purchase; Бриллиантовая
(``diamond``) 15 % once lifetime purchases are strictly greater than 50 000 ₽. Up to
30 % of a line may be paid by bonuses; lines of the promo category ``stopcena``
(«СтопЦена») cannot be paid by bonuses at all but still accrue. Accrual is on the part
paid in money, floored to the kopeck once per receipt and spread over lines by largest
remainder. Bonuses are spendable at once and lapse at the local (Moscow) midnight 300
days after the purchase day. No discounts in this program: every line's discount is 0.

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

PROGRAM = "01_centr_zolota.json"
MSK = ZoneInfo("Europe/Moscow")
PHONE = "+79031110101"
CARD = "2000 0000 0101 7"


async def test_first_purchase_by_card_makes_gold_and_accrues_on_promo_goods_too(
    aiohttp_client: Any, deps: Deps, clock: ManualClock
) -> None:
    """The customer is found by the physical card; before the first purchase there is no
    tier, the first receipt is priced at Золотая 10 % and confers it. Promo lines accrue
    but are not payable. Bonuses are spendable at once and lapse 300 days later.

    Receipt z1: ring 12 345,67 (no category) + chain 4 990,00 (stopcena).
    * caps: ring 30 % of 12 345,67 = 3 703,701 → 3 703,70; chain 0 (promo);
      receipt max_redeem = min(3 703,70, balance 0) = 0,00.
    * accrual 10 % of 17 335,67 = 1 733,567 → floored once to 1 733,56, spread in
      proportion to line base x rate (12 345,67 : 4 990,00): 173 356 kop x 12 345,67 /
      17 335,67 = 123 456,20 and 49 899,80 → floors 123 456 + 49 899, the last kopeck to
      the larger remainder (.80): 1 234,56 / 499,00.
    * lapses at local midnight 2026-11-20 + 300 days = 2027-09-16 00:00 MSK
      (= 2027-09-15 21:00 UTC).
    """
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer_id = await till.register(PHONE, card=CARD)
    assert (await till.profile(customer_id))["tier"] is None

    body = receipt(
        "z1", [line("ring", "12345.67"), line("chain", "4990.00", category="stopcena")], card=CARD
    )
    quote = await till.calculate(body)
    assert quote["customer"]["id"] == customer_id
    assert quote["customer"]["tier"] == "gold"
    assert column(quote["lines"], "discount") == [d("0.00"), d("0.00")]
    assert money(quote["discount"]) == d("0.00")
    assert column(quote["lines"], "max_redeem") == [d("3703.70"), d("0.00")]
    assert money(quote["max_redeem"]) == d("0.00")
    assert column(quote["lines"], "accrual") == [d("1234.56"), d("499.00")]
    assert money(quote["accrual"]) == d("1733.56")

    done = await till.confirm(body)
    assert money(done["accrued"]) == d("1733.56")
    assert column(done["lines"], "accrual") == [d("1234.56"), d("499.00")]
    assert done["customer"]["tier"] == "gold"
    assert instant(done["accrual_available_from"]) == clock.now
    assert instant(done["accrual_expires_at"]) == datetime(2027, 9, 16, tzinfo=MSK)
    assert instant(done["accrual_expires_at"]) == datetime(2027, 9, 15, 21, tzinfo=UTC)
    assert await till.balance(customer_id) == {
        "available": d("1733.56"), "held": d("0.00"), "pending": d("0.00"),
    }  # fmt: skip
    profile = await till.profile(customer_id)
    assert profile["tier"]["code"] == "gold"
    assert money(profile["purchases"]["total"]) == d("17335.67")
    await assert_journal_matches(till, customer_id)


async def test_partial_payment_promo_not_payable_diamond_upgrade_and_partial_refund(
    aiohttp_client: Any, deps: Deps
) -> None:
    """A bonus payment is spread over the payable lines in proportion to their 30 %
    caps, never onto promo lines; accrual is on the money part at the tier the customer
    had; passing 50 000 of lifetime purchases makes the card Бриллиантовая; returning one
    of two units gives back half that line's bonuses and reverses half its accrual
    (half-up), lowers lifetime purchases but never the tier.

    z1: one line 17 335,67 → 10 % = 1 733,567 → 1 733,56 (balance), lifetime 17 335,67.
    z2: a 20 000,00; b 7 500,00 x 2 = 15 000,00; c 3 000,00 stopcena (total 38 000,00).
    * caps: a 30 % = 6 000,00; b 30 % = 4 500,00; c 0 → 10 500,00, capped by the
      balance: max_redeem 1 733,56. Accrual without payment 10 % of 38 000 = 3 800,00
      (2 000,00 / 1 500,00 / 300,00).
    * hold 1 000,00 spread 6 000 : 4 500: a 100 000 x 6 000 / 10 500 = 57 142,857 kop,
      b 42 857,142 kop → floors 57 142 + 42 857 = 99 999, the last kopeck to the larger
      remainder (a): 571,43 / 428,57 / 0,00. Available 733,56, held 1 000,00.
    * confirm: money paid a 19 428,57, b 14 571,43, c 3 000,00 = 37 000,00; 10 % =
      3 700,00 (exact). Spread in proportion to the money paid: 194 285,7 / 145 714,3 /
      30 000 kop → floors sum to 369 999, the kopeck to a (.7 > .3):
      1 942,86 / 1 457,14 / 300,00.
      Balance 1 733,56 − 1 000,00 + 3 700,00 = 4 433,56. Lifetime 17 335,67 + 38 000,00
      = 55 335,67 > 50 000 → diamond.
    * refund one b: returned ½ x 428,57 = 214,285 → 214,29; reversed ½ x 1 457,14 =
      728,57. Balance 4 433,56 + 214,29 − 728,57 = 3 919,28. Lifetime 55 335,67 −
      7 500,00 = 47 835,67, still diamond.
    * quote z3 at diamond: 1 000,00 + 200,00 stopcena → accrual 15 % of 1 200,00 =
      180,00 (150,00 / 30,00); max_redeem 30 % of 1 000,00 = 300,00.
    """
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer_id = await till.register(PHONE, card=CARD)
    first = await till.confirm(receipt("z1", [line("set", "17335.67")], card=CARD))
    assert money(first["accrued"]) == d("1733.56")

    sale = receipt(
        "z2",
        [
            line("a", "20000.00"),
            line("b", "7500.00", "2"),
            line("c", "3000.00", category="stopcena"),
        ],
        card=CARD,
    )
    quote = await till.calculate(sale)
    assert column(quote["lines"], "max_redeem") == [d("6000.00"), d("4500.00"), d("0.00")]
    assert money(quote["max_redeem"]) == d("1733.56")
    assert column(quote["lines"], "accrual") == [d("2000.00"), d("1500.00"), d("300.00")]
    assert money(quote["accrual"]) == d("3800.00")

    held = await till.hold(sale, "1000.00")
    assert money(held["amount"]) == d("1000.00")
    assert column(held["lines"], "redeem") == [d("571.43"), d("428.57"), d("0.00")]
    assert money(held["balance"]) == d("733.56")
    balance = await till.balance(customer_id)
    assert (balance["available"], balance["held"]) == (d("733.56"), d("1000.00"))

    done = await till.confirm(sale, redeemed="1000.00")
    assert money(done["redeemed"]) == d("1000.00")
    assert column(done["lines"], "redeem") == [d("571.43"), d("428.57"), d("0.00")]
    assert column(done["lines"], "accrual") == [d("1942.86"), d("1457.14"), d("300.00")]
    assert money(done["accrued"]) == d("3700.00")
    assert done["customer"]["tier"] == "diamond"
    assert "Новый уровень карты: Бриллиантовая" in done["messages"]
    assert await till.balance(customer_id) == {
        "available": d("4433.56"), "held": d("0.00"), "pending": d("0.00"),
    }  # fmt: skip

    back = await till.refund("z2-r1", "z2", [("b", 1)])
    assert money(back["returned_bonuses"]) == d("214.29")
    assert money(back["reversed_accrual"]) == d("728.57")
    assert money(back["unrecovered_accrual"]) == d("0.00")
    assert money(back["balance"]) == d("3919.28")
    assert (await till.balance(customer_id))["available"] == d("3919.28")
    profile = await till.profile(customer_id)
    assert money(profile["purchases"]["total"]) == d("47835.67")
    assert profile["tier"]["code"] == "diamond"

    next_quote = await till.calculate(
        receipt("z3", [line("x", "1000.00"), line("y", "200.00", category="stopcena")], card=CARD)
    )
    assert next_quote["customer"]["tier"] == "diamond"
    assert column(next_quote["lines"], "accrual") == [d("150.00"), d("30.00")]
    assert money(next_quote["accrual"]) == d("180.00")
    assert column(next_quote["lines"], "max_redeem") == [d("300.00"), d("0.00")]
    assert money(next_quote["max_redeem"]) == d("300.00")
    await assert_journal_matches(till, customer_id)


async def test_promo_only_receipt_cannot_be_paid_by_bonuses(
    aiohttp_client: Any, deps: Deps
) -> None:
    """«СтопЦена» goods are not payable by bonuses: a receipt of promo lines only has a
    max_redeem of 0 whatever the balance, and holding even 1,00 on it is refused.

    z1: 1 000,00 → 10 % = 100,00 of balance. z2: 2 500,00 stopcena → cap 0; accrual
    10 % = 250,00 still quoted."""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer_id = await till.register(PHONE, card=CARD)
    await till.confirm(receipt("z1", [line("a", "1000.00")], card=CARD))
    promo = receipt("z2", [line("p", "2500.00", category="stopcena")], card=CARD)
    quote = await till.calculate(promo)
    assert money(quote["max_redeem"]) == d("0.00")
    assert money(quote["accrual"]) == d("250.00")
    refused = await till.post("/api/v1/checkout/hold", {"receipt": promo, "amount": 1}, 422)
    assert refused["code"] == "redeem_exceeds_limit"
    assert (await till.balance(customer_id))["available"] == d("100.00")


async def test_diamond_needs_lifetime_purchases_strictly_over_50000(
    aiohttp_client: Any, deps: Deps
) -> None:
    """The threshold is "strictly greater than": exactly 50 000,00 of purchases keeps
    Золотая; one more kopeck makes it Бриллиантовая, and the next receipt accrues 15 %.

    z1 50 000,00 at gold: 10 % = 5 000,00; lifetime 50 000,00 is not > 50 000 → gold.
    z2 0,01 at gold: 10 % of 0,01 = 0,001 → floored to 0,00 (no lot); lifetime
    50 000,01 > 50 000 → diamond. Quote z3 100,00 at diamond: 15 % = 15,00."""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer_id = await till.register(PHONE, card=CARD)
    first = await till.confirm(receipt("z1", [line("a", "50000.00")], card=CARD))
    assert money(first["accrued"]) == d("5000.00")
    assert first["customer"]["tier"] == "gold"
    tiny = await till.confirm(receipt("z2", [line("b", "0.01")], card=CARD))
    assert money(tiny["accrued"]) == d("0.00")
    assert tiny["customer"]["tier"] == "diamond"
    assert len(await till.lots(customer_id)) == 1
    quote = await till.calculate(receipt("z3", [line("c", "100.00")], card=CARD))
    assert money(quote["accrual"]) == d("15.00")


async def test_bonuses_lapse_at_local_midnight_300_days_after_the_purchase_day(
    aiohttp_client: Any, deps: Deps, clock: ManualClock
) -> None:
    """Expiry takes only what is left of a lot (a spent bonus never lapses twice), at the
    local midnight 300 days after the purchase day, and the journal still matches.

    z1 on 2026-11-20 (MSK): 1 000,00 → 100,00, lapses 2027-09-16 00:00 MSK.
    z2 on 2026-11-30: 500,00 paying 50,00 (cap 30 % = 150,00) → 10 % of 450,00 = 45,00,
    lapses 2026-11-30 + 300 = 2027-09-26 00:00 MSK; the 50,00 came from z1's lot.
    2027-09-15 20:59 UTC (23:59 MSK): 50,00 + 45,00 = 95,00 available; at 21:00 UTC the
    first lot's 50,00 is gone: 45,00. The job journals −50,00 (not −100,00)."""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer_id = await till.register(PHONE, card=CARD)
    await till.confirm(receipt("z1", [line("a", "1000.00")], card=CARD))
    clock.advance(days=10)
    second = await till.confirm(receipt("z2", [line("b", "500.00")], card=CARD), redeemed="50")
    assert money(second["accrued"]) == d("45.00")
    assert instant(second["accrual_expires_at"]) == datetime(2027, 9, 26, tzinfo=MSK)

    clock.now = datetime(2027, 9, 15, 20, 59, tzinfo=UTC)
    assert (await till.balance(customer_id))["available"] == d("95.00")
    clock.now = datetime(2027, 9, 15, 21, 0, tzinfo=UTC)
    assert (await till.balance(customer_id))["available"] == d("45.00")
    await till.expire()
    assert [(lot["amount"], lot["remaining"]) for lot in await till.lots(customer_id)] == [
        (10000, 0),
        (4500, 4500),
    ]
    expired = await deps.db.fetch_all(
        "SELECT amount FROM ledger_entries WHERE customer_id = :c AND kind = 'expire'",
        {"c": customer_id},
    )
    assert [int(row["amount"]) for row in expired] == [-5000]
    assert (await till.balance(customer_id))["available"] == d("45.00")
    await assert_journal_matches(till, customer_id)
