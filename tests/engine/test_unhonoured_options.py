"""Program options that nothing would act on are refused by validation with a Russian
message (issue 9: "every option the engine or a job does not honour is refused"), and
the options added for issue 9 validate."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import ValidationError

from schemas.program import Program
from tests.engine.test_fixture_programs import document

DISCOUNT_TIER = [{"code": "d5", "name": "Скидка 5 %", "discount_percent": "5"}]

REFUSED: list[tuple[str, dict[str, Any]]] = [
    # A bonus program gives no discount.
    ("tiers[].discount_percent with kind = bonus",
     {"tiers": [{"code": "s", "name": "С", "accrual_percent": "5", "discount_percent": "3"}]}),
    # A discount program moves no bonuses: its accrual, payment and lifetime settings
    # and its bonus gifts would do nothing.
    ("tiers[].accrual_percent with kind = discount",
     {"kind": "discount",
      "tiers": [{"code": "d", "name": "Д", "discount_percent": "5", "accrual_percent": "1"}]}),
    ("tiers[].accrual_roubles_per_bonus with kind = discount",
     {"kind": "discount", "tiers": [{"code": "d", "name": "Д", "discount_percent": "5",
                                     "accrual_roubles_per_bonus": "100"}]}),
    ("tiers[].max_redeem_percent with kind = discount",
     {"kind": "discount",
      "tiers": [{"code": "d", "name": "Д", "discount_percent": "5", "max_redeem_percent": "50"}]}),
    ("categories.*.accrual_percent with kind = discount",
     {"kind": "discount", "tiers": DISCOUNT_TIER, "categories": {"a": {"accrual_percent": "1"}}}),
    ("categories.*.max_redeem_percent with kind = discount",
     {"kind": "discount", "tiers": DISCOUNT_TIER,
      "categories": {"a": {"max_redeem_percent": "10"}}}),
    *[(f"{name} with kind = discount", {"kind": "discount", "tiers": DISCOUNT_TIER, name: value})
      for name, value in (
          ("accrual_base", "whole_receipt"), ("no_accrual_when_redeeming", True),
          ("accrual_rounding", "floor_bonus"), ("activation_delay_days", 1),
          ("lifetime_days", 90), ("expiry_warning_days", 7), ("redeem_step", "1"),
          ("redeemable_goods", {"categories": ["gifts"]}), ("redeem_requires_sms_code", True),
          ("activation_sms", True),
      )],
    # Nothing is delayed, so nothing ever becomes spendable later.
    ("activation_sms without a delay", {"activation_sms": True}),
    ("gifts.welcome with kind = discount",
     {"kind": "discount", "tiers": DISCOUNT_TIER, "gifts": {"welcome": {"amount": "100"}}}),
    ("gifts.birthday with kind = discount",
     {"kind": "discount", "tiers": DISCOUNT_TIER, "gifts": {"birthday": {"amount": "100"}}}),
    ("gifts.reanimation with kind = discount",
     {"kind": "discount", "tiers": DISCOUNT_TIER, "gifts": {"reanimation": [
         {"code": "r", "name": "Р", "days_without_purchase": 30, "amount": "100"}]}}),
]  # fmt: skip


@pytest.mark.parametrize(("option", "fields"), REFUSED, ids=[o for o, _ in REFUSED])
def test_unhonoured_options_are_refused_in_russian(option: str, fields: dict[str, Any]) -> None:
    """Each option in ``REFUSED`` would be accepted and then ignored by the engine and
    the jobs; validation refuses it with a message in Russian."""
    with pytest.raises(ValidationError) as refused:
        Program.model_validate(document(**fields))
    assert re.search("[а-яё]", str(refused.value.errors()[0]["msg"]), re.IGNORECASE), option


def test_the_same_options_where_they_are_honoured_validate() -> None:
    """The refusals depend on the kind: a bonus-and-discount program takes a discount
    and bonus settings, a discount program a plain discount tier; the issue-9 options
    (children's birthdays, tier change and activation notices) validate."""
    Program.model_validate(document(
        kind="bonus_and_discount", lifetime_days=90, expiry_warning_days=7,
        tiers=[{"code": "s", "name": "С", "accrual_percent": "5", "discount_percent": "3"}],
        gifts={"birthday": {"amount": "100", "children": True}}, tier_change_sms=True,
        activation_delay_days=1, activation_sms=True,
    ))  # fmt: skip
    Program.model_validate(document(kind="discount", tiers=DISCOUNT_TIER))
