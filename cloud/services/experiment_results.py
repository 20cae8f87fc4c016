"""An A/B test's results: per variant, the customers, revenue, margin after bonuses and
message cost per customer with a 95 % confidence interval, and Welch's test of the
difference B − A ("significant" when its interval excludes zero).

One set-based query over the merchant's rows: every customer registered before the end
is in a variant (by the same hash the checkout uses), buyer or not, so the per-customer
means compare like with like. Sums are exact integers (kopecks); the sums of squares are
NUMERIC on PostgreSQL and REAL on SQLite (an estimate's spread, never an amount); the
statistics are computed in Decimal, only the t quantile is a float.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from cloud.db.database import Executor, Row
from cloud.services.experiments import BUCKETS, Experiment, bucket_sql

METRICS = {
    "revenue": "Выручка на клиента",
    "margin": "Маржа после бонусов на клиента",
    "messages": "Стоимость сообщений на клиента",
}
LEVEL = 0.975  # two-sided 95 %


def _beta_cf(a: float, b: float, x: float) -> float:
    """The continued fraction of the regularised incomplete beta (Lentz's method)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def _incomplete_beta(a: float, b: float, x: float) -> float:
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_cf(a, b, x) / a
    return 1.0 - front * _beta_cf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    tail = 0.5 * _incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """Student's t quantile by bisection of the CDF (p > 0.5)."""
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        high *= 2.0
    for _ in range(200):
        middle = (low + high) / 2.0
        if t_cdf(middle, df) < p:
            low = middle
        else:
            high = middle
    return (low + high) / 2.0


def _t(df: Decimal) -> Decimal:
    return Decimal(repr(round(t_quantile(LEVEL, float(df)), 9)))


def _kopecks(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class Sample:
    """One metric of one variant: n customers, the sum and the sum of squares (kopecks)."""

    n: int
    total: int
    squares: Decimal

    @property
    def mean(self) -> Decimal:
        return Decimal(self.total) / self.n if self.n else Decimal(0)

    @property
    def variance(self) -> Decimal:
        """The sample variance (n − 1)."""
        if self.n < 2:
            return Decimal(0)
        spread = self.squares - Decimal(self.total) * Decimal(self.total) / self.n
        return max(spread, Decimal(0)) / (self.n - 1)


@dataclass(frozen=True, slots=True)
class Interval:
    estimate: int
    low: int
    high: int


def mean_interval(sample: Sample) -> Interval | None:
    if sample.n < 2:
        return None
    half = _t(Decimal(sample.n - 1)) * (sample.variance / sample.n).sqrt()
    return Interval(
        _kopecks(sample.mean), _kopecks(sample.mean - half), _kopecks(sample.mean + half)
    )


@dataclass(frozen=True, slots=True)
class Welch:
    difference: Interval
    df: Decimal
    significant: bool


def welch(a: Sample, b: Sample) -> Welch | None:
    """Welch's interval for mean(B) − mean(A); None below two customers a side."""
    if a.n < 2 or b.n < 2:
        return None
    va, vb = a.variance / a.n, b.variance / b.n
    difference = b.mean - a.mean
    se2 = va + vb
    if se2 == 0:
        exact = Interval(_kopecks(difference), _kopecks(difference), _kopecks(difference))
        return Welch(exact, Decimal(a.n + b.n - 2), difference != 0)
    df = se2 * se2 / (va * va / (a.n - 1) + vb * vb / (b.n - 1))
    half = _t(df) * se2.sqrt()
    low, high = difference - half, difference + half
    return Welch(
        Interval(_kopecks(difference), _kopecks(low), _kopecks(high)), df, low > 0 or high < 0
    )


@dataclass(frozen=True, slots=True)
class VariantResult:
    variant: str
    customers: int
    buyers: int
    receipts: int
    revenue: int
    discount: int
    accrued: int
    messages: int
    samples: dict[str, Sample]

    @property
    def margin(self) -> int:
        return self.revenue - self.accrued

    def interval(self, metric: str) -> Interval | None:
        return mean_interval(self.samples[metric])


@dataclass(frozen=True, slots=True)
class Results:
    variants: dict[str, VariantResult]
    tests: dict[str, Welch | None]
    start: int
    end: int


_RESULTS_SQL = """
SELECT v.variant, COUNT(*) AS n,
  SUM(CASE WHEN v.receipts > 0 THEN 1 ELSE 0 END) AS buyers, SUM(v.receipts) AS receipts,
  SUM(v.revenue) AS revenue, SUM(v.revenue * 1.0 * v.revenue) AS revenue_sq,
  SUM(v.revenue - v.accrued) AS margin,
  SUM((v.revenue - v.accrued) * 1.0 * (v.revenue - v.accrued)) AS margin_sq,
  SUM(v.messages) AS messages, SUM(v.messages * 1.0 * v.messages) AS messages_sq,
  SUM(v.discount) AS discount, SUM(v.accrued) AS accrued
FROM (
  SELECT CASE WHEN {bucket} < :cut THEN 'B' ELSE 'A' END AS variant,
    COALESCE(r.revenue, 0) AS revenue, COALESCE(r.discount, 0) AS discount,
    COALESCE(r.accrued, 0) AS accrued, COALESCE(r.receipts, 0) AS receipts,
    COALESCE(n.cost, 0) AS messages
  FROM customers c
  LEFT JOIN (
    SELECT customer_id, SUM(CASE WHEN kind = 'sale' THEN amount ELSE -amount END) AS revenue,
      SUM(discount) AS discount, SUM(accrued) AS accrued,
      SUM(CASE WHEN kind = 'sale' THEN 1 ELSE 0 END) AS receipts
    FROM receipts WHERE merchant_id = :m AND customer_id IS NOT NULL
      AND created_at >= :start AND created_at < :end
    GROUP BY customer_id
  ) r ON r.customer_id = c.id
  LEFT JOIN (
    SELECT customer_id, SUM(cost) AS cost FROM notifications
    WHERE merchant_id = :m AND customer_id IS NOT NULL
      AND created_at >= :start AND created_at < :end
    GROUP BY customer_id
  ) n ON n.customer_id = c.id
  WHERE c.merchant_id = :m AND c.created_at < :end
) v
GROUP BY v.variant
"""


async def results(
    executor: Executor, merchant_id: int, experiment: Experiment, now: int
) -> Results:
    """The experiment's figures from its start to its stop (or now)."""
    end = experiment.stopped_at if experiment.stopped_at is not None else now + 1
    rows = await executor.fetch_all(
        _RESULTS_SQL.format(bucket=bucket_sql(experiment.id, "c.id")),
        {"m": merchant_id, "start": experiment.started_at, "end": end,
         "cut": experiment.share_b * (BUCKETS // 100)},
    )  # fmt: skip
    by_variant = {row["variant"]: row for row in rows}
    variants = {name: _variant(name, by_variant.get(name)) for name in ("A", "B")}
    tests = {
        metric: welch(variants["A"].samples[metric], variants["B"].samples[metric])
        for metric in METRICS
    }
    return Results(variants, tests, experiment.started_at, end)


def _variant(name: str, row: Row | None) -> VariantResult:
    def value(column: str) -> int:
        return 0 if row is None else int(row[column] or 0)

    def squares(column: str) -> Decimal:
        return Decimal(0) if row is None else Decimal(str(row[column] or 0))

    n = value("n")
    samples = {metric: Sample(n, value(metric), squares(metric + "_sq")) for metric in METRICS}
    return VariantResult(
        variant=name, customers=n, buyers=value("buyers"), receipts=value("receipts"),
        revenue=value("revenue"), discount=value("discount"), accrued=value("accrued"),
        messages=value("messages"), samples=samples,
    )  # fmt: skip
