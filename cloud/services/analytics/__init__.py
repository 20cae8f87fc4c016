"""The merchant's reports (the list of ``programs.md``): each one set-based SQL over the
merchant's rows, on SQLite and PostgreSQL alike, turned into a table of columns and
rows that the cabinet draws as a chart, shows as a table and writes as an xlsx.

SQL returns integer sums and counts only; ratios (average receipt, shares, days) are
divided here, once per row of the result (a month, a channel), with Decimal, so both
databases give the same figures to the kopeck."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from cloud.services.deps import Deps

DAY = 86_400
MAX_MONTHS = 36


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    kind: str = "int"
    """``text``, ``int``, ``money`` (roubles), ``percent`` or ``days``."""


@dataclass(frozen=True)
class Chart:
    kind: str
    """``bar`` or ``line``."""
    x: str
    series: tuple[str, ...]


@dataclass
class Report:
    key: str
    title: str
    note: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    chart: Chart | None = None
    figures: list[tuple[str, Any, str]] = field(default_factory=list)
    """Headline figures above the chart: (title, value, kind)."""


@dataclass(frozen=True)
class Month:
    label: str
    lo: int
    hi: int
    first_day: date
    next_day: date


@dataclass(frozen=True)
class Period:
    """Whole calendar months of the merchant's time zone, ``first`` to ``last``."""

    first: date
    last: date
    tz: ZoneInfo
    now: datetime

    @property
    def months(self) -> list[Month]:
        out, day = [], self.first
        while day <= self.last:
            following = _next_month(day)
            out.append(Month(day.strftime("%Y-%m"), self.epoch(day), self.epoch(following),
                             day, following))  # fmt: skip
            day = following
        return out

    @property
    def start(self) -> int:
        return self.epoch(self.first)

    @property
    def end(self) -> int:
        return self.epoch(_next_month(self.last))

    @property
    def end_day(self) -> str:
        return _next_month(self.last).isoformat()

    def epoch(self, day: date) -> int:
        return int(datetime(day.year, day.month, day.day, tzinfo=self.tz).timestamp())

    def months_sql(self, back_days: int = 0) -> str:
        """The months as a ``WITH`` table: label, epoch bounds, ISO day bounds, and the
        day ``back_days`` before the month (a day early: a bound for an index on local
        days, the exact test is on the epoch). The values are ours (dates and integers),
        never the user's text."""
        values = ", ".join(
            f"('{m.label}', {m.lo}, {m.hi}, '{m.first_day.isoformat()}', "
            f"'{m.next_day.isoformat()}', "
            f"'{(m.first_day - timedelta(days=back_days + 1)).isoformat()}')"
            for m in self.months
        )
        return f"months(label, lo, hi, d0, d1, b0) AS (VALUES {values})"


class PeriodError(ValueError):
    """A period the reports cannot take; ``message`` says why, in Russian. Only the
    cabinet asks for reports, so this is no API error code."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _month(text: str, field_name: str) -> date:
    try:
        year, month = text.split("-")
        if len(year) != 4 or len(month) != 2:
            raise ValueError(text)
        return date(int(year), int(month), 1)
    except ValueError as exc:
        raise PeriodError(f"{field_name}: месяц в виде ГГГГ-ММ, например 2026-01") from exc


def period(now: datetime, tz: ZoneInfo, first: str = "", last: str = "") -> Period:
    """The period asked for (``YYYY-MM`` each end), by default the last 12 months up to
    the current one."""
    today = now.astimezone(tz).date()
    end = _month(last, "Конец периода") if last else date(today.year, today.month, 1)
    if first:
        start = _month(first, "Начало периода")
    else:
        start = date(end.year - 1, end.month, 1)
        start = _next_month(start)
    if start > end:
        raise PeriodError("Начало периода позже его конца")
    count = (end.year - start.year) * 12 + end.month - start.month + 1
    if count > MAX_MONTHS:
        raise PeriodError(f"Период — не больше {MAX_MONTHS} месяцев")
    return Period(start, end, tz, now)


def ratio(part: int, whole: int, places: str = "0.01") -> Decimal | None:
    """``part / whole`` rounded half up; None when there is nothing to divide by."""
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal(places), ROUND_HALF_UP)


def percent(part: int, whole: int) -> Decimal | None:
    return ratio(part * 100, whole, "0.1")


def roubles(kopecks: int | None) -> Decimal:
    return (Decimal(int(kopecks or 0)) / 100).quantize(Decimal("0.01"))


def avg_roubles(kopecks: int, count: int) -> Decimal | None:
    """An average of kopecks, in roubles to the kopeck."""
    value = ratio(int(kopecks), int(count), "1")
    return None if value is None else roubles(int(value))


def days(seconds: int, count: int) -> Decimal | None:
    return ratio(int(seconds), int(count) * DAY, "0.1")


Builder = Callable[[Deps, int, Period], Awaitable[Report]]


def _registry() -> dict[str, tuple[str, Builder]]:
    from cloud.services.analytics import campaigns, customers, sales

    return {
        "growth": ("Рост базы", customers.growth),
        "purchases": ("1 / 2 / 3+ покупки", customers.purchases),
        "lost": ("Потерянные клиенты", customers.lost),
        "receipts": ("Средний чек", sales.receipts),
        "intervals": ("Дни между покупками", customers.intervals),
        "discount": ("Скидка по месяцам", sales.discount),
        "referrals": ("Рекомендации", customers.referrals),
        "channels": ("Каналы привлечения", customers.channels),
        "campaigns": ("Кампании", campaigns.campaigns),
        "liability": ("Бонусные обязательства", sales.liability),
    }


REPORTS: dict[str, str] = {key: title for key, (title, _) in _registry().items()}


async def build(deps: Deps, merchant_id: int, key: str, span: Period) -> Report:
    _, builder = _registry()[key]
    return await builder(deps, merchant_id, span)
