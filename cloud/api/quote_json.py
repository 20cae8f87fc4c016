"""The native API's quote, rendered straight to JSON-ready values.

``calculate`` is the hot path: building pydantic models for a response we computed
ourselves and then serialising them cost more than the pricing (bench/RESULTS.md). This
renders the same document as ``schemas.checkout.Quote`` (the OpenAPI schema; a contract
test holds the two together), with amounts as exact JSON numbers with two places.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import orjson

from cloud.engine import types as et
from cloud.services.checkout import PricedReceipt, shown_tier, without_level


@lru_cache(maxsize=65536)
def money(kopecks: int) -> orjson.Fragment:
    """Kopecks as a JSON number with two places, e.g. 12.30 or -0.05. Cached: a quote
    has some seventy amounts and most of them (0.00, common prices) repeat."""
    sign = b"-" if kopecks < 0 else b""
    return orjson.Fragment(sign + b"%d.%02d" % divmod(abs(kopecks), 100))


def _line(line: et.QuoteLine) -> dict[str, Any]:
    unit = line.unit_price_after_discount
    return {
        "id": line.id,
        "amount": money(line.amount),
        "discount": money(line.discount),
        "amount_after_discount": money(line.amount_after_discount),
        "unit_price_after_discount": None if unit is None else money(unit),
        "max_redeem": money(line.max_redeem),
        "redeem": money(line.redeem),
        "accrual": money(line.accrual),
    }


def quote_document(priced: PricedReceipt) -> dict[str, Any]:
    quote, snapshot = priced.quote, priced.snapshot
    customer = snapshot.customer
    summary = None
    messages: Sequence[str] = quote.messages
    slip: Sequence[str] = quote.slip
    shown = shown_tier(customer, quote.tier_code)
    if shown is None:
        # No tier held, no level printed (checkout.LEVEL_PREFIX: one rule).
        messages, slip = without_level(messages), without_level(slip)
    if customer is not None:
        tier = snapshot.program.program.tier(shown) if shown is not None else None
        summary = {
            "id": customer.customer_id,
            "tier": shown,
            "tier_name": tier.name if tier else None,
            "balance": money(customer.available_bonuses),
        }
    return {
        "receipt_id": priced.receipt_id,
        "program_version": snapshot.program.version,
        "customer": summary,
        "lines": [_line(line) for line in quote.lines],
        "amount": money(quote.amount),
        "discount": money(quote.discount),
        "amount_after_discount": money(quote.amount_after_discount),
        "max_redeem": money(quote.max_redeem),
        "redeem": money(quote.redeem),
        "accrual": money(quote.accrual),
        "messages": list(messages),
        "slip": list(slip),
        "coupons": [outcome.model_dump() for outcome in priced.coupons.outcomes],
    }
