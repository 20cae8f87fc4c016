"""The example programs of fixtures/programs and the schema's validation rules."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from cloud.engine import compile_program
from schemas.program import Program
from tests.engine.programs import FIXTURES, fixture

FILES = sorted(FIXTURES.glob("*.json"))


def test_fifteen_programs_are_listed() -> None:
    """All fifteen programs of programs.md are there, named NN_<slug>.json, and the
    README lists every file."""
    names = [path.name for path in FILES]
    assert [name[:2] for name in names] == [f"{n:02d}" for n in range(1, 16)]
    assert all(re.fullmatch(r"\d\d_[a-z0-9_]+\.json", name) for name in names)
    readme = (FIXTURES / "README.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in readme for name in names)


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
def test_fixture_program_parses_and_compiles(path: Any) -> None:
    """Each fixture validates against the schema, compiles, carries a Russian
    description, and survives a JSON round trip unchanged."""
    program = Program.model_validate_json(path.read_text(encoding="utf-8"))
    compiled = compile_program(program)
    assert compiled.tiers[0].code == program.tiers[0].code
    assert program.description and re.search("[а-яё]", program.description)
    again = Program.model_validate_json(program.model_dump_json())
    assert again == program


def test_breezevape_keeps_its_meaning() -> None:
    """The demo program is still Стандартная 5 % / Серебряная 7 % over 5 000 ₽ /
    Золотая 10 % over 10 000 ₽, 100 % payable, at once, 90 days, warning 7 days."""
    program = fixture("03_breezevape")
    assert [(t.code, t.accrual_percent, t.purchases_over) for t in program.tiers] == [
        ("standard", Decimal(5), None),
        ("silver", Decimal(7), Decimal(5000)),
        ("gold", Decimal(10), Decimal(10000)),
    ]
    assert all(t.max_redeem_percent == 100 for t in program.tiers)
    assert (program.kind, program.tier_assignment, program.accrual_base) == (
        "bonus",
        "first_purchase",
        "money_paid",
    )
    assert (program.activation_delay_days, program.lifetime_days) == (0, 90)
    assert program.expiry_warning_days == 7
    assert not program.modifiers and not program.quantity_promotions
    assert program.tier_rule.basis == "lifetime"


def test_fixtures_state_the_rules_of_programs_md() -> None:
    """Spot checks of what each program needs beyond tiers: rolling tiers (#5), category
    shares (#6, #8), wash-only and gifts-only redemption (#9, #10), three referral levels
    by tier (#11), the welcome gift (#13), bonuses that never expire (#15)."""
    vintage = fixture("05_vintage")
    assert vintage.tier_rule.period_months == 6
    assert vintage.tier_rule.recompute == "monthly_before_1st"
    assert vintage.gifts.birthday is not None and vintage.gifts.birthday.days_before == 14
    assert fixture("06_lotos").categories["services"].max_redeem_percent == 50
    assert fixture("08_avtohelp").categories["parts"].max_redeem_percent == 10
    vip = fixture("09_vip_service")
    assert vip.no_accrual_when_redeeming
    assert vip.redeemable_goods is not None and vip.redeemable_goods.categories == ["wash"]
    referral = fixture("11_kaloud_club").gifts.referral
    assert referral is not None
    assert [r.accrual_percent for r in referral.levels_by_tier["gold"]] == [3, 2, 1]
    welcome = fixture("13_besheniye_tachki").gifts.welcome
    assert welcome is not None
    assert (welcome.amount, welcome.valid_days, welcome.activation_delay_days) == (100, 14, 1)
    assert fixture("15_idoktor").lifetime_days is None


BASE: dict[str, Any] = {
    "name": "Проверка",
    "tiers": [{"code": "std", "name": "Стандартная", "accrual_percent": "5"}],
}


def document(**fields: Any) -> dict[str, Any]:
    return json.loads(json.dumps({**BASE, **fields}))


@pytest.mark.parametrize(
    "fields",
    [
        # A modifier that changes nothing, or sets and adds to the same rate.
        {"modifiers": [{"code": "a", "name": "A"}]},
        {"modifiers": [{"code": "a", "name": "A", "accrual_percent": 1,
                        "extra_accrual_percent": 1}]},
        # A discount modifier in a bonus-only program.
        {"modifiers": [{"code": "a", "name": "A", "discount_percent": "5"}]},
        # Period conditions need the window, follow-up conditions the offer.
        {"modifiers": [{"code": "a", "name": "A", "accrual_percent": "9",
                        "when": {"period_purchases": {"over": "100"}}}]},
        {"modifiers": [{"code": "a", "name": "A", "accrual_percent": "9",
                        "when": {"follow_up_offer": True}}]},
        {"follow_up_offer": {"days": 30}},
        # Unknown tiers, repeated codes, bad ranges.
        {"modifiers": [{"code": "a", "name": "A", "accrual_percent": "9",
                        "when": {"tiers": ["gold"]}}]},
        {"modifiers": [{"code": "a", "name": "A", "accrual_percent": "9"},
                       {"code": "a", "name": "B", "accrual_percent": "8"}]},
        {"modifiers": [{"code": "a", "name": "A", "accrual_percent": "9",
                        "when": {"receipt_amount": {"at_least": "500", "over": "400"}}}]},
        {"modifiers": [{"code": "a", "name": "A", "accrual_percent": "9",
                        "when": {"weekdays": [1, 1]}}]},
        # Quantity promotions must leave some units at full price.
        {"quantity_promotions": [{"code": "q", "name": "Q", "group_size": 2,
                                  "discounted_units": 2}]},
        # Rolling tiers need a period and a schedule; other bases take neither.
        {"tier_rule": {"basis": "rolling", "recompute": "daily"}},
        {"tier_rule": {"basis": "rolling", "period_months": 6}},
        {"tier_rule": {"basis": "lifetime", "period_months": 6}},
        # Referral rates for an unknown tier; a rate that is both kinds.
        {"gifts": {"referral": {"levels_by_tier": {"gold": [{"accrual_percent": "1"}]}}}},
        {"gifts": {"referral": {"levels": [{"accrual_percent": "1",
                                            "accrual_roubles_per_bonus": "50"}]}}},
        {"redeemable_goods": {}},
        # Referral rewards are bonuses: a discount-only program cannot pay them.
        {"kind": "discount", "tiers": [{"code": "std", "name": "С", "discount_percent": "5"}],
         "gifts": {"referral": {"levels": [{"accrual_percent": "1"}]}}},
    ],
)  # fmt: skip
def test_schema_refuses_inconsistent_rules(fields: dict[str, Any]) -> None:
    """Rules the engine could not follow unambiguously are refused at validation."""
    with pytest.raises(ValidationError):
        Program.model_validate(document(**fields))


def test_schema_tier_thresholds_by_basis() -> None:
    """Single-receipt tiers need receipt thresholds and no lifetime ones; per-bonus tiers
    accept only accrual multipliers as modifiers."""
    tiers = [
        {"code": "std", "name": "С", "accrual_percent": "5"},
        {"code": "gold", "name": "З", "accrual_percent": "7", "single_receipt_at_least": "10000"},
    ]
    Program.model_validate(document(tier_rule={"basis": "single_receipt"}, tiers=tiers))
    with pytest.raises(ValidationError):
        Program.model_validate(document(tiers=tiers))
    tiers[1]["purchases_over"] = "5000"
    with pytest.raises(ValidationError):
        Program.model_validate(document(tier_rule={"basis": "single_receipt"}, tiers=tiers))
    per_bonus = [{"code": "std", "name": "С", "accrual_roubles_per_bonus": "30"}]
    with pytest.raises(ValidationError):
        Program.model_validate(
            document(
                tiers=per_bonus,
                modifiers=[{"code": "a", "name": "A", "extra_accrual_percent": "1"}],
            )
        )
    Program.model_validate(
        document(tiers=per_bonus, modifiers=[{"code": "a", "name": "A", "accrual_multiplier": "2"}])
    )
