"""Ledger invariants over random sequences across several customers of one merchant,
with the scheduled jobs in between (hypothesis).

Each customer's own steps (accruals, bonus payments, holds, confirms and cancels of
held receipts, partial refunds, replays) are ``test_invariants.Scenario`` steps, with
their own checks (FIFO allocation, a refused operation writes nothing, a replay answers
the same body and writes nothing). Around them the merchant's day goes on: quotes that
must write nothing, full refunds, the clock moving by hours or days without any job,
and the expiry, tier and hold-expiry jobs and the gift and message jobs (birthday,
reanimation, expiry warnings) as ``loyalty jobs run`` would run them; a job that did
work, run again at once, changes nothing. After every step, for every customer of the
merchant:

- the journal sums to the lots' remainders, and no remainder leaves ``[0, amount]``;
- a sale's allocations add up to its lines' redeemed bonuses, and what refunds gave back
  to the lots to the lines' returned bonuses;
- once all of a sale is returned, its refunds add up to a full one;
- a customer's tier is one the program has.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cloud.clock import ManualClock, to_epoch
from cloud.errors import Conflict
from cloud.services import checkout, jobs, lifecycle, notices
from cloud.services.deps import Deps
from cloud.services.merchants import TerminalContext, zone
from schemas import checkout as wire
from tests.conftest import Tenant, make_tenant
from tests.ledger.helpers import (
    assert_ledger_consistent,
    assert_receipts_consistent,
    create_customer,
    ledger_state,
    refund_request,
    roubles,
    sale,
    terminal,
)
from tests.ledger.test_invariants import Scenario, accruals, index, line_specs, percent

_ids = itertools.count()

# Tiers over a rolling 30 days recomputed every night, a single receipt of 400 ₽ reaches
# the top one; bonuses live 20 days: every job has something to do in a few steps.
PROGRAM = {
    "name": "Последовательности",
    "kind": "bonus",
    "tier_assignment": "first_purchase",
    "tier_rule": {"basis": "rolling", "period_days": 30, "recompute": "daily"},
    "tiers": [
        {"code": "standard", "name": "Стандартная", "accrual_percent": "5"},
        {"code": "silver", "name": "Серебряная", "accrual_percent": "7",
         "purchases_over": "300"},
        {"code": "gold", "name": "Золотая", "accrual_percent": "10",
         "purchases_over": "600", "single_receipt_at_least": "400"},
    ],
    "accrual_base": "money_paid",
    "accrual_rounding": "floor_kopeck",
    "activation_delay_days": 0,
    "lifetime_days": 20,
    "expiry_warning_days": 2,
    "gifts": {
        "birthday": {"amount": "50", "days_before": 2, "valid_days": 5},
        "reanimation": [{"code": "back", "name": "Вернуть", "days_without_purchase": 3,
                         "amount": "30", "valid_days": 4}],
    },
}  # fmt: skip
JOBS = {
    "expiry": jobs.run_expiry,
    "tiers": jobs.run_tiers,
    "holds": jobs.run_holds,
    "birthday": lifecycle.run_birthday,
    "reanimation": lifecycle.run_reanimation,
    "expiry_warnings": notices.run_expiry_warnings,
}
TIERS = {tier["code"] for tier in PROGRAM["tiers"]}  # type: ignore[attr-defined]

own_steps = st.one_of(
    accruals,
    st.tuples(st.just("buy"), line_specs, percent),
    st.tuples(st.just("hold"), line_specs, percent),
    st.tuples(st.just("close_hold"), index, st.booleans()),
    st.tuples(st.just("refund"), index, index, st.integers(1, 3)),
    st.tuples(st.just("replay"), index),
)
own = st.tuples(st.just("own"), index, own_steps)
operations = st.one_of(
    own,
    own,
    own,
    own,
    st.tuples(st.just("calculate"), index, line_specs, percent),
    st.tuples(st.just("refund_all"), index, index),
    st.tuples(st.just("advance"), st.integers(1, 30 * 24)),  # hours
    st.tuples(st.just("job"), st.sampled_from(sorted(JOBS))),
)


@dataclass
class Shop:
    deps: Deps
    term: TerminalContext
    clock: ManualClock
    customers: list[Scenario]

    def who(self, pick: int) -> Scenario:
        return self.customers[pick % len(self.customers)]

    async def step(self, op: tuple[Any, ...]) -> None:
        kind = op[0]
        deps = self.deps
        if kind == "own":
            await self.who(op[1]).step(op[2])
        elif kind == "calculate":
            _, pick, specs, share = op
            customer = self.who(pick)
            before = await ledger_state(deps, customer.member.id)
            available = await customer.available()
            receipt = sale(f"q{next(_ids)}", customer.member, customer.lines(specs))
            quote = await checkout.calculate(
                deps, self.term, wire.CalculateRequest(receipt=receipt)
            )
            assert quote.max_redeem <= roubles(available)
            wanted = min(roubles(available * share // 100), quote.max_redeem)
            request = wire.CalculateRequest(receipt=receipt, redeem=wanted)
            assert (await checkout.calculate(deps, self.term, request)).redeem == wanted
            assert await ledger_state(deps, customer.member.id) == before
        elif kind == "refund_all":
            _, pick, which = op
            customer = self.who(pick)
            if not customer.sales:
                return
            sold = customer.sales[which % len(customer.sales)]
            refund = refund_request(f"f{next(_ids)}", sold.receipt_id)
            if not any(sold.left.values()):
                before = await ledger_state(deps, customer.member.id)
                try:
                    await checkout.refund(deps, self.term, refund)
                except Conflict as error:
                    assert error.code == "already_refunded"
                else:
                    raise AssertionError("a second full refund was accepted")
                assert await ledger_state(deps, customer.member.id) == before
                return
            body = await checkout.refund(deps, self.term, refund)
            sold.left = dict.fromkeys(sold.left, 0)
            customer.answers.append(("refund", refund, body.model_dump_json()))
            event("refunded the rest")
        elif kind == "advance":
            self.clock.advance(hours=op[1])
        elif kind == "job":
            report = await JOBS[op[1]](deps)
            event(f"job {op[1]}: {'ran' if report.merchants else 'nothing to do'}")
            if report.merchants:
                before = await self.tables()
                assert (await JOBS[op[1]](deps)).merchants == 0
                assert await self.tables() == before
            if op[1] == "expiry" and report.merchants:
                # The day's run expired every lot lapsed by now.
                lapsed = await deps.db.fetch_value(
                    "SELECT COUNT(*) FROM bonus_lots WHERE merchant_id = :m AND remaining > 0 "
                    "AND expires_at <= :now",
                    {"m": self.term.merchant_id, "now": to_epoch(self.clock())},
                )
                assert lapsed == 0

    async def tables(self) -> tuple[int, ...]:
        """Rows a job could write, and the lots' remainders."""
        row = await self.deps.db.fetch_one(
            "SELECT (SELECT COUNT(*) FROM ledger_entries) AS a, (SELECT COUNT(*) FROM "
            "notifications) AS b, (SELECT COUNT(*) FROM job_events) AS c, (SELECT COUNT(*) "
            "FROM reanimations) AS d, (SELECT COALESCE(SUM(remaining), 0) FROM bonus_lots) AS e"
        )
        assert row is not None
        return tuple(int(row[k]) for k in "abcde")

    async def check(self, everyone: bool = False) -> None:
        """The invariants for this example's customers (``everyone``: the merchant's)."""
        rows = await self.deps.db.fetch_all(
            "SELECT id, tier_code FROM customers WHERE merchant_id = :m",
            {"m": self.term.merchant_id},
        )
        mine = {customer.member.id for customer in self.customers}
        for row in rows:
            if not everyone and row["id"] not in mine:
                continue
            assert_ledger_consistent(await ledger_state(self.deps, row["id"]))
            await assert_receipts_consistent(self.deps, row["id"])
            assert row["tier_code"] is None or row["tier_code"] in TIERS


# One merchant for all examples of a test (hypothesis reuses function-scoped fixtures);
# each example brings its own customers.
@pytest.fixture
async def shop_tenant(deps: Deps) -> Tenant:
    return await make_tenant(deps, "Последовательности", PROGRAM)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    people=st.integers(2, 3),
    lots=st.lists(st.tuples(index, accruals), min_size=1, max_size=4),
    steps=st.lists(operations, min_size=4, max_size=25),
    birthdays=st.lists(st.integers(0, 6), min_size=3, max_size=3),
)
async def test_sequences_with_jobs_keep_every_ledger_invariant(
    deps: Deps,
    clock: ManualClock,
    shop_tenant: Tenant,
    people: int,
    lots: list[tuple[int, tuple[Any, ...]]],
    steps: list[tuple[Any, ...]],
    birthdays: list[int],
) -> None:
    """Whatever the sequence of quotes, payments, holds, confirms, cancels, partial and
    full refunds, clock moves, expiry, tier and hold-expiry jobs and replays over
    several customers, the journal equals the lots, no lot goes negative, allocations
    equal the receipt lines' redeemed bonuses, partial refunds add up to a full one and
    replays change nothing."""
    term = terminal(shop_tenant)
    customers = [
        Scenario(deps, term, clock, await create_customer(deps, shop_tenant.merchant_id))
        for _ in range(people)
    ]
    shop = Shop(deps, term, clock, customers)
    for customer, days in zip(customers, birthdays, strict=False):
        # A birthday a few days ahead, so the birthday job has something to grant.
        born = (clock() + timedelta(days=days)).astimezone(zone("Europe/Moscow")).date()
        await deps.db.execute(
            "UPDATE customers SET birthday_md = :md, consent_messages_at = 0 WHERE id = :c",
            {"md": born.month * 100 + born.day, "c": customer.member.id},
        )
    for pick, accrual in lots:
        await shop.who(pick).step(accrual)
    for op in steps:
        await shop.step(op)
        await shop.check()
    await shop.check(everyone=True)
