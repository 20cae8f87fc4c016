"""Ledger invariants over random sequences of checkout operations (hypothesis).

Each example registers a fresh customer in the test's database and drives accruals,
bonus payments, holds, cancels, partial refunds, clock moves with expiry and replays
through the checkout service. After every step:

- the journal sums to the lots' remainders, and no remainder leaves ``[0, amount]``;
- a bonus payment spent the spendable lots soonest-expiring first (then oldest, never-
  expiring last);
- a refused operation changed nothing;
- replaying a confirm or a refund with the same id changes nothing and answers the same
  body as the first time;
- a manual credit or debit by the merchant's staff keeps all of the above: a debit
  spends soonest-expiring lots first, one beyond the spendable balance is refused
  and changes nothing, and a replay with the same idempotency key changes nothing.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cloud.clock import ManualClock, to_epoch
from cloud.errors import Unprocessable
from cloud.ledger.balance import read_balance
from cloud.ledger.lots import expire_customer_lots
from cloud.services import checkout, customers_admin
from cloud.services.deps import Deps
from cloud.services.merchants import MerchantContext, TerminalContext
from schemas.customer_admin import AdjustmentRequest, AdjustmentResult
from schemas.money import to_roubles
from tests.conftest import Tenant
from tests.ledger.helpers import (
    Member,
    allocations_of,
    assert_ledger_consistent,
    confirm_request,
    create_customer,
    give_lot,
    hold_request,
    ledger_state,
    refund_request,
    sale_receipt_id,
    spendable_lots,
    terminal,
)

DAY = 24 * 3600
_ids = itertools.count()

line_specs = st.lists(st.tuples(st.integers(1, 20_000), st.integers(1, 3)), min_size=1, max_size=3)
percent = st.integers(0, 120)  # of the available balance; above 100 must be refused
index = st.integers(0, 50)

accruals = st.tuples(
    st.just("accrue"),
    st.integers(1, 30_000),
    st.none() | st.integers(1, 60),  # lapses in days
    st.integers(0, 2),  # activates in days
)
operations = st.one_of(
    accruals,
    st.tuples(st.just("buy"), line_specs, percent),
    st.tuples(st.just("hold"), line_specs, percent),
    st.tuples(st.just("close_hold"), index, st.booleans()),
    st.tuples(st.just("refund"), index, index, st.integers(1, 3)),
    st.tuples(st.just("advance"), st.integers(1, 40)),
    st.tuples(st.just("replay"), index),
    # Manual adjustments by the merchant's staff (amount; lifetime in days or none).
    st.tuples(st.just("credit"), st.integers(1, 30_000), st.none() | st.integers(1, 60)),
    st.tuples(st.just("debit"), percent),
)


@dataclass
class Sale:
    receipt_id: str
    lines: list[tuple[str, int, int]]
    left: dict[str, int]


@dataclass
class Scenario:
    deps: Deps
    term: TerminalContext
    clock: ManualClock
    member: Member
    open_holds: list[tuple[str, list[tuple[str, int, int]], int]] = field(default_factory=list)
    sales: list[Sale] = field(default_factory=list)
    answers: list[tuple[str, Any, str]] = field(default_factory=list)

    @property
    def staff(self) -> MerchantContext:
        return MerchantContext(self.merchant_id, self.term.timezone, label="тест")

    async def adjust(self, request: AdjustmentRequest) -> None:
        key = f"a{next(_ids)}"
        body = await customers_admin.adjust(self.deps, self.staff, self.member.id, request, key)
        self.answers.append(("adjust", (request, key), body.model_dump_json()))

    @property
    def merchant_id(self) -> int:
        return self.term.merchant_id

    async def available(self) -> int:
        now = to_epoch(self.clock())
        return (await read_balance(self.deps.db, self.member.id, now)).available

    def lines(self, specs: list[tuple[int, int]]) -> list[tuple[str, int, int]]:
        return [(f"l{i}", price, quantity) for i, (price, quantity) in enumerate(specs)]

    async def refused(self, call: Any, *codes: str) -> None:
        """``call`` must fail with one of ``codes`` and write nothing."""
        before = await ledger_state(self.deps, self.member.id)
        try:
            await call
        except Unprocessable as error:
            assert error.code in codes, error.code
            event(f"refused: {error.code}")
        else:
            raise AssertionError(f"expected one of {codes}")
        assert await ledger_state(self.deps, self.member.id) == before

    async def confirm(self, receipt_id: str, lines: list[tuple[str, int, int]], pay: int) -> None:
        """Confirm with a bonus payment and check which lots paid for it."""
        order = await spendable_lots(self.deps, self.member.id)
        request = confirm_request(receipt_id, self.member, lines, pay)
        body = await checkout.confirm(self.deps, self.term, request)
        expected, left = [], pay
        for lot_id, remaining in order:
            if left == 0:
                break
            part = min(left, remaining)
            expected.append((lot_id, part, 0))
            left -= part
        assert left == 0
        receipt = await sale_receipt_id(self.deps, self.merchant_id, receipt_id)
        assert await allocations_of(self.deps, receipt) == expected
        event("confirmed with a bonus payment" if pay else "confirmed without bonuses")
        self.sales.append(Sale(receipt_id, lines, {line: q for line, _, q in lines}))
        self.answers.append(("confirm", request, body.model_dump_json()))

    async def step(self, op: tuple[Any, ...]) -> None:
        kind = op[0]
        deps, member = self.deps, self.member
        if kind == "accrue":
            _, amount, lapses, activates = op
            await give_lot(
                deps, self.merchant_id, member.id, amount,
                expires_in=None if lapses is None else lapses * DAY,
                activates_in=activates * DAY,
            )  # fmt: skip
        elif kind in ("buy", "hold"):
            _, specs, share = op
            lines = self.lines(specs)
            total = sum(price * quantity for _, price, quantity in lines)
            available = await self.available()
            amount = min(available * share // 100, total)
            receipt_id = f"s{next(_ids)}"
            if kind == "buy" and amount > available:
                request = confirm_request(receipt_id, member, lines, amount)
                await self.refused(
                    checkout.confirm(deps, self.term, request), "insufficient_bonuses"
                )
            elif kind == "buy":
                await self.confirm(receipt_id, lines, amount)
            elif amount > available:
                request_hold = hold_request(receipt_id, member, lines, amount)
                await self.refused(
                    checkout.hold(deps, self.term, request_hold), "insufficient_bonuses"
                )
            elif amount > 0:
                await checkout.hold(
                    deps, self.term, hold_request(receipt_id, member, lines, amount)
                )
                self.open_holds.append((receipt_id, lines, amount))
                event("held")
        elif kind == "close_hold" and self.open_holds:
            _, which, confirm = op
            receipt_id, lines, amount = self.open_holds.pop(which % len(self.open_holds))
            if not confirm:
                cancel = checkout.wire.CancelRequest(receipt_id=receipt_id)
                await checkout.cancel(deps, self.term, cancel)
                event("cancelled")
                return
            try:
                await self.confirm(receipt_id, lines, amount)
            except Unprocessable as error:
                # The hold lapsed and the bonuses went elsewhere (spent or expired).
                assert error.code in ("hold_expired", "insufficient_bonuses"), error.code
                event(f"confirm of a held receipt refused: {error.code}")
        elif kind == "refund" and self.sales:
            _, which, line_pick, quantity = op
            sale = self.sales[which % len(self.sales)]
            line_id = list(sale.left)[line_pick % len(sale.left)]
            refund = refund_request(f"r{next(_ids)}", sale.receipt_id, [(line_id, quantity)])
            if quantity > sale.left[line_id]:
                await self.refused(checkout.refund(deps, self.term, refund), "refund_exceeds_sale")
                return
            body = await checkout.refund(deps, self.term, refund)
            sale.left[line_id] -= quantity
            event("refunded")
            self.answers.append(("refund", refund, body.model_dump_json()))
        elif kind == "advance":
            self.clock.advance(days=op[1])
            now = to_epoch(self.clock())
            async with deps.db.transaction() as tx:
                await tx.lock_customer(self.merchant_id, member.id)
                if await expire_customer_lots(tx, self.merchant_id, member.id, now):
                    event("lots expired")
            lapsed = await deps.db.fetch_value(
                "SELECT COUNT(*) FROM bonus_lots WHERE customer_id = :c AND remaining > 0 "
                "AND expires_at <= :now",
                {"c": member.id, "now": now},
            )
            assert lapsed == 0
        elif kind == "credit":
            _, amount, lifetime = op
            await self.adjust(
                AdjustmentRequest(
                    kind="credit", amount=to_roubles(amount), reason="тест", lifetime_days=lifetime
                )
            )
            event("manual credit")
        elif kind == "debit":
            available = await self.available()
            amount = max(available * op[1] // 100, 1)
            debit = AdjustmentRequest(kind="debit", amount=to_roubles(amount), reason="тест")
            if amount > available:
                key = f"a{next(_ids)}"
                await self.refused(
                    customers_admin.adjust(deps, self.staff, member.id, debit, key),
                    "insufficient_bonuses",
                )
                return
            order = await spendable_lots(deps, member.id)
            await self.adjust(debit)
            expected, left = [], amount
            for lot_id, remaining in order:
                if left == 0:
                    break
                expected.append(lot_id)
                left -= min(left, remaining)
            taken = AdjustmentResult.model_validate_json(self.answers[-1][2]).lots
            assert taken == expected
            event("manual debit")
        elif kind == "replay" and self.answers:
            operation, call, first = self.answers[op[1] % len(self.answers)]
            before = await ledger_state(deps, member.id)
            if operation == "confirm":
                again = (await checkout.confirm(deps, self.term, call)).model_dump_json()
            elif operation == "adjust":
                request, key = call
                again = (
                    await customers_admin.adjust(deps, self.staff, member.id, request, key)
                ).model_dump_json()
            else:
                again = (await checkout.refund(deps, self.term, call)).model_dump_json()
            assert again == first
            assert await ledger_state(deps, member.id) == before
            event(f"replayed {operation}")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    lots=st.lists(accruals, min_size=1, max_size=3),
    steps=st.lists(operations, min_size=4, max_size=15),
)
async def test_ledger_invariants_hold_after_every_step(
    deps: Deps,
    demo_tenant: Tenant,
    clock: ManualClock,
    lots: list[tuple[Any, ...]],
    steps: list[tuple[Any, ...]],
) -> None:
    """Whatever the sequence of accruals, payments, holds, cancels, refunds, expiries
    and replays, the journal always equals the lots, no lot goes negative or above its
    amount, payments spend soonest-expiring lots first and replays change nothing."""
    member = await create_customer(deps, demo_tenant.merchant_id)
    scenario = Scenario(deps, terminal(demo_tenant), clock, member)
    for op in [*lots, *steps]:
        await scenario.step(op)
        assert_ledger_consistent(await ledger_state(deps, member.id))
