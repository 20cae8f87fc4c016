"""Russian number formatting for messages and slips."""

from __future__ import annotations

from decimal import Decimal

from cloud.engine.text import format_percent, format_roubles


def test_format_roubles() -> None:
    """Comma decimals, space-separated thousands, sign kept."""
    assert format_roubles(0) == "0,00"
    assert format_roubles(5) == "0,05"
    assert format_roubles(15000) == "150,00"
    assert format_roubles(125000) == "1 250,00"
    assert format_roubles(123456789) == "1 234 567,89"
    assert format_roubles(-125000) == "-1 250,00"


def test_format_percent() -> None:
    """Percentages lose trailing zeros and use a comma."""
    assert format_percent(Decimal("10.0000")) == "10"
    assert format_percent(Decimal("12.50")) == "12,5"
    assert format_percent(Decimal("100")) == "100"
