"""Inputs and outputs of the pure calculation engine.

All amounts are ``int`` kopecks (bonus units are the same minor units); quantities are
``Decimal`` with three places. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Line:
    """A receipt line as the engine sees it."""

    id: str
    price: int
    """Unit price before our discount, kopecks."""
    quantity: Decimal
    amount: int
    """Line total before our discount (the terminal's own discounts already applied)."""
    category: str | None = None
    floor: int = 0
    """Lowest total the line may reach: minimum price x quantity, kopecks."""


@dataclass(frozen=True, slots=True)
class CustomerSnapshot:
    """What the engine needs to know about a customer, read in one query."""

    customer_id: int
    tier_code: str | None
    lifetime_purchases: int
    available_bonuses: int
    purchase_count: int = 0


@dataclass(frozen=True, slots=True)
class QuoteLine:
    id: str
    amount: int
    """Before our discount."""
    discount: int
    amount_after_discount: int
    unit_price_after_discount: int | None
    """Set in unit-price-exact mode: unit price x quantity (half-up) equals
    ``amount_after_discount`` to the kopeck."""
    max_redeem: int
    redeem: int
    """This line's share of the bonus payment."""
    accrual: int


@dataclass(frozen=True, slots=True)
class Quote:
    lines: tuple[QuoteLine, ...]
    amount: int
    discount: int
    amount_after_discount: int
    max_redeem: int
    """What the customer may spend on this receipt: per-line caps, balance, step."""
    redeem: int
    accrual: int
    tier_code: str | None
    """The tier that priced the receipt."""
    accrual_available_from: datetime | None
    accrual_expires_at: datetime | None
    messages: tuple[str, ...] = field(default=())
    slip: tuple[str, ...] = field(default=())


class EngineError(ValueError):
    """A request the program cannot price (e.g. more bonuses than allowed)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
