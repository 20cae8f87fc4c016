"""The ``analytics`` job's months and customers' sums (``analytics.rollup``, ``summary``)
against the same figures counted straight from the receipts: for random receipts, a job
run on a random day, then a receipt replayed late into an old month (hypothesis); and
over the hand-made data set of ``analytics_data``."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud.clock import ManualClock
from cloud.services import analytics, merchants
from cloud.services.analytics import rollup
from cloud.services.deps import Deps
from tests.conftest import Tenant
from tests.services.analytics_data import MSK, NOW, Seeder, seed

_names = itertools.count()
FIRST = date(2026, 1, 1)
ROLLED = ("receipts", "discount", "intervals", "lost", "purchases", "channels")

receipt = st.tuples(
    st.integers(0, 3),  # customer
    st.integers(0, 150),  # day after 1 January
    st.sampled_from(["01:00", "12:00", "23:30"]),
    st.integers(1, 500),  # roubles
    st.sampled_from(["sale", "sale", "sale", "refund"]),
)


async def _reports(deps: Deps, merchant: int, span: analytics.Period) -> list[Any]:
    return [(await analytics.build(deps, merchant, key, span)).rows for key in ROLLED]


async def _add(db: Any, merchant: int, customers: list[int], rows: list[Any]) -> None:
    s = Seeder(db, merchant)
    s.n = next(_names) * 1000
    for who, offset, time, amount, kind in rows:
        day = (FIRST + timedelta(days=offset)).isoformat()
        await s.receipt(customers[who], day, amount, kind=kind, discount=amount // 10)
        # The seeder's times are noon: move to the drawn time of the same Moscow day.
        await db.execute(
            "UPDATE receipts SET created_at = created_at + :d WHERE id = "
            "(SELECT MAX(id) FROM receipts WHERE merchant_id = :m)",
            {"d": (int(time[:2]) - 12) * 3600 + int(time[3:]) * 60, "m": merchant},
        )


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=st.lists(receipt, min_size=1, max_size=25),
    run_day=st.integers(20, 160),
    late=receipt,
)
async def test_the_jobs_sums_give_the_figures_of_the_receipts(
    deps: Deps, clock: ManualClock, rows: list[Any], run_day: int, late: Any
) -> None:
    """Whatever the receipts and the day the job runs, the reports that read its months
    and customers' sums plus the days after show what the receipts alone give; and still
    after a receipt dated earlier than the job counted arrives late."""
    now = datetime.combine(FIRST + timedelta(days=run_day), datetime.min.time(), MSK)
    clock.now = now.astimezone(UTC) + timedelta(hours=4)  # the job's hour, 04:00
    merchant = await merchants.create_merchant(deps.db, f"Свёртка {next(_names)}", clock(),
                                               "Europe/Moscow")  # fmt: skip
    async with deps.db.transaction() as tx:
        s = Seeder(tx, merchant)
        s.n = next(_names) * 1000
        customers = [await s.customer(int(now.timestamp()) - 400 * 86_400) for _ in range(4)]
        await _add(tx, merchant, customers, rows)
    span = analytics.period(clock() + timedelta(hours=8), MSK)  # the default: 12 months
    expected = await _reports(deps, merchant, span)
    await rollup.run_analytics(deps, None, merchant)
    assert await _reports(deps, merchant, span) == expected
    assert await rollup.monthly(deps, merchant, span) == await rollup.compute(deps, merchant, span)
    async with deps.db.transaction() as tx:
        await _add(tx, merchant, customers, [late])
    read = await _reports(deps, merchant, span)
    await deps.db.execute("DELETE FROM analytics_state WHERE merchant_id = :m", {"m": merchant})
    assert read == await _reports(deps, merchant, span)


async def test_reports_over_the_hand_made_set_are_the_same_after_the_job(
    deps: Deps, clock: ManualClock, demo_tenant: Tenant, other_tenant: Tenant
) -> None:
    """The job counts the hand-made data set's months up to yesterday; every report then
    shows what it showed before, and a second run the same day changes nothing."""
    await seed(deps, demo_tenant.merchant_id, other_tenant.merchant_id)
    clock.now = NOW
    span = analytics.period(NOW, MSK, "2025-10", "2026-06")
    before = await _reports(deps, demo_tenant.merchant_id, span)
    report = await rollup.run_analytics(deps, NOW.date())
    assert report.details[str(demo_tenant.merchant_id)]["through"] == "2026-06-14"
    stored = await deps.db.fetch_value(
        "SELECT COUNT(*) FROM analytics_months WHERE merchant_id = :m",
        {"m": demo_tenant.merchant_id},
    )
    assert stored == 10  # September 2025 (the first receipt) to June 2026
    assert await _reports(deps, demo_tenant.merchant_id, span) == before
    again = await rollup.run_analytics(deps, NOW.date())
    assert again.merchants == 0  # the date is recorded
    assert await _reports(deps, demo_tenant.merchant_id, span) == before
