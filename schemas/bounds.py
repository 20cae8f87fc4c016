"""Upper bounds of what the wire accepts: ids, version numbers and instants.

Every number that reaches a database column is bounded by that column (``BIGINT`` ids;
``INTEGER`` version numbers on PostgreSQL, see ``cloud.api.programs``), and every instant
by a span a real sale can fall in; beyond them the caller gets a 4xx naming the field
instead of a driver error.
Amounts and quantities are bounded in ``schemas.money``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, Field, GetPydanticSchema
from pydantic_core import CoreSchema, core_schema

BIGINT_MAX = 2**63 - 1
INT_MAX = 2**31 - 1
EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)


def _strict_in_json(json_schema: CoreSchema, python_schema: CoreSchema) -> Any:
    """A JSON body must carry the type the documents name (lax pydantic would take "5"
    or 5.0 for an integer, 0 or "yes" for a flag, a number of seconds for an instant);
    Python callers (services, the demo, tests) keep the lax conversions."""
    schema = core_schema.json_or_python_schema(json_schema=json_schema, python_schema=python_schema)
    return GetPydanticSchema(lambda _type, _handler: schema)


BigId = Annotated[
    int,
    _strict_in_json(
        core_schema.int_schema(strict=True, ge=1, le=BIGINT_MAX),
        core_schema.int_schema(ge=1, le=BIGINT_MAX),
    ),
    Field(description="целое от 1 до 9 223 372 036 854 775 807"),
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
    _strict_in_json(core_schema.datetime_schema(strict=True), core_schema.datetime_schema()),
    AfterValidator(_plausible_instant),
    Field(description="ISO 8601 с часовым поясом; дата с 2000-01-01 по 2099-12-31"),
]
"""An instant a terminal reports (a sale, a refund)."""

WireBool = Annotated[
    bool, _strict_in_json(core_schema.bool_schema(strict=True), core_schema.bool_schema())
]
"""``true`` or ``false`` in JSON."""

WireDate = Annotated[
    date, _strict_in_json(core_schema.date_schema(strict=True), core_schema.date_schema())
]
"""A ``YYYY-MM-DD`` string in JSON."""
