"""Tier choice for pricing and tier movement after a purchase."""

from __future__ import annotations

from datetime import date

import pytest

from cloud.engine import (
    CustomerSnapshot,
    compile_program,
    effective_tier,
    rolling_window,
    tier_after_purchase,
    tier_change_after_purchase,
    tier_for_rolling_purchases,
    tier_recompute_due,
)
from schemas.program import Program
from tests.engine.programs import center_zolota, fixture, single_receipt_tiers, vintage


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


def test_single_receipt_tiers() -> None:
    """Золотая for one receipt of at least 10 000 ₽, VIP at 30 000 ₽: 9 999,99 keeps
    Стандартная, 10 000,00 reaches Золотая, 30 000,00 VIP; a small receipt never lowers
    a tier, and lifetime purchases alone do not count with this basis."""
    program = single_receipt_tiers()
    assert tier_after_purchase(program, "std", 999_999, 999_999) == "std"
    assert tier_change_after_purchase(program, "std", 1_000_000, 1_000_000) == (
        "gold",
        "single_receipt",
    )
    assert tier_after_purchase(program, "std", 3_000_000, 3_000_000) == "vip"
    assert tier_after_purchase(program, "vip", 100, 100) == "vip"
    assert tier_after_purchase(program, "std", 10**9, 100) == "std"


def test_single_receipt_threshold_beside_lifetime() -> None:
    """With the lifetime basis a tier may also be reached by one receipt: Бриллиантовая
    over 50 000 ₽ lifetime or for one receipt of 20 000 ₽."""
    document = center_zolota().model_dump(mode="json")
    document["tiers"][1]["single_receipt_at_least"] = "20000"
    program = Program.model_validate(document)
    assert tier_change_after_purchase(program, "gold", 2_000_000, 2_000_000) == (
        "diamond",
        "single_receipt",
    )
    assert tier_change_after_purchase(program, "gold", 5_000_001, 100) == (
        "diamond",
        "lifetime_purchases",
    )
    assert tier_change_after_purchase(program, "gold", 100, 100) == ("gold", "unchanged")
    assert tier_change_after_purchase(program, None, 100, 100) == ("gold", "first_purchase")


def test_rolling_tiers_recomputed_before_the_1st() -> None:
    """Винтаж: the night before 1 April sums 1 October – 31 March (six whole months);
    the job runs only on the 1st; the tier follows the period sum both ways (exactly
    30 000 ₽ is not over the Серебряная threshold) and a purchase does not move it."""
    program = fixture("05_vintage")
    assert rolling_window(program, date(2024, 4, 1)) == (date(2023, 10, 1), date(2024, 3, 31))
    assert rolling_window(program, date(2024, 3, 1)) == (date(2023, 9, 1), date(2024, 2, 29))
    assert tier_recompute_due(program, date(2024, 4, 1))
    assert not tier_recompute_due(program, date(2024, 3, 31))
    assert tier_for_rolling_purchases(program, "gold", 3_000_000) == (
        "standard",
        "rolling_downgrade",
    )
    assert tier_for_rolling_purchases(program, "standard", 5_000_001) == (
        "gold",
        "rolling_upgrade",
    )
    assert tier_for_rolling_purchases(program, "vip", 10_000_001) == ("vip", "unchanged")
    assert tier_for_rolling_purchases(program, None, 0) == (None, "unchanged")
    assert tier_for_rolling_purchases(program, None, 100) == ("standard", "rolling_upgrade")
    assert tier_after_purchase(program, "standard", 10**9, 10**7) == "standard"


def test_rolling_window_in_days_and_schedules() -> None:
    """A 90-day window recomputed daily ends yesterday and starts 90 days back; a weekly
    schedule runs on Mondays; programs without a rolling basis refuse."""
    document = vintage().model_dump(mode="json")
    document["tier_rule"] = {"basis": "rolling", "period_days": 90, "recompute": "daily"}
    daily = Program.model_validate(document)
    assert rolling_window(daily, date(2024, 3, 11)) == (date(2023, 12, 12), date(2024, 3, 10))
    assert tier_recompute_due(daily, date(2024, 3, 12))
    document["tier_rule"]["recompute"] = "weekly_before_monday"
    weekly = Program.model_validate(document)
    assert tier_recompute_due(weekly, date(2024, 3, 11))
    assert not tier_recompute_due(weekly, date(2024, 3, 12))
    assert not tier_recompute_due(vintage(), date(2024, 4, 1))
    with pytest.raises(ValueError):
        rolling_window(vintage(), date(2024, 4, 1))
    with pytest.raises(ValueError):
        tier_for_rolling_purchases(vintage(), "t0", 0)
