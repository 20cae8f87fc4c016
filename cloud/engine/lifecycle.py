"""When an accrual becomes spendable and when it lapses.

Day-based rules are evaluated on the store's local calendar: dates are computed as local
dates, their midnight is localised in the store's zone, and only then converted to UTC.
Adding ``timedelta(days=N)`` to an aware instant would be wrong across an offset change.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

from cloud.engine.compiled import CompiledProgram, as_compiled
from schemas.program import Program


def local_midnight(day: date, tz: tzinfo) -> datetime:
    """The first instant of local ``day`` in ``tz``, as an aware UTC datetime.

    ``fold=0`` matters only where a zone skips or repeats midnight: in a gap it yields the
    transition instant (the day's real start), in an overlap the first occurrence.
    """
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def accrual_dates(
    program: Program | CompiledProgram, now: datetime, tz: tzinfo
) -> tuple[datetime, datetime | None]:
    """``(available_from, expires_at)`` of an accrual made at ``now``, both aware UTC.

    ``activation_delay_days`` 0 makes it spendable at ``now``; N > 0 at the local midnight
    that starts the Nth local day after the purchase. It lapses at the local midnight
    ``lifetime_days`` days after the activation day, or never (``None``).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    compiled = as_compiled(program)
    local_day = now.astimezone(tz).date()
    delay = compiled.activation_delay_days
    if delay:
        activation_day = local_day + timedelta(days=delay)
        available_from = local_midnight(activation_day, tz)
    else:
        activation_day = local_day
        available_from = now.astimezone(UTC)
    expires_at = None
    if compiled.lifetime_days is not None:
        expires_at = local_midnight(activation_day + timedelta(days=compiled.lifetime_days), tz)
    return available_from, expires_at
