"""Golden receipts for НИАРМЕДИК (fixtures/programs/14_niarmedik.json), a chain of
clinics, priced over the public API.

The program (programs.md #14): a physical card bound to the phone; a *bonus* program
(``kind`` = bonus: the tiers' percentages are accruals, no line is discounted). Five
tiers from registration: 5 %, then 7 % / 10 % / 15 % / 20 % when lifetime purchases are
strictly greater than 31 000 / 51 000 / 101 000 / 151 000 ₽. Up to 100 % payable by
bonuses. Accrual is on the part paid in money, floored to the kopeck. Bonuses become
spendable the next local (Moscow) day and lapse at the local midnight 365 days after
that activation day. Receipts are closed on 20.11.2026 12:00 MSK (09:00 UTC) unless the
clock is moved; the customer is identified by the physical card.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cloud.clock import ManualClock
from cloud.services.deps import Deps
from tests.golden.support import epoch, instant, line, open_till, per_line, receipt, utc
from tests.helpers import money

PROGRAM = "14_niarmedik.json"
PHONE = "+79161111414"
CARD = "NM-000014"


FIRST = [
    line("consult", "2500.00", category="consult"),
    line("lab", "700.00", "3", category="lab"),
]


async def test_bonus_program_accrues_five_percent_with_no_discount(
    aiohttp_client: Any, deps: Deps
) -> None:
    """The fixture is a bonus program: the 5 % of the entry tier (given at registration)
    is an accrual, so every line's discount is 0 and the receipt is charged in full;
    the bonuses wait for the next Moscow midnight and lapse 365 days after it.

    consult 2 500,00 + lab 3 x 700,00 = 2 100,00 -> 4 600,00; accrual 125,00 + 105,00 =
    230,00; caps 100 %: 2 500,00 and 2 100,00 (balance 0 -> max_redeem 0).
    Available from 21.11.2026 00:00 MSK (20.11 21:00 UTC); lapses 21.11.2026 + 365 =
    21.11.2027 00:00 MSK = 20.11.2027 21:00 UTC.
    """
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer = await till.register(PHONE, card=CARD)
    assert (await till.profile(customer))["tier"]["code"] == "p5"

    body = receipt("14-s1", FIRST, card=CARD)
    quote = await till.calculate(body)
    assert quote["customer"]["tier"] == "p5"
    assert per_line(quote, "discount") == {"consult": Decimal(0), "lab": Decimal(0)}
    assert per_line(quote, "amount_after_discount") == {
        "consult": Decimal("2500.00"), "lab": Decimal("2100.00")
    }  # fmt: skip
    assert money(quote["discount"]) == Decimal(0)
    assert money(quote["amount_after_discount"]) == Decimal("4600.00")
    assert per_line(quote, "max_redeem") == {
        "consult": Decimal("2500.00"), "lab": Decimal("2100.00")
    }  # fmt: skip
    assert money(quote["max_redeem"]) == Decimal(0)
    assert per_line(quote, "accrual") == {"consult": Decimal("125.00"), "lab": Decimal("105.00")}

    done = await till.confirm(body)
    assert money(done["amount"]) == Decimal("4600.00")
    assert money(done["accrued"]) == Decimal("230.00")
    assert instant(done["accrual_available_from"]) == utc(2026, 11, 20, 21, 0)
    assert instant(done["accrual_expires_at"]) == utc(2027, 11, 20, 21, 0)
    assert await till.balance(customer) == {
        "available": Decimal(0), "held": Decimal(0), "pending": Decimal("230.00")
    }  # fmt: skip


async def test_whole_balance_pays_and_largest_remainder_spreads_kopecks(
    aiohttp_client: Any, deps: Deps, clock: ManualClock
) -> None:
    """The next day the whole balance may pay a receipt; the payment is spread over the
    lines in proportion to their caps, odd kopecks by largest remainder; accrual on the
    money part is rounded once and spread the same way; line returns give back and
    reverse pro rata (half-up) and two returns of one line add up exactly.

    Balance 230,00 (sale 1, active from 21.11). Sale 2 on 21.11: ultrasound 1 800,00 +
    lab 2 x 450,00 = 900,00; caps 1 800,00 + 900,00 -> max_redeem 230,00.
      Hold 230,00 spread 2:1: 153,333.. / 76,666.. -> 153,33 + 76,66 + the odd kopeck
      to the larger remainder (lab) = 153,33 + 76,67.
      Money paid 1 646,67 + 823,33 = 2 470,00 -> 5 % = 123,50; by line 82,3335 and
      41,1665 -> 82,33 + 41,16 + the odd kopeck to lab = 82,33 + 41,17.
      Balance: available 0, pending 123,50.
    Refund 1 of 2 lab: back 76,67 / 2 = 38,335 -> 38,34; reversed 41,17 / 2 = 20,585
      -> 20,59: available 38,34, pending 102,91.
    Refund the other lab: back 38,33, reversed 20,58: available 76,67, pending 82,33.
    Next day: available 159,00 (= 230 - 153,33 + 82,33).
    """
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer = await till.register(PHONE, card=CARD)
    await till.confirm(receipt("14-s1", FIRST, card=CARD))

    clock.now = utc(2026, 11, 21, 9, 0)
    sale = receipt(
        "14-s2",
        [
            line("ultrasound", "1800.00", category="diagnostics"),
            line("lab", "450.00", "2", category="lab"),
        ],
        card=CARD,
    )
    quote = await till.calculate(sale)
    assert money(quote["max_redeem"]) == Decimal("230.00")

    held = await till.hold(sale, "230.00")
    assert per_line(held, "redeem") == {"ultrasound": Decimal("153.33"), "lab": Decimal("76.67")}
    assert per_line(held, "accrual") == {"ultrasound": Decimal("82.33"), "lab": Decimal("41.17")}

    done = await till.confirm(sale, redeemed="230.00")
    assert per_line(done, "redeem") == {"ultrasound": Decimal("153.33"), "lab": Decimal("76.67")}
    assert per_line(done, "accrual") == {"ultrasound": Decimal("82.33"), "lab": Decimal("41.17")}
    assert money(done["accrued"]) == Decimal("123.50")
    assert await till.balance(customer) == {
        "available": Decimal(0), "held": Decimal(0), "pending": Decimal("123.50")
    }  # fmt: skip

    one = await till.refund("14-r1", "14-s2", [("lab", 1)])
    assert money(one["returned_bonuses"]) == Decimal("38.34")
    assert money(one["reversed_accrual"]) == Decimal("20.59")
    assert await till.balance(customer) == {
        "available": Decimal("38.34"), "held": Decimal(0), "pending": Decimal("102.91")
    }  # fmt: skip

    other = await till.refund("14-r2", "14-s2", [("lab", 1)])
    assert money(other["returned_bonuses"]) == Decimal("38.33")
    assert money(other["reversed_accrual"]) == Decimal("20.58")
    assert await till.balance(customer) == {
        "available": Decimal("76.67"), "held": Decimal(0), "pending": Decimal("82.33")
    }  # fmt: skip

    clock.now = utc(2026, 11, 22, 9, 0)
    assert (await till.balance(customer))["available"] == Decimal("159.00")


async def test_five_tiers_from_registration_strictly_over_thresholds(
    aiohttp_client: Any, deps: Deps
) -> None:
    """The card starts at 5 % at registration and climbs by lifetime purchases strictly
    over 31 000 / 51 000 / 101 000 / 151 000; each receipt is priced at the tier the
    customer had; one receipt can skip a tier.

    31 000,00 at 5 % = 1 550,00; lifetime 31 000 (not > 31 000) -> 5 %.
    100,00 at 5 % = 5,00; lifetime 31 100 -> 7 %.
    19 900,00 at 7 % = 1 393,00; lifetime 51 000 (not > 51 000) -> 7 %.
    50 100,00 at 7 % = 3 507,00; lifetime 101 100 > 101 000 -> 15 % (10 % skipped).
    A 1 000,00 quote at 15 %: 150,00.
    50 000,00 at 15 % = 7 500,00; lifetime 151 100 > 151 000 -> 20 %.
    A 1 000,00 quote at 20 %: 200,00.
    """
    till = await open_till(aiohttp_client, deps, PROGRAM)
    await till.register(PHONE, card=CARD)

    async def buy(receipt_id: str, amount: str) -> Any:
        return await till.confirm(
            receipt(receipt_id, [line("visit", amount, category="consult")], card=CARD)
        )

    async def quoted_accrual() -> tuple[str, Decimal]:
        quote = await till.calculate(
            receipt("14-q", [line("visit", "1000.00", category="consult")], card=CARD)
        )
        return quote["customer"]["tier"], money(quote["accrual"])

    steps = [
        ("14-t1", "31000.00", "1550.00", "p5"),
        ("14-t2", "100.00", "5.00", "p7"),
        ("14-t3", "19900.00", "1393.00", "p7"),
        ("14-t4", "50100.00", "3507.00", "p15"),
    ]
    for receipt_id, amount, accrued, tier_after in steps:
        done = await buy(receipt_id, amount)
        assert money(done["accrued"]) == Decimal(accrued), receipt_id
        assert done["customer"]["tier"] == tier_after, receipt_id
    assert await quoted_accrual() == ("p15", Decimal("150.00"))
    done = await buy("14-t5", "50000.00")
    assert money(done["accrued"]) == Decimal("7500.00")
    assert done["customer"]["tier"] == "p20"
    assert await quoted_accrual() == ("p20", Decimal("200.00"))


async def test_bonuses_lapse_365_days_after_the_activation_day(
    aiohttp_client: Any, deps: Deps, clock: ManualClock
) -> None:
    """230,00 accrued on 20.11.2026 (active from 21.11) is spendable until 23:59:59 MSK
    on 20.11.2027 and lapses at 00:00 MSK on 21.11.2027 (20.11.2027 21:00 UTC); the
    expiry job empties the lot."""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer = await till.register(PHONE, card=CARD)
    await till.confirm(receipt("14-e1", FIRST, card=CARD))
    clock.now = utc(2027, 11, 20, 20, 59, 59)
    assert (await till.balance(customer))["available"] == Decimal("230.00")
    clock.now = utc(2027, 11, 20, 21, 0)
    await till.expire()
    assert (await till.balance(customer))["available"] == Decimal(0)
    [lot] = await till.lots(customer)
    assert (lot["amount"], lot["remaining"]) == (23000, 0)
    assert lot["expires_at"] == epoch(utc(2027, 11, 20, 21, 0))
