"""A program document turned into the integers the engine computes with.

Percentages in a program have at most four decimal places, so ``percent x 10 000`` is an
exact integer and every rate becomes integer arithmetic: ``amount * scaled // 1 000 000``
is exactly ``floor(amount * percent / 100)``. Rates that modifiers may change (a
multiplier has two decimal places) are carried one step finer: ``RATE_SCALE`` per percent,
so ``amount * rate // RATE_DENOMINATOR`` is exact too. Compiling costs a few microseconds
per tier;
the service keeps one compiled program per program version (a live version never changes)
and passes it to ``calculate`` / ``settle``, which also accept the plain document.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from decimal import Decimal
from typing import Literal

from schemas.money import to_kopecks
from schemas.program import (
    AmountRange,
    CategoryRule,
    Conditions,
    CouponRule,
    GoodsSelector,
    Modifier,
    Program,
    QuantityPromotion,
    Tier,
)

PERCENT_SCALE = 10_000
"""Percent x this is an exact integer (``Percent`` has at most four decimal places)."""
PERCENT_DENOMINATOR = 100 * PERCENT_SCALE
"""``amount * scaled_percent // PERCENT_DENOMINATOR`` == floor(amount * percent / 100)."""
MULTIPLIER_SCALE = 100
"""An accrual multiplier x this is an exact integer (two decimal places)."""
RATE_SCALE = PERCENT_SCALE * MULTIPLIER_SCALE
"""A line's effective rate: percent x this (exact after any multiplier)."""
RATE_DENOMINATOR = 100 * RATE_SCALE
"""``amount * rate // RATE_DENOMINATOR`` == floor(amount * percent / 100); also 100 %."""


def scale_percent(percent: Decimal) -> int:
    scaled = percent * PERCENT_SCALE
    if scaled != scaled.to_integral_value():
        raise ValueError(f"percentage with more than four decimal places: {percent}")
    return int(scaled)


@dataclass(frozen=True, slots=True)
class CompiledTier:
    tier: Tier
    rank: int
    accrual_percent: int | None
    """Scaled by ``PERCENT_SCALE``."""
    roubles_per_bonus: tuple[int, int] | None
    """``accrual_roubles_per_bonus`` as an exact fraction (numerator, denominator)."""
    discount_percent: int
    max_redeem_percent: int
    threshold: int | None
    """``purchases_over`` in kopecks."""
    single_receipt: int | None = None
    """``single_receipt_at_least`` in kopecks."""

    @property
    def code(self) -> str:
        return self.tier.code


@dataclass(frozen=True, slots=True)
class CompiledCategory:
    accrual: bool = True
    redemption: bool = True
    discount: bool = True
    accrual_percent: int | None = None
    max_redeem_percent: int | None = None


NO_CATEGORY = CompiledCategory()
"""Rules of a line without a category, or with one the program does not list."""


@dataclass(frozen=True, slots=True)
class CompiledGoods:
    categories: frozenset[str]
    skus: frozenset[str]

    def selects(self, category: str | None, sku: str | None) -> bool:
        return (category is not None and category in self.categories) or (
            sku is not None and sku in self.skus
        )


@dataclass(frozen=True, slots=True)
class CompiledConditions:
    """``Conditions`` with sums in kopecks (inclusive bounds) and times in seconds."""

    tiers: frozenset[str] | None = None
    weekdays: frozenset[int] | None = None
    hours: tuple[int, int] | None = None
    """Seconds since local midnight: start inclusive, end exclusive."""
    birthday: tuple[int, int] | None = None
    """Days before, days after."""
    days_since: tuple[int, int | None] | None = None
    """Whole local days since the previous purchase, inclusive bounds (the follow-up
    offer's 1 ... days is folded in here)."""
    period: tuple[int, int | None] | None = None
    receipt: tuple[int, int | None] | None = None

    @property
    def unconditional(self) -> bool:
        return self == ALWAYS


ALWAYS = CompiledConditions()


@dataclass(frozen=True, slots=True)
class CompiledEffect:
    """A modifier's effect on one rate: the candidate is ``(rate or base + extra) x
    multiplier / MULTIPLIER_SCALE``, everything in ``RATE_SCALE`` units."""

    rate: int | None = None
    extra: int = 0
    multiplier: int = MULTIPLIER_SCALE

    def candidate(self, base: int) -> int:
        value = base + self.extra if self.rate is None else self.rate
        if self.multiplier != MULTIPLIER_SCALE:
            # Base and rates are multiples of MULTIPLIER_SCALE, so this is exact.
            value = value * self.multiplier // MULTIPLIER_SCALE
        return value


@dataclass(frozen=True, slots=True)
class CompiledModifier:
    index: int
    code: str
    name: str
    when: CompiledConditions
    goods: CompiledGoods | None
    accrual: CompiledEffect | None
    discount: CompiledEffect | None
    redemption: CompiledEffect | None


@dataclass(frozen=True, slots=True)
class CompiledPromotion:
    index: int
    code: str
    name: str
    when: CompiledConditions
    goods: CompiledGoods | None
    by_sku: bool
    group_size: int
    discounted_units: int
    discount_percent: int
    """Scaled by ``PERCENT_SCALE``."""
    combine_with_discount: bool


@dataclass(frozen=True, slots=True)
class CompiledCoupon:
    """A coupon rule: exactly one of the effects is set."""

    code: str
    name: str
    goods: CompiledGoods | None
    discount_percent: int | None = None
    """Scaled by ``PERCENT_SCALE``."""
    discount_amount: int | None = None
    """Kopecks."""
    accrual_multiplier: int | None = None
    """x ``MULTIPLIER_SCALE``."""
    gift_bonuses: int | None = None
    """Kopecks."""

    def selects(self, category: str | None, sku: str | None) -> bool:
        return self.goods is None or self.goods.selects(category, sku)


@dataclass(frozen=True, slots=True)
class CompiledProgram:
    program: Program
    tiers: tuple[CompiledTier, ...]
    tiers_by_code: Mapping[str, CompiledTier]
    categories: Mapping[str, CompiledCategory]
    accrues_bonuses: bool
    gives_discount: bool
    accrue_on_money_paid: bool
    no_accrual_when_redeeming: bool
    accrual_rounding: Literal["floor_kopeck", "floor_bonus", "half_up_kopeck"]
    redeem_step: int
    """Kopecks."""
    activation_delay_days: int
    lifetime_days: int | None
    modifiers: tuple[CompiledModifier, ...] = ()
    promotions: tuple[CompiledPromotion, ...] = ()
    stacking: Literal["best", "sum", "priority"] = "best"
    redeemable: CompiledGoods | None = None
    """Only these lines may be paid by bonuses; all when ``None``."""
    per_bonus: bool = False
    """Some tier accrues "1 bonus per N roubles"."""
    accrual_modifiers: tuple[CompiledModifier, ...] = ()
    discount_modifiers: tuple[CompiledModifier, ...] = ()
    redemption_modifiers: tuple[CompiledModifier, ...] = ()
    """The modifiers with an effect on each rate, in list order."""
    uses_birthday: bool = False
    """A rule looks at the customer's birthday (the service decrypts it only then)."""
    spend_window_days: int | None = None
    """Local days of ``period_purchases`` when a rule looks at them, else None."""
    uses_categories: bool = True
    """A rule (a coupon's included) looks at a line's category: a till that sends none
    has its lines looked up in the merchant's catalogue only then."""
    coupons: Mapping[str, CompiledCoupon] | None = None
    """Coupon rules by code (``None``: the program has none)."""

    def category(self, code: str | None) -> CompiledCategory:
        if code is None:
            return NO_CATEGORY
        return self.categories.get(code, NO_CATEGORY)


def _compile_tier(tier: Tier, rank: int) -> CompiledTier:
    per_bonus = tier.accrual_roubles_per_bonus
    return CompiledTier(
        tier=tier,
        rank=rank,
        accrual_percent=(
            None if tier.accrual_percent is None else scale_percent(tier.accrual_percent)
        ),
        roubles_per_bonus=None if per_bonus is None else per_bonus.as_integer_ratio(),
        discount_percent=scale_percent(tier.discount_percent),
        max_redeem_percent=scale_percent(tier.max_redeem_percent),
        threshold=None if tier.purchases_over is None else to_kopecks(tier.purchases_over),
        single_receipt=(
            None
            if tier.single_receipt_at_least is None
            else to_kopecks(tier.single_receipt_at_least)
        ),
    )


def _compile_category(rule: CategoryRule) -> CompiledCategory:
    return CompiledCategory(
        accrual=rule.accrual,
        redemption=rule.redemption,
        discount=rule.discount,
        accrual_percent=(
            None if rule.accrual_percent is None else scale_percent(rule.accrual_percent)
        ),
        max_redeem_percent=(
            None if rule.max_redeem_percent is None else scale_percent(rule.max_redeem_percent)
        ),
    )


def _goods(selector: GoodsSelector | None) -> CompiledGoods | None:
    if selector is None:
        return None
    return CompiledGoods(frozenset(selector.categories), frozenset(selector.skus))


def _range(amounts: AmountRange | None) -> tuple[int, int | None] | None:
    if amounts is None:
        return None
    low = 0
    if amounts.at_least is not None:
        low = to_kopecks(amounts.at_least)
    elif amounts.over is not None:
        low = to_kopecks(amounts.over) + 1
    high = None
    if amounts.at_most is not None:
        high = to_kopecks(amounts.at_most)
    elif amounts.below is not None:
        high = to_kopecks(amounts.below) - 1
    return low, high


def _seconds(moment: time) -> int:
    return moment.hour * 3600 + moment.minute * 60 + moment.second


def _conditions(when: Conditions, follow_up_days: int | None) -> CompiledConditions:
    days_since: tuple[int, int | None] | None = None
    if when.days_since_last_purchase is not None:
        days_since = (when.days_since_last_purchase.at_least, when.days_since_last_purchase.at_most)
    if when.follow_up_offer and follow_up_days is not None:
        # Active from the local day after the purchase through the days-th day after it.
        low, high = days_since if days_since is not None else (0, None)
        high = follow_up_days if high is None else min(high, follow_up_days)
        days_since = (max(low, 1), high)
    return CompiledConditions(
        tiers=None if when.tiers is None else frozenset(when.tiers),
        weekdays=None if when.weekdays is None else frozenset(when.weekdays),
        hours=(
            None if when.hours is None else (_seconds(when.hours.start), _seconds(when.hours.end))
        ),
        birthday=(
            None if when.birthday is None else (when.birthday.days_before, when.birthday.days_after)
        ),
        days_since=days_since,
        period=_range(when.period_purchases),
        receipt=_range(when.receipt_amount),
    )


def _effect(
    rate: Decimal | None, extra: Decimal | None, multiplier: Decimal | None
) -> CompiledEffect | None:
    if rate is None and extra is None and multiplier is None:
        return None
    return CompiledEffect(
        rate=None if rate is None else scale_percent(rate) * MULTIPLIER_SCALE,
        extra=0 if extra is None else scale_percent(extra) * MULTIPLIER_SCALE,
        multiplier=(MULTIPLIER_SCALE if multiplier is None else int(multiplier * MULTIPLIER_SCALE)),
    )


def _compile_modifier(
    index: int, modifier: Modifier, follow_up_days: int | None
) -> CompiledModifier:
    return CompiledModifier(
        index=index,
        code=modifier.code,
        name=modifier.name,
        when=_conditions(modifier.when, follow_up_days),
        goods=_goods(modifier.goods),
        accrual=_effect(
            modifier.accrual_percent, modifier.extra_accrual_percent, modifier.accrual_multiplier
        ),
        discount=_effect(modifier.discount_percent, modifier.extra_discount_percent, None),
        redemption=_effect(modifier.max_redeem_percent, modifier.extra_max_redeem_percent, None),
    )


def _compile_promotion(
    index: int, promotion: QuantityPromotion, follow_up_days: int | None
) -> CompiledPromotion:
    return CompiledPromotion(
        index=index,
        code=promotion.code,
        name=promotion.name,
        when=_conditions(promotion.when, follow_up_days),
        goods=_goods(promotion.goods),
        by_sku=promotion.group_by == "sku",
        group_size=promotion.group_size,
        discounted_units=promotion.discounted_units,
        discount_percent=scale_percent(promotion.discount_percent),
        combine_with_discount=promotion.combine_with_discount,
    )


def _compile_coupon(rule: CouponRule) -> CompiledCoupon:
    return CompiledCoupon(
        code=rule.code,
        name=rule.name,
        goods=_goods(rule.goods),
        discount_percent=(
            None if rule.discount_percent is None else scale_percent(rule.discount_percent)
        ),
        discount_amount=(
            None if rule.discount_amount is None else to_kopecks(rule.discount_amount)
        ),
        accrual_multiplier=(
            None
            if rule.accrual_multiplier is None
            else int(rule.accrual_multiplier * MULTIPLIER_SCALE)
        ),
        gift_bonuses=None if rule.gift_bonuses is None else to_kopecks(rule.gift_bonuses),
    )


def compile_program(program: Program) -> CompiledProgram:
    """Precompute a program's rates as integers; cache the result per program version."""
    tiers = tuple(_compile_tier(tier, rank) for rank, tier in enumerate(program.tiers))
    step = to_kopecks(program.redeem_step)
    follow_up = program.follow_up_offer.days if program.follow_up_offer is not None else None
    modifiers = tuple(
        _compile_modifier(index, modifier, follow_up)
        for index, modifier in enumerate(program.modifiers)
    )
    promotions = tuple(
        _compile_promotion(len(modifiers) + index, promotion, follow_up)
        for index, promotion in enumerate(program.quantity_promotions)
    )
    return CompiledProgram(
        program=program,
        tiers=tiers,
        tiers_by_code={tier.code: tier for tier in tiers},
        categories={code: _compile_category(rule) for code, rule in program.categories.items()},
        accrues_bonuses=program.accrues_bonuses,
        gives_discount=program.gives_discount,
        accrue_on_money_paid=program.accrual_base == "money_paid",
        no_accrual_when_redeeming=program.no_accrual_when_redeeming,
        accrual_rounding=program.accrual_rounding,
        redeem_step=max(step, 1),
        activation_delay_days=program.activation_delay_days,
        lifetime_days=program.lifetime_days,
        modifiers=modifiers,
        promotions=promotions,
        stacking=program.stacking,
        redeemable=_goods(program.redeemable_goods),
        per_bonus=any(tier.roubles_per_bonus is not None for tier in tiers),
        accrual_modifiers=tuple(m for m in modifiers if m.accrual is not None),
        discount_modifiers=tuple(m for m in modifiers if m.discount is not None),
        redemption_modifiers=tuple(m for m in modifiers if m.redemption is not None),
        uses_birthday=any(m.when.birthday is not None for m in modifiers)
        or any(p.when.birthday is not None for p in promotions),
        spend_window_days=_spend_window_days(program),
        uses_categories=bool(program.categories)
        or any(
            goods is not None and bool(goods.categories)
            for goods in (
                _goods(program.redeemable_goods),
                *(m.goods for m in modifiers),
                *(p.goods for p in promotions),
                *(_goods(rule.goods) for rule in program.coupons),
            )
        ),
        coupons={rule.code: _compile_coupon(rule) for rule in program.coupons} or None,
    )


def _spend_window_days(program: Program) -> int | None:
    if program.spend_window_days is None:
        return None
    if any(m.when.period_purchases is not None for m in program.modifiers) or any(
        p.when.period_purchases is not None for p in program.quantity_promotions
    ):
        return program.spend_window_days
    return None


def as_compiled(program: Program | CompiledProgram) -> CompiledProgram:
    if isinstance(program, CompiledProgram):
        return program
    return compile_program(program)
