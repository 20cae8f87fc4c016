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
    compiled = as_compiled(program)
    return lot_dates(now, tz, compiled.activation_delay_days, compiled.lifetime_days)


def lot_dates(
    now: datetime, tz: tzinfo, delay: int, lifetime_days: int | None
) -> tuple[datetime, datetime | None]:
    """``(available_from, expires_at)`` of bonuses credited at ``now`` that activate
    ``delay`` local days later (0: at once) and live ``lifetime_days`` (None: forever):
    the rule of ``accrual_dates``, shared by gifts with their own delay and validity."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    local_day = now.astimezone(tz).date()
    if delay:
        activation_day = local_day + timedelta(days=delay)
        available_from = local_midnight(activation_day, tz)
    else:
        activation_day = local_day
        available_from = now.astimezone(UTC)
    expires_at = None
    if lifetime_days is not None:
        expires_at = local_midnight(activation_day + timedelta(days=lifetime_days), tz)
    return available_from, expires_at


def follow_up_offer_window(
    program: Program | CompiledProgram, purchase_at: datetime, tz: tzinfo
) -> tuple[date, date] | None:
    """``(first, last)`` local days, inclusive, of the personal follow-up offer that a
    purchase at ``purchase_at`` opens (from the next local day through the ``days``-th
    day after it), or ``None`` when the program has no such offer."""
    offer = as_compiled(program).program.follow_up_offer
    if offer is None:
        return None
    if purchase_at.tzinfo is None or purchase_at.utcoffset() is None:
        raise ValueError("purchase_at must be an aware datetime")
    day = purchase_at.astimezone(tz).date()
    return day + timedelta(days=1), day + timedelta(days=offer.days)


def follow_up_reminder_date(
    program: Program | CompiledProgram, purchase_at: datetime, tz: tzinfo
) -> date | None:
    """The local day the reminder about the follow-up offer goes out
    (``reminder_days_before`` days before its last day), or ``None``."""
    window = follow_up_offer_window(program, purchase_at, tz)
    offer = as_compiled(program).program.follow_up_offer
    if window is None or offer is None or offer.reminder_days_before is None:
        return None
    return window[1] - timedelta(days=offer.reminder_days_before)
