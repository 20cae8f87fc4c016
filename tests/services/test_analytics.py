"""Every analytics report over the hand-made data set of ``analytics_data`` (its
docstring lists the rows), January to March 2026, against figures worked out by hand;
on SQLite and PostgreSQL alike."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from cloud.services import analytics
from cloud.services.deps import Deps
from tests.conftest import Tenant
from tests.services.analytics_data import MSK, NOW, seed

D = Decimal


@pytest.fixture
async def seeded(deps: Deps, demo_tenant: Tenant, other_tenant: Tenant) -> dict[str, int]:
    return await seed(deps, demo_tenant.merchant_id, other_tenant.merchant_id)


async def _rows(deps: Deps, tenant: Tenant, key: str, *cols: str) -> list[tuple[Any, ...]]:
    span = analytics.period(NOW, MSK, "2026-01", "2026-03")
    report = await analytics.build(deps, tenant.merchant_id, key, span)
    return [tuple(row[c] for c in cols) for row in report.rows]


async def test_growth_counts_by_the_merchants_calendar(
    deps: Deps, demo_tenant: Tenant, seeded: dict[str, int]
) -> None:
    """Five customers before January; B and C join in January, D in February; E joined
    at 01:00 on 1 April in Moscow (31 March in UTC) and is not March's."""
    rows = await _rows(deps, demo_tenant, "growth", "month", "new", "total")
    assert rows == [("2026-01", 2, 7), ("2026-02", 1, 8), ("2026-03", 0, 8)]


async def test_customers_by_number_of_purchases(
    deps: Deps, demo_tenant: Tenant, seeded: dict[str, int]
) -> None:
    """In the period C bought once (4 000), A twice (5 000), B three times (3 000 of
    sales); I once (600): the anonymous sale and the other merchant's are not counted."""
    rows = await _rows(deps, demo_tenant, "purchases", "bucket", "customers", "share", "revenue")
    assert rows == [
        ("1 покупка", 2, D("50.0"), D("4600.00")),
        ("2 покупки", 1, D("25.0"), D("5000.00")),
        ("3 и больше", 1, D("25.0"), D("3000.00")),
    ]


async def test_lost_customers_and_churn_by_month(
    deps: Deps, demo_tenant: Tenant, seeded: dict[str, int]
) -> None:
    """F's 90 days ran out on 3 January and I's on 18 January (I came back in February,
    still lost in January); H's on 20 March. Active at the month's start: 4 (F, I, A, H)
    in January, 3 (A, H, B) in February, 5 (A, H, B, C, I) in March."""
    rows = await _rows(deps, demo_tenant, "lost", "month", "lost", "active", "churn")
    assert rows == [
        ("2026-01", 2, 4, D("50.0")),
        ("2026-02", 0, 3, D("0.0")),
        ("2026-03", 1, 5, D("20.0")),
    ]


async def test_average_receipt_and_revenue_per_customer(
    deps: Deps, demo_tenant: Tenant, seeded: dict[str, int]
) -> None:
    """January 4 000 over 3 sales of 2 buyers; February 7 600 over 3 sales of 3 buyers;
    March one sale of 1 000 with 400 returned: revenue 600."""
    rows = await _rows(
        deps, demo_tenant, "receipts", "month", "sales", "buyers", "revenue", "receipt",
        "per_customer",
    )  # fmt: skip
    assert rows == [
        ("2026-01", 3, 2, D("4000.00"), D("1333.33"), D("2000.00")),
        ("2026-02", 3, 3, D("7600.00"), D("2533.33"), D("2533.33")),
        ("2026-03", 1, 1, D("600.00"), D("1000.00"), D("600.00")),
    ]


async def test_days_between_purchases(
    deps: Deps, demo_tenant: Tenant, seeded: dict[str, int]
) -> None:
    """January: A 26 days after 15.12, B 20 days; February: A 31, I 118 (since
    20.10.2025); March: B 34 days. Period: 229 days over 5 repeat purchases."""
    span = analytics.period(NOW, MSK, "2026-01", "2026-03")
    report = await analytics.build(deps, demo_tenant.merchant_id, "intervals", span)
    assert [(r["month"], r["repeats"], r["days"]) for r in report.rows] == [
        ("2026-01", 2, D("23.0")), ("2026-02", 2, D("74.5")), ("2026-03", 1, D("34.0")),
    ]  # fmt: skip
    assert report.figures[0][1] == D("45.8")


async def test_average_discount_over_time(
    deps: Deps, demo_tenant: Tenant, seeded: dict[str, int]
) -> None:
    """January: 4 200 before discount, 200 discount (4,8 %), 100 paid by bonuses (2,4 %),
    150 accrued; February: 8 600 before discount, 1 000 discount (11,6 %)."""
    rows = await _rows(
        deps, demo_tenant, "discount", "month", "gross", "discount", "discount_share",
        "redeemed", "redeemed_share", "accrued",
    )  # fmt: skip
    assert rows == [
        ("2026-01", D("4200.00"), D("200.00"), D("4.8"), D("100.00"), D("2.4"), D("150.00")),
        ("2026-02", D("8600.00"), D("1000.00"), D("11.6"), D("0.00"), D("0.0"), D("0.00")),
        ("2026-03", D("1000.00"), D("0.00"), D("0.0"), D("0.00"), D("0.0"), D("0.00")),
    ]


async def test_referrals(deps: Deps, demo_tenant: Tenant, seeded: dict[str, int]) -> None:
    """C (January) came invited by A; C bought 4 000 in February and A got 200 for it."""
    rows = await _rows(
        deps, demo_tenant, "referrals", "month", "new", "referred", "share", "sales",
        "revenue", "rewards",
    )  # fmt: skip
    assert rows == [
        ("2026-01", 2, 1, D("50.0"), 0, D("0.00"), D("0.00")),
        ("2026-02", 1, 0, D("0.0"), 1, D("4000.00"), D("200.00")),
        ("2026-03", 0, 0, None, 0, D("0.00"), D("0.00")),
    ]


async def test_acquisition_channel_quality(
    deps: Deps, demo_tenant: Tenant, seeded: dict[str, int]
) -> None:
    """Registered in the period: C and D at the till (C bought 4 000 once), B from the
    social network (500, 1 500, 1 000 over 54 days; the April sale is after the period)."""
    rows = await _rows(
        deps, demo_tenant, "channels", "channel", "customers", "buyers", "purchases",
        "repeaters", "receipt", "per_customer", "days",
    )  # fmt: skip
    assert rows == [
        ("Касса", 2, 1, 1, 0, D("4000.00"), D("2000.00"), None),
        ("Соцсети", 1, 1, 3, 1, D("1000.00"), D("3000.00"), D("27.0")),
    ]


async def test_campaign_effectiveness(
    deps: Deps, demo_tenant: Tenant, seeded: dict[str, int]
) -> None:
    """Expiry warnings: A (twice) and H, 7,50 ₽; A's 3 000 on 10.02 counts once, B's
    failed warning not at all. Reanimation r30: I, 2,50 ₽, came back with 600. The
    mailing: B and C, 5,00 ₽; B's 1 000 on 01.03 less the 400 returned."""
    rows = await _rows(
        deps, demo_tenant, "campaigns", "campaign", "participants", "cost", "buyers", "sales",
        "revenue",
    )  # fmt: skip
    assert rows == [
        ("Предупреждения о сгорании бонусов", 2, D("7.50"), 1, 1, D("3000.00")),
        ("Реанимация: r30", 1, D("2.50"), 1, 1, D("600.00")),
        ("Рассылка 01.03.2026: Весна: скидка 10 %", 2, D("5.00"), 1, 1, D("600.00")),
    ]


async def test_bonus_liability(deps: Deps, demo_tenant: Tenant, seeded: dict[str, int]) -> None:
    """On 15.06.2026: A's 100 and B's 50 are spendable, C's 30 activates on 20.06; A's
    lapse in July, C's in August; H's lapsed lot and D's spent one count nowhere."""
    span = analytics.period(NOW, MSK, "2026-01", "2026-03")
    report = await analytics.build(deps, demo_tenant.merchant_id, "liability", span)
    assert [(t, v) for t, v, _ in report.figures] == [
        ("Доступно клиентам сейчас", D("150.00")),
        ("Ещё не активированы", D("30.00")),
        ("Без срока сгорания", D("50.00")),
    ]
    rows = [(r["month"], r["activating"], r["expiring"]) for r in report.rows]
    assert rows[:3] == [
        ("2026-06", D("30.00"), D("0.00")),
        ("2026-07", D("0.00"), D("100.00")),
        ("2026-08", D("0.00"), D("30.00")),
    ]
    assert len(rows) == 12 and rows[-1][0] == "2027-05"
    assert all(r[1:] == (D("0.00"), D("0.00")) for r in rows[3:])


async def test_another_merchant_sees_only_its_own_rows(
    deps: Deps, other_tenant: Tenant, seeded: dict[str, int]
) -> None:
    """The other merchant's reports count its one customer, sale, warning and lot, none
    of the demo merchant's."""
    span = analytics.period(NOW, MSK, "2026-01", "2026-03")
    build = analytics.build
    growth = await build(deps, other_tenant.merchant_id, "growth", span)
    assert [r["total"] for r in growth.rows] == [1, 1, 1]
    receipts = await build(deps, other_tenant.merchant_id, "receipts", span)
    assert [r["revenue"] for r in receipts.rows] == [D("5000.00"), D("0.00"), D("0.00")]
    campaigns = await build(deps, other_tenant.merchant_id, "campaigns", span)
    assert [r["participants"] for r in campaigns.rows] == [1]
    liability = await build(deps, other_tenant.merchant_id, "liability", span)
    assert liability.figures[0][1] == D("999.00")


@pytest.mark.parametrize(
    ("first", "last"), [("2026-13", ""), ("январь", ""), ("2026-03", "2026-01"),
                        ("2020-01", "2026-01"), ("", "26-1")],
)  # fmt: skip
def test_a_bad_period_is_refused_in_russian(first: str, last: str) -> None:
    """A month not ``YYYY-MM``, a start after the end, or more than 36 months is
    refused with a Russian message."""
    with pytest.raises(analytics.PeriodError) as caught:
        analytics.period(NOW, MSK, first, last)
    assert "ериод" in caught.value.message


def test_the_default_period_is_the_last_twelve_months() -> None:
    """No period asked: July 2025 to June 2026 on 15.06.2026."""
    span = analytics.period(NOW, MSK)
    assert [m.label for m in span.months][::11] == ["2025-07", "2026-06"]
