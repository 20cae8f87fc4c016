"""Coupon rules in the engine: effects when unlocked, floors, exact totals."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cloud.engine import CustomerSnapshot, EngineError, Line, calculate, settle
from schemas.money import line_amount
from schemas.program import Program

TZ = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CUSTOMER = CustomerSnapshot(customer_id=1, tier_code="base", lifetime_purchases=0,
                            available_bonuses=0)  # fmt: skip


def program(kind: str = "bonus", **extra: Any) -> Program:
    tier: dict[str, Any] = {"code": "base", "name": "Базовый"}
    if kind != "discount":
        tier["accrual_percent"] = "5"
    coupons = extra.pop("coupons", None) or [
        rule for rule in RULES if kind != "discount" or rule["code"] not in ("x2", "gift")
    ]
    return Program.model_validate(
        {"name": "Купоны", "kind": kind, "tiers": [tier],
         "categories": {"tobacco": {"discount": False}}, "coupons": coupons, **extra}
    )  # fmt: skip


RULES: list[dict[str, Any]] = [
    {"code": "p10", "name": "Минус 10 %", "discount_percent": "10"},
    {"code": "a300", "name": "Минус 300 ₽", "discount_amount": "300"},
    {
        "code": "milk20",
        "name": "Молочное -20 %",
        "discount_percent": "20",
        "goods": {"categories": ["milk"]},
    },
    {"code": "x2", "name": "Двойные бонусы", "accrual_multiplier": "2"},
    {"code": "gift", "name": "Подарок 50 бонусов", "gift_bonuses": "50"},
]


def lines() -> list[Line]:
    return [
        Line(id="1", price=100_00, quantity=Decimal(2), amount=200_00, category="milk"),
        Line(id="2", price=300_00, quantity=Decimal(1), amount=300_00, floor=250_00),
        Line(id="3", price=500_00, quantity=Decimal(1), amount=500_00, category="tobacco"),
    ]


def test_no_code_no_effect() -> None:
    """Coupon rules in the program do nothing until the service unlocks one."""
    quote = calculate(program(), CUSTOMER, lines(), NOW, TZ)
    assert quote.discount == 0
    assert quote.accrual == 1000_00 * 5 // 100


def test_percent_off_receipt_respects_floor_and_category() -> None:
    """10 % of the discountable lines; the tobacco line (no discount) is untouched and
    the floored line gives no more than its room above the floor."""
    quote = calculate(program(), CUSTOMER, lines(), NOW, TZ, coupons=["p10"])
    by_id = {line.id: line for line in quote.lines}
    assert by_id["3"].discount == 0
    assert quote.discount == (200_00 + 300_00) * 10 // 100
    assert by_id["2"].discount <= 50_00
    assert "Минус 10 %" in quote.applied_rules


def test_amount_off_capped_by_floors() -> None:
    """300 ₽ off where only 200 + 50 ₽ fit above the floors: the floor wins."""
    quote = calculate(program(), CUSTOMER, lines(), NOW, TZ, coupons=["a300"])
    by_id = {line.id: line for line in quote.lines}
    assert by_id["1"].discount == 200_00
    assert by_id["2"].discount == 50_00
    assert quote.discount == 250_00


def test_category_coupon_only_selected_lines() -> None:
    """A category coupon discounts only the lines of that category."""
    quote = calculate(program(), CUSTOMER, lines(), NOW, TZ, coupons=["milk20"])
    assert [line.discount for line in quote.lines] == [40_00, 0, 0]


def test_multiplier_and_gift() -> None:
    """x2 doubles the accrual; a gift adds its bonuses; anonymous receipts get neither."""
    base = calculate(program(), CUSTOMER, lines(), NOW, TZ).accrual
    assert calculate(program(), CUSTOMER, lines(), NOW, TZ, coupons=["x2"]).accrual == 2 * base
    gifted = calculate(program(), CUSTOMER, lines(), NOW, TZ, coupons=["gift"])
    assert gifted.accrual == base + 50_00
    assert sum(line.accrual for line in gifted.lines) == gifted.accrual
    assert calculate(program(), None, lines(), NOW, TZ, coupons=["x2", "gift"]).accrual == 0


def test_settle_keeps_accrual_effects_only() -> None:
    """A closed receipt is not discounted again, but the multiplier still acts."""
    settled = settle(program(), CUSTOMER, lines(), 0, NOW, TZ, coupons=["p10", "x2"])
    assert settled.discount == 0
    assert settled.accrual == 2 * (1000_00 * 5 // 100)


def test_unknown_rule_is_an_engine_error() -> None:
    """The service must only pass rules the program has."""
    with pytest.raises(EngineError):
        calculate(program(), CUSTOMER, lines(), NOW, TZ, coupons=["nope"])


def test_rule_validation() -> None:
    """A coupon rule has exactly one effect; bonus effects need a bonus program."""
    with pytest.raises(ValidationError):
        program(coupons=[{"code": "z", "name": "Пусто"}])
    with pytest.raises(ValidationError):
        program(coupons=[{"code": "z", "name": "Два", "discount_percent": "5",
                          "gift_bonuses": "5"}])  # fmt: skip
    with pytest.raises(ValidationError):
        Program.model_validate({
            "name": "С", "kind": "discount", "tiers": [{"code": "b", "name": "Б"}],
            "coupons": [{"code": "x", "name": "x2", "accrual_multiplier": "2"}],
        })  # fmt: skip
    assert program("discount").coupons  # discount coupons fit every kind


amounts = st.integers(min_value=0, max_value=5_000_00)


@st.composite
def receipts(draw: st.DrawFn) -> list[Line]:
    result = []
    for i in range(draw(st.integers(1, 6))):
        quantity = Decimal(draw(st.integers(1, 5)))
        price = draw(amounts)
        amount = line_amount(price, quantity)
        floor = draw(st.integers(0, amount))
        category = draw(st.sampled_from([None, "milk", "tobacco"]))
        result.append(Line(id=str(i), price=price, quantity=quantity, amount=amount,
                           floor=floor, category=category))  # fmt: skip
    return result


@settings(max_examples=200, deadline=None)
@given(
    receipt=receipts(),
    codes=st.lists(st.sampled_from(["p10", "a300", "milk20", "x2", "gift"]), max_size=4),
    kind=st.sampled_from(["bonus", "bonus_and_discount", "discount"]),
    tier_discount=st.sampled_from(["0", "7.5"]),
    exact=st.booleans(),
)
def test_coupon_never_crosses_floor_and_totals_are_exact(
    receipt: list[Line], codes: list[str], kind: str, tier_discount: str, exact: bool
) -> None:
    """Whatever coupons apply, no line goes below its floor (or above its amount), the
    line figures add up to the receipt's, and an amount coupon gives at most its sum."""
    doc = program(kind)
    if kind == "discount":
        codes = [code for code in codes if code not in ("x2", "gift")]
    if kind != "bonus":
        doc = doc.model_copy(
            update={"tiers": [doc.tiers[0].model_copy(update={"discount_percent":
                                                              Decimal(tier_discount)})]}
        )  # fmt: skip
    plain = calculate(doc, CUSTOMER, receipt, NOW, TZ, unit_price_exact=exact)
    quote = calculate(doc, CUSTOMER, receipt, NOW, TZ, coupons=codes, unit_price_exact=exact)
    for line, quoted in zip(receipt, quote.lines, strict=True):
        assert line.floor <= quoted.amount_after_discount <= line.amount
        if line.category == "tobacco":
            assert quoted.discount == 0
        if exact and quoted.unit_price_after_discount is not None:
            assert (
                line_amount(quoted.unit_price_after_discount, line.quantity)
                == quoted.amount_after_discount
            )
    assert sum(q.discount for q in quote.lines) == quote.discount
    assert sum(q.accrual for q in quote.lines) == quote.accrual
    assert quote.amount_after_discount == quote.amount - quote.discount
    if not exact:
        assert quote.discount >= plain.discount
        if codes == ["a300"]:
            assert quote.discount - plain.discount <= 300_00
