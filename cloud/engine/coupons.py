"""Coupon rules: what a valid code unlocks (semantics in ``schemas.program``).

The engine never decides whether a code is valid: the service passes the codes of the
rules it unlocked, and these functions only price them.
"""

from __future__ import annotations

from collections.abc import Sequence

from cloud.engine.compiled import (
    MULTIPLIER_SCALE,
    PERCENT_DENOMINATOR,
    CompiledCategory,
    CompiledCoupon,
    CompiledProgram,
)
from cloud.engine.distribution import distribute
from cloud.engine.types import EngineError, Line


def unlocked(compiled: CompiledProgram, codes: Sequence[str]) -> list[CompiledCoupon]:
    """The program's coupon rules for ``codes`` (in that order, each once)."""
    if not codes:
        return []
    rules = compiled.coupons or {}
    found: list[CompiledCoupon] = []
    for code in dict.fromkeys(codes):
        rule = rules.get(code)
        if rule is None:
            raise EngineError("coupon_rule_unknown", f"В программе нет купонного правила {code}")
        found.append(rule)
    return found


def add_discounts(
    rules: Sequence[CompiledCoupon],
    lines: Sequence[Line],
    categories: Sequence[CompiledCategory],
    amounts: Sequence[int],
    floors: Sequence[int],
    discounts: list[int],
    applied: list[str],
) -> list[bool]:
    """Add the coupons' discounts to ``discounts`` (in place), rule by rule on what the
    previous ones left; returns per line whether a coupon discounted it."""
    count = len(lines)
    touched = [False] * count
    for rule in rules:
        if rule.discount_percent is None and rule.discount_amount is None:
            continue
        bases = [0] * count
        room = [0] * count
        for i, line in enumerate(lines):
            if not categories[i].discount or not rule.selects(line.category, line.sku):
                continue
            bases[i] = amounts[i] - discounts[i]
            room[i] = max(bases[i] - floors[i], 0)
        if rule.discount_percent is not None:
            total = sum(bases) * rule.discount_percent // PERCENT_DENOMINATOR
        else:
            assert rule.discount_amount is not None
            total = rule.discount_amount
        total = min(total, sum(room))
        if total <= 0:
            continue
        for i, share in enumerate(distribute(total, bases, room)):
            if share:
                discounts[i] += share
                touched[i] = True
        applied.append(rule.name)
    return touched


def accrual_factors(
    rules: Sequence[CompiledCoupon], lines: Sequence[Line]
) -> tuple[list[int], int] | None:
    """Per line the product of the multipliers of the rules selecting it, as an integer
    over the returned scale (``MULTIPLIER_SCALE`` per multiplier rule); ``None`` when no
    rule multiplies."""
    multipliers = [rule for rule in rules if rule.accrual_multiplier is not None]
    if not multipliers:
        return None
    factors = [1] * len(lines)
    scale = 1
    for rule in multipliers:
        assert rule.accrual_multiplier is not None
        scale *= MULTIPLIER_SCALE
        for i, line in enumerate(lines):
            factors[i] *= (
                rule.accrual_multiplier
                if rule.selects(line.category, line.sku)
                else MULTIPLIER_SCALE
            )
    return factors, scale


def gift_total(rules: Sequence[CompiledCoupon]) -> int:
    return sum(rule.gift_bonuses or 0 for rule in rules)


def spread_gift(gift: int, accruals: list[int], after: Sequence[int]) -> list[int]:
    """``accruals`` with ``gift`` added over the lines in proportion to what they earn,
    else to their amounts, else equally."""
    weights = accruals if any(accruals) else list(after)
    shares = distribute(gift, weights, [gift] * len(accruals))
    return [accrual + share for accrual, share in zip(accruals, shares, strict=True)]
