"""An A/B test's results against a hand computation: per-variant sums over every customer
in the variant (buyers or not), per-customer means with their 95 % intervals, and Welch's
interval of the difference with its verdict."""

from __future__ import annotations

import json
import math
import statistics
from decimal import Decimal
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cloud.clock import ManualClock, to_epoch
from cloud.services import experiments
from cloud.services.deps import Deps
from cloud.services.experiment_results import (
    Sample,
    mean_interval,
    results,
    t_quantile,
    welch,
)
from tests.conftest import _client_for, make_tenant
from tests.ledger.helpers import create_customer
from tests.services.test_experiments import FIVE


@pytest.mark.parametrize(
    ("df", "table"),
    [(1, 12.7062), (2, 4.3027), (6, 2.4469), (10, 2.2281), (30, 2.0423), (1000, 1.9623)],
)
def test_t_quantile_matches_the_printed_table(df: int, table: float) -> None:
    """The two-sided 95 % quantile of Student's t equals the printed table to 4 places."""
    assert round(t_quantile(0.975, df), 4) == table


def _sample(values: list[int]) -> Sample:
    return Sample(len(values), sum(values), Decimal(sum(v * v for v in values)))


def test_welch_against_a_hand_computation() -> None:
    """A = 0, 10, 20, 30 ₽ and B = 15, 25, 35, 45 ₽ per customer: equal variances and
    sizes make Welch's df exactly 6 (t = 2,446912); the difference 15 ₽ ± 2,446912 x
    √(2 x 166,67 / 4) ₽ spans zero: not significant. B shifted to 50..80 ₽: 50 ₽ ± the
    same, significant."""
    a = [0, 1000, 2000, 3000]
    for b, difference, significant in (
        ([1500, 2500, 3500, 4500], 1500, False),
        ([5000, 6000, 7000, 8000], 5000, True),
    ):
        half = 2.446912 * math.sqrt(statistics.variance(a) / 4 + statistics.variance(b) / 4)
        result = welch(_sample(a), _sample(b))
        assert result is not None
        assert round(result.df, 12) == 6
        assert result.difference.estimate == difference
        assert result.difference.low == round(difference - half)
        assert result.difference.high == round(difference + half)
        assert result.significant is significant
    spread = mean_interval(_sample(a))
    assert spread is not None
    half = 3.182446 * statistics.stdev(a) / 2  # t(0,975; 3) x s / √4
    assert (spread.low, spread.estimate, spread.high) == (
        round(1500 - half),
        1500,
        round(1500 + half),
    )


def test_unequal_variances_use_the_welch_satterthwaite_df() -> None:
    """Different spreads and sizes: df = (va/na + vb/nb)² / ((va/na)²/(na-1) + (vb/nb)²/(nb-1)),
    and the interval uses t at that fractional df."""
    a, b = [100, 300, 200, 900, 0], [1000, 5000, 3000]
    va, vb = statistics.variance(a) / 5, statistics.variance(b) / 3
    df = (va + vb) ** 2 / (va**2 / 4 + vb**2 / 2)
    result = welch(_sample(a), _sample(b))
    assert result is not None
    assert float(result.df) == pytest.approx(df, rel=1e-12)
    half = t_quantile(0.975, df) * math.sqrt(va + vb)
    difference = statistics.mean(b) - statistics.mean(a)
    assert result.difference.low == round(difference - half)
    assert result.difference.high == round(difference + half)
    assert welch(_sample([5]), _sample(b)) is None


async def test_results_of_real_receipts_match_a_hand_computation(
    aiohttp_client: Any, deps: Deps, clock: ManualClock
) -> None:
    """Eight customers, split by the experiment's hash. A sale before the start is not
    counted; each customer buys (or not) a known amount during the test, one is sent an
    SMS costing 3,50 ₽, and one B sale is partly returned. Per variant the customers,
    revenue, bonuses accrued (5 % in A, 10 % in B), margin (revenue − accrued), message
    cost and the Welch test equal the same figures computed by hand from that plan."""
    tenant = await make_tenant(deps, "Цветы", json.dumps(FIVE))
    client: TestClient = await _client_for(aiohttp_client, deps, tenant)
    members = [await create_customer(deps, tenant.merchant_id) for _ in range(8)]

    async def sell(receipt_id: str, member: Any, roubles: int) -> None:
        body = {"receipt": {"id": receipt_id, "customer": {"phone": member.phone},
                            "lines": [{"id": "1", "name": "Букет", "price": roubles,
                                       "quantity": 1}]}}  # fmt: skip
        response = await client.post("/api/v1/checkout/confirm", json=body)
        assert response.status == 200, await response.text()

    await sell("before", members[0], 5000)
    clock.advance(hours=1)
    experiment = await experiments.start(
        deps.db, deps.programs, tenant.merchant_id, name="10 %", parameter="accrual_percent",
        tier_code=None, value=Decimal("10"), share_b=50, now=clock(),
    )  # fmt: skip
    clock.advance(minutes=5)
    plan = [1000, 0, 2500, 400, 0, 1200, 3000, 700]  # roubles bought by each customer
    for index, (member, roubles) in enumerate(zip(members, plan, strict=True)):
        if roubles:
            await sell(f"s{index}", member, roubles)
    variant = {m.id: experiment.split.variant_of(m.id) for m in members}
    assert set(variant.values()) == {"A", "B"}, "both variants must have customers"
    returned = next(m for m, r in zip(members, plan, strict=True) if r and variant[m.id] == "B")
    refund = await client.post(
        "/api/v1/checkout/refund",
        json={"id": "back", "receipt_id": f"s{members.index(returned)}"},
    )
    assert refund.status == 200, await refund.text()
    await deps.db.execute(
        "INSERT INTO notifications (merchant_id, customer_id, channel, recipient_enc, body, "
        "status, cost, created_at) VALUES (:m, :c, 'sms', :r, 'Привет', 'sent', 350, :now)",
        {"m": tenant.merchant_id, "c": members[1].id, "r": b"x", "now": to_epoch(clock())},
    )  # fmt: skip
    got = await results(deps.db, tenant.merchant_id, experiment, to_epoch(clock()))

    for name, rate in (("A", 5), ("B", 10)):
        revenue, margin, messages = [], [], []
        for member, roubles in zip(members, plan, strict=True):
            if variant[member.id] != name:
                continue
            kept = 0 if member is returned else roubles * 100
            accrued = 0 if member is returned else roubles * rate  # kopecks: roubles x 100 x rate %
            revenue.append(kept)
            margin.append(kept - accrued)
            messages.append(350 if member is members[1] else 0)
        figures = got.variants[name]
        assert figures.customers == len(revenue)
        assert figures.revenue == sum(revenue)
        assert figures.margin == sum(margin)
        assert figures.messages == sum(messages)
        assert figures.samples["revenue"] == _sample(revenue)
        assert figures.samples["margin"] == _sample(margin)
    a, b = got.variants["A"].samples, got.variants["B"].samples
    assert got.tests["margin"] == welch(a["margin"], b["margin"])
