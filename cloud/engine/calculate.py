"""Pricing a receipt: per-line discount, bonus payment, accrual, messages.

``calculate`` quotes an open receipt; ``settle`` prices a closed one from what the
terminal actually charged. Both are pure and deterministic (same input, same output) and
work in integer kopecks: every percentage is an exact scaled integer (see
``cloud.engine.compiled``), so the "exact Decimal" sums of the program's semantics are
computed as exact integer fractions and rounded once, with the program's mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo

from cloud.engine.compiled import (
    PERCENT_DENOMINATOR,
    CompiledCategory,
    CompiledProgram,
    CompiledTier,
    as_compiled,
)
from cloud.engine.distribution import distribute, fit_unit_prices
from cloud.engine.lifecycle import accrual_dates
from cloud.engine.text import format_date, format_percent, format_roubles
from cloud.engine.tiers import compiled_tier
from cloud.engine.types import CustomerSnapshot, EngineError, Line, Quote, QuoteLine
from schemas.program import Program

_BONUS = 100
"""Kopecks in one whole bonus."""
_HALF_KOPECK = PERCENT_DENOMINATOR // 2


def calculate(
    program: Program | CompiledProgram,
    customer: CustomerSnapshot | None,
    lines: Sequence[Line],
    now: datetime,
    tz: tzinfo,
    *,
    redeem: int = 0,
    unit_price_exact: bool = False,
) -> Quote:
    """Quote an open receipt.

    The tier's discount is one receipt-level amount, ``floor(eligible total x percent /
    100)``, spread over the eligible lines by largest remainder and never below a line's
    floor. With ``unit_price_exact`` the line discounts are adjusted so a terminal that
    takes a unit price reproduces every line total (see ``fit_unit_prices``; the total
    discount may shrink by a few kopecks that fit nowhere). ``max_redeem`` is the sum of
    the line caps, capped by the customer's balance (0 without a customer) and rounded
    down to the program's redeem step. ``redeem`` — the bonus payment asked for — must
    not exceed it and must be a multiple of the step (``EngineError`` otherwise); it is
    spread over the lines in proportion to their caps.
    """
    _require_aware(now)
    compiled = as_compiled(program)
    tier = compiled_tier(compiled, customer)
    amounts, floors, categories = _prepare(compiled, lines)
    count = len(lines)

    discount_caps = [amounts[i] - floors[i] if categories[i].discount else 0 for i in range(count)]
    discounts = [0] * count
    if compiled.gives_discount and tier.discount_percent:
        weights = [amounts[i] if categories[i].discount else 0 for i in range(count)]
        total = sum(weights) * tier.discount_percent // PERCENT_DENOMINATOR
        # Floors can make the percentage unreachable; the floor wins.
        total = min(total, sum(discount_caps))
        discounts = distribute(total, weights, discount_caps)
    unit_prices: list[int | None] = [None] * count
    if unit_price_exact:
        discounts, unit_prices = fit_unit_prices(
            [line.price for line in lines],
            [line.quantity for line in lines],
            amounts,
            discounts,
            discount_caps,
        )
    after = [amounts[i] - discounts[i] for i in range(count)]

    line_caps = _redeem_caps(compiled, tier, categories, after, floors)
    available = max(customer.available_bonuses, 0) if customer is not None else 0
    max_redeem = min(sum(line_caps), available)
    max_redeem -= max_redeem % compiled.redeem_step
    if redeem < 0:
        raise EngineError("redeem_negative", "Сумма списания не может быть отрицательной")
    if redeem > max_redeem:
        raise EngineError(
            "redeem_exceeds_limit",
            f"Можно списать не больше {format_roubles(max_redeem)} бонусов",
        )
    if redeem % compiled.redeem_step:
        raise EngineError(
            "redeem_step",
            f"Списывать можно только суммы, кратные {format_roubles(compiled.redeem_step)}",
        )
    redeems = distribute(redeem, line_caps, line_caps) if redeem else [0] * count

    return _quote(
        compiled,
        tier,
        customer,
        lines,
        categories,
        amounts,
        discounts,
        after,
        unit_prices,
        line_caps,
        max_redeem,
        redeems,
        redeem,
        now,
        tz,
        settled=False,
    )


def settle(
    program: Program | CompiledProgram,
    customer: CustomerSnapshot | None,
    lines: Sequence[Line],
    redeemed: int,
    now: datetime,
    tz: tzinfo,
) -> Quote:
    """Price a closed receipt from what the terminal charged.

    Line amounts are final (no discount of ours is applied: ``discount`` is 0 and
    ``amount_after_discount`` equals ``amount``). ``redeemed`` is the bonus payment the
    terminal actually took; the fiscal receipt is the truth, so it is not refused for
    exceeding the program's share. It is spread by largest remainder in proportion to
    the line caps; what exceeds their sum goes over the lines' remaining room above the
    floor, then down to zero. Only a payment above the receipt total is an
    ``EngineError``. ``max_redeem`` is the sum of line caps (no balance or step).
    """
    _require_aware(now)
    compiled = as_compiled(program)
    tier = compiled_tier(compiled, customer)
    amounts, floors, categories = _prepare(compiled, lines)
    count = len(lines)
    if redeemed < 0:
        raise EngineError("redeem_negative", "Сумма списания не может быть отрицательной")
    if redeemed > sum(amounts):
        raise EngineError(
            "redeem_exceeds_receipt",
            f"Списано бонусов больше суммы чека ({format_roubles(sum(amounts))})",
        )

    line_caps = _redeem_caps(compiled, tier, categories, amounts, floors)
    within = min(redeemed, sum(line_caps))
    redeems = distribute(within, line_caps, line_caps)
    excess = redeemed - within
    if excess:
        room = [amounts[i] - floors[i] - redeems[i] for i in range(count)]
        above_floor = min(excess, sum(room))
        for i, extra in enumerate(distribute(above_floor, room, room)):
            redeems[i] += extra
        excess -= above_floor
    if excess:
        room = [amounts[i] - redeems[i] for i in range(count)]
        for i, extra in enumerate(distribute(excess, room, room)):
            redeems[i] += extra

    return _quote(
        compiled,
        tier,
        customer,
        lines,
        categories,
        amounts,
        [0] * count,
        amounts,
        [None] * count,
        line_caps,
        sum(line_caps),
        redeems,
        redeemed,
        now,
        tz,
        settled=True,
    )


def _require_aware(now: datetime) -> None:
    # Day-based rules need an instant; a naive time would silently pick a zone.
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")


def _prepare(
    compiled: CompiledProgram, lines: Sequence[Line]
) -> tuple[list[int], list[int], list[CompiledCategory]]:
    amounts: list[int] = []
    floors: list[int] = []
    categories: list[CompiledCategory] = []
    for line in lines:
        amount = line.amount
        if amount < 0:
            raise EngineError(
                "invalid_line", f"Сумма позиции {line.id} не может быть отрицательной"
            )
        amounts.append(amount)
        # A floor above the amount (a price already below the minimum) just blocks the line.
        floors.append(min(max(line.floor, 0), amount))
        categories.append(compiled.category(line.category))
    return amounts, floors, categories


def _redeem_caps(
    compiled: CompiledProgram,
    tier: CompiledTier,
    categories: list[CompiledCategory],
    after: list[int],
    floors: list[int],
) -> list[int]:
    """Per line: floor(amount after discount x share / 100), never past the floor."""
    if not compiled.accrues_bonuses:
        return [0] * len(after)
    caps: list[int] = []
    tier_share = tier.max_redeem_percent
    for category, amount, floor in zip(categories, after, floors, strict=True):
        if not category.redemption:
            caps.append(0)
            continue
        share = category.max_redeem_percent
        if share is None:
            share = tier_share
        caps.append(min(amount * share // PERCENT_DENOMINATOR, amount - floor))
    return caps


def _accruals(
    compiled: CompiledProgram,
    tier: CompiledTier,
    categories: list[CompiledCategory],
    after: list[int],
    redeems: list[int],
) -> list[int]:
    """Line accruals summing to the receipt's accrual, rounded once."""
    count = len(after)
    per_bonus = tier.roubles_per_bonus
    # One bonus per N roubles with N = roubles_num / roubles_den: a line's exact accrual
    # is base * roubles_den / roubles_num kopecks; a percentage line's is
    # base * pct / 10**6. Weights bring both to one integer scale (x 10**6 x roubles_num).
    roubles_num, roubles_den = per_bonus if per_bonus is not None else (1, 1)
    money_paid = compiled.accrue_on_money_paid
    tier_percent = tier.accrual_percent
    percent_sum = 0
    per_bonus_base = 0
    weights = [0] * count
    for i in range(count):
        category = categories[i]
        if not category.accrual:
            continue
        base = after[i] - redeems[i] if money_paid else after[i]
        if base <= 0:
            continue
        percent = category.accrual_percent
        if percent is None:
            percent = tier_percent
        if percent is not None:
            percent_sum += base * percent
            weights[i] = base * percent * roubles_num
        elif per_bonus is not None:
            per_bonus_base += base
            weights[i] = base * roubles_den * PERCENT_DENOMINATOR

    rounding = compiled.accrual_rounding
    if rounding == "floor_kopeck":
        total = percent_sum // PERCENT_DENOMINATOR
    elif rounding == "half_up_kopeck":
        total = (percent_sum + _HALF_KOPECK) // PERCENT_DENOMINATOR
    else:
        total = percent_sum // (PERCENT_DENOMINATOR * _BONUS) * _BONUS
    # Whole bonuses already: adding them after rounding equals rounding the sum.
    total += per_bonus_base * roubles_den // (roubles_num * _BONUS) * _BONUS
    if not total:
        return [0] * count
    return distribute(total, weights, [total if weight else 0 for weight in weights])


def _quote(
    compiled: CompiledProgram,
    tier: CompiledTier,
    customer: CustomerSnapshot | None,
    lines: Sequence[Line],
    categories: list[CompiledCategory],
    amounts: list[int],
    discounts: list[int],
    after: list[int],
    unit_prices: list[int | None],
    line_caps: list[int],
    max_redeem: int,
    redeems: list[int],
    redeem: int,
    now: datetime,
    tz: tzinfo,
    *,
    settled: bool,
) -> Quote:
    suppressed = compiled.no_accrual_when_redeeming and redeem > 0
    # Bonuses accrue to a customer: an anonymous receipt earns nothing.
    if compiled.accrues_bonuses and not suppressed and customer is not None:
        accruals = _accruals(compiled, tier, categories, after, redeems)
    else:
        accruals = [0] * len(amounts)
    accrual = sum(accruals)
    available_from: datetime | None = None
    expires_at: datetime | None = None
    if accrual:
        available_from, expires_at = accrual_dates(compiled, now, tz)

    quote_lines = tuple(
        QuoteLine(
            id=line.id,
            amount=amounts[i],
            discount=discounts[i],
            amount_after_discount=after[i],
            unit_price_after_discount=unit_prices[i],
            max_redeem=line_caps[i],
            redeem=redeems[i],
            accrual=accruals[i],
        )
        for i, line in enumerate(lines)
    )
    amount = sum(amounts)
    discount = sum(discounts)
    messages, slip = _texts(
        compiled,
        tier,
        customer,
        discount=discount,
        max_redeem=max_redeem,
        redeem=redeem,
        accrual=accrual,
        suppressed=suppressed,
        available_from=available_from,
        expires_at=expires_at,
        now=now,
        tz=tz,
        settled=settled,
    )
    return Quote(
        lines=quote_lines,
        amount=amount,
        discount=discount,
        amount_after_discount=amount - discount,
        max_redeem=max_redeem,
        redeem=redeem,
        accrual=accrual,
        tier_code=tier.code,
        accrual_available_from=available_from,
        accrual_expires_at=expires_at,
        messages=messages,
        slip=slip,
    )


def _texts(
    compiled: CompiledProgram,
    tier: CompiledTier,
    customer: CustomerSnapshot | None,
    *,
    discount: int,
    max_redeem: int,
    redeem: int,
    accrual: int,
    suppressed: bool,
    available_from: datetime | None,
    expires_at: datetime | None,
    now: datetime,
    tz: tzinfo,
    settled: bool,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Cashier messages and slip lines, in Russian."""
    level = f"Уровень: {tier.tier.name}"
    messages = [level]
    slip = [level]
    if discount:
        percent = format_percent(tier.tier.discount_percent)
        messages.append(f"Скидка {percent} %: {format_roubles(discount)} ₽")
        slip.append(f"Скидка по карте: {format_roubles(discount)} ₽")
    if compiled.accrues_bonuses:
        if customer is None:
            messages.append("Клиент не указан: бонусы не начисляются")
        else:
            messages.append(f"Баланс: {format_roubles(customer.available_bonuses)} бонусов")
            if not settled:
                messages.append(f"Можно списать до {format_roubles(max_redeem)} бонусов")
        if redeem:
            messages.append(f"Оплата бонусами: {format_roubles(redeem)}")
            slip.append(f"Списано бонусов: {format_roubles(redeem)}")
        if suppressed:
            messages.append("При оплате бонусами бонусы не начисляются")
        elif accrual:
            verb = "Начислено" if settled else "Будет начислено"
            messages.append(f"{verb} {format_roubles(accrual)} бонусов")
            slip.append(f"Начислено бонусов: {format_roubles(accrual)}")
            if available_from is not None and available_from > now:
                day = format_date(available_from.astimezone(tz).date())
                messages.append(f"Бонусы станут доступны {day}")
                slip.append(f"Бонусы доступны с {day}")
            if expires_at is not None:
                last_day = expires_at.astimezone(tz).date() - timedelta(days=1)
                slip.append(f"Бонусы действуют до {format_date(last_day)} включительно")
    return tuple(messages), tuple(slip)
