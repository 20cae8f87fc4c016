"""Golden receipts for VIP сервис (fixtures/programs/09_vip_service.json), car service and
car wash, priced over the public API.

The program (programs.md #9): Стандартная 10 % at registration, Золотая 15 % when
lifetime purchases are strictly greater than 30 000 ₽, VIP 20 % when greater than
60 000 ₽. Bonuses pay only for car-wash services (category ``wash``), up to 50 % of
them; nothing else can be paid by bonuses. A receipt that spends bonuses accrues
nothing. Accrual is on the part paid in money, floored to the kopeck; bonuses are
spendable at once and lapse at the local (Moscow) midnight 180 days after the purchase
day. Every receipt here is closed on 20.11.2026 12:00 MSK (09:00 UTC) unless the clock
is moved.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cloud.clock import ManualClock
from cloud.services.deps import Deps
from tests.golden.support import epoch, instant, line, open_till, per_line, receipt, utc
from tests.helpers import money

PROGRAM = "09_vip_service.json"
PHONE = "+79161110909"


async def test_first_receipt_accrues_ten_percent_and_only_wash_is_payable(
    aiohttp_client: Any, deps: Deps
) -> None:
    """Registration gives Стандартная (10 %) before any purchase. A mixed receipt accrues
    10 % of every line; only the wash line shows a bonus cap (50 % of it), service and
    parts show 0. The bonuses are spendable at once and lapse at Moscow midnight
    180 days after the purchase day.

    wash 1 200,00 + service 4 800,00 + parts 2 x 1 500,00 = 9 000,00.
    Caps: wash 1 200 x 50 % = 600,00; service 0; parts 0. Balance 0 -> max_redeem 0.
    Accrual: 120,00 + 480,00 + 300,00 = 900,00 (10 % of 9 000,00).
    Expiry: 20.11.2026 + 180 days = 19.05.2027 00:00 MSK = 18.05.2027 21:00 UTC.
    """
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer = await till.register(PHONE)
    profile = await till.profile(customer)
    assert profile["tier"]["code"] == "standard"

    body = receipt(
        "09-first",
        [
            line("wash", "1200.00", category="wash"),
            line("service", "4800.00", category="service"),
            line("parts", "1500.00", "2", category="parts"),
        ],
        phone=PHONE,
    )
    quote = await till.calculate(body)
    assert quote["customer"]["tier"] == "standard"
    assert per_line(quote, "discount") == {
        "wash": Decimal(0), "service": Decimal(0), "parts": Decimal(0)
    }  # fmt: skip
    assert per_line(quote, "max_redeem") == {
        "wash": Decimal("600.00"), "service": Decimal(0), "parts": Decimal(0)
    }  # fmt: skip
    assert money(quote["max_redeem"]) == Decimal(0)
    assert per_line(quote, "accrual") == {
        "wash": Decimal("120.00"), "service": Decimal("480.00"), "parts": Decimal("300.00")
    }  # fmt: skip
    assert money(quote["accrual"]) == Decimal("900.00")

    done = await till.confirm(body)
    assert money(done["accrued"]) == Decimal("900.00")
    assert money(done["amount"]) == Decimal("9000.00")
    assert instant(done["accrual_available_from"]) == utc(2026, 11, 20, 9, 0)
    assert instant(done["accrual_expires_at"]) == utc(2027, 5, 18, 21, 0)
    assert done["customer"]["tier"] == "standard"  # 9 000 is not over 30 000
    assert await till.balance(customer) == {
        "available": Decimal("900.00"), "held": Decimal(0), "pending": Decimal(0)
    }  # fmt: skip


async def test_bonus_payment_on_wash_accrues_nothing_and_refund_gives_it_back(
    aiohttp_client: Any, deps: Deps
) -> None:
    """Bonuses pay at most 50 % of the wash lines; a receipt with no wash line can't be
    paid by bonuses at all. A receipt paid partly by bonuses accrues nothing (quote,
    hold and confirm), and returning part of it gives back the spent bonuses pro rata
    and reverses no accrual.

    Sale 1: service 9 000,00 -> accrual 900,00, balance 900,00.
    Sale 2: wash 2 x 700,00 = 1 400,00 + service 1 000,00.
      caps: wash 700,00 (50 %), service 0 -> max_redeem min(700,00; 900,00) = 700,00.
      Without a bonus payment it would accrue 140,00 + 100,00 = 240,00.
      Hold 700,01 is over the cap (refused); hold 500,00 -> all on the wash line;
      available 400,00, held 500,00. Confirm: redeemed 500,00, accrued 0,00.
    Refund one of the two washes: 500,00 x 1/2 = 250,00 back, 0 reversed -> 650,00.
    Refund the service line: nothing back, nothing reversed -> still 650,00.
    """
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer = await till.register(PHONE)
    first = await till.confirm(
        receipt("09-s1", [line("service", "9000.00", category="service")], phone=PHONE)
    )
    assert money(first["accrued"]) == Decimal("900.00")

    no_wash = receipt(
        "09-nowash",
        [line("service", "3000.00", category="service"), line("oil", "800.00", category="parts")],
        phone=PHONE,
    )
    quote = await till.calculate(no_wash)
    assert money(quote["max_redeem"]) == Decimal(0)
    refused = await till.post(
        "/api/v1/checkout/hold", {"receipt": no_wash, "amount": 100}, status=422
    )
    assert refused["code"] == "redeem_exceeds_limit"

    sale = receipt(
        "09-s2",
        [
            line("wash", "700.00", "2", category="wash"),
            line("service", "1000.00", category="service"),
        ],
        phone=PHONE,
    )
    quote = await till.calculate(sale)
    assert per_line(quote, "max_redeem") == {"wash": Decimal("700.00"), "service": Decimal(0)}
    assert money(quote["max_redeem"]) == Decimal("700.00")
    assert per_line(quote, "accrual") == {"wash": Decimal("140.00"), "service": Decimal("100.00")}
    assert money(quote["accrual"]) == Decimal("240.00")

    over = await till.post("/api/v1/checkout/hold", {"receipt": sale, "amount": 700.01}, status=422)
    assert over["code"] == "redeem_exceeds_limit"

    held = await till.hold(sale, "500.00")
    assert money(held["amount"]) == Decimal("500.00")
    assert per_line(held, "redeem") == {"wash": Decimal("500.00"), "service": Decimal(0)}
    assert per_line(held, "accrual") == {"wash": Decimal(0), "service": Decimal(0)}
    assert await till.balance(customer) == {
        "available": Decimal("400.00"), "held": Decimal("500.00"), "pending": Decimal(0)
    }  # fmt: skip

    done = await till.confirm(sale, redeemed="500.00")
    assert money(done["redeemed"]) == Decimal("500.00")
    assert money(done["accrued"]) == Decimal(0)
    assert per_line(done, "accrual") == {"wash": Decimal(0), "service": Decimal(0)}
    assert per_line(done, "redeem") == {"wash": Decimal("500.00"), "service": Decimal(0)}
    assert await till.balance(customer) == {
        "available": Decimal("400.00"), "held": Decimal(0), "pending": Decimal(0)
    }  # fmt: skip

    wash_back = await till.refund("09-r1", "09-s2", [("wash", 1)])
    assert money(wash_back["returned_bonuses"]) == Decimal("250.00")
    assert money(wash_back["reversed_accrual"]) == Decimal(0)
    assert (await till.balance(customer))["available"] == Decimal("650.00")

    service_back = await till.refund("09-r2", "09-s2", [("service", 1)])
    assert money(service_back["returned_bonuses"]) == Decimal(0)
    assert money(service_back["reversed_accrual"]) == Decimal(0)
    assert (await till.balance(customer))["available"] == Decimal("650.00")


async def test_tiers_move_only_when_lifetime_purchases_exceed_the_threshold(
    aiohttp_client: Any, deps: Deps
) -> None:
    """Lifetime purchases equal to a threshold keep the tier; one kopeck-worth more
    moves it after the receipt is confirmed, and the receipt that crosses is still
    priced at the old tier.

    30 000,00 at Стандартная: 3 000,00; lifetime 30 000 (not > 30 000) -> Стандартная.
    100,00 at Стандартная: 10,00; lifetime 30 100 > 30 000 -> Золотая.
    29 900,00 at Золотая: 15 % = 4 485,00; lifetime 60 000 (not > 60 000) -> Золотая.
    1 000,00 at Золотая: 150,00; lifetime 61 000 > 60 000 -> VIP.
    A 1 000,00 quote at VIP: 20 % = 200,00.
    """
    till = await open_till(aiohttp_client, deps, PROGRAM)
    await till.register(PHONE)
    steps = [
        ("09-t1", "30000.00", "3000.00", "standard"),
        ("09-t2", "100.00", "10.00", "gold"),
        ("09-t3", "29900.00", "4485.00", "gold"),
        ("09-t4", "1000.00", "150.00", "vip"),
    ]
    for receipt_id, amount, accrued, tier_after in steps:
        body = receipt(receipt_id, [line("job", amount, category="service")], phone=PHONE)
        done = await till.confirm(body)
        assert money(done["accrued"]) == Decimal(accrued), receipt_id
        assert done["customer"]["tier"] == tier_after, receipt_id
    quote = await till.calculate(
        receipt("09-t5", [line("job", "1000.00", category="service")], phone=PHONE)
    )
    assert quote["customer"]["tier"] == "vip"
    assert money(quote["accrual"]) == Decimal("200.00")


async def test_bonuses_lapse_at_moscow_midnight_180_days_after_the_purchase_day(
    aiohttp_client: Any, deps: Deps, clock: ManualClock
) -> None:
    """A purchase on 20.11.2026 (12:00 MSK) accrues 10 % of 1 000,00 = 100,00, which is
    still spendable at 23:59:59 MSK on 18.05.2027 and lapses at 00:00 MSK on 19.05.2027
    (20.11.2026 + 180 days), i.e. 18.05.2027 21:00 UTC; the nightly expiry job then
    empties the lot."""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    customer = await till.register(PHONE)
    await till.confirm(receipt("09-e1", [line("job", "1000.00", category="service")], phone=PHONE))

    clock.now = utc(2027, 5, 17, 21, 0)  # 18.05 00:00 MSK: the job runs, nothing is due
    await till.expire()
    assert (await till.balance(customer))["available"] == Decimal("100.00")
    clock.now = utc(2027, 5, 18, 20, 59, 59)
    assert (await till.balance(customer))["available"] == Decimal("100.00")

    clock.now = utc(2027, 5, 18, 21, 0)
    await till.expire()
    assert (await till.balance(customer))["available"] == Decimal(0)
    [lot] = await till.lots(customer)
    assert (lot["amount"], lot["remaining"]) == (10000, 0)
    assert lot["expires_at"] == epoch(utc(2027, 5, 18, 21, 0))
