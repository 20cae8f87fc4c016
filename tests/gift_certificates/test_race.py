"""Two tills spending the same gift certificate at once must never both succeed.

The race is forced with the rendezvous of the bonus concurrency tests: both operations
reach the last point before the certificate's lock together (PostgreSQL: inside both
transactions, just before ``SELECT ... FOR UPDATE``; SQLite: just before the single
writer's ``BEGIN IMMEDIATE``). Without the lock (PostgreSQL) both read the certificate
before either writes, and the certificate is overspent: the test that the lock matters.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import pytest

from cloud.db.database import Row, SqliteDatabase, Transaction
from cloud.errors import Unprocessable
from cloud.services import checkout, gift_certificates
from cloud.services.deps import Deps
from schemas import checkout as wire
from schemas import gift_certificates as gift_wire
from tests.conftest import Tenant
from tests.gift_certificates.helpers import assert_balanced, ledger
from tests.ledger.helpers import terminal
from tests.ledger.test_concurrency import Rendezvous

NUMBER = "RACE-1"
real_lock = gift_certificates.lock


@pytest.fixture
async def certificate(deps: Deps, demo_tenant: Tenant) -> str:
    """A 3 000 ₽ certificate: one 2 000 ₽ payment fits, two do not."""
    body = gift_wire.GiftCertificateIssue(numbers=[NUMBER], nominal=Decimal(3000), valid_days=30)
    await gift_certificates.issue(
        deps, demo_tenant.merchant_id, terminal(demo_tenant).timezone, body
    )
    return NUMBER


def _confirm(receipt_id: str) -> wire.ConfirmRequest:
    return wire.ConfirmRequest(
        receipt=wire.Receipt(
            id=receipt_id,
            lines=[wire.ReceiptLine(id="1", price=Decimal(2500), quantity=Decimal(1))],
        ),
        gift_certificates=[wire.GiftCertificatePayment(number=NUMBER, amount=Decimal(2000))],
    )


def _hold(receipt_id: str) -> wire.GiftCertificateHoldRequest:
    request = _confirm(receipt_id)
    return wire.GiftCertificateHoldRequest(
        receipt=request.receipt, gift_certificates=request.gift_certificates
    )


@pytest.fixture
def locked_race(backend: str, monkeypatch: pytest.MonkeyPatch) -> Rendezvous:
    meet = Rendezvous()
    if backend == "postgresql":

        async def lock(tx: Transaction, merchant_id: int, where: str, params: Any) -> Row | None:
            await meet()
            return await real_lock(tx, merchant_id, where, params)

        monkeypatch.setattr(gift_certificates, "lock", lock)
    else:
        real_transaction = SqliteDatabase.transaction

        @asynccontextmanager
        async def transaction(self: SqliteDatabase) -> AsyncIterator[Any]:
            await meet()
            async with real_transaction(self) as tx:
                yield tx

        monkeypatch.setattr(SqliteDatabase, "transaction", transaction)
    return meet


async def _race(*calls: Any) -> tuple[list[Any], list[BaseException]]:
    results = await asyncio.gather(*calls, return_exceptions=True)
    ok = [r for r in results if not isinstance(r, BaseException)]
    return ok, [r for r in results if isinstance(r, BaseException)]


def _one_refused(failed: list[BaseException]) -> None:
    assert len(failed) == 1, failed
    assert isinstance(failed[0], Unprocessable), repr(failed[0])
    assert failed[0].code == "gift_certificate_insufficient"
    assert failed[0].message == f"На сертификате №{NUMBER} доступно 1 000,00 ₽"


async def test_two_tills_confirming_one_certificate_one_wins(
    deps: Deps, demo_tenant: Tenant, certificate: str, locked_race: Rendezvous
) -> None:
    """Two receipts paying 2 000 ₽ each from a 3 000 ₽ certificate at the same moment:
    one is confirmed, the other waits for it and is refused; 1 000 ₽ remain."""
    term = terminal(demo_tenant)
    locked_race.arm()
    ok, failed = await _race(
        checkout.confirm(deps, term, _confirm("A")), checkout.confirm(deps, term, _confirm("B"))
    )
    assert len(ok) == 1
    _one_refused(failed)
    state = await ledger(deps, certificate)
    assert (state["remaining"], state["redeemed"]) == (100000, 200000)
    assert_balanced(state)


async def test_two_tills_holding_one_certificate_one_wins(
    deps: Deps, demo_tenant: Tenant, certificate: str, locked_race: Rendezvous
) -> None:
    """Two holds of 2 000 ₽ at once: one is placed, the other refused."""
    term = terminal(demo_tenant)
    locked_race.arm()
    ok, failed = await _race(
        checkout.hold_gift_certificates(deps, term, _hold("A")),
        checkout.hold_gift_certificates(deps, term, _hold("B")),
    )
    assert len(ok) == 1
    _one_refused(failed)
    held = await deps.db.fetch_value(
        "SELECT COUNT(*) FROM gift_certificate_holds WHERE status = 'active'"
    )
    assert held == 1


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_without_the_lock_the_certificate_is_overspent(
    deps: Deps, demo_tenant: Tenant, certificate: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Proof that the lock matters: read without ``FOR UPDATE`` and both confirms meet
    after reading 3 000 ₽; both pass, 4 000 ₽ are spent from a 3 000 ₽ certificate and
    its ledger no longer balances (the locked race above refuses one)."""
    meet = Rendezvous()

    async def unlocked(tx: Transaction, merchant_id: int, where: str, params: Any) -> Row | None:
        row = await tx.fetch_one(
            f"SELECT {gift_certificates.COLUMNS} FROM gift_certificates g "
            f"WHERE g.merchant_id = :m AND {where}",
            {"m": merchant_id, **params},
        )
        await meet()
        return row

    monkeypatch.setattr(gift_certificates, "lock", unlocked)
    term = terminal(demo_tenant)
    meet.arm()
    ok, failed = await _race(
        checkout.confirm(deps, term, _confirm("A")), checkout.confirm(deps, term, _confirm("B"))
    )
    assert failed == [] and len(ok) == 2
    state = await ledger(deps, certificate)
    assert state["redeemed"] == 400000
    with pytest.raises(AssertionError):
        assert_balanced(state)
