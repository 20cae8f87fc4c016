"""The tier job recomputes rolling-period tiers on the program's schedule, records why
each customer moved, and does nothing the second time for the same date."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from cloud.clock import ManualClock
from cloud.services import checkout, customers, jobs
from cloud.services.deps import Deps
from cloud.services.merchants import TerminalContext, zone
from schemas import checkout as wire
from schemas.customers import Consent, RegisterCustomer
from tests.conftest import Tenant, make_tenant

# Винтаж-like: tiers by purchases over the last 6 months, recomputed the night before
# the 1st of each month.
ROLLING = {
    "name": "Салон: уровни за полгода",
    "kind": "bonus",
    "tier_assignment": "first_purchase",
    "tier_rule": {"basis": "rolling", "period_months": 6, "recompute": "monthly_before_1st"},
    "tiers": [
        {"code": "standard", "name": "Стандартная", "accrual_roubles_per_bonus": "30"},
        {"code": "silver", "name": "Серебряная", "accrual_roubles_per_bonus": "20",
         "purchases_over": "30000"},
        {"code": "gold", "name": "Золотая", "accrual_roubles_per_bonus": "15",
         "purchases_over": "50000"},
    ],
}  # fmt: skip


async def _customer(deps: Deps, tenant: Tenant, phone: str) -> int:
    data = RegisterCustomer(phone=phone, consent=Consent(personal_data=True))
    return await customers.register_customer(
        deps, tenant.merchant_id, data, store_id=tenant.store_id, channel="import", sms_code=None
    )


async def _buy(deps: Deps, tenant: Tenant, customer_id: int, receipt_id: str, rub: int) -> None:
    terminal = TerminalContext(
        tenant.merchant_id, tenant.store_id, tenant.terminal_id, zone("Europe/Moscow"), "active"
    )
    line = wire.ReceiptLine(id="1", name="Услуга", price=Decimal(rub), quantity=Decimal(1))
    receipt = wire.Receipt(
        id=receipt_id, customer=wire.CustomerRef(customer_id=customer_id), lines=[line]
    )
    await checkout.confirm(deps, terminal, wire.ConfirmRequest(receipt=receipt))


async def _tiers(deps: Deps, merchant_id: int) -> dict[int, str | None]:
    rows = await deps.db.fetch_all(
        "SELECT id, tier_code FROM customers WHERE merchant_id = :m", {"m": merchant_id}
    )
    return {row["id"]: row["tier_code"] for row in rows}


async def test_rolling_tiers_move_up_and_down_once_per_date(deps: Deps, clock: ManualClock) -> None:
    """60 000 ₽ in December lifts B to Золотая on 1 January; by 1 July that purchase has
    left the six-month window (Jan–Jun) and B drops to Стандартная, while A's 35 000 ₽
    in June lifts A to Серебряная. A purchase itself never lowers or (on this basis)
    raises the tier beyond the entry one. Re-running the same date changes nothing, and
    neither does a run as of a later date the schedule doesn't name (its latest
    recomputation, 1 July, is done)."""
    clock.now = datetime(2025, 12, 20, 9, tzinfo=UTC)
    tenant = await make_tenant(deps, "Салон", ROLLING)
    a = await _customer(deps, tenant, "+79160000001")
    b = await _customer(deps, tenant, "+79160000002")
    await _buy(deps, tenant, b, "b-1", 60_000)
    assert (await _tiers(deps, tenant.merchant_id))[b] == "standard"

    report = await jobs.run_tiers(deps, date(2026, 1, 1))
    assert report.details[str(tenant.merchant_id)]["rolling_upgrade"] == 1
    assert (await _tiers(deps, tenant.merchant_id))[b] == "gold"

    clock.now = datetime(2026, 6, 15, 9, tzinfo=UTC)
    await _buy(deps, tenant, a, "a-1", 35_000)
    assert (await _tiers(deps, tenant.merchant_id))[a] == "standard"

    report = await jobs.run_tiers(deps, date(2026, 7, 1))
    assert report.details[str(tenant.merchant_id)]["window"] == ["2026-01-01", "2026-06-30"]
    assert await _tiers(deps, tenant.merchant_id) == {a: "silver", b: "standard"}
    changes = await deps.db.fetch_all(
        "SELECT customer_id, from_tier, to_tier, reason FROM tier_changes "
        "WHERE merchant_id = :m AND receipt_id IS NULL ORDER BY id",
        {"m": tenant.merchant_id},
    )
    assert [(r["customer_id"], r["from_tier"], r["to_tier"]) for r in changes] == [
        (b, "standard", "gold"),
        (a, "standard", "silver"),
        (b, "gold", "standard"),
    ]
    assert changes[2]["reason"].startswith("rolling_downgrade")

    again = await jobs.run_tiers(deps, date(2026, 7, 1))
    assert (again.merchants, again.skipped) == (0, 1)
    later = await jobs.run_tiers(deps, date(2026, 7, 20))
    assert (later.merchants, later.skipped) == (0, 1)
    assert (
        await deps.db.fetch_value("SELECT COUNT(*) FROM tier_changes WHERE receipt_id IS NULL") == 3
    )


# Rolling like ROLLING, and one receipt of 50 000 ₽ reaches Золотая at once.
SINGLE = {
    **ROLLING,
    "tiers": [
        {"code": "standard", "name": "Стандартная", "accrual_roubles_per_bonus": "30"},
        {"code": "silver", "name": "Серебряная", "accrual_roubles_per_bonus": "20",
         "purchases_over": "30000"},
        {"code": "gold", "name": "Золотая", "accrual_roubles_per_bonus": "15",
         "purchases_over": "50000", "single_receipt_at_least": "50000"},
    ],
}  # fmt: skip


def _terminal(tenant: Tenant) -> TerminalContext:
    return TerminalContext(
        tenant.merchant_id, tenant.store_id, tenant.terminal_id, zone("Europe/Moscow"), "active"
    )


async def _buy_lines(
    deps: Deps, tenant: Tenant, customer_id: int, receipt_id: str, lines: list[tuple[str, int]]
) -> None:
    receipt = wire.Receipt(
        id=receipt_id,
        customer=wire.CustomerRef(customer_id=customer_id),
        lines=[
            wire.ReceiptLine(id=line_id, name="Услуга", price=Decimal(rub), quantity=Decimal(1))
            for line_id, rub in lines
        ],
    )
    await checkout.confirm(deps, _terminal(tenant), wire.ConfirmRequest(receipt=receipt))


async def _refund(
    deps: Deps, tenant: Tenant, refund_id: str, receipt_id: str, line_ids: list[str] | None
) -> None:
    lines = (
        None if line_ids is None else [wire.RefundLine(id=i, quantity=Decimal(1)) for i in line_ids]
    )
    request = wire.RefundRequest(id=refund_id, receipt_id=receipt_id, lines=lines)
    await checkout.refund(deps, _terminal(tenant), request)


async def _changes(deps: Deps, customer_id: int) -> list[tuple[str | None, str, str]]:
    rows = await deps.db.fetch_all(
        "SELECT from_tier, to_tier, reason FROM tier_changes WHERE customer_id = :c ORDER BY id",
        {"c": customer_id},
    )
    return [(r["from_tier"], r["to_tier"], r["reason"].split(":")[0]) for r in rows]


async def test_refunded_receipts_count_by_what_remains_in_the_rolling_job(
    deps: Deps, clock: ManualClock
) -> None:
    """The rolling job compares a single-receipt threshold with what is left of each
    receipt after its refunds: A's 60 000 ₽ receipt, returned in full, reaches nothing;
    B's 60 000 ₽ receipt with 20 000 ₽ returned counts as 40 000 ₽ — Серебряная by the
    period's sum, not Золотая by the receipt. (Counted as sold, both came out Золотая.)"""
    clock.now = datetime(2025, 12, 20, 9, tzinfo=UTC)
    tenant = await make_tenant(deps, "Салон", SINGLE)
    a = await _customer(deps, tenant, "+79160000011")
    b = await _customer(deps, tenant, "+79160000012")
    await _buy_lines(deps, tenant, a, "a-1", [("1", 60_000)])
    await _buy_lines(deps, tenant, b, "b-1", [("1", 40_000), ("2", 20_000)])
    await _refund(deps, tenant, "a-1-r", "a-1", None)
    await _refund(deps, tenant, "b-1-r", "b-1", ["2"])

    report = await jobs.run_tiers(deps, date(2026, 1, 1))
    assert report.details[str(tenant.merchant_id)]["customers"] == 2
    assert await _tiers(deps, tenant.merchant_id) == {a: "standard", b: "silver"}


async def test_single_receipt_tier_earned_after_the_window_survives_the_job(
    deps: Deps, clock: ManualClock
) -> None:
    """A purchase at 00:05 on the 1st reaches Золотая by its single receipt; the job that
    recomputes the night's tiers at 00:30 sums December for the period but does not take
    away a single-receipt tier earned after the window closed."""
    clock.now = datetime(2025, 12, 20, 9, tzinfo=UTC)
    tenant = await make_tenant(deps, "Салон", SINGLE)
    a = await _customer(deps, tenant, "+79160000021")
    await _buy_lines(deps, tenant, a, "a-1", [("1", 40_000)])
    clock.now = datetime(2025, 12, 31, 21, 5, tzinfo=UTC)  # 00:05 on 1 January in Moscow
    await _buy_lines(deps, tenant, a, "a-2", [("1", 60_000)])
    assert (await _tiers(deps, tenant.merchant_id))[a] == "gold"
    clock.now = datetime(2025, 12, 31, 21, 30, tzinfo=UTC)
    await jobs.run_tiers(deps)
    assert (await _tiers(deps, tenant.merchant_id))[a] == "gold"
    assert await _changes(deps, a) == [(None, "standard", "first_purchase"),
                                       ("standard", "gold", "single_receipt")]  # fmt: skip


class _PausingTransaction:
    """A transaction that, once the tier job holds its customers' locks and before its
    statement reads their sums, lets ``pause`` run."""

    def __init__(self, tx: Any, pause: Callable[[], Awaitable[None]]) -> None:
        self._tx = tx
        self._pause = pause

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)

    async def execute(self, sql: str, params: Any = None) -> Any:
        if sql.startswith("INSERT INTO tier_changes"):
            await self._pause()
        return await self._tx.execute(sql, params)

    async def fetch_one(self, sql: str, params: Any = None) -> Any:
        # On PostgreSQL the moves are recorded and applied in one ``WITH`` statement.
        if sql.startswith("WITH moved AS (INSERT INTO tier_changes"):
            await self._pause()
        return await self._tx.fetch_one(sql, params)


class _PausingDatabase:
    def __init__(self, db: Any, pause: Callable[[], Awaitable[None]]) -> None:
        self._db = db
        self._pause = pause

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        async with self._db.transaction() as tx:
            yield _PausingTransaction(tx, self._pause)


async def _race_purchase_into_tier_job(
    deps: Deps, clock: ManualClock
) -> tuple[Tenant, int, list[bool]]:
    """A has 40 000 ₽ in December (Серебряная due on 1 January). The tier job reads A's
    sums; while it holds them, A buys 60 000 ₽ at a till (Золотая by the receipt). The
    purchase is given two seconds to finish before the job goes on to write; returns
    whether it finished in that time."""
    clock.now = datetime(2025, 12, 20, 9, tzinfo=UTC)
    tenant = await make_tenant(deps, "Салон", SINGLE)
    a = await _customer(deps, tenant, "+79160000031")
    await _buy_lines(deps, tenant, a, "a-1", [("1", 40_000)])
    clock.now = datetime(2025, 12, 31, 21, 30, tzinfo=UTC)
    purchases: list[asyncio.Task[None]] = []
    finished: list[bool] = []

    async def pause() -> None:
        task = asyncio.create_task(_buy_lines(deps, tenant, a, "a-2", [("1", 60_000)]))
        purchases.append(task)
        done, _ = await asyncio.wait({task}, timeout=2.0)
        finished.append(bool(done))

    job_deps = dataclasses.replace(deps, db=_PausingDatabase(deps.db, pause))  # type: ignore[arg-type]
    await jobs.run_tiers(job_deps)
    await asyncio.gather(*purchases)
    return tenant, a, finished


async def test_tier_job_locks_customers_before_reading(deps: Deps, clock: ManualClock) -> None:
    """The tier job reads a customer's purchases only under the customer's lock, so a
    purchase at a till during the job waits for it and then applies on top of the job's
    result: A ends Золотая (standard -> silver by the job, silver -> gold by the
    receipt), not Серебряная from sums read before the purchase."""
    tenant, a, finished = await _race_purchase_into_tier_job(deps, clock)
    assert finished == [False], "the purchase did not wait for the job's lock"
    assert (await _tiers(deps, tenant.merchant_id))[a] == "gold"
    assert await _changes(deps, a) == [
        (None, "standard", "first_purchase"),
        ("standard", "silver", "rolling_upgrade"),
        ("silver", "gold", "single_receipt"),
    ]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_without_the_lock_the_purchase_does_not_wait_nor_get_overwritten(
    deps: Deps, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lock is what makes the purchase wait: with it made a no-op, the purchase
    finishes during the pause. The job reads the sums and records the moves in one
    statement, so it then sees the purchase (Золотая by the receipt) and moves nobody:
    no sums read before a purchase are ever written over it."""

    async def no_lock(tx: Any, merchant_id: int, lo: int, hi: int) -> None:
        return None

    monkeypatch.setattr(jobs, "_lock_range", no_lock)
    tenant, a, finished = await _race_purchase_into_tier_job(deps, clock)
    assert finished == [True]
    assert (await _tiers(deps, tenant.merchant_id))[a] == "gold"
    assert await _changes(deps, a) == [
        (None, "standard", "first_purchase"),
        ("standard", "gold", "single_receipt"),
    ]
