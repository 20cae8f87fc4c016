"""Modifiers and quantity promotions: which apply, and the rates they give a line.

The semantics are documented in ``schemas.program``; this module is their integer form.
Conditions are evaluated once per receipt (``Facts``), then per line only the goods
selector is checked. Rates are in ``RATE_SCALE`` units (percent x 10**6).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from math import lcm
from typing import Literal

from cloud.engine.compiled import (
    PERCENT_DENOMINATOR,
    RATE_DENOMINATOR,
    CompiledCategory,
    CompiledConditions,
    CompiledEffect,
    CompiledModifier,
    CompiledProgram,
    CompiledPromotion,
    CompiledTier,
)
from cloud.engine.types import CustomerSnapshot, Line

Stacking = Literal["best", "sum", "priority"]
Effect = Literal["accrual", "discount", "redemption"]


@dataclass(frozen=True, slots=True)
class Facts:
    """What the conditions of a receipt are evaluated against (local time)."""

    tier_code: str
    local_date: date
    weekday: int
    seconds: int
    birthday: date | None
    days_since_last_purchase: int | None
    period_purchases: int | None


def facts(
    tier: CompiledTier, customer: CustomerSnapshot | None, now: datetime, tz: tzinfo
) -> Facts:
    local = now.astimezone(tz)
    today = local.date()
    days_since = None
    birthday = None
    period = None
    if customer is not None:
        birthday = customer.birthday
        period = customer.period_purchases
        if customer.last_purchase_at is not None:
            previous = customer.last_purchase_at.astimezone(tz).date()
            days_since = max((today - previous).days, 0)
    return Facts(
        tier_code=tier.code,
        local_date=today,
        weekday=today.isoweekday(),
        seconds=local.hour * 3600 + local.minute * 60 + local.second,
        birthday=birthday,
        days_since_last_purchase=days_since,
        period_purchases=period,
    )


def birthday_occurrence(birthday: date, year: int) -> date:
    """The birthday in ``year``; 29 February is 28 February in other years."""
    try:
        return birthday.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def in_birthday_window(birthday: date, day: date, days_before: int, days_after: int) -> bool:
    """Whether ``day`` lies from ``days_before`` days before to ``days_after`` days after
    a birthday (the nearest occurrences, across New Year)."""
    offset = day.toordinal() - birthday_occurrence(birthday, day.year).toordinal()
    if -days_before <= offset <= days_after:
        return True
    if offset > days_after:
        # Late in the year: the window of next year's birthday may have begun.
        offset = day.toordinal() - birthday_occurrence(birthday, day.year + 1).toordinal()
    else:
        # Early in the year: last year's window may not have ended.
        offset = day.toordinal() - birthday_occurrence(birthday, day.year - 1).toordinal()
    return -days_before <= offset <= days_after


def _within(value: int, bounds: tuple[int, int | None]) -> bool:
    low, high = bounds
    return value >= low and (high is None or value <= high)


def holds(when: CompiledConditions, fact: Facts) -> bool:
    """Every condition but the receipt sum (checked per pass, see ``receipt_holds``)."""
    if when.tiers is not None and fact.tier_code not in when.tiers:
        return False
    if when.weekdays is not None and fact.weekday not in when.weekdays:
        return False
    if when.hours is not None:
        start, end = when.hours
        if start < end:
            if not start <= fact.seconds < end:
                return False
        elif end <= fact.seconds < start:
            return False
    if when.birthday is not None:
        if fact.birthday is None or not in_birthday_window(
            fact.birthday, fact.local_date, *when.birthday
        ):
            return False
    if when.days_since is not None:
        days = fact.days_since_last_purchase
        if days is None or not _within(days, when.days_since):
            return False
    if when.period is not None:
        if fact.period_purchases is None or not _within(fact.period_purchases, when.period):
            return False
    return True


def receipt_holds(when: CompiledConditions, receipt_amount: int) -> bool:
    return when.receipt is None or _within(receipt_amount, when.receipt)


def resolve(
    base: int,
    effects: Sequence[tuple[CompiledEffect, int]],
    stacking: Stacking,
    applied: set[int],
    limit: int | None = RATE_DENOMINATOR,
) -> int:
    """Combine a base rate with the candidates of the modifiers that apply to a line.

    ``effects`` are (effect, modifier index) in list order; the indices of modifiers that
    changed the result go to ``applied``. The result is kept within 0 ... ``limit``.
    """
    if stacking == "priority":
        effect, index = effects[0]
        rate = effect.candidate(base)
        if rate != base:
            applied.add(index)
    elif stacking == "best":
        rate = base
        winner = -1
        for effect, index in effects:
            candidate = effect.candidate(base)
            if candidate > rate:
                rate = candidate
                winner = index
        if winner >= 0:
            applied.add(winner)
    else:
        rate = base
        for effect, index in effects:
            gain = effect.candidate(base) - base
            if gain:
                rate += gain
                applied.add(index)
    if rate < 0:
        return 0
    if limit is not None and rate > limit:
        return limit
    return rate


class RateTable:
    """One rate (accrual, discount or redemption) of the lines of a receipt under the
    modifiers that matched it.

    At every call site a line's base rate is a function of its category (the category's
    own value, else the tier's), and the modifiers' goods selectors look only at the
    category and the SKU, so a rate is resolved once per category (and SKU, when some
    selector names SKUs) and remembered.
    """

    __slots__ = ("_applied", "_by_sku", "_effects", "_limit", "_memo", "_stacking")

    def __init__(
        self,
        modifiers: Sequence[CompiledModifier],
        effect: Effect,
        stacking: Stacking,
        applied: set[int],
        limit: int | None = RATE_DENOMINATOR,
    ) -> None:
        self._effects = [
            (value, modifier.index, modifier.goods)
            for modifier in modifiers
            if (value := getattr(modifier, effect)) is not None
        ]
        self._by_sku = any(goods is not None and goods.skus for _, _, goods in self._effects)
        self._stacking = stacking
        self._applied = applied
        self._limit = limit
        self._memo: dict[object, int] = {}

    def rate(self, base: int, line: Line) -> int:
        """The rate of ``line`` whose base rate is ``base``."""
        key = (line.category, line.sku) if self._by_sku else line.category
        rate = self._memo.get(key)
        if rate is None:
            effects = [
                (value, index)
                for value, index, goods in self._effects
                if goods is None or goods.selects(line.category, line.sku)
            ]
            rate = (
                resolve(base, effects, self._stacking, self._applied, self._limit)
                if effects
                else base
            )
            self._memo[key] = rate
        return rate


def _discounted_before(position: int, group: int, discounted: int) -> int:
    """How many of the unit positions ``0 .. position - 1`` are discounted: the last
    ``discounted`` positions of every run of ``group``."""
    whole, rest = divmod(position, group)
    return whole * discounted + max(0, rest - (group - discounted))


def quantity_discounts(
    compiled: CompiledProgram,
    fact: Facts,
    lines: Sequence[Line],
    amounts: Sequence[int],
    floors: Sequence[int],
    categories: Sequence[CompiledCategory],
    receipt_amount: int,
    applied: set[int],
) -> tuple[list[int], list[bool]]:
    """Per line: the quantity promotions' discount, and whether the line may still take
    the percentage discount (``combine_with_discount``)."""
    count = len(lines)
    discounts = [0] * count
    combinable = [True] * count
    taken = [False] * count
    for promotion in compiled.promotions:
        if not holds(promotion.when, fact) or not receipt_holds(promotion.when, receipt_amount):
            continue
        goods = promotion.goods
        by_sku = promotion.by_sku
        groups: dict[object, list[tuple[int, int]]] = {}
        for i, line in enumerate(lines):
            if taken[i] or not categories[i].discount:
                continue
            if goods is not None and not goods.selects(line.category, line.sku):
                continue
            quantity = line.quantity
            units = int(quantity)
            if units <= 0 or units != quantity:
                continue  # sold by weight: no whole units
            taken[i] = True
            key: object = None
            if by_sku:
                key = line.sku if line.sku is not None else i
            group = groups.get(key)
            if group is None:
                groups[key] = [(i, units)]
            else:
                group.append((i, units))
        for members in groups.values():
            _discount_group(promotion, members, amounts, floors, discounts, combinable, applied)
    return discounts, combinable


def _discount_group(
    promotion: CompiledPromotion,
    members: list[tuple[int, int]],
    amounts: Sequence[int],
    floors: Sequence[int],
    discounts: list[int],
    combinable: list[bool],
    applied: set[int],
) -> None:
    size = promotion.group_size
    units = sum(quantity for _, quantity in members)
    complete = units // size * size
    if not complete:
        return
    if len(members) > 1:
        # Dearest first; equal unit values keep receipt order (later units are "cheaper").
        # amount / quantity compared exactly: scaled to a common multiple of quantities.
        common = lcm(*(quantity for _, quantity in members))
        members.sort(key=lambda member: (-amounts[member[0]] * (common // member[1]), member[0]))
    discounted = promotion.discounted_units
    start = 0
    for i, quantity in members:
        end = start + quantity
        units_off = _discounted_before(min(end, complete), size, discounted) - _discounted_before(
            min(start, complete), size, discounted
        )
        start = end
        if not units_off:
            continue
        off = (
            amounts[i] * units_off * promotion.discount_percent // (quantity * PERCENT_DENOMINATOR)
        )
        off = min(off, amounts[i] - floors[i])
        if off > 0:
            discounts[i] = off
            applied.add(promotion.index)
            if not promotion.combine_with_discount:
                combinable[i] = False
