"""Which tier prices a receipt, and which tier a purchase leads to."""

from __future__ import annotations

from cloud.engine.compiled import CompiledProgram, CompiledTier, as_compiled
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


def tier_after_purchase(
    program: Program | CompiledProgram, current_code: str | None, lifetime_purchases: int
) -> str:
    """The tier code after a purchase brings lifetime purchases to ``lifetime_purchases``
    kopecks: the highest tier whose threshold is strictly below them, never lower than the
    current tier (tiers only go up on a purchase)."""
    compiled = as_compiled(program)
    current = compiled.tiers_by_code.get(current_code) if current_code is not None else None
    best = current if current is not None else compiled.tiers[0]
    for tier in compiled.tiers[best.rank + 1 :]:
        if tier.threshold is not None and lifetime_purchases > tier.threshold:
            best = tier
    return best.code
