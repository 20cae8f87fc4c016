"""Invariants of calculate and settle over generated programs that use modifiers,
quantity promotions and redemption only on listed goods, checked against an independent
reference of the program's semantics (exact fractions, unit-by-unit promotions)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from math import floor
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from cloud.engine import (
    CustomerSnapshot,
    Line,
    Quote,
    calculate,
    compile_program,
    in_birthday_window,
    settle,
)
from schemas.money import line_amount
from schemas.program import Conditions, GoodsSelector, Modifier, Program
from tests.engine.programs import fit_to_kind
from tests.engine.test_calculate_properties import check_quote_sums, quantities, tier_of

TZ = ZoneInfo("Europe/Moscow")
CATEGORIES = ["a", "b", "c"]
SKUS = ["x", "y", "z"]

percents = st.decimals(min_value=0, max_value=100, places=2)
amounts = st.integers(0, 20_000).map(lambda roubles: f"{roubles}")


@st.composite
def selectors(draw: st.DrawFn) -> dict[str, Any] | None:
    if draw(st.booleans()):
        return None
    selector = {
        "categories": draw(st.lists(st.sampled_from(CATEGORIES), unique=True, max_size=2)),
        "skus": draw(st.lists(st.sampled_from(SKUS), unique=True, max_size=2)),
    }
    if not selector["categories"] and not selector["skus"]:
        selector["categories"] = ["a"]
    return selector


@st.composite
def amount_ranges(draw: st.DrawFn) -> dict[str, Any]:
    low, high = sorted((draw(amounts), draw(amounts)), key=int)
    found: dict[str, Any] = {}
    if draw(st.booleans()):
        found[draw(st.sampled_from(["at_least", "over"]))] = low
    if draw(st.booleans()) or not found:
        found[draw(st.sampled_from(["at_most", "below"]))] = high
    return found


@st.composite
def conditions(draw: st.DrawFn, tiers: list[str], window: bool, offer: bool) -> dict[str, Any]:
    when: dict[str, Any] = {}
    if draw(st.integers(0, 4)) == 0:
        when["tiers"] = draw(st.lists(st.sampled_from(tiers), unique=True, min_size=1))
    if draw(st.integers(0, 2)) == 0:
        when["weekdays"] = draw(st.lists(st.integers(1, 7), unique=True, min_size=1))
    if draw(st.integers(0, 2)) == 0:
        start, end = draw(st.integers(0, 23)), draw(st.integers(0, 23))
        if start == end:
            end = (end + 1) % 24
        when["hours"] = {"start": f"{start:02d}:00", "end": f"{end:02d}:30"}
    if draw(st.integers(0, 3)) == 0:
        when["birthday"] = {
            "days_before": draw(st.integers(0, 10)),
            "days_after": draw(st.integers(0, 10)),
        }
    if draw(st.integers(0, 3)) == 0:
        low = draw(st.integers(0, 10))
        when["days_since_last_purchase"] = {
            "at_least": low,
            "at_most": draw(st.none() | st.integers(low, 40)),
        }
    if window and draw(st.booleans()):
        when["period_purchases"] = draw(amount_ranges())
    if draw(st.integers(0, 2)) == 0:
        when["receipt_amount"] = draw(amount_ranges())
    if offer and draw(st.booleans()):
        when["follow_up_offer"] = True
    return when


@st.composite
def rule_programs(draw: st.DrawFn) -> Program:
    kind = draw(st.sampled_from(["bonus", "discount", "bonus_and_discount"]))
    per_bonus = kind != "discount" and draw(st.integers(0, 3)) == 0
    tiers: list[dict[str, Any]] = []
    for rank in range(draw(st.integers(1, 3))):
        tier: dict[str, Any] = {
            "code": f"t{rank}",
            "name": f"Уровень {rank}",
            "discount_percent": draw(percents),
            "max_redeem_percent": draw(percents),
        }
        if per_bonus:
            tier["accrual_roubles_per_bonus"] = draw(st.sampled_from(["0.5", "10", "30", "33.3"]))
        else:
            tier["accrual_percent"] = draw(percents)
        if rank:
            tier["purchases_over"] = 1000 * rank
        tiers.append(tier)
    codes = [tier["code"] for tier in tiers]
    window = draw(st.booleans())
    offer = draw(st.booleans())
    modifiers: list[dict[str, Any]] = []
    for index in range(draw(st.integers(0, 4))):
        modifier: dict[str, Any] = {
            "code": f"m{index}",
            "name": f"Правило {index}",
            "when": draw(conditions(codes, window, offer)),
        }
        goods = draw(selectors())
        if goods is not None:
            modifier["goods"] = goods
        effects = []
        if kind != "discount":
            effects += ["accrual", "redemption"]
        if kind != "bonus":
            effects.append("discount")
        for effect in draw(st.lists(st.sampled_from(effects), unique=True, min_size=1)):
            if effect == "accrual":
                form = (
                    "multiplier" if per_bonus else draw(st.sampled_from(["rate", "extra", "mult"]))
                )
                if form == "rate":
                    modifier["accrual_percent"] = draw(percents)
                elif form == "extra":
                    modifier["extra_accrual_percent"] = draw(percents)
                else:
                    modifier["accrual_multiplier"] = draw(
                        st.sampled_from(["0.5", "1.5", "2", "3.33"])
                    )
            else:
                key = "max_redeem" if effect == "redemption" else "discount"
                if draw(st.booleans()):
                    modifier[f"{key}_percent"] = draw(percents)
                else:
                    modifier[f"extra_{key}_percent"] = draw(percents)
        modifiers.append(modifier)
    if offer and not any(m["when"].get("follow_up_offer") for m in modifiers):
        offer = False
    promotions = []
    for index in range(draw(st.integers(0, 2))):
        promotion: dict[str, Any] = {
            "code": f"q{index}",
            "name": f"Акция {index}",
            "group_by": draw(st.sampled_from(["sku", "pool"])),
            "group_size": draw(st.integers(2, 4)),
            "discount_percent": draw(st.sampled_from(["100", "50", "33.33"])),
            "combine_with_discount": draw(st.booleans()),
            "when": draw(conditions(codes, window, offer)),
        }
        promotion["discounted_units"] = draw(st.integers(1, promotion["group_size"] - 1))
        goods = draw(selectors())
        if goods is not None:
            promotion["goods"] = goods
        promotions.append(promotion)
    categories = {
        code: {
            "accrual": draw(st.booleans()),
            "redemption": draw(st.booleans()),
            "discount": draw(st.booleans()),
            "accrual_percent": None if per_bonus else draw(st.none() | percents),
            "max_redeem_percent": draw(st.none() | percents),
        }
        for code in draw(st.lists(st.sampled_from(CATEGORIES), unique=True))
    }
    document: dict[str, Any] = {
        "name": "Сгенерированная",
        "kind": kind,
        "tiers": tiers,
        "categories": categories,
        "stacking": draw(st.sampled_from(["best", "sum", "priority"])),
        "modifiers": modifiers,
        "quantity_promotions": promotions,
        "accrual_base": draw(st.sampled_from(["money_paid", "whole_receipt"])),
        "no_accrual_when_redeeming": draw(st.booleans()),
        "accrual_rounding": draw(
            st.sampled_from(["floor_kopeck", "floor_bonus", "half_up_kopeck"])
        ),
        "redeem_step": draw(st.sampled_from(["0.01", "1"])),
    }
    if window:
        document["spend_window_days"] = 90
    if offer:
        document["follow_up_offer"] = {"days": draw(st.integers(1, 40))}
    if draw(st.integers(0, 3)) == 0:
        document["redeemable_goods"] = draw(selectors()) or {"categories": ["b"]}
    return Program.model_validate(fit_to_kind(document))


@st.composite
def rule_receipts(draw: st.DrawFn) -> list[Line]:
    lines = []
    for index in range(draw(st.integers(1, 8))):
        price = draw(st.integers(0, 500_000))
        quantity = draw(quantities)
        floor_price = draw(st.integers(0, price))
        floor_total = line_amount(floor_price, quantity) if draw(st.booleans()) else 0
        amount = line_amount(price, quantity)
        lines.append(
            Line(
                str(index),
                price,
                quantity,
                amount,
                draw(st.sampled_from([None, *CATEGORIES])),
                floor_total,
                draw(st.sampled_from([None, *SKUS])),
            )
        )
    return lines


nows = st.datetimes(
    min_value=datetime(2023, 1, 1), max_value=datetime(2026, 1, 1), timezones=st.just(UTC)
)


@st.composite
def rule_customers(draw: st.DrawFn) -> CustomerSnapshot | None:
    if draw(st.integers(0, 4)) == 0:
        return None
    return CustomerSnapshot(
        customer_id=1,
        tier_code=draw(st.sampled_from([None, "t0", "t1", "t2"])),
        lifetime_purchases=0,
        available_bonuses=draw(st.integers(0, 10**7)),
        birthday=draw(st.none() | st.dates(date(1950, 1, 1), date(2010, 12, 31))),
        last_purchase_at=draw(st.none() | nows),
        period_purchases=draw(st.integers(0, 2_000_000)),
    )


# ---- the reference --------------------------------------------------------------------


def _range_holds(bounds: Any, value: int) -> bool:
    if bounds is None:
        return True
    kopecks = Fraction(value)
    if bounds.at_least is not None and kopecks < bounds.at_least * 100:
        return False
    if bounds.over is not None and kopecks <= bounds.over * 100:
        return False
    if bounds.at_most is not None and kopecks > bounds.at_most * 100:
        return False
    return not (bounds.below is not None and kopecks >= bounds.below * 100)


def _birthday_near(birthday: date, day: date, before: int, after: int) -> bool:
    for shift in range(-after, before + 1):
        other = day + timedelta(days=shift)
        if (other.month, other.day) == (birthday.month, birthday.day):
            return True
        leap_day = (birthday.month, birthday.day) == (2, 29)
        if leap_day and (other.month, other.day) == (2, 28):
            try:
                date(other.year, 2, 29)
            except ValueError:
                return True
    return False


def holds(
    when: Conditions,
    program: Program,
    tier: Any,
    customer: CustomerSnapshot | None,
    now: datetime,
    receipt: int,
) -> bool:
    local = now.astimezone(TZ)
    day = local.date()
    clock = local.time().replace(microsecond=0, tzinfo=None)
    if when.tiers is not None and tier.code not in when.tiers:
        return False
    if when.weekdays is not None and day.isoweekday() not in when.weekdays:
        return False
    if when.hours is not None:
        start, end = when.hours.start, when.hours.end
        inside = start <= clock < end if start < end else (clock >= start or clock < end)
        if not inside:
            return False
    since = None
    if customer is not None and customer.last_purchase_at is not None:
        since = max((day - customer.last_purchase_at.astimezone(TZ).date()).days, 0)
    if when.birthday is not None:
        if customer is None or customer.birthday is None:
            return False
        if not _birthday_near(customer.birthday, day, when.birthday.days_before,
                              when.birthday.days_after):  # fmt: skip
            return False
    if when.days_since_last_purchase is not None:
        bounds = when.days_since_last_purchase
        if since is None or since < bounds.at_least:
            return False
        if bounds.at_most is not None and since > bounds.at_most:
            return False
    if when.follow_up_offer:
        assert program.follow_up_offer is not None
        if since is None or not 1 <= since <= program.follow_up_offer.days:
            return False
    if when.period_purchases is not None:
        if customer is None or not _range_holds(when.period_purchases, customer.period_purchases):
            return False
    return _range_holds(when.receipt_amount, receipt)


def selects(goods: GoodsSelector | None, line: Line) -> bool:
    return goods is None or line.category in goods.categories or line.sku in goods.skus


def combine(program: Program, base: Fraction, candidates: list[Fraction], cap: bool) -> Fraction:
    if not candidates:
        return base
    if program.stacking == "priority":
        rate = candidates[0]
    elif program.stacking == "best":
        rate = max([base, *candidates])
    else:
        rate = base + sum(candidate - base for candidate in candidates)
    rate = max(rate, Fraction(0))
    return min(rate, Fraction(100)) if cap else rate


def line_rate(
    program: Program,
    modifiers: list[Modifier],
    line: Line,
    base: Fraction,
    effect: str,
    cap: bool = True,
) -> Fraction:
    candidates = []
    for modifier in modifiers:
        if not selects(modifier.goods, line):
            continue
        prefix = "max_redeem" if effect == "redemption" else effect
        rate = getattr(modifier, f"{prefix}_percent")
        extra = getattr(modifier, f"extra_{prefix}_percent")
        multiplier = modifier.accrual_multiplier if effect == "accrual" else None
        if rate is None and extra is None and multiplier is None:
            continue
        value = Fraction(rate) if rate is not None else base + Fraction(extra or 0)
        if multiplier is not None:
            value *= Fraction(multiplier)
        candidates.append(value)
    return combine(program, base, candidates, cap)


def reference_promotions(
    program: Program,
    tier: Any,
    customer: CustomerSnapshot | None,
    lines: list[Line],
    now: datetime,
) -> tuple[list[int], list[bool]]:
    """Unit by unit: expand every whole unit, sort dearest first, discount the last
    units of every complete run."""
    receipt = sum(line.amount for line in lines)
    off = [0] * len(lines)
    combinable = [True] * len(lines)
    taken = [False] * len(lines)
    for promotion in program.quantity_promotions:
        if not holds(promotion.when, program, tier, customer, now, receipt):
            continue
        groups: dict[Any, list[int]] = {}
        for i, line in enumerate(lines):
            rule = program.categories.get(line.category or "")
            if taken[i] or (rule is not None and not rule.discount):
                continue
            if not selects(promotion.goods, line):
                continue
            if line.quantity != int(line.quantity) or line.quantity <= 0:
                continue
            taken[i] = True
            key = (line.sku or f"line{i}") if promotion.group_by == "sku" else "pool"
            groups.setdefault(key, []).append(i)
        for members in groups.values():
            units = [
                (-Fraction(lines[i].amount, int(lines[i].quantity)), i)
                for i in members
                for _ in range(int(lines[i].quantity))
            ]
            units.sort()
            size, discounted = promotion.group_size, promotion.discounted_units
            counted = {i: 0 for i in members}
            for position in range(len(units) // size * size):
                if position % size >= size - discounted:
                    counted[units[position][1]] += 1
            for i, count in counted.items():
                line = lines[i]
                value = Fraction(line.amount * count, int(line.quantity))
                share = min(floor(value * Fraction(promotion.discount_percent) / 100),
                            line.amount - min(line.floor, line.amount))  # fmt: skip
                if share > 0:
                    off[i] = share
                    if not promotion.combine_with_discount:
                        combinable[i] = False
    return off, combinable


def reference_accrual(
    program: Program,
    tier: Any,
    customer: CustomerSnapshot | None,
    lines: list[Line],
    quote: Quote,
    now: datetime,
) -> int:
    if customer is None or not program.accrues_bonuses:
        return 0
    if program.no_accrual_when_redeeming and quote.redeem:
        return 0
    paid = quote.amount_after_discount
    modifiers = [
        modifier
        for modifier in program.modifiers
        if modifier.affects_accrual and holds(modifier.when, program, tier, customer, now, paid)
    ]
    percent_part = Fraction(0)
    per_bonus_part = Fraction(0)
    for line, priced in zip(lines, quote.lines, strict=True):
        rule = program.categories.get(line.category or "")
        if rule is not None and not rule.accrual:
            continue
        base = priced.amount_after_discount
        if program.accrual_base == "money_paid":
            base -= priced.redeem
        if base <= 0:
            continue
        percent = rule.accrual_percent if rule is not None else None
        if percent is None:
            percent = tier.accrual_percent
        if percent is not None:
            rate = line_rate(program, modifiers, line, Fraction(percent), "accrual")
            percent_part += base * rate / 100
        else:
            factor = line_rate(program, modifiers, line, Fraction(100), "accrual", cap=False)
            per_bonus_part += base * factor / 100
    if program.accrual_rounding == "floor_kopeck":
        total = floor(percent_part)
    elif program.accrual_rounding == "half_up_kopeck":
        total = floor(percent_part + Fraction(1, 2))
    else:
        total = floor(percent_part / 100) * 100
    if per_bonus_part:
        total += floor(per_bonus_part / (Fraction(tier.accrual_roubles_per_bonus) * 100)) * 100
    return total


def reference_caps(
    program: Program,
    tier: Any,
    customer: CustomerSnapshot | None,
    lines: list[Line],
    after: list[int],
    now: datetime,
) -> list[int]:
    if not program.accrues_bonuses:
        return [0] * len(lines)
    modifiers = [
        modifier
        for modifier in program.modifiers
        if modifier.affects_redemption
        and holds(modifier.when, program, tier, customer, now, sum(after))
    ]
    caps = []
    for line, amount in zip(lines, after, strict=True):
        rule = program.categories.get(line.category or "")
        if (rule is not None and not rule.redemption) or (
            program.redeemable_goods is not None and not selects(program.redeemable_goods, line)
        ):
            caps.append(0)
            continue
        share = rule.max_redeem_percent if rule is not None else None
        if share is None:
            share = tier.max_redeem_percent
        rate = line_rate(program, modifiers, line, Fraction(share), "redemption")
        caps.append(min(floor(amount * rate / 100), amount - min(line.floor, line.amount)))
    return caps


# ---- properties -----------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(rule_programs(), rule_customers(), rule_receipts(), nows, st.booleans(), st.data())
def test_rules_calculate_invariants(
    program: Program,
    customer: CustomerSnapshot | None,
    lines: list[Line],
    now: datetime,
    exact: bool,
    data: st.DataObject,
) -> None:
    """With modifiers, promotions and listed goods: sums exact, no line below its floor,
    quantity discounts unit by unit, the percentage discount as the reference computes
    it, line caps exactly the reference's shares (0 outside listed goods), never more
    redeemable than the caps, balance and step allow, accrual exactly the reference's,
    and the same answer every time and from the compiled program."""
    tier = tier_of(program, customer)
    probe = calculate(program, customer, lines, now, TZ, unit_price_exact=exact)
    step = int(program.redeem_step * 100)
    redeem = data.draw(st.integers(0, probe.max_redeem // step)) * step
    quote = calculate(program, customer, lines, now, TZ, redeem=redeem, unit_price_exact=exact)
    check_quote_sums(quote, lines)
    assert quote.redeem == redeem

    promo, combinable = reference_promotions(program, tier, customer, lines, now)
    if not exact:
        before = sum(line.amount for line in lines)
        modifiers = [
            modifier
            for modifier in program.modifiers
            if modifier.affects_discount
            and holds(modifier.when, program, tier, customer, now, before)
        ]
        weights = Fraction(0)
        room = 0
        for i, line in enumerate(lines):
            rule = program.categories.get(line.category or "")
            if (rule is not None and not rule.discount) or not combinable[i]:
                continue
            base = line.amount - promo[i]
            room += base - min(line.floor, line.amount)
            if program.gives_discount:
                rate = line_rate(
                    program, modifiers, line, Fraction(tier.discount_percent), "discount"
                )
                weights += base * rate / 100
        percentage = min(floor(weights), room) if program.gives_discount else 0
        assert quote.discount == sum(promo) + percentage
        for i, priced in enumerate(quote.lines):
            assert priced.discount >= promo[i]
            if not combinable[i]:
                assert priced.discount == promo[i]

    after = [line.amount_after_discount for line in quote.lines]
    caps = reference_caps(program, tier, customer, lines, after, now)
    assert [line.max_redeem for line in quote.lines] == caps
    balance = customer.available_bonuses if customer is not None else 0
    assert quote.max_redeem <= min(sum(caps), balance)
    assert quote.max_redeem % step == 0
    assert all(line.redeem <= line.max_redeem for line in quote.lines)

    assert quote.accrual == reference_accrual(program, tier, customer, lines, quote, now)
    again = calculate(
        compile_program(program), customer, lines, now, TZ, redeem=redeem, unit_price_exact=exact
    )
    assert again == quote


@settings(max_examples=150, deadline=None)
@given(rule_programs(), rule_customers(), rule_receipts(), nows, st.data())
def test_rules_settle_invariants(
    program: Program,
    customer: CustomerSnapshot | None,
    lines: list[Line],
    now: datetime,
    data: st.DataObject,
) -> None:
    """Settle with modifiers places exactly the bonuses the terminal took, applies no
    discount, uses the reference caps and accrual, and is deterministic."""
    tier = tier_of(program, customer)
    redeemed = data.draw(st.integers(0, sum(line.amount for line in lines)))
    quote = settle(program, customer, lines, redeemed, now, TZ)
    check_quote_sums(quote, lines)
    assert quote.redeem == redeemed and quote.discount == 0
    caps = reference_caps(program, tier, customer, lines, [line.amount for line in lines], now)
    assert [line.max_redeem for line in quote.lines] == caps
    assert quote.accrual == reference_accrual(program, tier, customer, lines, quote, now)
    assert settle(program, customer, lines, redeemed, now, TZ) == quote


def test_reference_birthday_matches_the_engine_on_every_day() -> None:
    """The reference's day-by-day birthday search and the engine's agree for a leap-day
    and a New Year birthday over three years."""
    for birthday in (date(2000, 2, 29), date(1990, 1, 1), date(1990, 12, 31)):
        day = date(2023, 1, 1)
        while day < date(2026, 1, 1):
            assert in_birthday_window(birthday, day, 3, 2) == _birthday_near(birthday, day, 3, 2)
            day += timedelta(days=1)
