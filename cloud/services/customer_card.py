"""What a till shows after a look-up: the native summary (name, tier, spendable
bonuses) and the bonuses that lapse soon, so the cashier can suggest spending them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from cloud.clock import to_epoch
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


async def customer_card(
    deps: Deps, merchant_id: int, customer_id: int, timezone: ZoneInfo
) -> CustomerCard:
    """The summary and the spendable bonuses lapsing within ``EXPIRING_SOON_DAYS``,
    grouped by their last day in ``timezone`` (the store's), nearest first."""
    summary = await customers.customer_summary(deps, merchant_id, customer_id)
    now = deps.clock()
    rows = await deps.db.fetch_all(
        "SELECT expires_at, SUM(remaining) AS amount FROM bonus_lots "
        "WHERE merchant_id = :m AND customer_id = :c AND remaining > 0 "
        "AND available_from <= :now AND expires_at > :now AND expires_at <= :until "
        "GROUP BY expires_at ORDER BY expires_at",
        {"m": merchant_id, "c": customer_id, "now": to_epoch(now),
         "until": to_epoch(now + timedelta(days=EXPIRING_SOON_DAYS))},
    )  # fmt: skip
    by_day: dict[date, int] = {}
    for row in rows:
        day = datetime.fromtimestamp(int(row["expires_at"]) - 1, timezone).date()
        if day not in by_day and len(by_day) == EXPIRING_SOON_LIMIT:
            break
        by_day[day] = by_day.get(day, 0) + int(row["amount"])
    return CustomerCard(
        summary=summary,
        expiring=[Lapse(last_day=day, amount=amount) for day, amount in by_day.items()],
    )
