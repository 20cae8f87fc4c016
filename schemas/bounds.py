"""Upper bounds of what the wire accepts: ids, version numbers and instants.

Every number that reaches a database column is bounded by that column (``BIGINT`` ids;
``INTEGER`` version numbers on PostgreSQL, see ``cloud.api.programs``), and every instant
by a span a real sale can fall in; beyond them the caller gets a 4xx naming the field
instead of a driver error.
Amounts and quantities are bounded in ``schemas.money``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, Field, Strict

BIGINT_MAX = 2**63 - 1
INT_MAX = 2**31 - 1
EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)

# Strict: a JSON integer only (lax pydantic would take "5" or 5.0, which the documents
# do not allow).
BigId = Annotated[
    int,
    Strict(),
    Field(ge=1, le=BIGINT_MAX, description="целое от 1 до 9 223 372 036 854 775 807"),
]
"""Our id of a row (customers, ledger entries): a PostgreSQL BIGINT."""


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
    Strict(),  # an ISO 8601 string only, not a number of seconds
    AfterValidator(_plausible_instant),
    Field(description="ISO 8601 с часовым поясом; дата с 2000-01-01 по 2099-12-31"),
]
"""An instant a terminal reports (a sale, a refund)."""

WireBool = Annotated[bool, Strict()]
"""``true`` or ``false`` only (lax pydantic would take 0, 1 or "yes")."""

WireDate = Annotated[date, Strict()]
"""A ``YYYY-MM-DD`` string only."""
