"""What a till shows after a look-up: the native summary (name, tier, spendable
bonuses) and the bonuses that lapse soon, so the cashier can suggest spending them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from cloud.clock import to_epoch
from cloud.ledger.balance import expiring
from cloud.services import customers
from cloud.services.customers import CustomerSummaryData
from cloud.services.deps import Deps

EXPIRING_SOON_DAYS = 30
EXPIRING_SOON_LIMIT = 3


@dataclass(frozen=True, slots=True)
class Lapse:
    last_day: date
    """The last local day the bonuses can be spent (they lapse at the midnight after)."""
    amount: int


@dataclass(frozen=True, slots=True)
class CustomerCard:
    summary: CustomerSummaryData
    expiring: list[Lapse]


async def lapsing_soon(
    deps: Deps, customer_id: int, timezone: ZoneInfo, days_limit: int | None = None
) -> list[Lapse]:
    """The customer's bonuses lapsing within ``EXPIRING_SOON_DAYS`` (spendable or still
    pending: both will be lost), summed by their last day in ``timezone``, nearest first,
    at most ``days_limit`` days."""
    now = deps.clock()
    rows = await expiring(
        deps.db, customer_id, to_epoch(now), to_epoch(now + timedelta(days=EXPIRING_SOON_DAYS))
    )
    by_day: dict[date, int] = {}
    for expires_at, amount in rows:
        # A lot lapses at the local midnight that ends its last day.
        day = datetime.fromtimestamp(expires_at - 1, timezone).date()
        if day not in by_day and days_limit is not None and len(by_day) == days_limit:
            break
        by_day[day] = by_day.get(day, 0) + amount
    return [Lapse(last_day=day, amount=amount) for day, amount in by_day.items()]


async def customer_card(
    deps: Deps, merchant_id: int, customer_id: int, timezone: ZoneInfo
) -> CustomerCard:
    """The summary and the spendable bonuses lapsing within ``EXPIRING_SOON_DAYS``,
    grouped by their last day in ``timezone`` (the store's), nearest first."""
    summary = await customers.customer_summary(deps, merchant_id, customer_id)
    expiring = await lapsing_soon(deps, customer_id, timezone, EXPIRING_SOON_LIMIT)
    return CustomerCard(
        summary=summary,
        expiring=expiring,
    )
