"""A program document turned into the integers the engine computes with.

Percentages in a program have at most four decimal places, so ``percent x 10 000`` is an
exact integer and every rate becomes integer arithmetic: ``amount * scaled // 1 000 000``
is exactly ``floor(amount * percent / 100)``. Compiling costs a few microseconds per tier;
the service keeps one compiled program per program version (a live version never changes)
and passes it to ``calculate`` / ``settle``, which also accept the plain document.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from schemas.money import to_kopecks
from schemas.program import CategoryRule, Program, Tier

PERCENT_SCALE = 10_000
"""Percent x this is an exact integer (``Percent`` has at most four decimal places)."""
PERCENT_DENOMINATOR = 100 * PERCENT_SCALE
"""``amount * scaled_percent // PERCENT_DENOMINATOR`` == floor(amount * percent / 100)."""


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


def compile_program(program: Program) -> CompiledProgram:
    """Precompute a program's rates as integers; cache the result per program version."""
    tiers = tuple(_compile_tier(tier, rank) for rank, tier in enumerate(program.tiers))
    step = to_kopecks(program.redeem_step)
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
    )


def as_compiled(program: Program | CompiledProgram) -> CompiledProgram:
    if isinstance(program, CompiledProgram):
        return program
    return compile_program(program)
