"""A merchant's loyalty program as a versioned document.

The document is stored as JSON with a version number; a receipt records the version that
priced it and a live version never changes. Amounts in the document are roubles
(Decimal, two places) and percentages are Decimal; the engine converts them to kopecks.

Semantics the engine follows (documented here because merchants' settings map to them):

* ``kind`` — ``bonus``: tiers accrue bonuses and customers may spend them;
  ``discount``: tiers give a percentage discount, no bonuses move;
  ``bonus_and_discount``: both.
* Tiers are listed from the lowest to the highest. A tier with ``purchases_over`` is
  reached when the customer's lifetime purchases are *strictly greater* than it; the
  first tier has none and is the entry tier, given at registration or at the first
  purchase (``tier_assignment``). Tiers only go up on a purchase.
* Accrual is either ``accrual_percent`` of the base, or one bonus per
  ``accrual_roubles_per_bonus`` roubles of the whole receipt's base (whole bonuses).
  The base of a line is what was paid for it in money (``accrual_base = money_paid``) or
  its whole amount after discount (``whole_receipt``, "accrue on the part paid by
  bonuses too"). With ``no_accrual_when_redeeming`` nothing accrues on a receipt that
  spends bonuses. The receipt's accrual is rounded once with ``accrual_rounding`` and
  spread over lines by largest remainder, so line accruals sum to the receipt's. In a
  "1 bonus per N roubles" tier, lines of a category with its own ``accrual_percent``
  accrue by that percentage and the rest in whole bonuses; the two are added. An
  anonymous receipt (no customer) accrues nothing.
* Categories override per line: no accrual, no redemption, no discount, their own
  accrual percentage or maximum share payable by bonuses. A line's ``minimum_price``
  floor is never crossed by a discount or by a bonus payment.
* Redemption: a requested bonus payment must be a multiple of ``redeem_step``; a line
  may be paid by bonuses up to its category's share, else the tier's
  ``max_redeem_percent``, of its amount after discount. The receipt total is capped by
  the customer's available balance and rounded down to ``redeem_step``.
* Bonus lifecycle: an accrual becomes spendable ``activation_delay_days`` local days
  after the purchase (0 = at once; 1 = at the next local midnight) and lapses at the
  local midnight ``lifetime_days`` days after activation day (``None`` = never).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.money import Money

Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=7, decimal_places=4)]
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]

PROGRAM_SCHEMA_VERSION: Final = 1


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tier(_Document):
    """A card status with its rates."""

    code: Code
    name: str = Field(min_length=1, max_length=100)
    accrual_percent: Percent | None = None
    accrual_roubles_per_bonus: (
        Annotated[Decimal, Field(gt=0, le=100000, max_digits=8, decimal_places=2)] | None
    ) = None
    discount_percent: Percent = Decimal(0)
    max_redeem_percent: Percent = Decimal(100)
    purchases_over: Money | None = None

    @model_validator(mode="after")
    def _one_accrual_rate(self) -> Tier:
        if self.accrual_percent is not None and self.accrual_roubles_per_bonus is not None:
            raise ValueError(
                "укажите либо процент начисления, либо «1 бонус за N рублей», но не оба"
            )
        return self


class CategoryRule(_Document):
    """Overrides for the lines of one product category."""

    accrual: bool = True
    redemption: bool = True
    discount: bool = True
    accrual_percent: Percent | None = None
    max_redeem_percent: Percent | None = None


class Program(_Document):
    """A loyalty program document (one version)."""

    schema_version: Literal[1] = PROGRAM_SCHEMA_VERSION
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["bonus", "discount", "bonus_and_discount"] = "bonus"
    tiers: list[Tier] = Field(min_length=1, max_length=20)
    tier_assignment: Literal["registration", "first_purchase"] = "first_purchase"
    categories: dict[Code, CategoryRule] = Field(default_factory=dict)
    accrual_base: Literal["money_paid", "whole_receipt"] = "money_paid"
    no_accrual_when_redeeming: bool = False
    accrual_rounding: Literal["floor_kopeck", "floor_bonus", "half_up_kopeck"] = "floor_kopeck"
    activation_delay_days: Annotated[int, Field(ge=0, le=365)] = 0
    lifetime_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    expiry_warning_days: Annotated[int, Field(ge=0, le=365)] | None = None
    redeem_step: Annotated[Money, Field(gt=0, le=10000)] = Decimal("0.01")

    @model_validator(mode="after")
    def _consistent(self) -> Program:
        codes = [tier.code for tier in self.tiers]
        if len(set(codes)) != len(codes):
            raise ValueError("коды уровней должны быть уникальными")
        if self.tiers[0].purchases_over is not None:
            raise ValueError("у первого (начального) уровня не должно быть порога покупок")
        previous = Decimal(-1)
        for tier in self.tiers[1:]:
            if tier.purchases_over is None:
                raise ValueError(f"у уровня «{tier.name}» должен быть порог покупок")
            if tier.purchases_over <= previous:
                raise ValueError("пороги уровней должны возрастать")
            previous = tier.purchases_over
        if self.kind != "discount":
            for tier in self.tiers:
                if tier.accrual_percent is None and tier.accrual_roubles_per_bonus is None:
                    raise ValueError(f"у уровня «{tier.name}» не задана ставка начисления")
        return self

    @property
    def accrues_bonuses(self) -> bool:
        return self.kind != "discount"

    @property
    def gives_discount(self) -> bool:
        return self.kind != "bonus"

    def tier(self, code: str | None) -> Tier | None:
        for tier in self.tiers:
            if tier.code == code:
                return tier
        return None
