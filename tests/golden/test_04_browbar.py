"""Golden receipts of BrowBar (fixtures/programs/04_browbar.json).

The program: a chain of beauty salons; the phone is the card. Стартовая (``start``)
5 % at the first purchase, Золотая (``gold``) 7 % over 10 000 ₽, Платиновая
(``platinum``) 10 % over 30 000 ₽ of lifetime purchases (strictly greater); up to
100 % payable by bonuses; accrual on the money part, floored once per receipt and
spread over lines in proportion to base x rate; bonuses spendable at once, lapse at the
local midnight 90 days after the purchase day. No discounts. (The birthday gift, 100
bonuses 3 days before for 7 days, is granted by a job outside the checkout and is not
covered here.)

The salon here is in Novosibirsk (Asia/Novosibirsk, UTC+7, no DST) on purpose: DESIGN
§3's example of a receipt that belongs to its local day, not the UTC one.
The clock starts at 2026-11-20 09:00 UTC = 16:00 in Novosibirsk.
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

PROGRAM = "04_browbar.json"
ZONE = "Asia/Novosibirsk"
PHONE = "+79034440404"


async def test_first_purchase_start_tier_and_strict_thresholds_skipping_gold(
    aiohttp_client: Any, deps: Deps
) -> None:
    """No tier before the first purchase; the first receipt is priced at Стартовая 5 %
    and confers it. "More than 10 000 / 30 000" is strictly greater; one receipt may
    carry the card past both thresholds at once (straight to Платиновая).

    w1 10 000,00 at start: 5 % = 500,00; lifetime 10 000,00 is not > 10 000 → start.
    w2 20 000,01 at start: 5 % = 1 000,0005 → floored to 1 000,00; lifetime 30 000,01
    > 30 000 → platinum. Quote w3 1 000,00 at platinum: 10 % = 100,00."""
    till = await open_till(aiohttp_client, deps, PROGRAM, timezone=ZONE)
    customer_id = await till.register(PHONE)
    assert (await till.profile(customer_id))["tier"] is None
    first = await till.confirm(receipt("w1", [line("brows", "10000.00")], phone=PHONE))
    assert (money(first["accrued"]), first["customer"]["tier"]) == (d("500.00"), "start")
    second = await till.confirm(receipt("w2", [line("lashes", "20000.01")], phone=PHONE))
    assert (money(second["accrued"]), second["customer"]["tier"]) == (d("1000.00"), "platinum")
    assert "Новый уровень карты: Платиновая" in second["messages"]
    quote = await till.calculate(receipt("w3", [line("brows", "1000.00")], phone=PHONE))
    assert money(quote["accrual"]) == d("100.00")
    assert (await till.balance(customer_id))["available"] == d("1500.00")


async def test_novosibirsk_local_day_partial_payment_refund_and_expiry(
    aiohttp_client: Any, deps: Deps, clock: ManualClock
) -> None:
    """Day-based rules follow the salon's own zone (Asia/Novosibirsk, UTC+7): a receipt
    at 00:30 local on 2026-11-21 (still 2026-11-20 in UTC) lapses 90 days after
    2026-11-21. A bonus payment spreads over the lines by their caps, accrual is on the
    money part, a returned line gives back its bonuses to the lot they came from, and
    expiry takes what is left of each lot at local midnight.

    w1 2026-11-20 17:30 UTC (11-21 00:30 local): 2 000,00 → 5 % = 100,00; spendable at
    once; lapses 2027-02-19 00:00 local = 2027-02-18 17:00 UTC.
    w2 2026-11-21 17:30 UTC (11-22 00:30 local): brows 1 800,00, tint 650,00, serum
    1 290,00 (3 740,00); max_redeem min(3 740,00, 100,00) = 100,00.
    * hold 100,00 = 10 000 kop over 180 000 : 65 000 : 129 000: 4 812,83 / 1 737,97 /
      3 449,20 → floors 9 998, kopecks to .97 and .83: 48,13 / 17,38 / 34,49.
    * money paid 1 751,87 + 632,62 + 1 255,51 = 3 640,00; 5 % = 182,00 spread in
      proportion: 8 759,35 / 3 163,10 / 6 277,55 → floors 18 199, the kopeck to .55:
      87,59 / 31,63 / 62,78. Lapses 2026-11-22 + 90 = 2027-02-20 00:00 local.
      Balance 100,00 − 100,00 + 182,00 = 182,00; lifetime 5 740,00 → still start.
    * return the tint: 17,38 back (to w1's lot), 31,63 reversed (from w2's lot) →
      182,00 + 17,38 − 31,63 = 167,75 (w1's lot 17,38, w2's lot 150,37).
    * 2027-02-18 16:59 UTC: 167,75; 17:00 UTC: w1's 17,38 lapse → 150,37."""
    tz = ZoneInfo(ZONE)
    till = await open_till(aiohttp_client, deps, PROGRAM, timezone=ZONE)
    customer_id = await till.register(PHONE)
    clock.now = datetime(2026, 11, 20, 17, 30, tzinfo=UTC)
    first = await till.confirm(receipt("w1", [line("brows", "2000.00")], phone=PHONE))
    assert money(first["accrued"]) == d("100.00")
    assert instant(first["accrual_available_from"]) == clock.now
    assert instant(first["accrual_expires_at"]) == datetime(2027, 2, 19, tzinfo=tz)
    assert instant(first["accrual_expires_at"]) == datetime(2027, 2, 18, 17, tzinfo=UTC)

    clock.now = datetime(2026, 11, 21, 17, 30, tzinfo=UTC)
    sale = receipt(
        "w2",
        [line("brows", "1800.00"), line("tint", "650.00"), line("serum", "1290.00")],
        phone=PHONE,
    )
    quote = await till.calculate(sale)
    assert money(quote["max_redeem"]) == d("100.00")
    held = await till.hold(sale, "100")
    assert column(held["lines"], "redeem") == [d("48.13"), d("17.38"), d("34.49")]
    done = await till.confirm(sale, redeemed="100")
    assert column(done["lines"], "redeem") == [d("48.13"), d("17.38"), d("34.49")]
    assert column(done["lines"], "accrual") == [d("87.59"), d("31.63"), d("62.78")]
    assert money(done["accrued"]) == d("182.00")
    assert instant(done["accrual_expires_at"]) == datetime(2027, 2, 20, tzinfo=tz)
    assert done["customer"]["tier"] == "start"
    assert (await till.balance(customer_id))["available"] == d("182.00")

    back = await till.refund("w2-r", "w2", [("tint", 1)])
    assert (money(back["returned_bonuses"]), money(back["reversed_accrual"])) == (
        d("17.38"),
        d("31.63"),
    )
    assert (await till.balance(customer_id))["available"] == d("167.75")
    assert [lot["remaining"] for lot in await till.lots(customer_id)] == [1738, 15037]

    clock.now = datetime(2027, 2, 18, 16, 59, tzinfo=UTC)
    assert (await till.balance(customer_id))["available"] == d("167.75")
    clock.now = datetime(2027, 2, 18, 17, 0, tzinfo=UTC)
    assert (await till.balance(customer_id))["available"] == d("150.37")
    await till.expire()
    assert [lot["remaining"] for lot in await till.lots(customer_id)] == [0, 15037]
    expired = await deps.db.fetch_all(
        "SELECT amount FROM ledger_entries WHERE customer_id = :c AND kind = 'expire'",
        {"c": customer_id},
    )
    assert [int(row["amount"]) for row in expired] == [-1738]
    await assert_journal_matches(till, customer_id)
