"""Two terminals spending the same bonuses at once must never both succeed.

The races are forced, not hoped for: a rendezvous makes both operations reach the same
point before either goes on. With the real lock that point is the last safe one before
the lock (on PostgreSQL: inside both transactions, just before ``SELECT ... FOR
UPDATE``; on SQLite: just before the single writer's ``BEGIN IMMEDIATE``). Without the
lock (PostgreSQL only) it is after both have read the balance and before either writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

from cloud.db.database import Row, SqliteDatabase, _PostgresTransaction
from cloud.errors import Conflict, Unprocessable
from cloud.ledger import holds as ledger_holds
from cloud.ledger.lots import LotOverdrawn
from cloud.services import checkout
from cloud.services.deps import Deps
from schemas import checkout as wire
from tests.conftest import Tenant
from tests.ledger.helpers import (
    Member,
    assert_ledger_consistent,
    confirm_request,
    create_customer,
    give_lot,
    hold_request,
    ledger_state,
    refund_request,
    roubles,
    terminal,
)

T = TypeVar("T")
LINES = [("item", 20_000, 1)]
BALANCE = 10_000


class Rendezvous:
    """Once armed, the first two callers wait for each other; later callers (and any
    before arming) pass straight through. A caller left waiting fails the test after a
    few seconds instead of hanging it."""

    def __init__(self) -> None:
        self._barrier = asyncio.Barrier(2)
        self.armed = False
        self.calls = 0

    def arm(self) -> None:
        self.armed = True

    async def __call__(self) -> bool:
        """Waits for the partner; returns whether this call took part in the race."""
        if not self.armed or self.calls >= 2:
            return False
        self.calls += 1
        async with asyncio.timeout(10):
            await self._barrier.wait()
        return True


@pytest.fixture
async def member(deps: Deps, demo_tenant: Tenant) -> Member:
    """A customer whose balance covers one 100-rouble bonus payment, not two."""
    customer = await create_customer(deps, demo_tenant.merchant_id)
    await give_lot(deps, demo_tenant.merchant_id, customer.id, BALANCE)
    return customer


@dataclass
class Race:
    meet: Rendezvous = field(default_factory=Rendezvous)
    log: list[Any] = field(default_factory=list)

    def arm(self) -> None:
        self.meet.arm()


@pytest.fixture
def locked_race(backend: str, monkeypatch: pytest.MonkeyPatch) -> Race:
    """Installs a rendezvous at the last safe point before the lock; ``arm()`` it right
    before the race.

    PostgreSQL: each racing transaction logs what it sees right after it obtained the
    customer's lock (active holds, sale receipts). SQLite: each racing writer transaction
    logs its begin and end."""
    race = Race()
    if backend == "postgresql":
        real_lock = _PostgresTransaction.lock_customer

        async def lock_customer(
            self: _PostgresTransaction, merchant_id: int, customer_id: int
        ) -> Row | None:
            racing = await race.meet()
            row = await real_lock(self, merchant_id, customer_id)
            if racing:
                seen = await self.fetch_one(
                    "SELECT (SELECT COUNT(*) FROM holds WHERE customer_id = :c "
                    "AND status = 'active') AS holds, (SELECT COUNT(*) FROM receipts "
                    "WHERE customer_id = :c AND kind = 'sale') AS sales",
                    {"c": customer_id},
                )
                assert seen is not None
                race.log.append((int(seen["holds"]), int(seen["sales"])))
            return row

        monkeypatch.setattr(_PostgresTransaction, "lock_customer", lock_customer)
    else:
        real_transaction = SqliteDatabase.transaction

        @asynccontextmanager
        async def transaction(self: SqliteDatabase) -> AsyncIterator[Any]:
            racing = await race.meet()
            async with real_transaction(self) as tx:
                if racing:
                    race.log.append("begin")
                try:
                    yield tx
                finally:
                    if racing:
                        race.log.append("end")

        monkeypatch.setattr(SqliteDatabase, "transaction", transaction)
    return race


def assert_serialised(backend: str, race: Race, first_sees: tuple[int, int]) -> None:
    """The second transaction ran only after the first was done: on PostgreSQL it got
    the lock only once the first had committed (it sees one more hold or sale); on
    SQLite the writer transactions did not overlap."""
    log = race.log
    if backend == "postgresql":
        assert len(log) == 2, log
        assert log[0] == first_sees
        assert log[1] != log[0], "the second transaction did not wait for the first"
    else:
        assert log == ["begin", "end", "begin", "end"]


async def _outcomes(*calls: Awaitable[T]) -> tuple[list[T], list[BaseException]]:
    results = await asyncio.gather(*calls, return_exceptions=True)
    ok = [r for r in results if not isinstance(r, BaseException)]
    failed = [r for r in results if isinstance(r, BaseException)]
    return ok, failed


def _insufficient(errors: list[BaseException]) -> None:
    assert len(errors) == 1, errors
    error = errors[0]
    assert isinstance(error, Unprocessable), repr(error)
    assert error.code == "insufficient_bonuses"


# ---- with the lock: exactly one wins --------------------------------------------------


async def test_concurrent_holds_one_wins(
    deps: Deps, demo_tenant: Tenant, member: Member, backend: str, locked_race: Race
) -> None:
    """Two receipts holding the whole balance at the same moment: one hold is placed,
    the other waits for it and is refused with ``insufficient_bonuses``."""
    term = terminal(demo_tenant)
    locked_race.arm()
    ok, failed = await _outcomes(
        checkout.hold(deps, term, hold_request("A", member, LINES, BALANCE)),
        checkout.hold(deps, term, hold_request("B", member, LINES, BALANCE)),
    )
    assert len(ok) == 1 and ok[0].amount == roubles(BALANCE)
    _insufficient(failed)
    assert_serialised(backend, locked_race, first_sees=(0, 0))
    state = await ledger_state(deps, member.id)
    assert [(amount, status) for _, amount, status in state.holds] == [(BALANCE, "active")]


async def test_concurrent_confirms_one_wins(
    deps: Deps, demo_tenant: Tenant, member: Member, backend: str, locked_race: Race
) -> None:
    """Two different receipts paying with the same bonuses at the same moment: one is
    confirmed, the other is refused with ``insufficient_bonuses``; the balance is spent
    once and the journal still matches the lots."""
    term = terminal(demo_tenant)
    locked_race.arm()
    ok, failed = await _outcomes(
        checkout.confirm(deps, term, confirm_request("A", member, LINES, BALANCE)),
        checkout.confirm(deps, term, confirm_request("B", member, LINES, BALANCE)),
    )
    assert len(ok) == 1 and ok[0].redeemed == roubles(BALANCE)
    _insufficient(failed)
    assert_serialised(backend, locked_race, first_sees=(0, 0))
    state = await ledger_state(deps, member.id)
    assert state.receipts == 1
    assert state.lots_sum == int(ok[0].accrued * 100)
    assert_ledger_consistent(state)


async def test_concurrent_hold_and_confirm_one_wins(
    deps: Deps, demo_tenant: Tenant, member: Member, backend: str, locked_race: Race
) -> None:
    """A hold on one receipt and a bonus payment on another, racing for the same
    balance: exactly one of them gets the bonuses."""
    term = terminal(demo_tenant)
    locked_race.arm()
    ok, failed = await _outcomes(
        checkout.hold(deps, term, hold_request("A", member, LINES, BALANCE)),
        checkout.confirm(deps, term, confirm_request("B", member, LINES, BALANCE)),
    )
    assert len(ok) == 1
    _insufficient(failed)
    state = await ledger_state(deps, member.id)
    held = sum(amount for _, amount, status in state.holds if status == "active")
    spent = sum(amount for _, _, amount, _ in state.allocations)
    assert held + spent == BALANCE
    assert_ledger_consistent(state)


async def test_identical_confirms_racing_store_one_receipt(
    deps: Deps, demo_tenant: Tenant, member: Member, backend: str, locked_race: Race
) -> None:
    """The same receipt confirmed twice at once (a terminal retrying): one receipt is
    stored, the bonuses are spent once, and both calls get the identical body."""
    term = terminal(demo_tenant)
    request = confirm_request("A", member, LINES, BALANCE)
    locked_race.arm()
    ok, failed = await _outcomes(
        checkout.confirm(deps, term, request), checkout.confirm(deps, term, request)
    )
    assert failed == []
    assert ok[0].model_dump_json() == ok[1].model_dump_json()
    state = await ledger_state(deps, member.id)
    assert state.receipts == 1
    assert sum(amount for _, _, amount, _ in state.allocations) == BALANCE
    assert_ledger_consistent(state)


async def test_identical_refunds_racing_return_once(
    deps: Deps, demo_tenant: Tenant, member: Member, backend: str, locked_race: Race
) -> None:
    """The same refund sent twice at once: the bonuses come back once, one refund
    receipt is stored and both calls get the identical body."""
    term = terminal(demo_tenant)
    await checkout.confirm(deps, term, confirm_request("S", member, LINES, BALANCE))
    locked_race.arm()
    request = refund_request("R", "S")
    ok, failed = await _outcomes(
        checkout.refund(deps, term, request), checkout.refund(deps, term, request)
    )
    assert failed == []
    assert ok[0].model_dump_json() == ok[1].model_dump_json()
    assert ok[0].returned_bonuses == roubles(BALANCE)
    state = await ledger_state(deps, member.id)
    assert sum(returned for _, _, _, returned in state.allocations) == BALANCE
    assert state.lots_sum == BALANCE
    assert_ledger_consistent(state)


# ---- without the lock (PostgreSQL): the same races go wrong ----------------------------

postgres_only = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


@pytest.fixture
def unlocked_race(monkeypatch: pytest.MonkeyPatch) -> Rendezvous:
    """``lock_customer`` made a no-op, and a rendezvous each test places right after its
    operations read the balance: both read it before either writes."""

    async def no_lock(self: _PostgresTransaction, merchant_id: int, customer_id: int) -> None:
        return None

    monkeypatch.setattr(_PostgresTransaction, "lock_customer", no_lock)
    meet = Rendezvous()
    meet.arm()
    return meet


def _meet_after_hold_balance_read(monkeypatch: pytest.MonkeyPatch, meet: Rendezvous) -> None:
    real = ledger_holds.read_balance

    async def read_balance(*args: Any, **kwargs: Any) -> Any:
        balance = await real(*args, **kwargs)
        await meet()
        return balance

    monkeypatch.setattr(ledger_holds, "read_balance", read_balance)


def _meet_after_confirm_snapshot(
    monkeypatch: pytest.MonkeyPatch, meet: Rendezvous, seen: list[int], receipts: set[str]
) -> None:
    """The confirms of ``receipts`` meet right after reading the snapshot their balance
    check uses; ``seen`` collects the available balance each one saw."""
    real = checkout.snapshot.locked_snapshot

    async def locked_snapshot(
        deps: Deps, tx: Any, term: Any, receipt: wire.Receipt, *args: Any
    ) -> checkout.Snapshot:
        snapshot = await real(deps, tx, term, receipt, *args)
        if receipt.id in receipts:
            assert snapshot.customer is not None
            seen.append(snapshot.customer.available_bonuses)
            await meet()
        return snapshot

    monkeypatch.setattr(checkout.snapshot, "locked_snapshot", locked_snapshot)


@postgres_only
async def test_without_lock_two_holds_both_succeed(
    deps: Deps,
    demo_tenant: Tenant,
    member: Member,
    unlocked_race: Rendezvous,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Proof that the lock matters: with ``lock_customer`` a no-op, two holds that both
    read the balance before either writes are both placed, reserving twice what the
    customer has (the locked race above refuses one of them)."""
    _meet_after_hold_balance_read(monkeypatch, unlocked_race)
    term = terminal(demo_tenant)
    ok, failed = await _outcomes(
        checkout.hold(deps, term, hold_request("A", member, LINES, BALANCE)),
        checkout.hold(deps, term, hold_request("B", member, LINES, BALANCE)),
    )
    assert failed == [] and len(ok) == 2
    state = await ledger_state(deps, member.id)
    held = sum(amount for _, amount, status in state.holds if status == "active")
    assert held == 2 * BALANCE > state.lots_sum


@postgres_only
async def test_without_lock_hold_and_confirm_both_succeed(
    deps: Deps,
    demo_tenant: Tenant,
    member: Member,
    unlocked_race: Rendezvous,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Proof that the lock matters: without it a receipt spends bonuses that another
    receipt is holding at the same moment; both succeed and the hold is left backed by
    nothing."""
    _meet_after_hold_balance_read(monkeypatch, unlocked_race)
    _meet_after_confirm_snapshot(monkeypatch, unlocked_race, [], {"B"})
    term = terminal(demo_tenant)
    ok, failed = await _outcomes(
        checkout.hold(deps, term, hold_request("A", member, LINES, BALANCE)),
        checkout.confirm(deps, term, confirm_request("B", member, LINES, BALANCE)),
    )
    assert failed == [] and len(ok) == 2
    state = await ledger_state(deps, member.id)
    held = sum(amount for _, amount, status in state.holds if status == "active")
    spent = sum(amount for _, _, amount, _ in state.allocations)
    assert held + spent == 2 * BALANCE


@postgres_only
async def test_without_lock_two_confirms_pass_the_balance_check(
    deps: Deps,
    demo_tenant: Tenant,
    member: Member,
    unlocked_race: Rendezvous,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without the lock both confirms pass the balance check (each saw the whole balance
    available). Only the lot update's own guard (``remaining >= amount``) stops the
    second from spending: it fails instead of journaling a debit no lot paid, so the
    journal still matches the lots."""
    seen: list[int] = []
    _meet_after_confirm_snapshot(monkeypatch, unlocked_race, seen, {"A", "B"})
    term = terminal(demo_tenant)
    ok, failed = await _outcomes(
        checkout.confirm(deps, term, confirm_request("A", member, LINES, BALANCE)),
        checkout.confirm(deps, term, confirm_request("B", member, LINES, BALANCE)),
    )
    assert seen == [BALANCE, BALANCE]
    assert len(ok) == 1 and len(failed) == 1, failed
    # The loser reads the lots either before the winner commits (its update then finds
    # the lot emptied) or after (redemption itself finds too little).
    assert isinstance(failed[0], LotOverdrawn | Unprocessable), repr(failed[0])
    state = await ledger_state(deps, member.id)
    assert sum(amount for _, _, amount, _ in state.allocations) == BALANCE
    assert_ledger_consistent(state)


async def test_hold_racing_the_confirm_of_its_receipt_leaves_no_hold(
    deps: Deps, demo_tenant: Tenant, member: Member, locked_race: Race
) -> None:
    """A hold that loses the race to the confirm of the same receipt must not reserve
    bonuses for a receipt that is already closed: whichever comes first, no active hold
    is left behind (the hold either is consumed or refused with ``receipt_closed``)."""
    term = terminal(demo_tenant)
    locked_race.arm()
    _, failed = await _outcomes(
        checkout.hold(deps, term, hold_request("A", member, LINES, 5_000)),
        checkout.confirm(deps, term, confirm_request("A", member, LINES, 5_000)),
    )
    assert all(isinstance(e, Conflict) and e.code == "receipt_closed" for e in failed), failed
    state = await ledger_state(deps, member.id)
    assert [status for _, _, status in state.holds if status == "active"] == []
    assert_ledger_consistent(state)
