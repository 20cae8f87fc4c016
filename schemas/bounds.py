"""Upper bounds of what the wire accepts: ids, version numbers and instants.

Every number that reaches a database column is bounded by that column (``BIGINT`` ids,
``INTEGER`` version numbers on PostgreSQL), and every instant by a span a real sale can
fall in; beyond them the caller gets a 4xx naming the field instead of a driver error.
Amounts and quantities are bounded in ``schemas.money``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, Field

BIGINT_MAX = 2**63 - 1
INT_MAX = 2**31 - 1
EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)

BigId = Annotated[
    int, Field(ge=1, le=BIGINT_MAX, description="целое от 1 до 9 223 372 036 854 775 807")
]
"""Our id of a row (customers, ledger entries): a PostgreSQL BIGINT."""

VersionNumber = Annotated[int, Field(ge=1, le=INT_MAX, description="целое от 1 до 2 147 483 647")]
"""A program version number: an INTEGER column."""


def _plausible_instant(value: datetime) -> datetime:
    # The wall-clock date as sent, before any conversion: shifting year 9999 by its
    # offset would overflow before we could refuse it.
    if not EARLIEST <= value.date() <= LATEST:
        raise ValueError(
            f"дата вне допустимого диапазона ({EARLIEST:%Y-%m-%d} — {LATEST:%Y-%m-%d})"
        )
    return value


WireDateTime = Annotated[
    datetime,
    AfterValidator(_plausible_instant),
    Field(description="ISO 8601 с часовым поясом; дата с 2000-01-01 по 2099-12-31"),
]
"""An instant a terminal reports (a sale, a refund)."""
