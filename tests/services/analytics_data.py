"""A small data set for the analytics reports, written straight into the tables so each
row's date is exact, with every expected figure worked out by hand in the tests.

The merchant is in Moscow (UTC+3, no summer time); purchases are at 12:00 local time.
Customers (registered; what they bought):

- A 2025-12-10 (till): 15.12.2025 1 000; 10.01 2 000 (discount 200, paid 100 by bonuses,
  accrued 50); 10.02 3 000
- B 2026-01-05 (social): 06.01 500 (accrued 25); 26.01 1 500 (accrued 75); 01.03 1 000,
  400 of it returned 02.03; 10.04 700 (after the period)
- C 2026-01-20 (till, invited by A): 01.02 4 000 (discount 1 000); A got 200 for it
- D 2026-02-03 (till): nothing
- E 2026-04-01 01:00 Moscow, which is still 31.03 in UTC (till): nothing
- F 2025-10-01: 05.10.2025 800 — lost 03.01.2026
- G 2025-09-01: 20.09.2025 900 — lost 19.12.2025 (before the period)
- H 2025-11-01: 20.12.2025 1 200 — lost 20.03.2026
- I 2025-10-01: 20.10.2025 500; reanimation gift 14.02; 15.02 600 — lost 18.01.2026
- an anonymous sale of 9 999 on 15.01, and another merchant's customer with a sale and
  bonuses: neither counts anywhere.

Messages: expiry warnings to A on 05.02 and 08.02 and to H on 05.02 (2,50 ₽ each, sent),
one to B that failed; a reanimation gift's SMS to I (2,50 ₽); a mailing on 01.03 09:00
with a 7-day window, delivered to B and sent to C (2,50 ₽ each).
Bonus lots (seen on 15.06.2026): A 100 ₽ to 20.07; B 50 ₽ forever; C 30 ₽ from 20.06 to
10.08; D a spent lot; H 70 ₽ lapsed 01.06 (not yet swept)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from cloud.services.deps import Deps

MSK = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def at(day: str, time: str = "12:00") -> int:
    """Epoch seconds of a Moscow local time."""
    return int(datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=MSK).timestamp())


class Seeder:
    def __init__(self, tx: Any, merchant_id: int) -> None:
        self.db, self.m, self.n = tx, merchant_id, 0

    async def customer(self, created: int, channel: str = "till", acquisition: str | None = None,
                       referrer: int | None = None) -> int:  # fmt: skip
        self.n += 1
        return await self.db.insert(
            "INSERT INTO customers (merchant_id, phone_index, phone_enc, lifetime_purchases, "
            "purchase_count, registration_channel, acquisition_channel, referrer_id, "
            "created_at) VALUES (:m, :p, :e, 0, 0, :ch, :acq, :ref, :at) RETURNING id",
            {"m": self.m, "p": f"analytics-{self.m}-{self.n}", "e": b"-", "ch": channel,
             "acq": acquisition, "ref": referrer, "at": created},
        )  # fmt: skip

    async def receipt(self, customer: int | None, day: str, amount: int, *,
                      kind: str = "sale", discount: int = 0, redeemed: int = 0,
                      accrued: int = 0, original: int | None = None) -> int:  # fmt: skip
        """Amounts in roubles."""
        self.n += 1
        return await self.db.insert(
            "INSERT INTO receipts (merchant_id, customer_id, source, kind, external_id, "
            "original_receipt_id, amount, discount, redeemed, accrued, local_date, "
            "created_at, response) VALUES (:m, :c, 'native', :k, :e, :o, :a, :d, :r, :acc, "
            ":day, :at, '') RETURNING id",
            {"m": self.m, "c": customer, "k": kind, "e": f"R-{self.n}", "o": original,
             "a": amount * 100, "d": discount * 100, "r": redeemed * 100, "acc": accrued * 100,
             "day": day, "at": at(day)},
        )  # fmt: skip

    async def message(self, customer: int, kind: str | None, created: int, status: str = "sent",
                      mailing: int | None = None) -> None:  # fmt: skip
        await self.db.execute(
            "INSERT INTO notifications (merchant_id, customer_id, channel, recipient_enc, "
            "body, status, cost, created_at, kind, mailing_id) VALUES (:m, :c, 'sms', :r, "
            "'', :s, 250, :at, :k, :ml)",
            {"m": self.m, "c": customer, "r": b"-", "s": status, "at": created, "k": kind,
             "ml": mailing},
        )  # fmt: skip

    async def lot(self, customer: int, remaining: int, available: int,
                  expires: int | None) -> None:  # fmt: skip
        await self.db.execute(
            "INSERT INTO bonus_lots (merchant_id, customer_id, kind, amount, remaining, "
            "available_from, expires_at, created_at) VALUES (:m, :c, 'purchase', :a, :rem, "
            ":av, :ex, :av)",
            {"m": self.m, "c": customer, "a": max(remaining, 100) * 100, "rem": remaining * 100,
             "av": available, "ex": expires},
        )  # fmt: skip


async def seed(deps: Deps, merchant_id: int, other_merchant_id: int) -> dict[str, int]:
    async with deps.db.transaction() as tx:
        return await _seed(tx, merchant_id, other_merchant_id)


async def _seed(db: Any, merchant_id: int, other_merchant_id: int) -> dict[str, int]:
    s = Seeder(db, merchant_id)
    a = await s.customer(at("2025-12-10"))
    b = await s.customer(at("2026-01-05"), acquisition="social")
    c = await s.customer(at("2026-01-20"), referrer=a)
    d = await s.customer(at("2026-02-03"))
    await s.customer(at("2026-04-01", "01:00"))  # E
    f = await s.customer(at("2025-10-01"))
    g = await s.customer(at("2025-09-01"))
    h = await s.customer(at("2025-11-01"))
    i = await s.customer(at("2025-10-01"))
    await s.receipt(a, "2025-12-15", 1000)
    await s.receipt(a, "2026-01-10", 2000, discount=200, redeemed=100, accrued=50)
    await s.receipt(a, "2026-02-10", 3000)
    await s.receipt(b, "2026-01-06", 500, accrued=25)
    await s.receipt(b, "2026-01-26", 1500, accrued=75)
    b_march = await s.receipt(b, "2026-03-01", 1000)
    await s.receipt(b, "2026-03-02", 400, kind="refund", original=b_march)
    await s.receipt(b, "2026-04-10", 700)
    c_sale = await s.receipt(c, "2026-02-01", 4000, discount=1000)
    await s.receipt(f, "2025-10-05", 800)
    await s.receipt(g, "2025-09-20", 900)
    await s.receipt(h, "2025-12-20", 1200)
    i_old = await s.receipt(i, "2025-10-20", 500)
    await s.receipt(i, "2026-02-15", 600)
    await s.receipt(None, "2026-01-15", 9999)
    await db.execute(
        "INSERT INTO referral_rewards (merchant_id, receipt_id, recipient_id, level, rate, "
        "base, amount, lot_id, created_at) VALUES (:m, :r, :a, 1, 'percent:5', 400000, 20000, "
        "0, :at)",
        {"m": merchant_id, "r": c_sale, "a": a, "at": at("2026-02-01")},
    )
    await s.message(a, "expiry_warning", at("2026-02-05", "11:00"))
    await s.message(a, "expiry_warning", at("2026-02-08", "11:00"))
    await s.message(h, "expiry_warning", at("2026-02-05", "11:00"))
    await s.message(b, "expiry_warning", at("2026-02-05", "11:00"), status="failed")
    gift = at("2026-02-14", "10:00")
    await db.execute(
        "INSERT INTO reanimations (merchant_id, customer_id, rule_code, last_purchase_at, "
        "amount, run_date, granted_at) VALUES (:m, :c, 'r30', :last, 20000, '2026-02-14', :at)",
        {"m": merchant_id, "c": i, "last": at("2025-10-20"), "at": gift},
    )
    assert i_old
    await s.message(i, "reanimation_gift", gift)
    mailing = await db.insert(
        "INSERT INTO mailings (merchant_id, text, segment, attribution_days, participants, "
        "estimated_cost, created_at) VALUES (:m, 'Весна: скидка 10 %', '{}', 7, 2, 500, :at) "
        "RETURNING id",
        {"m": merchant_id, "at": at("2026-03-01", "09:00")},
    )
    await s.message(b, None, at("2026-03-01", "09:00"), status="delivered", mailing=mailing)
    await s.message(c, None, at("2026-03-01", "09:00"), mailing=mailing)
    await s.lot(a, 100, at("2026-01-10"), at("2026-07-20"))
    await s.lot(b, 50, at("2026-01-06"), None)
    await s.lot(c, 30, at("2026-06-20"), at("2026-08-10"))
    await s.lot(d, 0, at("2026-02-03"), None)
    await s.lot(h, 70, at("2025-12-20"), at("2026-06-01"))

    other = Seeder(db, other_merchant_id)
    x = await other.customer(at("2026-01-07"), referrer=None)
    await other.receipt(x, "2026-01-08", 5000, discount=500)
    await other.message(x, "expiry_warning", at("2026-01-09"))
    await other.lot(x, 999, at("2026-01-08"), at("2026-07-01"))
    return {"a": a, "b": b, "c": c, "d": d, "i": i, "mailing": mailing}
