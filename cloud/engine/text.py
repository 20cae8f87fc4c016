"""Russian text for cashier messages and slips.

Terminals print slips on thermal printers whose code pages rarely carry a thin space, so
the thousands separator is an ordinary space.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

_THOUSANDS = " "


def format_roubles(kopecks: int) -> str:
    """Kopecks (or bonus units) as ``1 250,00``: comma decimals, spaced thousands."""
    sign = "-" if kopecks < 0 else ""
    roubles, rest = divmod(abs(kopecks), 100)
    return f"{sign}{roubles:,}".replace(",", _THOUSANDS) + f",{rest:02d}"


def format_percent(percent: Decimal) -> str:
    """A percentage without trailing zeros: ``10``, ``12,5``."""
    text = format(percent.normalize(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",")


def format_date(day: date) -> str:
    """A date the way Russian receipts print it: ``10.05.2024``."""
    return f"{day.day:02d}.{day.month:02d}.{day.year:04d}"
