"""Inputs and outputs of the pure calculation engine.

All amounts are ``int`` kopecks (bonus units are the same minor units); quantities are
``Decimal`` with three places. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
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
    sku: str | None = None
    """The product's code: quantity promotions group units of one SKU across lines, and
    goods selectors may name SKUs."""


@dataclass(frozen=True, slots=True)
class CustomerSnapshot:
    """What the engine needs to know about a customer, read in one query.

    Facts are as they were before the receipt being priced (a confirm reads them before
    recording the purchase).
    """

    customer_id: int
    tier_code: str | None
    lifetime_purchases: int
    available_bonuses: int
    purchase_count: int = 0
    birthday: date | None = None
    last_purchase_at: datetime | None = None
    """The previous purchase, an aware instant (UTC); ``None`` before the first one."""
    period_purchases: int = 0
    """Kopecks spent over the program's spend window (``spend_window_days``: the local
    days ending with now, this receipt excluded); 0 when the program has no such rule."""


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
    applied_rules: tuple[str, ...] = field(default=())
    """Names (Russian, as in the program) of the modifiers and quantity promotions that
    changed this receipt's prices, in program order."""


class EngineError(ValueError):
    """A request the program cannot price (e.g. more bonuses than allowed)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
