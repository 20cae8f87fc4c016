"""Two tills closing receipts with the same single-use code at the same moment: the code
is recorded once.

The race is forced (``tests.ledger.test_concurrency.Rendezvous``): both confirms reach
the campaign's lock together (PostgreSQL: inside both transactions, just before ``SELECT
... FOR UPDATE``; SQLite: just before the single writer's ``BEGIN IMMEDIATE``). The
receipts are anonymous, so no customer lock serialises them: the campaign lock is the
only thing between them. Without it (PostgreSQL) both confirms record the code.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cloud.db.database import SqliteDatabase, Transaction
from cloud.services import checkout, coupon_use, coupons
from cloud.services.deps import Deps
from schemas import checkout as wire
from schemas.coupons import CouponCampaignCreate
from tests.conftest import Tenant
from tests.ledger.helpers import terminal
from tests.ledger.test_concurrency import Rendezvous


async def _code(deps: Deps, tenant: Tenant) -> str:
    created = await coupons.create(
        deps, tenant.merchant_id, ZoneInfo("Europe/Moscow"),
        CouponCampaignCreate(name="Одна", rule="minus10", count=1),
    )  # fmt: skip
    return created.codes[0]


def _confirm(receipt_id: str, code: str) -> wire.ConfirmRequest:
    line = wire.ReceiptLine(id="1", price=Decimal(1000), quantity=Decimal(1), amount=Decimal(900))
    return wire.ConfirmRequest(receipt=wire.Receipt(id=receipt_id, lines=[line], coupons=[code]))


async def _race(deps: Deps, tenant: Tenant, code: str) -> list[wire.ConfirmResult]:
    term = terminal(tenant)
    return list(
        await asyncio.gather(
            checkout.confirm(deps, term, _confirm("A", code)),
            checkout.confirm(deps, term, _confirm("B", code)),
        )
    )


async def _redemptions(deps: Deps) -> tuple[int, int]:
    row = await deps.db.fetch_one(
        "SELECT (SELECT COUNT(*) FROM coupon_redemptions) AS n, "
        "(SELECT SUM(used) FROM coupons) AS used"
    )
    assert row is not None
    return int(row["n"]), int(row["used"])


@pytest.fixture
def meet_before_lock(backend: str, monkeypatch: pytest.MonkeyPatch) -> Rendezvous:
    meet = Rendezvous()
    if backend == "postgresql":
        real_lock = coupon_use.lock_campaign

        async def lock_campaign(tx: Transaction, campaign_id: int) -> None:
            await meet()
            await real_lock(tx, campaign_id)

        monkeypatch.setattr(coupon_use, "lock_campaign", lock_campaign)
    else:
        real_transaction = SqliteDatabase.transaction

        @asynccontextmanager
        async def transaction(self: SqliteDatabase) -> AsyncIterator[Any]:
            await meet()
            async with real_transaction(self) as tx:
                yield tx

        monkeypatch.setattr(SqliteDatabase, "transaction", transaction)
    return meet


async def test_racing_confirms_record_a_single_use_code_once(
    deps: Deps, tenant: Tenant, meet_before_lock: Rendezvous
) -> None:
    """Both sales are recorded (the fiscal receipts stand); the code goes to one of them,
    the other is told it is used, and the code counts one use."""
    code = await _code(deps, tenant)
    meet_before_lock.arm()
    results = await _race(deps, tenant, code)
    assert meet_before_lock.calls == 2
    applied = sorted(result.coupons[0].applied for result in results)
    assert applied == [False, True]
    loser = next(result for result in results if not result.coupons[0].applied)
    assert loser.coupons[0].message == f"Купон {code} уже использован"
    assert await _redemptions(deps) == (1, 1)


async def test_without_the_lock_both_confirms_record_the_code(
    deps: Deps, tenant: Tenant, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race is real: with the campaign lock taken away (PostgreSQL; SQLite has a
    single writer), both transactions read the code unused and both record it."""
    if backend != "postgresql":
        pytest.skip("SQLite's single writer serialises the transactions by itself")
    code = await _code(deps, tenant)
    meet = Rendezvous()

    async def no_lock(tx: Transaction, campaign_id: int) -> None:
        await meet()

    monkeypatch.setattr(coupon_use, "lock_campaign", no_lock)
    meet.arm()
    results = await _race(deps, tenant, code)
    assert [result.coupons[0].applied for result in results] == [True, True]
    assert await _redemptions(deps) == (2, 2)
