"""Hand-computed receipts for the rule kinds of issue #3: brackets, category shares,
gifts-only redemption, time windows, birthday, days since the last purchase, quantity
promotions, the follow-up offer, spend over a period and stacking modes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cloud.engine import (
    CustomerSnapshot,
    EngineError,
    Line,
    calculate,
    follow_up_offer_window,
    follow_up_reminder_date,
    in_birthday_window,
    settle,
    spend_window_days,
    spend_window_start,
)
from schemas.program import Program
from tests.engine.programs import (
    birthday_window,
    brackets,
    center_zolota,
    fixture,
    follow_up,
    happy_hours,
    quantity,
    since_last_purchase,
    single,
    spend_over_period,
    stacking,
)

MOSCOW = ZoneInfo("Europe/Moscow")
NOVOSIBIRSK = ZoneInfo("Asia/Novosibirsk")
MONDAY = datetime(2024, 3, 11, 10, 0, tzinfo=MOSCOW)
ONE = Decimal(1)


def customer(balance: int = 0, **facts: Any) -> CustomerSnapshot:
    return CustomerSnapshot(1, "std", 0, balance, 3, **facts)


def one_line(amount: int, category: str | None = None) -> list[Line]:
    return [Line("a", amount, ONE, amount, category)]


# ---- receipt-sum brackets -------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "accrual", "rules"),
    [
        (49_999, 1_499, ()),  # 3 % of 499,99 = 14,9997 -> 14,99
        (50_000, 3_000, ("Чек от 500 ₽",)),  # 6 % from 500,00 inclusive
        (100_000, 6_000, ("Чек от 500 ₽",)),  # 1 000,00 is still "500–1 000"
        (100_001, 12_000, ("Чек больше 1 000 ₽",)),  # 12 % of 1 000,01 = 120,0012
    ],
)
def test_receipt_sum_brackets(amount: int, accrual: int, rules: tuple[str, ...]) -> None:
    """< 500 ₽ -> 3 %, 500–1 000 ₽ -> 6 %, > 1 000 ₽ -> 12 %, at the kopeck boundaries;
    the applied bracket is named for the cashier."""
    quote = calculate(brackets(), customer(), one_line(amount), MONDAY, MOSCOW)
    assert quote.accrual == accrual
    assert quote.applied_rules == rules
    for name in rules:
        assert f"Акция: {name}" in quote.messages


def test_bracket_is_chosen_by_receipt_sum_not_money_paid() -> None:
    """1 200,00 with 300,00 paid by bonuses stays in the > 1 000 ₽ bracket: 12 % of the
    900,00 paid in money = 108,00; the confirm of the same receipt agrees."""
    buyer = customer(balance=100_000)
    quote = calculate(brackets(), buyer, one_line(120_000), MONDAY, MOSCOW, redeem=30_000)
    assert quote.accrual == 10_800
    closed = settle(brackets(), buyer, one_line(120_000), 30_000, MONDAY, MOSCOW)
    assert closed.accrual == 10_800


# ---- category shares, gifts-only ------------------------------------------------------


def test_lotos_services_50_goods_10() -> None:
    """Лотос (#6), Стартовая 5 %: services 3 000,00 -> 1 500,00 payable, goods 2 000,00 ->
    200,00, an uncategorised line 1 000,00 counts as goods -> 100,00: 1 800,00 in all.
    Spending it all leaves 4 200,00 in money: 5 % = 210,00 (75 + 90 + 45), available the
    next local day."""
    lines = [
        Line("spa", 300_000, ONE, 300_000, "services"),
        Line("cream", 200_000, ONE, 200_000, "goods"),
        Line("tea", 100_000, ONE, 100_000),
    ]
    buyer = CustomerSnapshot(1, "start", 0, 500_000)
    quote = calculate(fixture("06_lotos"), buyer, lines, MONDAY, MOSCOW, redeem=180_000)
    assert [line.max_redeem for line in quote.lines] == [150_000, 20_000, 10_000]
    assert quote.max_redeem == 180_000
    assert [line.redeem for line in quote.lines] == [150_000, 20_000, 10_000]
    assert [line.accrual for line in quote.lines] == [7_500, 9_000, 4_500]
    assert quote.accrual_available_from == datetime(2024, 3, 12, tzinfo=MOSCOW)


def test_avtohelp_services_50_parts_10() -> None:
    """АвтоХелп (#8), Золотая 7 %: services 10 000,00 -> 5 000,00 payable, parts 5 000,00
    -> 500,00; a balance of 3 000,00 caps the payment. 3 000,00 spreads by the caps:
    272 727,27 / 27 272,73 -> 272 727 / 27 273 kopecks. Money paid 7 272,73 + 4 727,27 =
    12 000,00 -> 840,00, spread 50 909,11 / 33 090,89 -> 50 909 / 33 091."""
    lines = [
        Line("repair", 1_000_000, ONE, 1_000_000, "services"),
        Line("filter", 500_000, ONE, 500_000, "parts"),
    ]
    buyer = CustomerSnapshot(1, "gold", 2_500_000, 300_000)
    quote = calculate(fixture("08_avtohelp"), buyer, lines, MONDAY, MOSCOW, redeem=300_000)
    assert [line.max_redeem for line in quote.lines] == [500_000, 50_000]
    assert quote.max_redeem == 300_000
    assert [line.redeem for line in quote.lines] == [272_727, 27_273]
    assert quote.accrual == 84_000
    assert [line.accrual for line in quote.lines] == [50_909, 33_091]


def test_gifts_only_redemption() -> None:
    """33 пингвина (#10): bonuses pay only for gifts. Ice cream 300,00 and a gift 250,00
    with 1 000,00 on the card: at most 250,00 (the gift) may be spent; 10 % accrues on the
    300,00 paid in money."""
    lines = [Line("icecream", 30_000, ONE, 30_000), Line("toy", 25_000, ONE, 25_000, "gifts")]
    buyer = CustomerSnapshot(1, "base", 0, 100_000)
    program = fixture("10_33_pingvina")
    quote = calculate(program, buyer, lines, MONDAY, MOSCOW, redeem=25_000)
    assert [line.max_redeem for line in quote.lines] == [0, 25_000]
    assert [line.redeem for line in quote.lines] == [0, 25_000]
    assert [line.accrual for line in quote.lines] == [3_000, 0]
    with pytest.raises(EngineError) as error:
        calculate(program, buyer, lines, MONDAY, MOSCOW, redeem=25_001)
    assert error.value.code == "redeem_exceeds_limit"


def test_promo_category_cannot_be_paid_by_bonuses() -> None:
    """Центр Золота (#1): a СтопЦена line has no bonus share but still accrues."""
    lines = [Line("chain", 500_000, ONE, 500_000, "stopcena")]
    quote = calculate(center_zolota(), CustomerSnapshot(1, "gold", 0, 10**7), lines, MONDAY, MOSCOW)
    assert quote.max_redeem == 0
    assert quote.accrual == 50_000


# ---- hours and weekdays ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "discount", "accrual", "max_redeem"),
    [
        # Monday 09:00 Moscow: 10 % off 1 000,00; 7 % of 900,00; weekday share 50 %.
        (datetime(2024, 3, 11, 9, 0, tzinfo=MOSCOW), 10_000, 6_300, 45_000),
        (datetime(2024, 3, 14, 11, 59, 59, tzinfo=MOSCOW), 10_000, 6_300, 45_000),  # Thu
        # 12:00 is outside (the end is exclusive), as is 8:59:59 and Friday.
        (datetime(2024, 3, 11, 12, 0, tzinfo=MOSCOW), 0, 5_000, 50_000),
        (datetime(2024, 3, 11, 8, 59, 59, tzinfo=MOSCOW), 0, 5_000, 50_000),
        (datetime(2024, 3, 15, 10, 0, tzinfo=MOSCOW), 0, 5_000, 50_000),
        # Saturday: no happy hours, and only 20 % payable by bonuses.
        (datetime(2024, 3, 16, 10, 0, tzinfo=MOSCOW), 0, 5_000, 20_000),
    ],
)
def test_happy_hours_mon_thu_9_12_moscow(
    now: datetime, discount: int, accrual: int, max_redeem: int
) -> None:
    """Happy hours Mon–Thu 9:00–12:00 local raise discount and accrual; weekdays allow
    spending more bonuses than weekends."""
    quote = calculate(happy_hours(), customer(balance=10**6), one_line(100_000), now, MOSCOW)
    assert quote.discount == discount
    assert quote.accrual == accrual
    assert quote.max_redeem == max_redeem


def test_happy_hours_use_the_store_zone() -> None:
    """06:30 UTC is 09:30 in Moscow (happy hours) but 13:30 in Novosibirsk (not)."""
    instant = datetime(2024, 3, 11, 6, 30, tzinfo=UTC)
    moscow = calculate(happy_hours(), customer(), one_line(100_000), instant, MOSCOW)
    novosibirsk = calculate(happy_hours(), customer(), one_line(100_000), instant, NOVOSIBIRSK)
    assert moscow.discount == 10_000
    assert "Счастливые часы" in moscow.applied_rules
    assert novosibirsk.discount == 0
    assert "Скидка 10 %: 100,00 ₽" in moscow.messages


def test_hours_window_across_midnight() -> None:
    """A 22:00–02:00 window holds at 23:00 and 01:59 and not at 02:00 or 21:59."""
    program = single(
        modifiers=[
            {
                "code": "night",
                "name": "Ночь",
                "when": {"hours": {"start": "22:00", "end": "02:00"}},
                "accrual_percent": "9",
            }
        ]
    )
    for hour, minute, accrual in ((23, 0, 900), (1, 59, 900), (2, 0, 500), (21, 59, 500)):
        now = datetime(2024, 3, 11, hour, minute, tzinfo=MOSCOW)
        assert calculate(program, customer(), one_line(10_000), now, MOSCOW).accrual == accrual


def test_category_scoped_modifier_discounts_only_its_lines() -> None:
    """A happy-hours discount of 20 % on services only: 200,00 off a 1 000,00 service and
    nothing off a 500,00 product; the message shows the amount without one percentage."""
    program = single(
        modifiers=[
            {
                "code": "spa",
                "name": "Утро в SPA",
                "goods": {"categories": ["services"]},
                "discount_percent": "20",
            }
        ]
    )
    lines = [
        Line("massage", 100_000, ONE, 100_000, "services"),
        Line("oil", 50_000, ONE, 50_000, "goods"),
    ]
    quote = calculate(program, customer(), lines, MONDAY, MOSCOW)
    assert [line.discount for line in quote.lines] == [20_000, 0]
    assert "Скидка 20 %: 200,00 ₽" in quote.messages


# ---- birthday -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birthday", "day", "accrual"),
    [
        (date(1990, 3, 14), date(2024, 3, 11), 1_000),  # 3 days before
        (date(1990, 3, 14), date(2024, 3, 10), 500),  # 4 days before
        (date(1990, 3, 14), date(2024, 3, 17), 1_000),  # 3 days after
        (date(1990, 3, 14), date(2024, 3, 18), 500),
        (date(1985, 1, 2), date(2023, 12, 30), 1_000),  # across New Year, before
        (date(1985, 12, 30), date(2024, 1, 2), 1_000),  # across New Year, after
        (date(2000, 2, 29), date(2023, 2, 25), 1_000),  # 28.02 in a common year
        (date(2000, 2, 29), date(2023, 3, 3), 1_000),
        (date(2000, 2, 29), date(2023, 3, 4), 500),
        (date(2000, 2, 29), date(2024, 3, 3), 1_000),  # 29.02 in a leap year
        (date(2000, 2, 29), date(2024, 3, 4), 500),
    ],
)
def test_birthday_window_three_days(birthday: date, day: date, accrual: int) -> None:
    """10 % instead of 5 % from 3 days before to 3 days after the birthday, local date."""
    now = datetime.combine(day, datetime.min.time(), tzinfo=MOSCOW).replace(hour=12)
    buyer = customer(birthday=birthday)
    assert calculate(birthday_window(), buyer, one_line(10_000), now, MOSCOW).accrual == accrual
    assert in_birthday_window(birthday, day, 3, 3) == (accrual == 1_000)


def test_birthday_window_uses_local_date_and_needs_a_birthday() -> None:
    """10.03 22:30 UTC is already 11.03 in Moscow (inside the window for a 14.03
    birthday); without a known birthday or a customer the base rate applies."""
    late = datetime(2024, 3, 10, 22, 30, tzinfo=UTC)
    buyer = customer(birthday=date(1990, 3, 14))
    assert calculate(birthday_window(), buyer, one_line(10_000), late, MOSCOW).accrual == 1_000
    assert calculate(birthday_window(), buyer, one_line(10_000), late, UTC).accrual == 500
    assert calculate(birthday_window(), customer(), one_line(10_000), late, MOSCOW).accrual == 500


# ---- days since the previous purchase -------------------------------------------------


@pytest.mark.parametrize(
    ("last", "now", "discount"),
    [
        # 04.03 23:00 Moscow -> 11.03: 7 local days: 8 %.
        (datetime(2024, 3, 4, 20, 0, tzinfo=UTC), MONDAY, 8_000),
        # 12.03 is 8 days later: 3 %.
        (datetime(2024, 3, 4, 20, 0, tzinfo=UTC), datetime(2024, 3, 12, 10, tzinfo=MOSCOW), 3_000),
        # 04.03 21:30 UTC is 05.03 00:30 in Moscow: 6 days.
        (datetime(2024, 3, 4, 21, 30, tzinfo=UTC), MONDAY, 8_000),
        # The same local day counts as 0 days.
        (datetime(2024, 3, 11, 6, 0, tzinfo=UTC), MONDAY, 8_000),
        # First purchase: no previous one.
        (None, MONDAY, 3_000),
    ],
)
def test_days_since_last_purchase(last: datetime | None, now: datetime, discount: int) -> None:
    """Within 7 local days of the previous purchase the discount is 8 % instead of 3 %
    (1 000,00 receipt)."""
    buyer = customer(last_purchase_at=last)
    quote = calculate(since_last_purchase(), buyer, one_line(100_000), now, MOSCOW)
    assert quote.discount == discount


# ---- quantity promotions --------------------------------------------------------------


def test_three_for_two_on_a_line_of_five() -> None:
    """3 for 2, five units at 100,00: one complete group of three, one unit free:
    100,00 off; the two units of the incomplete group pay full price. In unit-price mode
    the terminal gets 80,00 x 5 = 400,00."""
    lines = [Line("cola", 10_000, Decimal(5), 50_000, sku="cola")]
    quote = calculate(quantity(3, "100"), None, lines, MONDAY, MOSCOW)
    assert quote.lines[0].discount == 10_000
    assert quote.applied_rules == ("3 за 2",)
    exact = calculate(quantity(3, "100"), None, lines, MONDAY, MOSCOW, unit_price_exact=True)
    assert exact.lines[0].unit_price_after_discount == 8_000


def test_every_second_item_half_price_on_a_line_of_five() -> None:
    """Every second unit -50 %, five units at 100,00: units 2 and 4 at half price:
    100,00 off."""
    lines = [Line("cola", 10_000, Decimal(5), 50_000, sku="cola")]
    quote = calculate(quantity(2, "50"), None, lines, MONDAY, MOSCOW)
    assert quote.lines[0].discount == 10_000


def test_quantity_promotions_across_two_lines_of_one_sku() -> None:
    """Two lines of the same SKU, 2 x 120,00 and 3 x 100,00, are one run of five units,
    dearest first: 120, 120, 100, 100, 100. 3 for 2 frees the third unit (a 100,00 of
    the second line); every second -50 % halves units 2 (120,00 -> 60,00 off the first
    line) and 4 (50,00 off the second)."""
    lines = [
        Line("a", 12_000, Decimal(2), 24_000, sku="cola"),
        Line("b", 10_000, Decimal(3), 30_000, sku="cola"),
    ]
    three = calculate(quantity(3, "100"), None, lines, MONDAY, MOSCOW)
    assert [line.discount for line in three.lines] == [0, 10_000]
    half = calculate(quantity(2, "50"), None, lines, MONDAY, MOSCOW)
    assert [line.discount for line in half.lines] == [6_000, 5_000]


def test_quantity_promotion_groups() -> None:
    """Per SKU, 2 + 2 units of different SKUs make no group of three; pooled they do and
    the cheapest unit (50,00) is free. Lines without a SKU are groups of their own, and a
    line sold by weight takes no part."""
    lines = [
        Line("a", 10_000, Decimal(2), 20_000, sku="cola"),
        Line("b", 5_000, Decimal(2), 10_000, sku="juice"),
    ]
    assert calculate(quantity(3, "100"), None, lines, MONDAY, MOSCOW).discount == 0
    pooled = calculate(quantity(3, "100", group_by="pool"), None, lines, MONDAY, MOSCOW)
    assert [line.discount for line in pooled.lines] == [0, 5_000]
    no_sku = [Line("a", 10_000, Decimal(2), 20_000), Line("b", 10_000, Decimal(2), 20_000)]
    assert calculate(quantity(3, "100"), None, no_sku, MONDAY, MOSCOW).discount == 0
    weighed = [Line("cheese", 100_000, Decimal("3.5"), 350_000, sku="cheese")]
    assert calculate(quantity(3, "100"), None, weighed, MONDAY, MOSCOW).discount == 0


def test_quantity_promotion_with_the_tier_discount() -> None:
    """3 for 2 on 3 x 100,00 with a 10 % tier discount: 100,00 free, then 10 % of the
    200,00 left = 20,00 (120,00 in all); without combining only the 100,00. A floor of
    250,00 keeps the line at 250,00."""
    lines = [Line("a", 10_000, Decimal(3), 30_000, sku="x")]
    combined = calculate(quantity(3, "100", discount="10"), None, lines, MONDAY, MOSCOW)
    assert combined.discount == 12_000
    alone = quantity(3, "100", discount="10", combine=False)
    assert calculate(alone, None, lines, MONDAY, MOSCOW).discount == 10_000
    floored = [Line("a", 10_000, Decimal(3), 30_000, sku="x", floor=25_000)]
    assert calculate(alone, None, floored, MONDAY, MOSCOW).discount == 5_000


def test_settle_does_not_apply_quantity_promotions_again() -> None:
    """A closed receipt is already charged: no discount of ours on confirm."""
    lines = [Line("cola", 10_000, Decimal(5), 40_000, sku="cola")]
    assert settle(quantity(3, "100"), None, lines, 0, MONDAY, MOSCOW).discount == 0


# ---- follow-up offer ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "discount", "accrual"),
    [
        # 10 days after 01.03: 5 % off 1 000,00 = 50,00; 5 % x 2 of 950,00 = 95,00.
        (datetime(2024, 3, 11, 10, tzinfo=MOSCOW), 5_000, 9_500),
        (datetime(2024, 3, 31, 23, 59, tzinfo=MOSCOW), 5_000, 9_500),  # the 30th day
        (datetime(2024, 4, 1, 0, 0, tzinfo=MOSCOW), 0, 5_000),  # the 31st day
        (datetime(2024, 3, 1, 18, 0, tzinfo=MOSCOW), 0, 5_000),  # the same day
    ],
)
def test_follow_up_offer(now: datetime, discount: int, accrual: int) -> None:
    """After a purchase on 01.03, from 02.03 through 31.03 (30 days): double bonuses and
    an extra 5 % discount."""
    buyer = customer(last_purchase_at=datetime(2024, 3, 1, 12, tzinfo=MOSCOW))
    quote = calculate(follow_up(), buyer, one_line(100_000), now, MOSCOW)
    assert (quote.discount, quote.accrual) == (discount, accrual)
    assert ("Персональное предложение" in quote.applied_rules) == bool(discount)


def test_follow_up_offer_window_and_reminder() -> None:
    """The offer of a purchase on 01.03 runs 02.03–31.03; the reminder goes out 10 days
    before its last day, on 21.03; a program without an offer has neither."""
    bought = datetime(2024, 3, 1, 12, tzinfo=MOSCOW)
    assert follow_up_offer_window(follow_up(), bought, MOSCOW) == (
        date(2024, 3, 2),
        date(2024, 3, 31),
    )
    assert follow_up_reminder_date(follow_up(), bought, MOSCOW) == date(2024, 3, 21)
    assert follow_up_offer_window(brackets(), bought, MOSCOW) is None


# ---- spend over a period --------------------------------------------------------------


def test_spend_over_period_15_or_5_percent() -> None:
    """More than 30 000 ₽ over the window -> 15 %, exactly 30 000,00 -> 5 %."""
    lines = one_line(100_000)
    regular = customer(period_purchases=3_000_001)
    assert calculate(spend_over_period(), regular, lines, MONDAY, MOSCOW).accrual == 15_000
    edge = customer(period_purchases=3_000_000)
    assert calculate(spend_over_period(), edge, lines, MONDAY, MOSCOW).accrual == 5_000


def test_spend_window_for_the_service() -> None:
    """The service reads ``spend_window_days`` (None without a period rule) and sums from
    local midnight 89 days before today: 13.12.2023 00:00 Moscow = 12.12 21:00 UTC."""
    assert spend_window_days(spend_over_period()) == 90
    assert spend_window_days(brackets()) is None
    assert spend_window_start(spend_over_period(), MONDAY, MOSCOW) == datetime(
        2023, 12, 12, 21, 0, tzinfo=UTC
    )
    assert spend_window_start(brackets(), MONDAY, MOSCOW) is None


# ---- stacking -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "accrual", "rules"),
    [
        # Candidates 7,5 %, 8 %, 8 %: the best is 8 % (the first to reach it).
        ("best", 8_000, ("8 %",)),
        # Gains +2,5 +3 +3 over 5 %: 13,5 %.
        ("sum", 13_500, ("Полуторные бонусы", "8 %", "+3 %")),
        # The first in list order: x1,5 = 7,5 %.
        ("priority", 7_500, ("Полуторные бонусы",)),
    ],
)
def test_stacking_modes(mode: str, accrual: int, rules: tuple[str, ...]) -> None:
    """Three modifiers that all apply combine as the program says (1 000,00 receipt)."""
    quote = calculate(stacking(mode), customer(), one_line(100_000), MONDAY, MOSCOW)
    assert quote.accrual == accrual
    assert quote.applied_rules == rules


def test_summed_rates_stop_at_100_percent() -> None:
    """Summed shares past 100 % are capped: 80 % + 20 % + 20 % lets the whole receipt be
    paid by bonuses, and no more."""
    program = single(
        max_redeem="80",
        stacking="sum",
        modifiers=[
            {"code": "a", "name": "A", "extra_max_redeem_percent": "20"},
            {"code": "b", "name": "B", "extra_max_redeem_percent": "20"},
        ],
    )
    assert calculate(program, customer(10**6), one_line(100_000), MONDAY, MOSCOW).max_redeem == (
        100_000
    )


def test_priority_can_lower_a_rate_best_cannot() -> None:
    """A weekend rule setting the share to 10 % (below the tier's 50 %) applies under
    ``priority`` and is ignored under ``best``."""
    rule = {
        "code": "weekend",
        "name": "Выходные",
        "when": {"weekdays": [6, 7]},
        "max_redeem_percent": "10",
    }
    saturday = datetime(2024, 3, 16, 12, tzinfo=MOSCOW)
    for mode, cap in (("priority", 10_000), ("best", 50_000)):
        program = single(max_redeem="50", stacking=mode, modifiers=[rule])
        quote = calculate(program, customer(10**6), one_line(100_000), saturday, MOSCOW)
        assert quote.max_redeem == cap


def test_per_bonus_tier_takes_a_multiplier() -> None:
    """ "1 bonus per 30 ₽" doubled is 1 per 15 ₽: 1 259,00 -> 83 whole bonuses."""
    program = fixture("05_vintage")
    doubled = Program.model_validate(
        {
            **program.model_dump(mode="json"),
            "modifiers": [{"code": "x2", "name": "Двойные бонусы", "accrual_multiplier": "2"}],
        }
    )
    buyer = CustomerSnapshot(1, "standard", 0, 0)
    assert calculate(program, buyer, one_line(125_900), MONDAY, MOSCOW).accrual == 4_100
    assert calculate(doubled, buyer, one_line(125_900), MONDAY, MOSCOW).accrual == 8_300


def test_settle_applies_accrual_modifiers() -> None:
    """On confirm the happy-hours accrual (7 % of 1 000,00) and the weekday share still
    apply; the discount does not."""
    now = datetime(2024, 3, 11, 9, 30, tzinfo=MOSCOW)
    closed = settle(happy_hours(), customer(), one_line(100_000), 0, now, MOSCOW)
    assert (closed.discount, closed.accrual) == (0, 7_000)
    assert closed.applied_rules == ("Счастливые часы", "Будни")
