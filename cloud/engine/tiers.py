"""Which tier prices a receipt, and which tier a purchase or a scheduled recomputation
leads to.

Tier rules (``Program.tier_rule``): with the ``lifetime`` basis a purchase raises the
tier by lifetime purchases; with ``rolling`` a job recomputes tiers on a schedule from
the purchases of a rolling period (``rolling_window`` gives the local dates to sum,
``tier_for_rolling_purchases`` the result, downgrades included); with any basis a tier
may be reached by one receipt's sum (``single_receipt_at_least``), applied at confirm.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta, tzinfo

from cloud.engine.compiled import CompiledProgram, CompiledTier, as_compiled
from cloud.engine.lifecycle import local_midnight
from cloud.engine.types import CustomerSnapshot
from schemas.program import Program, Tier


def compiled_tier(program: CompiledProgram, customer: CustomerSnapshot | None) -> CompiledTier:
    """The customer's tier; the entry tier for no customer, no tier yet, or a tier code
    the program no longer has (a tier is never invented from purchases here: tiers move
    only through ``tier_after_purchase`` and scheduled recalculation)."""
    if customer is not None and customer.tier_code is not None:
        tier = program.tiers_by_code.get(customer.tier_code)
        if tier is not None:
            return tier
    return program.tiers[0]


def effective_tier(program: Program | CompiledProgram, customer: CustomerSnapshot | None) -> Tier:
    """The tier that prices a receipt for ``customer`` (the entry tier if none)."""
    return compiled_tier(as_compiled(program), customer).tier


def tier_change_after_purchase(
    program: Program | CompiledProgram,
    current_code: str | None,
    lifetime_purchases: int,
    receipt_amount: int = 0,
) -> tuple[str, str]:
    """``(tier code, reason)`` after a confirmed purchase.

    ``lifetime_purchases`` are the customer's lifetime purchases including this receipt
    and ``receipt_amount`` the receipt's sum after the program's discount, both kopecks.
    The result is the highest tier whose lifetime threshold is strictly below the
    lifetime purchases (``lifetime`` basis only) or whose single-receipt threshold the
    receipt reaches, never lower than the current tier (a purchase never lowers a tier).
    ``reason``: ``unchanged``, ``first_purchase`` (no tier before: the entry tier),
    ``lifetime_purchases`` or ``single_receipt`` (the receipt alone would have reached
    the new tier).
    """
    compiled = as_compiled(program)
    current = compiled.tiers_by_code.get(current_code) if current_code is not None else None
    start = current if current is not None else compiled.tiers[0]
    by_lifetime = compiled.program.tier_rule.basis == "lifetime"
    best = start
    best_by_receipt = False
    for tier in compiled.tiers[start.rank + 1 :]:
        if tier.single_receipt is not None and receipt_amount >= tier.single_receipt:
            best, best_by_receipt = tier, True
        elif by_lifetime and tier.threshold is not None and lifetime_purchases > tier.threshold:
            best, best_by_receipt = tier, False
    if current is not None and best is current:
        return best.code, "unchanged"
    if best is start:
        return best.code, "first_purchase"
    return best.code, "single_receipt" if best_by_receipt else "lifetime_purchases"


def tier_after_purchase(
    program: Program | CompiledProgram,
    current_code: str | None,
    lifetime_purchases: int,
    receipt_amount: int = 0,
) -> str:
    """The tier code after a purchase brings lifetime purchases to ``lifetime_purchases``
    kopecks (and, for single-receipt thresholds, a receipt of ``receipt_amount``): see
    ``tier_change_after_purchase``. Tiers only go up on a purchase."""
    return tier_change_after_purchase(program, current_code, lifetime_purchases, receipt_amount)[0]


def tier_for_rolling_purchases(
    program: Program | CompiledProgram,
    current_code: str | None,
    period_sum: int,
    *,
    largest_receipt: int = 0,
) -> tuple[str | None, str]:
    """``(tier code, reason)`` from a scheduled recomputation of a ``rolling`` program.

    ``period_sum`` is the customer's purchases over ``rolling_window`` (kopecks); the
    result is the highest tier whose ``purchases_over`` is strictly below it, or whose
    ``single_receipt_at_least`` the ``largest_receipt`` of the same window reaches, else
    the entry tier — lower than the current one if so (``rolling_downgrade``).
    ``rolling_upgrade`` when higher (or the current code is unknown), ``unchanged``
    otherwise. A customer without a tier and without purchases in the window keeps
    none: ``(None, "unchanged")``.
    """
    compiled = as_compiled(program)
    if compiled.program.tier_rule.basis != "rolling":
        raise ValueError("tiers of this program are not recomputed over a rolling period")
    if current_code is None and period_sum <= 0 and largest_receipt <= 0:
        return None, "unchanged"
    best = compiled.tiers[0]
    for tier in compiled.tiers[1:]:
        if (tier.threshold is not None and period_sum > tier.threshold) or (
            tier.single_receipt is not None and largest_receipt >= tier.single_receipt
        ):
            best = tier
    current = compiled.tiers_by_code.get(current_code) if current_code is not None else None
    if current is None or best.rank > current.rank:
        return best.code, "rolling_upgrade"
    if best.rank < current.rank:
        return best.code, "rolling_downgrade"
    return best.code, "unchanged"


def _months_before(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def tier_recompute_due(program: Program | CompiledProgram, run_date: date) -> bool:
    """Whether the tier job recomputes a ``rolling`` program's tiers in the night that
    starts local ``run_date`` (daily; on Mondays; on the 1st of a month)."""
    rule = as_compiled(program).program.tier_rule
    if rule.basis != "rolling":
        return False
    if rule.recompute == "weekly_before_monday":
        return run_date.isoweekday() == 1
    if rule.recompute == "monthly_before_1st":
        return run_date.day == 1
    return True


def rolling_window(program: Program | CompiledProgram, run_date: date) -> tuple[date, date]:
    """``(first, last)`` local dates, both inclusive, whose purchases a recomputation
    taking effect on local ``run_date`` sums.

    The job runs in the night before ``run_date`` is used, after local midnight, so the
    window ends with the last complete day, ``run_date - 1``. ``period_months`` N: it
    starts on the same day N calendar months before ``run_date`` (the 1st for a
    "night before the 1st" schedule: six whole months); ``period_days`` N: N days.
    """
    rule = as_compiled(program).program.tier_rule
    if rule.basis != "rolling":
        raise ValueError("tiers of this program are not recomputed over a rolling period")
    last = run_date - timedelta(days=1)
    if rule.period_months is not None:
        return _months_before(run_date, rule.period_months), last
    assert rule.period_days is not None
    return run_date - timedelta(days=rule.period_days), last


def spend_window_days(program: Program | CompiledProgram) -> int | None:
    """How many local days ``CustomerSnapshot.period_purchases`` must cover, or ``None``
    when no rule of the program looks at it (the service then passes 0)."""
    return as_compiled(program).spend_window_days


def spend_window_start(
    program: Program | CompiledProgram, now: datetime, tz: tzinfo
) -> datetime | None:
    """The first instant (aware UTC) of the spend window at ``now``: local midnight of
    the first of the ``spend_window_days`` local days ending with today. The service
    sums the customer's purchases from it up to ``now`` (this receipt excluded)."""
    days = spend_window_days(program)
    if days is None:
        return None
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    today = now.astimezone(tz).date()
    return local_midnight(today - timedelta(days=days - 1), tz)


def last_recompute_date(program: Program | CompiledProgram, today: date) -> date | None:
    """The latest local date not after ``today`` on which a ``rolling`` program's
    schedule recomputes tiers (``today`` itself when due), or ``None`` for other bases.
    A job that did not run on that date catches it up with this date on its next run."""
    if as_compiled(program).program.tier_rule.basis != "rolling":
        return None
    day = today
    # Every schedule names a date at least once in 31 days.
    while not tier_recompute_due(program, day):
        day -= timedelta(days=1)
    return day


def tier_after_refund(
    program: Program | CompiledProgram,
    current_code: str | None,
    *,
    lifetime_purchases: int,
    largest_receipt: int,
    period_sum: int = 0,
) -> tuple[str | None, str]:
    """``(tier code, reason)`` after a refund: a tier stays only as far as what is left
    of the customer's purchases still earns it.

    The tier earned now is the highest of the entry tier; the tier the purchases reach
    (``lifetime_purchases`` after the refund on the ``lifetime`` basis; on the
    ``rolling`` basis ``period_sum``, the purchases of the last scheduled
    recomputation's window after refunds); the tier ``largest_receipt`` reaches by its
    single-receipt threshold (what is left of the customer's largest receipt after its
    refunds). The result is never above the current tier (a refund only takes back what
    a returned receipt gave) and a customer without a tier keeps none. ``reason``:
    ``refund_downgrade`` or ``unchanged``.
    """
    compiled = as_compiled(program)
    current = compiled.tiers_by_code.get(current_code) if current_code is not None else None
    if current is None:
        return current_code, "unchanged"
    by_sum = {"lifetime": lifetime_purchases, "rolling": period_sum}.get(
        compiled.program.tier_rule.basis
    )
    earned = compiled.tiers[0]
    for tier in compiled.tiers[1:]:
        if (tier.threshold is not None and by_sum is not None and by_sum > tier.threshold) or (
            tier.single_receipt is not None and largest_receipt >= tier.single_receipt
        ):
            earned = tier
    if earned.rank < current.rank:
        return earned.code, "refund_downgrade"
    return current.code, "unchanged"
