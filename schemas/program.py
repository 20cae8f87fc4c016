"""A merchant's loyalty program as a versioned document.

The document is stored as JSON with a version number; a receipt records the version that
priced it and a live version never changes. Amounts in the document are roubles
(Decimal, two places) and percentages are Decimal; the engine converts them to kopecks.
Every field added after the first release has a default that keeps older documents'
meaning, so ``schema_version`` is still 1.

Semantics the engine follows (documented here because merchants' settings map to them):

* ``kind`` — ``bonus``: tiers accrue bonuses and customers may spend them;
  ``discount``: tiers give a percentage discount, no bonuses move;
  ``bonus_and_discount``: both. Quantity promotions give money off in every kind.
* Tiers are listed from the lowest to the highest; the first is the entry tier, given at
  registration or at the first purchase (``tier_assignment``). How the others are
  reached is ``tier_rule.basis``:

  - ``lifetime`` (default): a tier with ``purchases_over`` is reached when the customer's
    lifetime purchases are *strictly greater* than it; tiers only go up, on a purchase.
  - ``rolling``: ``purchases_over`` is compared with the purchases of a rolling period
    (``period_months`` calendar months or ``period_days`` days) on a schedule
    (``recompute``); the recomputation may lower the tier (never below the entry tier).
    A purchase itself does not move a rolling tier (only a single-receipt threshold).
  - ``single_receipt``: a tier is reached by one receipt of at least
    ``single_receipt_at_least`` (no ``purchases_over``).

  With the lifetime and rolling bases a tier may also carry ``single_receipt_at_least``:
  one receipt of that sum reaches it at once. Single-receipt upgrades happen when the
  receipt is confirmed (the receipt itself is priced with the tier the customer had);
  the receipt's sum is its amount after the program's discount.
* Accrual is either ``accrual_percent`` of the base, or one bonus per
  ``accrual_roubles_per_bonus`` roubles of the whole receipt's base (whole bonuses).
  The base of a line is what was paid for it in money (``accrual_base = money_paid``) or
  its whole amount after discount (``whole_receipt``, "accrue on the part paid by
  bonuses too"). With ``no_accrual_when_redeeming`` nothing accrues on a receipt that
  spends bonuses. The receipt's accrual is rounded once with ``accrual_rounding`` and
  spread over lines by largest remainder: each line keeps its own exact accrual floored
  and the kopecks left go to the largest fractions, so line accruals sum to the
  receipt's and a line refund reverses what that line earned. In a
  "1 bonus per N roubles" tier, lines of a category with its own ``accrual_percent``
  accrue by that percentage and the rest in whole bonuses; the two are added. An
  anonymous receipt (no customer) accrues nothing.
* Categories override per line: no accrual, no redemption, no discount, their own
  accrual percentage or maximum share payable by bonuses. A line's ``minimum_price``
  floor is never crossed by a discount or by a bonus payment.
* Redemption: a requested bonus payment must be a multiple of ``redeem_step``; a line
  may be paid by bonuses up to its share (see rates below) of its amount after
  discount. With ``redeemable_goods`` only the lines it selects may be paid by bonuses at
  all (gifts-only programs). The receipt total is capped by the customer's available
  balance and rounded down to ``redeem_step``.

Rates of a line and how modifiers combine
-----------------------------------------

Each line has three rates: accrual, discount and the maximum share payable by bonuses.
The *base* rate is the line's category's own value when it has one, else the tier's.
A category that forbids accrual, discount or redemption keeps it forbidden whatever a
modifier says. ``modifiers`` then adjust the base rates: a modifier applies to a
receipt when every condition of its ``when`` holds, and to the lines its ``goods``
selects (all lines when absent). Conditions are evaluated in the store's local time
zone; the customer facts are as they were before this receipt:

* ``tiers`` — the tier pricing the receipt is one of these;
* ``weekdays`` (ISO: 1 = Monday … 7 = Sunday) and ``hours`` (``start`` inclusive,
  ``end`` exclusive, local time; an ``end`` not after ``start`` crosses midnight) — the
  purchase's local day and time;
* ``birthday`` — the local purchase date lies from ``days_before`` days before to
  ``days_after`` days after the customer's birthday (29 February counts as 28 February
  in other years); false when the birthday is unknown;
* ``days_since_last_purchase`` — whole local days between the previous purchase and
  this one (0 = the same local day); false for a first purchase;
* ``period_purchases`` — what the customer spent over the program's
  ``spend_window_days`` (the local days ending with the purchase, the receipt itself
  excluded);
* ``receipt_amount`` — the receipt's sum. For the discount it is the sum before the
  program's discounts (anything else would be circular); for accrual and the share
  payable by bonuses it is the sum after them, which is what a closed receipt shows, so
  a confirmed receipt lands in the same bracket as its quote;
* ``follow_up_offer`` — the customer's personal follow-up offer is active
  (``follow_up_offer`` of the program: from the local day after a purchase through the
  ``days``-th local day after it, i.e. ``days_since_last_purchase`` 1 … ``days``).

An anonymous receipt satisfies no condition on customer facts. A modifier's effect on a
rate is a *candidate* computed from the base: ``*_percent`` replaces it,
``extra_*_percent`` adds to it, ``accrual_multiplier`` multiplies the result (2 =
double bonuses; in a "1 bonus per N roubles" tier it divides N, and a program with such
a tier may change accrual only by multipliers). Program ``stacking``
says how the candidates of the modifiers that apply to a line combine, separately for
each of the three rates:

* ``best`` (default) — the highest of the base and all candidates (a modifier can only
  improve a rate; lowering one needs ``priority``);
* ``sum`` — the base plus every candidate's difference from the base (gains add up, so
  +5 % and +3 % give +8 %, x2 and x1.5 give x2.5);
* ``priority`` — the candidate of the first modifier in list order that applies to
  the line and has an effect on that rate; the others are ignored for it.

A combined rate is kept within 0 … 100 % (a "1 bonus per N roubles" factor is not
capped). Mutually exclusive conditions (e.g. receipt-sum brackets as three modifiers
with disjoint ``receipt_amount`` ranges) never stack, whatever the mode. The discount
of a receipt is ``floor`` of the exact sum of line amount x line rate, spread over the
lines in proportion to that product; accrual likewise, rounded once.

Quantity promotions (``quantity_promotions``)
---------------------------------------------

"3 for the price of 2" is ``group_size`` 3, ``discounted_units`` 1,
``discount_percent`` 100; "every second item -50 %" is 2, 1, 50. Only whole units
take part (a line with a fractional quantity, e.g. by weight, does not, nor does a line
of a category with ``discount: false``). The units of
the selected lines are pooled — per SKU (``group_by = sku``; a line without a SKU is its
own group) or all together (``pool``) — and ordered from the dearest to the cheapest
(a line's unit value is its amount / quantity; ties keep receipt order); each complete
run of ``group_size`` units has its last ``discounted_units`` units (the cheapest)
discounted; an incomplete run gets nothing. Each line gets the discount of its own
discounted units, floored to the kopeck and never below the line's floor. A line takes
part in the first promotion (list order) that selects it and whose ``when`` holds. The
percentage discount (tier and modifiers) then applies to what is left, unless
``combine_with_discount`` is false, in which case lines that got a quantity discount
get no other discount. Quantity promotions are the program's discount, so a closed
receipt (already charged) is not discounted again.

Coupons (``coupons``)
---------------------

A coupon rule is unlocked by a code the merchant issued (a coupon campaign names the
rule); the service checks the code (validity dates, limits, revocation) and passes the
unlocked rules to the engine, which applies them after the program's own discounts, in
the order the codes were presented:

* ``discount_percent`` — that percentage of what is left of the selected lines (the
  program's discounts already taken), ``floor`` of the exact sum, spread over the lines
  in proportion to their amounts; ``discount_amount`` — that sum off the selected lines,
  spread likewise. Never below a line's floor, never on a category with
  ``discount: false``; what does not fit is not given. A coupon discount is money off
  in every ``kind`` (like a quantity promotion), and a closed receipt (already charged)
  is not discounted again.
* ``accrual_multiplier`` — the accrual of the selected lines is multiplied (after the
  modifiers; two such coupons multiply); ``gift_bonuses`` — that many bonuses more on
  the receipt, spread over the lines in proportion to what they earn otherwise (else to
  their amounts), so a returned line takes its share back. Both need a customer and a
  program that accrues bonuses, and are not suppressed by ``no_accrual_when_redeeming``
  for the gift.

Bonus lifecycle and gifts
-------------------------

An accrual becomes spendable ``activation_delay_days`` local days after the purchase
(0 = at once; 1 = at the next local midnight) and lapses at the local midnight
``lifetime_days`` days after activation day (``None`` = never). A gift lot (``gifts``)
follows the same rule with its own ``activation_delay_days`` (default 0) and
``valid_days`` (``None`` = like purchase bonuses: the program's ``lifetime_days``).
Gifts are granted by jobs outside the engine; the document only states them. A birthday
gift with ``children: true`` is also granted to the parent ``days_before`` days before
each child's birthday, once per child and year, besides the parent's own.

With ``tier_change_sms`` a daily job tells each customer whose tier went up since its
last run their new tier (customers who consented to messages only); falls are silent.
With ``activation_sms`` a daily job tells each customer whose delayed bonuses became
spendable that day the amount and, if they lapse, the last day to spend them.
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.money import Money

Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=7, decimal_places=4)]
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
Sku = Annotated[str, Field(min_length=1, max_length=128)]
Days = Annotated[int, Field(ge=0, le=3650)]
PositiveMoney = Annotated[Money, Field(gt=0, le=10_000_000)]
RoublesPerBonus = Annotated[Decimal, Field(gt=0, le=100000, max_digits=8, decimal_places=2)]
Multiplier = Annotated[Decimal, Field(gt=0, le=100, max_digits=5, decimal_places=2)]
Weekday = Annotated[int, Field(ge=1, le=7)]

PROGRAM_SCHEMA_VERSION: Final = 1


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tier(_Document):
    """A card status with its rates and the thresholds that reach it."""

    code: Code
    name: str = Field(min_length=1, max_length=100)
    accrual_percent: Percent | None = None
    accrual_roubles_per_bonus: RoublesPerBonus | None = None
    discount_percent: Percent = Decimal(0)
    max_redeem_percent: Percent = Decimal(100)
    purchases_over: Money | None = None
    """Lifetime (or rolling-period) purchases strictly above this reach the tier."""
    single_receipt_at_least: Money | None = None
    """One receipt of at least this sum reaches the tier (applied at confirm)."""

    @model_validator(mode="after")
    def _one_accrual_rate(self) -> Tier:
        if self.accrual_percent is not None and self.accrual_roubles_per_bonus is not None:
            raise ValueError(
                "укажите либо процент начисления, либо «1 бонус за N рублей», но не оба"
            )
        return self


class TierRule(_Document):
    """What tier thresholds are compared with (see the module docstring)."""

    basis: Literal["lifetime", "rolling", "single_receipt"] = "lifetime"
    period_months: Annotated[int, Field(ge=1, le=60)] | None = None
    """Rolling basis: the last N whole calendar months before the recomputation."""
    period_days: Annotated[int, Field(ge=1, le=1830)] | None = None
    """Rolling basis: the last N local days before the recomputation."""
    recompute: Literal["daily", "weekly_before_monday", "monthly_before_1st"] | None = None
    """Rolling basis: when the job recomputes tiers — in the night that starts every day,
    every Monday, or the 1st of every month (local time); the new tier holds from then."""

    @model_validator(mode="after")
    def _consistent(self) -> TierRule:
        period = (self.period_months is not None) + (self.period_days is not None)
        if self.basis == "rolling":
            if period != 1:
                raise ValueError("для скользящего периода укажите period_months или period_days")
            if self.recompute is None:
                raise ValueError("для скользящего периода укажите расписание пересчёта")
        elif period or self.recompute is not None:
            raise ValueError("период и расписание пересчёта — только для basis = rolling")
        return self


class CategoryRule(_Document):
    """Overrides for the lines of one product category."""

    accrual: bool = True
    redemption: bool = True
    discount: bool = True
    accrual_percent: Percent | None = None
    max_redeem_percent: Percent | None = None


class GoodsSelector(_Document):
    """Lines of any of these categories or with any of these SKUs."""

    categories: list[Code] = Field(default_factory=list, max_length=200)
    skus: list[Sku] = Field(default_factory=list, max_length=5000)

    @model_validator(mode="after")
    def _not_empty(self) -> GoodsSelector:
        if not self.categories and not self.skus:
            raise ValueError("укажите категории или артикулы товаров")
        return self


class AmountRange(_Document):
    """A range of sums in roubles: one lower bound (``at_least`` or ``over``) and/or one
    upper bound (``at_most`` or ``below``); at least one bound."""

    at_least: Money | None = None
    over: Money | None = None
    at_most: Money | None = None
    below: Money | None = None

    @model_validator(mode="after")
    def _bounds(self) -> AmountRange:
        if self.at_least is not None and self.over is not None:
            raise ValueError("укажите одну нижнюю границу: at_least или over")
        if self.at_most is not None and self.below is not None:
            raise ValueError("укажите одну верхнюю границу: at_most или below")
        lower = self.at_least if self.at_least is not None else self.over
        upper = self.at_most if self.at_most is not None else self.below
        if lower is None and upper is None:
            raise ValueError("укажите хотя бы одну границу суммы")
        if lower is not None and upper is not None and upper < lower:
            raise ValueError("верхняя граница суммы меньше нижней")
        return self


class DaysRange(_Document):
    """Whole days, both bounds inclusive."""

    at_least: Days = 0
    at_most: Days | None = None

    @model_validator(mode="after")
    def _bounds(self) -> DaysRange:
        if self.at_most is not None and self.at_most < self.at_least:
            raise ValueError("верхняя граница дней меньше нижней")
        return self


class CountRange(_Document):
    """A number of purchases, both bounds inclusive."""

    at_least: Annotated[int, Field(ge=0)] = 0
    at_most: Annotated[int, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _bounds(self) -> CountRange:
        if self.at_most is not None and self.at_most < self.at_least:
            raise ValueError("верхняя граница меньше нижней")
        return self


class HoursWindow(_Document):
    """Local time of day: ``start`` inclusive, ``end`` exclusive; an ``end`` not after
    ``start`` means the window crosses midnight (22:00–02:00)."""

    start: time
    end: time

    @model_validator(mode="after")
    def _naive(self) -> HoursWindow:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("время указывается без часового пояса (местное время магазина)")
        if self.start == self.end:
            raise ValueError("пустой интервал времени")
        return self


class BirthdayWindow(_Document):
    """From ``days_before`` days before to ``days_after`` days after the birthday."""

    days_before: Annotated[int, Field(ge=0, le=60)] = 0
    days_after: Annotated[int, Field(ge=0, le=60)] = 0


class Conditions(_Document):
    """When a modifier or promotion applies: every condition given must hold."""

    tiers: list[Code] | None = Field(default=None, min_length=1)
    weekdays: list[Weekday] | None = Field(default=None, min_length=1, max_length=7)
    hours: HoursWindow | None = None
    birthday: BirthdayWindow | None = None
    days_since_last_purchase: DaysRange | None = None
    period_purchases: AmountRange | None = None
    receipt_amount: AmountRange | None = None
    follow_up_offer: bool = False

    @model_validator(mode="after")
    def _unique_weekdays(self) -> Conditions:
        if self.weekdays is not None and len(set(self.weekdays)) != len(self.weekdays):
            raise ValueError("дни недели повторяются")
        return self


class Modifier(_Document):
    """A rule that changes the accrual, discount or bonus-payable share of lines.

    ``when`` limits it to receipts, ``goods`` to lines (all lines when absent); the
    effects produce candidate rates combined by the program's ``stacking``.
    """

    code: Code
    name: str = Field(min_length=1, max_length=100)
    """Shown to the cashier when the modifier applies (``Quote.applied_rules``)."""
    when: Conditions = Field(default_factory=Conditions)
    goods: GoodsSelector | None = None
    accrual_percent: Percent | None = None
    extra_accrual_percent: Percent | None = None
    accrual_multiplier: Multiplier | None = None
    discount_percent: Percent | None = None
    extra_discount_percent: Percent | None = None
    max_redeem_percent: Percent | None = None
    extra_max_redeem_percent: Percent | None = None

    @model_validator(mode="after")
    def _effects(self) -> Modifier:
        pairs = (
            (self.accrual_percent, self.extra_accrual_percent),
            (self.discount_percent, self.extra_discount_percent),
            (self.max_redeem_percent, self.extra_max_redeem_percent),
        )
        for rate, extra in pairs:
            if rate is not None and extra is not None:
                raise ValueError(f"правило «{self.name}»: укажите либо новую ставку, либо надбавку")
        if not (self.affects_accrual or self.affects_discount or self.affects_redemption):
            raise ValueError(f"правило «{self.name}» ничего не меняет")
        return self

    @property
    def affects_accrual(self) -> bool:
        return (
            self.accrual_percent is not None
            or self.extra_accrual_percent is not None
            or self.accrual_multiplier is not None
        )

    @property
    def affects_discount(self) -> bool:
        return self.discount_percent is not None or self.extra_discount_percent is not None

    @property
    def affects_redemption(self) -> bool:
        return self.max_redeem_percent is not None or self.extra_max_redeem_percent is not None


class QuantityPromotion(_Document):
    """N units for the price of fewer, or a discount on every Nth unit (see the module
    docstring for which units are discounted)."""

    code: Code
    name: str = Field(min_length=1, max_length=100)
    goods: GoodsSelector | None = None
    """The lines that take part (all lines when absent)."""
    group_by: Literal["sku", "pool"] = "sku"
    group_size: Annotated[int, Field(ge=2, le=100)]
    discounted_units: Annotated[int, Field(ge=1, le=99)] = 1
    discount_percent: Annotated[Percent, Field(gt=0)] = Decimal(100)
    combine_with_discount: bool = True
    when: Conditions = Field(default_factory=Conditions)

    @model_validator(mode="after")
    def _sizes(self) -> QuantityPromotion:
        if self.discounted_units >= self.group_size:
            raise ValueError(f"акция «{self.name}»: скидка должна быть не на все единицы")
        return self


class CouponRule(_Document):
    """What a coupon code unlocks (``coupons``): exactly one effect, on the lines
    ``goods`` selects (the whole receipt when absent). The merchant's coupon campaigns
    name a rule by ``code``; the engine applies a rule only when the service passes it in
    (a valid code was presented)."""

    code: Code
    name: str = Field(min_length=1, max_length=100)
    """Shown to the cashier when the coupon applies (``Quote.applied_rules``)."""
    goods: GoodsSelector | None = None
    discount_percent: Annotated[Percent, Field(gt=0)] | None = None
    discount_amount: PositiveMoney | None = None
    accrual_multiplier: Multiplier | None = None
    gift_bonuses: PositiveMoney | None = None

    @model_validator(mode="after")
    def _one_effect(self) -> CouponRule:
        effects = (
            self.discount_percent,
            self.discount_amount,
            self.accrual_multiplier,
            self.gift_bonuses,
        )
        if sum(effect is not None for effect in effects) != 1:
            raise ValueError(
                f"купон «{self.name}»: укажите ровно одно действие (discount_percent, "
                "discount_amount, accrual_multiplier или gift_bonuses)"
            )
        if self.gift_bonuses is not None and self.goods is not None:
            raise ValueError(f"купон «{self.name}»: подарочные бонусы даются на весь чек")
        return self

    @property
    def affects_accrual(self) -> bool:
        return self.accrual_multiplier is not None or self.gift_bonuses is not None


class FollowUpOffer(_Document):
    """A personal offer after every purchase: active from the next local day through
    the ``days``-th local day after it. Its effects are the modifiers whose ``when`` has
    ``follow_up_offer: true``."""

    days: Annotated[int, Field(ge=1, le=365)]
    reminder_days_before: Annotated[int, Field(ge=0, le=364)] | None = None
    """A reminder goes out this many days before the offer's last day (jobs)."""

    @model_validator(mode="after")
    def _reminder(self) -> FollowUpOffer:
        if self.reminder_days_before is not None and self.reminder_days_before >= self.days:
            raise ValueError("напоминание должно приходить, пока предложение действует")
        return self


class _Gift(_Document):
    activation_delay_days: Annotated[int, Field(ge=0, le=365)] = 0
    valid_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    """``None``: lapses like purchase bonuses (the program's ``lifetime_days``)."""
    sms: bool = True
    """Tell the customer by SMS."""


class WelcomeGift(_Gift):
    """Bonuses for joining (ATOL's "starting bonus amount")."""

    amount: PositiveMoney
    on_self_registration: bool = True
    """Also for customers who register themselves (website, QR)."""


class BirthdayGift(_Gift):
    """Bonuses granted ``days_before`` local days before the birthday."""

    amount: PositiveMoney
    days_before: Annotated[int, Field(ge=0, le=60)] = 0
    children: bool = False
    """Also on each child's birthday (children recorded at registration): the parent
    gets the same gift once per child and year."""


class ReviewGift(_Gift):
    """Bonuses for rating a purchase through the link sent by SMS after it."""

    amount: PositiveMoney
    request_after_hours: Annotated[int, Field(ge=0, le=720)] = 2


class ReferralRate(_Document):
    """One referral level: a percentage of the referee's purchase (the program's accrual
    base) or one bonus per N roubles of it."""

    accrual_percent: Percent | None = None
    accrual_roubles_per_bonus: RoublesPerBonus | None = None

    @model_validator(mode="after")
    def _one_rate(self) -> ReferralRate:
        if (self.accrual_percent is None) == (self.accrual_roubles_per_bonus is None):
            raise ValueError("укажите либо процент, либо «1 бонус за N рублей»")
        return self


ReferralLevels = Annotated[list[ReferralRate], Field(min_length=1, max_length=3)]


class ReferralRule(_Document):
    """Rewards from a referee's purchases: level 1 is the customer who invited the buyer,
    level 2 the one who invited them, level 3 the next. ``levels_by_tier`` overrides
    ``levels`` for the tier of ``tier_of`` (the buyer's or the recipient's); a tier with
    neither earns nothing. Lots follow the program's activation and lifetime."""

    levels: list[ReferralRate] = Field(default_factory=list, max_length=3)
    levels_by_tier: dict[Code, ReferralLevels] = Field(default_factory=dict)
    tier_of: Literal["buyer", "recipient"] = "buyer"
    sms: bool = False
    """Tell every recipient by SMS."""
    referee_bonus: PositiveMoney | None = None
    """A starting bonus for the newcomer who named a referrer."""

    @model_validator(mode="after")
    def _some_rate(self) -> ReferralRule:
        if not self.levels and not self.levels_by_tier:
            raise ValueError("не заданы ставки реферальной программы")
        return self


class ReanimationRule(_Gift):
    """Gift bonuses for a customer who stopped buying (a daily job)."""

    code: Code
    name: str = Field(min_length=1, max_length=100)
    days_without_purchase: Annotated[int, Field(ge=1, le=3650)]
    purchase_count: CountRange | None = None
    tiers: list[Code] | None = Field(default=None, min_length=1)
    revenue: AmountRange | None = None
    """Lifetime purchases of the customer."""
    average_receipt: AmountRange | None = None
    amount: PositiveMoney


class Gifts(_Document):
    """Bonuses that do not come from a purchase's accrual (granted by jobs)."""

    welcome: WelcomeGift | None = None
    birthday: BirthdayGift | None = None
    review: ReviewGift | None = None
    referral: ReferralRule | None = None
    reanimation: list[ReanimationRule] = Field(default_factory=list, max_length=20)


_BONUS_SETTINGS: Final = (
    "accrual_base", "no_accrual_when_redeeming", "accrual_rounding", "activation_delay_days",
    "lifetime_days", "expiry_warning_days", "redeem_step", "redeemable_goods",
    "redeem_requires_sms_code", "activation_sms",
)  # fmt: skip
"""Program settings about bonuses, refused in a discount-only program."""


class Program(_Document):
    """A loyalty program document (one version)."""

    schema_version: Literal[1] = PROGRAM_SCHEMA_VERSION
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    """The program in the merchant's words (Russian), for the cabinet and fixtures."""
    kind: Literal["bonus", "discount", "bonus_and_discount"] = "bonus"
    card: Literal["phone", "physical_card"] = "phone"
    """How customers are identified: by phone, or by a physical card bound to a phone.
    ``physical_card``: a registration at the till must bind the plastic card handed out
    (``physical_card_required``); a self-registered customer gets the virtual card and a
    plastic one later at the till; quotes and look-ups tell the cashier when a customer
    has no plastic card yet."""
    tiers: list[Tier] = Field(min_length=1, max_length=20)
    tier_assignment: Literal["registration", "first_purchase"] = "first_purchase"
    tier_rule: TierRule = Field(default_factory=TierRule)
    categories: dict[Code, CategoryRule] = Field(default_factory=dict)
    accrual_base: Literal["money_paid", "whole_receipt"] = "money_paid"
    no_accrual_when_redeeming: bool = False
    accrual_rounding: Literal["floor_kopeck", "floor_bonus", "half_up_kopeck"] = "floor_kopeck"
    activation_delay_days: Annotated[int, Field(ge=0, le=365)] = 0
    lifetime_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    expiry_warning_days: Annotated[int, Field(ge=0, le=365)] | None = None
    redeem_step: Annotated[Money, Field(gt=0, le=10000)] = Decimal("0.01")
    redeemable_goods: GoodsSelector | None = None
    """Only these lines may be paid by bonuses (e.g. gifts); all lines when absent."""
    redeem_requires_sms_code: bool = False
    """Spending bonuses needs the code sent to the customer by SMS (services enforce it)."""
    spend_window_days: Annotated[int, Field(ge=1, le=1830)] | None = None
    """The rolling window of ``period_purchases`` conditions, in local days."""
    stacking: Literal["best", "sum", "priority"] = "best"
    modifiers: list[Modifier] = Field(default_factory=list, max_length=50)
    quantity_promotions: list[QuantityPromotion] = Field(default_factory=list, max_length=20)
    coupons: list[CouponRule] = Field(default_factory=list, max_length=50)
    """Rules unlocked by coupon codes (the merchant's coupon campaigns name them)."""
    follow_up_offer: FollowUpOffer | None = None
    gifts: Gifts = Field(default_factory=Gifts)
    tier_change_sms: bool = False
    """Tell a customer by message when their tier goes up (the daily ``tier_notices``
    job; a fall is not announced)."""
    activation_sms: bool = False
    """Tell a customer by message when delayed bonuses become spendable: the amount and,
    if they lapse, the last day (the daily ``activation_notices`` job). Needs a delay:
    ``activation_delay_days`` or a gift's own."""

    @model_validator(mode="after")
    def _consistent(self) -> Program:
        codes = [tier.code for tier in self.tiers]
        if len(set(codes)) != len(codes):
            raise ValueError("коды уровней должны быть уникальными")
        self._check_thresholds()
        if self.kind != "discount":
            for tier in self.tiers:
                if tier.accrual_percent is None and tier.accrual_roubles_per_bonus is None:
                    raise ValueError(f"у уровня «{tier.name}» не задана ставка начисления")
        self._check_rules(set(codes))
        self._check_gifts(set(codes))
        self._check_honoured()
        if self.activation_sms and not self._delays_activation():
            raise ValueError(
                "activation_sms: бонусы в программе доступны сразу, сообщать об их "
                "активации не о чем — задайте activation_delay_days или уберите activation_sms"
            )
        return self

    def _delays_activation(self) -> bool:
        gifts = self.gifts
        own = [gifts.welcome, gifts.birthday, gifts.review, *gifts.reanimation]
        return self.activation_delay_days > 0 or any(
            gift is not None and gift.activation_delay_days > 0 for gift in own
        )

    def _check_honoured(self) -> None:
        """Settings nothing would act on for this ``kind`` are refused rather than
        accepted and silently ignored (a bonus program gives no discount; a discount
        program moves no bonuses)."""
        if self.kind == "bonus":
            for tier in self.tiers:
                if tier.discount_percent:
                    raise ValueError(
                        f"уровень «{tier.name}»: программа без скидки — выберите "
                        "kind = bonus_and_discount или уберите процент скидки"
                    )
        if self.kind != "discount":
            return
        for tier in self.tiers:
            if tier.accrual_percent is not None or tier.accrual_roubles_per_bonus is not None:
                raise ValueError(
                    f"уровень «{tier.name}»: скидочная программа не начисляет бонусы — "
                    "уберите ставку начисления или выберите kind = bonus_and_discount"
                )
            if tier.max_redeem_percent != 100:
                raise ValueError(
                    f"уровень «{tier.name}»: в скидочной программе нет оплаты бонусами"
                )
        for code, category in self.categories.items():
            if category.accrual_percent is not None or category.max_redeem_percent is not None:
                raise ValueError(
                    f"категория «{code}»: в скидочной программе нет начисления и оплаты бонусами"
                )
        defaults = Program.model_fields
        bonus_only = [
            name for name in _BONUS_SETTINGS if getattr(self, name) != defaults[name].default
        ]
        if bonus_only:
            raise ValueError(
                "скидочная программа не начисляет и не списывает бонусы — уберите "
                f"настройки бонусов ({', '.join(bonus_only)}) или выберите "
                "kind = bonus_and_discount"
            )
        gifts = [name for name in ("welcome", "birthday") if getattr(self.gifts, name)]
        if gifts or self.gifts.reanimation:
            raise ValueError(
                "подарочные бонусы (приветственные, ко дню рождения, за возвращение) "
                "в скидочной программе потратить нельзя — выберите kind = bonus или "
                "bonus_and_discount"
            )

    def _check_thresholds(self) -> None:
        first = self.tiers[0]
        if first.purchases_over is not None or first.single_receipt_at_least is not None:
            raise ValueError("у первого (начального) уровня не должно быть порога покупок")
        single = self.tier_rule.basis == "single_receipt"
        previous = Decimal(-1)
        previous_single = Decimal(-1)
        for tier in self.tiers[1:]:
            if single:
                if tier.purchases_over is not None:
                    raise ValueError(
                        f"уровень «{tier.name}»: при переходе по одному чеку порог покупок "
                        "не задаётся"
                    )
                if tier.single_receipt_at_least is None:
                    raise ValueError(f"у уровня «{tier.name}» должен быть порог суммы чека")
            else:
                if tier.purchases_over is None:
                    raise ValueError(f"у уровня «{tier.name}» должен быть порог покупок")
                if tier.purchases_over <= previous:
                    raise ValueError("пороги уровней должны возрастать")
                previous = tier.purchases_over
            if tier.single_receipt_at_least is not None:
                if tier.single_receipt_at_least <= previous_single:
                    raise ValueError("пороги суммы чека должны возрастать")
                previous_single = tier.single_receipt_at_least

    def _check_rules(self, tier_codes: set[str]) -> None:
        per_bonus = any(tier.accrual_roubles_per_bonus is not None for tier in self.tiers)
        seen: set[str] = set()
        follow_up_used = False
        rules: list[Modifier | QuantityPromotion] = [*self.modifiers, *self.quantity_promotions]
        for rule in rules:
            if rule.code in seen:
                raise ValueError(f"код правила «{rule.code}» повторяется")
            seen.add(rule.code)
            when = rule.when
            if when.tiers is not None and not set(when.tiers) <= tier_codes:
                raise ValueError(f"правило «{rule.name}»: неизвестный уровень")
            if when.period_purchases is not None and self.spend_window_days is None:
                raise ValueError(
                    f"правило «{rule.name}»: для условия по покупкам за период "
                    "укажите spend_window_days"
                )
            if when.follow_up_offer:
                if self.follow_up_offer is None:
                    raise ValueError(
                        f"правило «{rule.name}»: не задано персональное предложение "
                        "(follow_up_offer)"
                    )
                follow_up_used = True
        for modifier in self.modifiers:
            if modifier.affects_accrual and self.kind == "discount":
                raise ValueError(f"правило «{modifier.name}»: программа не начисляет бонусы")
            if modifier.affects_redemption and self.kind == "discount":
                raise ValueError(f"правило «{modifier.name}»: в программе нет списания бонусов")
            if modifier.affects_discount and self.kind == "bonus":
                raise ValueError(
                    f"правило «{modifier.name}»: программа без скидки — выберите "
                    "kind = bonus_and_discount"
                )
            if per_bonus and (
                modifier.accrual_percent is not None or modifier.extra_accrual_percent is not None
            ):
                raise ValueError(
                    f"правило «{modifier.name}»: при начислении «1 бонус за N рублей» "
                    "начисление меняется только множителем"
                )
        coupon_codes: set[str] = set()
        for coupon in self.coupons:
            if coupon.code in coupon_codes:
                raise ValueError(f"код купона «{coupon.code}» повторяется")
            coupon_codes.add(coupon.code)
            if coupon.affects_accrual and self.kind == "discount":
                raise ValueError(f"купон «{coupon.name}»: программа не начисляет бонусы")
        if self.follow_up_offer is not None and not follow_up_used:
            raise ValueError(
                "персональное предложение задано, но ни одно правило его не использует"
            )

    def _check_gifts(self, tier_codes: set[str]) -> None:
        referral = self.gifts.referral
        if referral is not None and not set(referral.levels_by_tier) <= tier_codes:
            raise ValueError("реферальные ставки заданы для неизвестного уровня")
        if referral is not None and self.kind == "discount":
            raise ValueError(
                "реферальная программа начисляет бонусы, а программа только скидочная — "
                "выберите kind = bonus или bonus_and_discount"
            )
        codes: set[str] = set()
        for rule in self.gifts.reanimation:
            if rule.code in codes:
                raise ValueError(f"код правила реанимации «{rule.code}» повторяется")
            codes.add(rule.code)
            if rule.tiers is not None and not set(rule.tiers) <= tier_codes:
                raise ValueError(f"правило реанимации «{rule.name}»: неизвестный уровень")

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
