"""Tier choice for pricing and tier movement after a purchase."""

from __future__ import annotations

from cloud.engine import CustomerSnapshot, compile_program, effective_tier, tier_after_purchase
from tests.engine.programs import center_zolota, vintage


def test_effective_tier_is_customers_or_entry() -> None:
    """The customer's tier prices the receipt; no customer, no tier yet, or a tier the
    program no longer has fall back to the entry tier (the first one)."""
    program = center_zolota()
    diamond = CustomerSnapshot(1, "diamond", 6_000_000, 0)
    assert effective_tier(program, diamond).code == "diamond"
    assert effective_tier(program, None).code == "gold"
    assert effective_tier(program, CustomerSnapshot(2, None, 0, 0)).code == "gold"
    assert effective_tier(program, CustomerSnapshot(3, "gone", 0, 0)).code == "gold"
    assert effective_tier(compile_program(program), diamond).code == "diamond"


def test_tier_threshold_is_strictly_greater() -> None:
    """Бриллиантовая needs lifetime purchases strictly over 50 000 ₽: exactly 50 000,00
    keeps Золотая, 50 000,01 reaches it."""
    program = center_zolota()
    assert tier_after_purchase(program, "gold", 5_000_000) == "gold"
    assert tier_after_purchase(program, "gold", 5_000_001) == "diamond"
    assert tier_after_purchase(program, None, 10) == "gold"


def test_tier_never_goes_down_and_can_jump() -> None:
    """A purchase never lowers the tier, and may skip several tiers at once."""
    program = vintage()
    assert tier_after_purchase(program, "t3", 100) == "t3"
    assert tier_after_purchase(program, "t0", 9_000_000) == "t3"
    assert tier_after_purchase(program, "t0", 10_000_001) == "t4"
