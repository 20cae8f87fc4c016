"""What every operation shows the same way: quote lines, the customer summary, the level
and balance lines, store-local times."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from cloud import engine
from cloud.engine import types as et
from schemas import checkout as wire
from schemas.money import to_roubles
from schemas.program import Program

MILLI = Decimal(1000)


# Responses are built from the engine's own integers with model_construct: validating
# what we just computed cost a fifth of a calculation (bench/RESULTS.md).
def quote_lines(lines: tuple[et.QuoteLine, ...]) -> list[wire.QuoteLine]:
    return [
        wire.QuoteLine.model_construct(
            id=line.id,
            amount=to_roubles(line.amount),
            discount=to_roubles(line.discount),
            amount_after_discount=to_roubles(line.amount_after_discount),
            unit_price_after_discount=(
                None
                if line.unit_price_after_discount is None
                else to_roubles(line.unit_price_after_discount)
            ),
            max_redeem=to_roubles(line.max_redeem),
            redeem=to_roubles(line.redeem),
            accrual=to_roubles(line.accrual),
        )
        for line in lines
    ]


def customer_summary(
    program: Program, customer_id: int, tier_code: str | None, balance: int
) -> wire.CustomerSummary:
    tier = program.tier(tier_code)
    return wire.CustomerSummary.model_construct(
        id=customer_id,
        tier=tier_code,
        tier_name=tier.name if tier else None,
        balance=to_roubles(balance),
    )


LEVEL_PREFIX = "Уровень: "
"""The engine's level line. One rule everywhere: a tier is named only for a customer —
on a receipt the tier that prices it for them (after the sale, on confirm), as
``tier`` and as this line; on the customer endpoints the tier they hold (``null``
until given). An anonymous receipt has no customer, so neither a ``tier`` nor a level
line (it used to print the entry tier's name as if someone held it)."""


def shown_tier(customer: et.CustomerSnapshot | None, quote_tier: str | None) -> str | None:
    """The tier a quote names: none without a customer."""
    return None if customer is None else quote_tier


def without_level(lines: Sequence[str]) -> list[str]:
    return [line for line in lines if not line.startswith(LEVEL_PREFIX)]


def with_level(lines: Sequence[str], program: Program, tier_code: str | None) -> list[str]:
    """``lines`` with the level line naming ``tier_code`` (none without a tier)."""
    tier = program.tier(tier_code) if tier_code is not None else None
    if tier is None:
        return without_level(lines)
    return [LEVEL_PREFIX + tier.name if line.startswith(LEVEL_PREFIX) else line for line in lines]


def local_time(instant: datetime, tz: ZoneInfo) -> datetime:
    """One rule for instants on the native API: the store's local time with its offset,
    to the second (as the customer endpoints answer)."""
    return instant.astimezone(tz).replace(microsecond=0)


_BALANCE_PREFIX = "Баланс: "


def with_balance(messages: list[str], balance: int) -> list[str]:
    """The cashier's balance line as after the sale, as the slip prints it (the engine
    priced the receipt with the balance before it)."""
    line = f"{_BALANCE_PREFIX}{engine.format_roubles(balance)} бонусов"
    return [line if message.startswith(_BALANCE_PREFIX) else message for message in messages]
