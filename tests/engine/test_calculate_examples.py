"""Hand-computed receipts for the example programs of programs.md."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from cloud.engine import CustomerSnapshot, EngineError, Line, calculate, compile_program, settle
from schemas.program import Program
from tests.engine.programs import (
    center_zolota,
    niarmedik_discount,
    program,
    vintage,
    vip_service,
    with_step,
)

NOVOSIBIRSK = ZoneInfo("Asia/Novosibirsk")
NOW = datetime(2024, 3, 10, 23, 30, tzinfo=NOVOSIBIRSK)
ONE = Decimal(1)


def zolota_receipt() -> list[Line]:
    return [
        Line("ring", 1_200_000, ONE, 1_200_000),
        Line("chain", 500_000, ONE, 500_000, category="stopcena"),
        Line("earrings", 300_050, ONE, 300_050),
    ]


def test_center_zolota_quote() -> None:
    """Золотая, balance 10 000; ring 12 000,00, chain 5 000,00 in СтопЦена, earrings
    3 000,50.

    Caps at 30 %: ring 3 600,00, chain 0 (promo), earrings 900,15 -> 4 500,15.
    Paying 3 000,00 spreads by the caps: ring 300000*360000/450015 = 239 992,0003 ->
    239 992; earrings 300000*90015/450015 = 60 007,9997 -> 60 007 + the last kopeck
    (larger remainder) = 60 008.
    Accrual 10 % of the money paid: bases 960 008 + 500 000 + 240 042 = 1 700 050 ->
    170 005 kopecks = 1 700,05, spread 96 000,8 / 50 000 / 24 004,2 -> 96 001 / 50 000 /
    24 004. Lifetime 300 days: lapses 04.01.2025 00:00 local."""
    customer = CustomerSnapshot(1, "gold", 3_000_000, 1_000_000)
    quote = calculate(center_zolota(), customer, zolota_receipt(), NOW, NOVOSIBIRSK, redeem=300_000)
    assert [line.max_redeem for line in quote.lines] == [360_000, 0, 90_015]
    assert quote.max_redeem == 450_015
    assert [line.redeem for line in quote.lines] == [239_992, 0, 60_008]
    assert [line.accrual for line in quote.lines] == [96_001, 50_000, 24_004]
    assert quote.accrual == 170_005
    assert quote.discount == 0
    assert quote.tier_code == "gold"
    assert quote.accrual_available_from == NOW
    assert quote.accrual_expires_at == datetime(2025, 1, 4, tzinfo=NOVOSIBIRSK)
    assert quote.messages == (
        "Уровень: Золотая",
        "Баланс: 10 000,00 бонусов",
        "Можно списать до 4 500,15 бонусов",
        "Оплата бонусами: 3 000,00",
        "Будет начислено 1 700,05 бонусов",
    )
    assert "Бонусы действуют до 03.01.2025 включительно" in quote.slip


def test_center_zolota_diamond_and_balance_cap() -> None:
    """Бриллиантовая accrues 15 %: 20 000,50 * 15 % = 3 000,075 -> floored 3 000,07.
    A balance of 1 000,00 caps what may be spent below the 4 500,15 of line caps, and
    asking for more is refused with the allowed amount."""
    customer = CustomerSnapshot(1, "diamond", 6_000_000, 100_000)
    quote = calculate(center_zolota(), customer, zolota_receipt(), NOW, NOVOSIBIRSK)
    assert quote.accrual == 300_007
    assert quote.max_redeem == 100_000
    with pytest.raises(EngineError) as error:
        calculate(center_zolota(), customer, zolota_receipt(), NOW, NOVOSIBIRSK, redeem=100_001)
    assert error.value.code == "redeem_exceeds_limit"
    assert "1 000,00" in error.value.message


def test_no_customer_cannot_spend() -> None:
    """Without a customer there is no balance: max_redeem is 0 though lines have caps."""
    quote = calculate(center_zolota(), None, zolota_receipt(), NOW, NOVOSIBIRSK)
    assert quote.max_redeem == 0
    assert sum(line.max_redeem for line in quote.lines) == 450_015
    with pytest.raises(EngineError):
        calculate(center_zolota(), None, zolota_receipt(), NOW, NOVOSIBIRSK, redeem=100)


def vip_receipt() -> list[Line]:
    return [
        Line("wash", 150_000, ONE, 150_000, category="wash"),
        Line("repair", 400_000, ONE, 400_000),
    ]


def test_vip_service_no_accrual_when_redeeming() -> None:
    """VIP сервис: bonuses pay only car-wash services, up to 50 % (wash 1 500,00 -> 750,00;
    repair 0). Spending 500,00 accrues nothing; spending nothing accrues 10 % of
    5 500,00 = 550,00."""
    customer = CustomerSnapshot(1, "std", 0, 200_000)
    quote = calculate(vip_service(), customer, vip_receipt(), NOW, NOVOSIBIRSK, redeem=50_000)
    assert [line.max_redeem for line in quote.lines] == [75_000, 0]
    assert [line.redeem for line in quote.lines] == [50_000, 0]
    assert quote.accrual == 0
    assert all(line.accrual == 0 for line in quote.lines)
    assert quote.accrual_available_from is None and quote.accrual_expires_at is None
    assert "При оплате бонусами бонусы не начисляются" in quote.messages

    plain = calculate(vip_service(), customer, vip_receipt(), NOW, NOVOSIBIRSK)
    assert plain.accrual == 55_000
    assert [line.accrual for line in plain.lines] == [15_000, 40_000]


def vintage_receipt() -> list[Line]:
    return [Line("cut", 100_000, ONE, 100_000), Line("care", 25_900, ONE, 25_900)]


def test_vintage_one_bonus_per_30_roubles() -> None:
    """Винтаж Стандартная, 1 bonus per 30 ₽: 1 259,00 -> 41 whole bonuses (41,97),
    spread by base: 3 256,55 / 843,45 -> 3 257 / 843 kopecks.
    Paying 200,00 (caps 20 %: 200,00 + 51,80): spread 15 885,6 / 4 114,4 -> 15 886 /
    4 114; money paid 1 059,00 -> 35 bonuses. Next-day activation in Novosibirsk at 23:30
    -> 11.03 00:00 local."""
    customer = CustomerSnapshot(1, "t0", 0, 100_000)
    quote = calculate(vintage(), customer, vintage_receipt(), NOW, NOVOSIBIRSK)
    assert quote.accrual == 4_100
    assert [line.accrual for line in quote.lines] == [3_257, 843]
    assert quote.max_redeem == 25_180
    assert quote.accrual_available_from == datetime(2024, 3, 11, tzinfo=NOVOSIBIRSK)
    assert "Бонусы станут доступны 11.03.2024" in quote.messages

    paid = calculate(vintage(), customer, vintage_receipt(), NOW, NOVOSIBIRSK, redeem=20_000)
    assert [line.redeem for line in paid.lines] == [15_886, 4_114]
    assert paid.accrual == 3_500


def test_redeem_step_rounds_down_and_is_enforced() -> None:
    """With a 10 ₽ step a balance of 1 234,56 allows 1 230,00; 1 225,00 is not a
    multiple of the step and is refused; 1 230,00 is accepted."""
    customer = CustomerSnapshot(1, "std", 0, 123_456)
    lines = [Line("a", 1_000_000, ONE, 1_000_000)]
    quote = calculate(with_step("10"), customer, lines, NOW, NOVOSIBIRSK)
    assert quote.max_redeem == 123_000
    with pytest.raises(EngineError) as error:
        calculate(with_step("10"), customer, lines, NOW, NOVOSIBIRSK, redeem=122_500)
    assert error.value.code == "redeem_step"
    assert calculate(with_step("10"), customer, lines, NOW, NOVOSIBIRSK, redeem=123_000).redeem


def test_discount_program_unit_price_exact() -> None:
    """НИАРМЕДИК as a discount, 7 % tier. Lines 333,34 x 3 = 1 000,02 and
    1 000,00 x 0,455 = 455,00. Receipt discount floor(1 455,02 * 7 %) = 101,85, spread
    70,0004 / 31,8496 -> 70,00 / 31,85. 1 000,02 - 70,00 = 930,02 is no multiple of 3
    kopecks, so line 1 takes 69,99 (310,01 x 3 = 930,03) and line 2 takes 31,86:
    455,00 - 31,86 = 423,14 = round(929,98 x 0,455 = 423,1409). No bonuses move."""
    customer = CustomerSnapshot(1, "d7", 3_200_000, 999_999)
    lines = [
        Line("pills", 33_334, Decimal(3), 100_002),
        Line("syrup", 100_000, Decimal("0.455"), 45_500),
    ]
    quote = calculate(
        niarmedik_discount(), customer, lines, NOW, NOVOSIBIRSK, unit_price_exact=True
    )
    assert [line.discount for line in quote.lines] == [6_999, 3_186]
    assert [line.unit_price_after_discount for line in quote.lines] == [31_001, 92_998]
    assert quote.discount == 10_185
    assert quote.amount_after_discount == 135_317
    assert quote.max_redeem == 0 and quote.accrual == 0
    assert "Скидка 7 %: 101,85 ₽" in quote.messages

    loose = calculate(niarmedik_discount(), customer, lines, NOW, NOVOSIBIRSK)
    assert [line.discount for line in loose.lines] == [7_000, 3_185]
    assert all(line.unit_price_after_discount is None for line in loose.lines)


def test_discount_respects_floor_and_category() -> None:
    """Discount+bonus program, 10 %: a line in a no-discount category gets none, a line
    with a minimum price keeps its floor and its share passes to the other line."""
    both = program(
        name="Смешанная",
        kind="bonus_and_discount",
        tiers=[
            {"code": "s", "name": "Стандартная", "accrual_percent": "5", "discount_percent": "10"}
        ],
        categories={"tobacco": {"discount": False, "accrual": False, "redemption": False}},
    )
    lines = [
        Line("floor", 10_000, ONE, 10_000, floor=9_950),
        Line("free", 10_000, ONE, 10_000),
        Line("tobacco", 20_000, ONE, 20_000, category="tobacco"),
    ]
    quote = calculate(both, CustomerSnapshot(1, "s", 0, 0), lines, NOW, NOVOSIBIRSK)
    # 10 % of the 200,00 eligible = 20,00: the first line stops at 0,50 (its floor),
    # the second takes the remaining 19,50.
    assert [line.discount for line in quote.lines] == [50, 1_950, 0]
    assert [line.max_redeem for line in quote.lines] == [0, 8_050, 0]
    # Accrual 5 % of 99,50 + 80,50 = 9,00; tobacco accrues nothing.
    assert quote.accrual == 900
    assert quote.lines[2].accrual == 0


def test_whole_receipt_base_and_rounding_modes() -> None:
    """SIGMA's switch: 1 000,00 receipt, 200,00 paid by bonuses, 3,33 %: on the whole
    receipt the base is 1 000,00 -> 33,30; on money paid 800,00 -> 26,64. floor_bonus
    floors 33,30 to 33,00; half_up rounds 1 234,56 * 3,33 % = 41,110848 to 41,11."""

    def make(base: str, rounding: str) -> Program:
        return program(
            name="SIGMA",
            tiers=[{"code": "s", "name": "Стандартная", "accrual_percent": "3.33"}],
            accrual_base=base,
            accrual_rounding=rounding,
        )

    customer = CustomerSnapshot(1, "s", 0, 100_000)
    lines = [Line("a", 100_000, ONE, 100_000)]
    whole = calculate(
        make("whole_receipt", "floor_kopeck"), customer, lines, NOW, NOVOSIBIRSK, redeem=20_000
    )
    paid = calculate(
        make("money_paid", "floor_kopeck"), customer, lines, NOW, NOVOSIBIRSK, redeem=20_000
    )
    assert (whole.accrual, paid.accrual) == (3_330, 2_664)
    bonus = calculate(make("whole_receipt", "floor_bonus"), customer, lines, NOW, NOVOSIBIRSK)
    assert bonus.accrual == 3_300
    half = calculate(
        make("money_paid", "half_up_kopeck"),
        customer,
        [Line("b", 123_456, ONE, 123_456)],
        NOW,
        NOVOSIBIRSK,
    )
    assert half.accrual == 4_111


def test_anonymous_receipt_accrues_nothing() -> None:
    """Without a customer the quote still prices the lines but promises no bonuses."""
    quote = calculate(center_zolota(), None, zolota_receipt(), NOW, NOVOSIBIRSK)
    assert quote.accrual == 0
    assert all(line.accrual == 0 for line in quote.lines)
    assert "Клиент не указан: бонусы не начисляются" in quote.messages


def test_settle_takes_the_terminals_word() -> None:
    """Confirm of Центр Золота's receipt where the terminal took 9 000,00 in bonuses,
    more than the 4 500,15 of line caps: caps fill first (3 600,00 / 0 / 900,15), the
    excess 4 499,85 goes by room above the floor (840 000 / 500 000 / 210 035 kopecks):
    243 857,33 / 145 153,17 / 60 974,49 -> 243 857 / 145 153 / 60 975 (the last kopeck to
    the largest remainder, ,49). Money paid 11 000,50 -> accrual 10 % = 1 100,05."""
    customer = CustomerSnapshot(1, "gold", 0, 0)
    quote = settle(center_zolota(), customer, zolota_receipt(), 900_000, NOW, NOVOSIBIRSK)
    assert quote.redeem == 900_000
    assert sum(line.redeem for line in quote.lines) == 900_000
    assert [line.redeem for line in quote.lines] == [603_857, 145_153, 150_990]
    assert quote.max_redeem == 450_015
    assert quote.accrual == 110_005
    assert quote.discount == 0
    assert all(line.amount_after_discount == line.amount for line in quote.lines)


def test_settle_refuses_more_than_the_receipt() -> None:
    """Only a bonus payment above the receipt total is refused on confirm."""
    with pytest.raises(EngineError) as error:
        settle(center_zolota(), None, zolota_receipt(), 2_000_051, NOW, NOVOSIBIRSK)
    assert error.value.code == "redeem_exceeds_receipt"
    full = settle(center_zolota(), None, zolota_receipt(), 2_000_050, NOW, NOVOSIBIRSK)
    assert [line.redeem for line in full.lines] == [1_200_000, 500_000, 300_050]
    assert full.accrual == 0


def test_compiled_program_gives_the_same_quote() -> None:
    """The compiled form is only a cache: it prices exactly like the document."""
    customer = CustomerSnapshot(1, "gold", 0, 1_000_000)
    document = center_zolota()
    args = (customer, zolota_receipt(), NOW, NOVOSIBIRSK)
    assert calculate(compile_program(document), *args, redeem=100) == calculate(
        document, *args, redeem=100
    )


def test_now_in_utc_or_local_is_the_same_instant() -> None:
    """The engine depends on the instant, not on the zone ``now`` is expressed in."""
    customer = CustomerSnapshot(1, "t0", 0, 0)
    local = calculate(vintage(), customer, vintage_receipt(), NOW, NOVOSIBIRSK)
    utc = calculate(vintage(), customer, vintage_receipt(), NOW.astimezone(UTC), NOVOSIBIRSK)
    assert local.accrual_available_from == utc.accrual_available_from
