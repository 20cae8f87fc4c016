"""Invariants of calculate and settle over generated programs and receipts."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from cloud.engine import CustomerSnapshot, Line, Quote, calculate, compile_program, settle
from schemas.money import line_amount
from schemas.program import Program
from tests.engine.programs import fit_to_kind

TZ = ZoneInfo("Asia/Novosibirsk")
CATEGORY_CODES = ["a", "b", "c"]

percents = st.decimals(min_value=0, max_value=100, places=2)
optional_percents = st.none() | percents


@st.composite
def programs(draw: st.DrawFn) -> Program:
    kind = draw(st.sampled_from(["bonus", "discount", "bonus_and_discount"]))
    tiers: list[dict[str, Any]] = []
    threshold = 0
    for rank in range(draw(st.integers(1, 3))):
        tier: dict[str, Any] = {
            "code": f"t{rank}",
            "name": f"Уровень {rank}",
            "discount_percent": draw(percents),
            "max_redeem_percent": draw(percents),
        }
        if draw(st.booleans()):
            tier["accrual_percent"] = draw(percents)
        else:
            tier["accrual_roubles_per_bonus"] = draw(
                st.decimals(min_value=Decimal("0.5"), max_value=200, places=1)
            )
        if rank:
            threshold += draw(st.integers(1, 100_000))
            tier["purchases_over"] = threshold
        tiers.append(tier)
    categories = {
        code: {
            "accrual": draw(st.booleans()),
            "redemption": draw(st.booleans()),
            "discount": draw(st.booleans()),
            "accrual_percent": draw(optional_percents),
            "max_redeem_percent": draw(optional_percents),
        }
        for code in draw(st.lists(st.sampled_from(CATEGORY_CODES), unique=True))
    }
    return Program.model_validate(
        fit_to_kind(
            {
                "name": "Сгенерированная",
                "kind": kind,
                "tiers": tiers,
                "categories": categories,
                "accrual_base": draw(st.sampled_from(["money_paid", "whole_receipt"])),
                "no_accrual_when_redeeming": draw(st.booleans()),
                "accrual_rounding": draw(
                    st.sampled_from(["floor_kopeck", "floor_bonus", "half_up_kopeck"])
                ),
                "activation_delay_days": draw(st.integers(0, 3)),
                "lifetime_days": draw(st.none() | st.integers(1, 400)),
                "redeem_step": draw(st.sampled_from(["0.01", "1", "10"])),
            }
        )
    )


quantities = st.one_of(
    st.integers(1, 12).map(Decimal),
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal(30), places=3),
)


@st.composite
def receipts(draw: st.DrawFn) -> list[Line]:
    lines = []
    for index in range(draw(st.integers(1, 8))):
        price = draw(st.integers(0, 2_000_000))
        quantity = draw(quantities)
        minimum = draw(st.integers(0, price))
        floor = line_amount(minimum, quantity) if draw(st.booleans()) else 0
        category = draw(st.sampled_from([None, *CATEGORY_CODES, "unknown"]))
        amount = line_amount(price, quantity)
        lines.append(Line(str(index), price, quantity, amount, category, floor))
    return lines


@st.composite
def customers(draw: st.DrawFn) -> CustomerSnapshot | None:
    if draw(st.booleans()):
        return None
    return CustomerSnapshot(
        customer_id=1,
        tier_code=draw(st.sampled_from([None, "t0", "t1", "t2", "gone"])),
        lifetime_purchases=draw(st.integers(0, 10**8)),
        available_bonuses=draw(st.integers(0, 10**7)),
    )


nows = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)


def tier_of(program: Program, customer: CustomerSnapshot | None) -> Any:
    if customer is not None:
        tier = program.tier(customer.tier_code)
        if tier is not None:
            return tier
    return program.tiers[0]


def floor_percent(amount: int, percent: Decimal) -> int:
    return int((Decimal(amount) * percent / 100).to_integral_value(rounding=ROUND_FLOOR))


def check_quote_sums(quote: Quote, lines: list[Line]) -> None:
    assert quote.amount == sum(line.amount for line in lines)
    assert quote.discount == sum(line.discount for line in quote.lines)
    assert quote.amount_after_discount == quote.amount - quote.discount
    assert quote.redeem == sum(line.redeem for line in quote.lines)
    assert quote.accrual == sum(line.accrual for line in quote.lines)
    for line, priced in zip(lines, quote.lines, strict=True):
        assert priced.amount_after_discount == priced.amount - priced.discount
        assert priced.discount >= 0 and priced.redeem >= 0 and priced.accrual >= 0
        assert priced.amount_after_discount >= min(line.floor, line.amount)
        assert priced.redeem <= priced.amount_after_discount
    if quote.accrual:
        assert quote.accrual_available_from is not None
    else:
        assert quote.accrual_available_from is None and quote.accrual_expires_at is None


def expected_accrual(
    program: Program,
    tier: Any,
    lines: list[Line],
    quote: Quote,
    customer: CustomerSnapshot | None,
) -> int:
    """The program's semantics computed independently with Decimal."""
    if customer is None or not program.accrues_bonuses:
        return 0
    if program.no_accrual_when_redeeming and quote.redeem:
        return 0
    percent_part = Decimal(0)
    per_bonus_base = 0
    for line, priced in zip(lines, quote.lines, strict=True):
        rule = program.categories.get(line.category or "")
        if rule is not None and not rule.accrual:
            continue
        base = priced.amount_after_discount
        if program.accrual_base == "money_paid":
            base -= priced.redeem
        percent = rule.accrual_percent if rule is not None else None
        if percent is None:
            percent = tier.accrual_percent
        if percent is not None:
            percent_part += Decimal(base) * percent / 100
        else:
            per_bonus_base += base
    if program.accrual_rounding == "floor_kopeck":
        total = int(percent_part.to_integral_value(rounding=ROUND_FLOOR))
    elif program.accrual_rounding == "half_up_kopeck":
        total = int(percent_part.to_integral_value(rounding=ROUND_HALF_UP))
    else:
        total = int((percent_part / 100).to_integral_value(rounding=ROUND_FLOOR)) * 100
    if per_bonus_base:
        bonuses = Decimal(per_bonus_base) / (tier.accrual_roubles_per_bonus * 100)
        total += int(bonuses.to_integral_value(rounding=ROUND_FLOOR)) * 100
    return total


@settings(max_examples=300, deadline=None)
@given(programs(), customers(), receipts(), nows, st.booleans(), st.data())
def test_calculate_invariants(
    program: Program,
    customer: CustomerSnapshot | None,
    lines: list[Line],
    now: datetime,
    exact: bool,
    data: st.DataObject,
) -> None:
    """No line below its floor or negative; line discounts, redemptions and accruals sum
    to the receipt's; max_redeem within tier share, category, floor, balance and step;
    the accrual matches the program's semantics; unit-price-exact totals reproduce."""
    tier = tier_of(program, customer)
    probe = calculate(program, customer, lines, now, TZ, unit_price_exact=exact)
    step = int(program.redeem_step * 100)
    redeem = data.draw(st.integers(0, probe.max_redeem // step)) * step
    quote = calculate(program, customer, lines, now, TZ, redeem=redeem, unit_price_exact=exact)
    check_quote_sums(quote, lines)
    assert quote.redeem == redeem
    assert quote.tier_code == tier.code

    balance = customer.available_bonuses if customer is not None else 0
    assert quote.max_redeem <= balance
    assert quote.max_redeem % step == 0
    assert quote.max_redeem <= sum(line.max_redeem for line in quote.lines)
    for line, priced in zip(lines, quote.lines, strict=True):
        rule = program.categories.get(line.category or "")
        assert priced.redeem <= priced.max_redeem
        if not program.accrues_bonuses or (rule is not None and not rule.redemption):
            assert priced.max_redeem == 0
            continue
        share = rule.max_redeem_percent if rule is not None else None
        if share is None:
            share = tier.max_redeem_percent
        assert priced.max_redeem <= floor_percent(priced.amount_after_discount, share)
        assert priced.max_redeem <= priced.amount_after_discount - min(line.floor, line.amount)
        if rule is not None and not rule.discount:
            assert priced.discount == 0
    if not program.gives_discount:
        assert quote.discount == 0
    elif not exact:
        eligible = sum(
            line.amount
            for line in lines
            if (rule := program.categories.get(line.category or "")) is None or rule.discount
        )
        assert quote.discount <= floor_percent(eligible, tier.discount_percent)

    assert quote.accrual == expected_accrual(program, tier, lines, quote, customer)

    if exact:
        for line, priced in zip(lines, quote.lines, strict=True):
            unit = priced.unit_price_after_discount
            assert unit is not None
            assert line_amount(unit, line.quantity) == priced.amount_after_discount
        assert sum(line.amount_after_discount for line in quote.lines) == (
            quote.amount_after_discount
        )

    again = calculate(
        compile_program(program), customer, lines, now, TZ, redeem=redeem, unit_price_exact=exact
    )
    assert again == quote


@settings(max_examples=200, deadline=None)
@given(programs(), customers(), receipts(), nows, st.data())
def test_settle_invariants(
    program: Program,
    customer: CustomerSnapshot | None,
    lines: list[Line],
    now: datetime,
    data: st.DataObject,
) -> None:
    """Settle places exactly what the terminal took, never above a line's amount, within
    line caps whenever they can hold it; no discount; accrual per the program; and it is
    deterministic."""
    total = sum(line.amount for line in lines)
    redeemed = data.draw(st.integers(0, total))
    quote = settle(program, customer, lines, redeemed, now, TZ)
    check_quote_sums(quote, lines)
    assert quote.redeem == redeemed
    assert quote.discount == 0
    caps = sum(line.max_redeem for line in quote.lines)
    assert quote.max_redeem == caps
    if redeemed <= caps:
        assert all(line.redeem <= line.max_redeem for line in quote.lines)
    else:
        assert all(line.redeem >= line.max_redeem for line in quote.lines)
    assert quote.accrual == expected_accrual(
        program, tier_of(program, customer), lines, quote, customer
    )
    assert settle(program, customer, lines, redeemed, now, TZ) == quote
