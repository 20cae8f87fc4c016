"""Example programs from programs.md as documents, shared by the engine tests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from schemas.program import Program


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
