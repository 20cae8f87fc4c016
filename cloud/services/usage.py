"""The merchant's plan and this month's usage against it.

A plan (``merchant_plans``) is what the subscription includes each month: a number of
receipts and a budget for messages to customers. The operator sets it (``loyalty plans
set``, ``PUT /api/v1/operator/merchants/{id}/plan``). Usage is counted over the
merchant's calendar month in its own time zone, in two set-based statements. It is
shown, never enforced: a sale or a message over the plan goes through all the same
(the merchant is told, the operator bills)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cloud.clock import to_epoch
from cloud.errors import BadRequest, NotFound
from cloud.services.deps import Deps
from cloud.services.merchants import Db, zone

MAX_RECEIPTS = 1_000_000_000
MAX_BUDGET = 10_000_000_000  # kopecks: 100 million roubles
SENT = "('sent', 'delivered', 'undelivered')"
"""Statuses of a message that left us (and was paid for)."""


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    included_receipts: int
    message_budget: int
    """Kopecks."""
    updated_at: int


@dataclass(frozen=True, slots=True)
class Usage:
    month: str
    """``YYYY-MM`` in the merchant's zone."""
    receipts: int
    """Sales recorded this month (returns are not counted)."""
    messages: int
    message_cost: int
    """Kopecks."""
    plan: Plan | None

    @property
    def receipts_share(self) -> int | None:
        """Per cent of the included receipts used (None without a plan)."""
        if self.plan is None:
            return None
        return _share(self.receipts, self.plan.included_receipts)

    @property
    def budget_share(self) -> int | None:
        if self.plan is None:
            return None
        return _share(self.message_cost, self.plan.message_budget)


def _share(used: int, included: int) -> int:
    if included <= 0:
        return 100 if used else 0
    return used * 100 // included


async def set_plan(
    db: Db, merchant_id: int, name: str, included_receipts: int, message_budget: int,
    now: datetime,
) -> Plan:  # fmt: skip
    """Set (or replace) the merchant's plan; ``message_budget`` in kopecks."""
    name = name.strip()
    if not name or len(name) > 100 or not name.isprintable():
        raise BadRequest("invalid_plan", "Название тарифа: от 1 до 100 печатных символов")
    if not 0 <= included_receipts <= MAX_RECEIPTS or not 0 <= message_budget <= MAX_BUDGET:
        raise BadRequest(
            "invalid_plan",
            "Тариф: чеков от 0 до 1 000 000 000, бюджет сообщений от 0 до 100 000 000 ₽",
        )
    epoch = to_epoch(now)
    async with db.transaction() as tx:
        if not await tx.fetch_value("SELECT id FROM merchants WHERE id = :m", {"m": merchant_id}):
            raise NotFound("merchant_not_found", f"Компания #{merchant_id} не найдена")
        params = {"m": merchant_id, "name": name, "r": included_receipts,
                  "b": message_budget, "now": epoch}  # fmt: skip
        await tx.execute(
            "INSERT INTO merchant_plans (merchant_id, name, included_receipts, message_budget, "
            "updated_at) VALUES (:m, :name, :r, :b, :now) ON CONFLICT (merchant_id) DO UPDATE "
            "SET name = excluded.name, included_receipts = excluded.included_receipts, "
            "message_budget = excluded.message_budget, updated_at = excluded.updated_at",
            params,
        )
    return Plan(name, included_receipts, message_budget, epoch)


async def plan_of(db: Db, merchant_id: int) -> Plan | None:
    row = await db.fetch_one(
        "SELECT name, included_receipts, message_budget, updated_at FROM merchant_plans "
        "WHERE merchant_id = :m",
        {"m": merchant_id},
    )
    if row is None:
        return None
    return Plan(
        str(row["name"]), int(row["included_receipts"]), int(row["message_budget"]),
        int(row["updated_at"]),
    )  # fmt: skip


def month_bounds(now: datetime, timezone: str) -> tuple[str, int, int]:
    """This calendar month in the zone: ``YYYY-MM`` and its first and next first
    instants (Unix seconds)."""
    local = now.astimezone(zone(timezone))
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (start.replace(year=start.year + 1, month=1) if start.month == 12
                 else start.replace(month=start.month + 1))  # fmt: skip
    return f"{start:%Y-%m}", to_epoch(start), to_epoch(following)


async def month_usage(deps: Deps, merchant_id: int) -> Usage:
    timezone = await deps.db.fetch_value(
        "SELECT timezone FROM merchants WHERE id = :m", {"m": merchant_id}
    )
    if timezone is None:
        raise NotFound("merchant_not_found", f"Компания #{merchant_id} не найдена")
    month, start, end = month_bounds(deps.clock(), str(timezone))
    bounds = {"m": merchant_id, "start": start, "end": end}
    receipts = await deps.db.fetch_value(
        "SELECT COUNT(*) FROM receipts WHERE merchant_id = :m AND kind = 'sale' "
        "AND created_at >= :start AND created_at < :end",
        bounds,
    )
    messages = await deps.db.fetch_one(
        "SELECT COUNT(*) AS n, COALESCE(SUM(cost), 0) AS cost FROM notifications "
        f"WHERE merchant_id = :m AND status IN {SENT} "
        "AND sent_at >= :start AND sent_at < :end",
        bounds,
    )
    assert messages is not None
    return Usage(
        month, int(receipts or 0), int(messages["n"]), int(messages["cost"]),
        await plan_of(deps.db, merchant_id),
    )  # fmt: skip
