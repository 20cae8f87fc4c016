"""Example programs from programs.md as documents, shared by the engine tests."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from schemas.program import Program

_BONUS_ONLY = ("accrual_base", "no_accrual_when_redeeming", "accrual_rounding",
               "activation_delay_days", "lifetime_days", "expiry_warning_days", "redeem_step",
               "redeemable_goods", "redeem_requires_sms_code")  # fmt: skip


def fit_to_kind(document: dict[str, Any]) -> dict[str, Any]:
    """A generated document without the settings its ``kind`` refuses (a tier discount
    in a bonus program, anything about bonuses in a discount one)."""
    kind = document.get("kind", "bonus")
    fitted = {k: v for k, v in document.items() if kind != "discount" or k not in _BONUS_ONLY}
    tiers = []
    for tier in document["tiers"]:
        tier = dict(tier)
        if kind == "bonus":
            tier.pop("discount_percent", None)
        if kind == "discount":
            for name in ("accrual_percent", "accrual_roubles_per_bonus", "max_redeem_percent"):
                tier.pop(name, None)
        tiers.append(tier)
    fitted["tiers"] = tiers
    if kind == "discount" and "categories" in document:
        fitted["categories"] = {
            code: {k: v for k, v in rule.items() if k not in ("accrual_percent",
                                                              "max_redeem_percent")}
            for code, rule in document["categories"].items()
        }  # fmt: skip
    return fitted


def program(**fields: Any) -> Program:
    return Program.model_validate(fields)


def center_zolota() -> Program:
    """#1 Центр Золота: Золотая 10 %, Бриллиантовая 15 % over 50 000 lifetime; up to 30 %
    payable by bonuses, promo "СтопЦена" goods not at all; 300 days lifetime."""
    return program(
        name="Центр Золота",
        tiers=[
            {
                "code": "gold",
                "name": "Золотая",
                "accrual_percent": "10",
                "max_redeem_percent": "30",
            },
            {
                "code": "diamond",
                "name": "Бриллиантовая",
                "accrual_percent": "15",
                "max_redeem_percent": "30",
                "purchases_over": "50000",
            },
        ],
        categories={"stopcena": {"redemption": False}},
        lifetime_days=300,
        expiry_warning_days=7,
    )


def vip_service() -> Program:
    """#9 VIP сервис: 10/15/20 %, bonuses only on car-wash services up to 50 %, nothing
    accrues on a receipt partly paid by bonuses."""
    return program(
        name="VIP сервис",
        tiers=[
            {
                "code": "std",
                "name": "Стандартная",
                "accrual_percent": "10",
                "max_redeem_percent": "0",
            },
            {
                "code": "gold",
                "name": "Золотая",
                "accrual_percent": "15",
                "max_redeem_percent": "0",
                "purchases_over": "30000",
            },
            {
                "code": "vip",
                "name": "VIP",
                "accrual_percent": "20",
                "max_redeem_percent": "0",
                "purchases_over": "60000",
            },
        ],
        tier_assignment="registration",
        categories={"wash": {"max_redeem_percent": "50"}},
        no_accrual_when_redeeming=True,
        lifetime_days=180,
    )


def vintage() -> Program:
    """#5 Винтаж: 1 bonus per 30/20/15/10/5 ₽, up to 20 %, next day, 60 days."""
    per = ["30", "20", "15", "10", "5"]
    names = ["Стандартная", "Серебряная", "Золотая", "Платиновая", "VIP"]
    over = [None, "30000", "50000", "80000", "100000"]
    return program(
        name="Винтаж",
        tiers=[
            {
                "code": f"t{i}",
                "name": names[i],
                "accrual_roubles_per_bonus": per[i],
                "max_redeem_percent": "20",
                **({"purchases_over": over[i]} if over[i] else {}),
            }
            for i in range(5)
        ],
        activation_delay_days=1,
        lifetime_days=60,
        expiry_warning_days=14,
    )


def niarmedik_discount() -> Program:
    """#14 НИАРМЕДИК as a cumulative discount: 5/7/10/15/20 %."""
    percents = ["5", "7", "10", "15", "20"]
    over = [None, "31000", "51000", "101000", "151000"]
    return program(
        name="НИАРМЕДИК",
        kind="discount",
        tiers=[
            {
                "code": f"d{percents[i]}",
                "name": f"Скидка {percents[i]} %",
                "discount_percent": percents[i],
                **({"purchases_over": over[i]} if over[i] else {}),
            }
            for i in range(5)
        ],
        tier_assignment="registration",
    )


def with_step(step: str) -> Program:
    return program(
        name="Кратность",
        tiers=[{"code": "std", "name": "Стандартная", "accrual_percent": "5"}],
        redeem_step=Decimal(step),
    )


FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "programs"


def fixture(slug: str) -> Program:
    """A program of fixtures/programs by its file name without ``.json``."""
    return Program.model_validate_json((FIXTURES / f"{slug}.json").read_text(encoding="utf-8"))


def single(
    accrual: str = "5", discount: str = "0", max_redeem: str = "100", **fields: Any
) -> Program:
    """One tier, discount and bonus, plus the given rules."""
    return program(
        name="Правила",
        kind="bonus_and_discount",
        tiers=[
            {
                "code": "std",
                "name": "Стандартная",
                "accrual_percent": accrual,
                "discount_percent": discount,
                "max_redeem_percent": max_redeem,
            }
        ],
        **fields,
    )


def brackets() -> Program:
    """Accrual by receipt sum: < 500 ₽ -> 3 %, 500–1 000 ₽ -> 6 %, > 1 000 ₽ -> 12 %."""
    return program(
        name="Бонусы от суммы чека",
        tiers=[{"code": "std", "name": "Стандартная", "accrual_percent": "3"}],
        modifiers=[
            {
                "code": "mid",
                "name": "Чек от 500 ₽",
                "when": {"receipt_amount": {"at_least": "500", "at_most": "1000"}},
                "accrual_percent": "6",
            },
            {
                "code": "big",
                "name": "Чек больше 1 000 ₽",
                "when": {"receipt_amount": {"over": "1000"}},
                "accrual_percent": "12",
            },
        ],
    )


def happy_hours() -> Program:
    """Mon–Thu 9:00–12:00: 10 % discount and 7 % accrual instead of 0 % and 5 %;
    on weekdays up to 50 % payable by bonuses, 20 % at weekends."""
    return single(
        max_redeem="20",
        modifiers=[
            {
                "code": "happy",
                "name": "Счастливые часы",
                "when": {"weekdays": [1, 2, 3, 4], "hours": {"start": "09:00", "end": "12:00"}},
                "discount_percent": "10",
                "accrual_percent": "7",
            },
            {
                "code": "weekdays",
                "name": "Будни",
                "when": {"weekdays": [1, 2, 3, 4, 5]},
                "max_redeem_percent": "50",
            },
        ],
    )


def birthday_window() -> Program:
    """10 % accrual instead of 5 % from 3 days before to 3 days after the birthday."""
    return program(
        name="День рождения",
        tiers=[{"code": "std", "name": "Стандартная", "accrual_percent": "5"}],
        modifiers=[
            {
                "code": "bday",
                "name": "День рождения",
                "when": {"birthday": {"days_before": 3, "days_after": 3}},
                "accrual_percent": "10",
            }
        ],
    )


def since_last_purchase() -> Program:
    """Discount 8 % instead of 3 % within 7 days of the previous purchase."""
    return single(
        discount="3",
        modifiers=[
            {
                "code": "again",
                "name": "Снова у нас",
                "when": {"days_since_last_purchase": {"at_most": 7}},
                "discount_percent": "8",
            }
        ],
    )


def quantity(
    group_size: int,
    percent: str,
    group_by: str = "sku",
    discount: str = "0",
    combine: bool = True,
) -> Program:
    """A discount program with one quantity promotion on every line."""
    return program(
        name="Количество",
        kind="discount",
        tiers=[{"code": "std", "name": "Стандартная", "discount_percent": discount}],
        quantity_promotions=[
            {
                "code": "qty",
                "name": f"{group_size} за {group_size - 1}" if percent == "100" else "Второй -50 %",
                "group_by": group_by,
                "group_size": group_size,
                "discount_percent": percent,
                "combine_with_discount": combine,
            }
        ],
    )


def follow_up() -> Program:
    """After a purchase, for 30 days: double bonuses and an extra 5 % discount."""
    return single(
        follow_up_offer={"days": 30, "reminder_days_before": 10},
        modifiers=[
            {
                "code": "offer",
                "name": "Персональное предложение",
                "when": {"follow_up_offer": True},
                "accrual_multiplier": "2",
                "extra_discount_percent": "5",
            }
        ],
    )


def spend_over_period() -> Program:
    """More than 30 000 ₽ over the last 90 days -> 15 % accrual, otherwise 5 %."""
    return program(
        name="Постоянным клиентам",
        tiers=[{"code": "std", "name": "Стандартная", "accrual_percent": "5"}],
        spend_window_days=90,
        modifiers=[
            {
                "code": "regular",
                "name": "Постоянный клиент",
                "when": {"period_purchases": {"over": "30000"}},
                "accrual_percent": "15",
            }
        ],
    )


def stacking(mode: str) -> Program:
    """Base 5 %; x1.5 (7,5 %), 8 % and +3 % (8 %), all unconditional, in that order."""
    return program(
        name="Сложение правил",
        stacking=mode,
        tiers=[{"code": "std", "name": "Стандартная", "accrual_percent": "5"}],
        modifiers=[
            {"code": "x15", "name": "Полуторные бонусы", "accrual_multiplier": "1.5"},
            {"code": "eight", "name": "8 %", "accrual_percent": "8"},
            {"code": "plus3", "name": "+3 %", "extra_accrual_percent": "3"},
        ],
    )


def single_receipt_tiers() -> Program:
    """Золотая when one receipt is >= 10 000 ₽, VIP when one receipt is >= 30 000 ₽."""
    return program(
        name="Уровень по чеку",
        tier_rule={"basis": "single_receipt"},
        tiers=[
            {"code": "std", "name": "Стандартная", "accrual_percent": "5"},
            {
                "code": "gold",
                "name": "Золотая",
                "accrual_percent": "7",
                "single_receipt_at_least": "10000",
            },
            {
                "code": "vip",
                "name": "VIP",
                "accrual_percent": "10",
                "single_receipt_at_least": "30000",
            },
        ],
    )
