"""A refund's answer does not depend on whether the expiry job has run (hypothesis).

Two customers of one merchant live the same life — the same sales, bonus payments,
days passing and refunds — except that for one of them the expiry job runs every time
the clock moves, and for the other it never does. After every step both have the same
spendable balance, every refund answers both the same, and the journal matches the lots.
"""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cloud.clock import ManualClock, to_epoch
from cloud.ledger.balance import read_balance
from cloud.ledger.lots import expire_customer_lots
from cloud.services import checkout
from cloud.services.deps import Deps
from tests.conftest import make_tenant
from tests.ledger.helpers import (
    Member,
    assert_ledger_consistent,
    confirm_request,
    create_customer,
    ledger_state,
    refund_request,
    terminal,
)

_ids = itertools.count()
PROGRAM = {
    "name": "Тридцать дней",
    "kind": "bonus",
    "lifetime_days": 30,
    "tiers": [{"code": "std", "name": "Стандартная", "accrual_percent": "10"}],
}

operations = st.one_of(
    st.tuples(st.just("buy"), st.integers(100, 200_000), st.integers(1, 3), st.integers(0, 100)),
    st.tuples(st.just("advance"), st.integers(1, 40)),
    st.tuples(st.just("refund"), st.integers(0, 20), st.integers(0, 3)),
)


async def _available(deps: Deps, member: Member) -> int:
    return (await read_balance(deps.db, member.id, to_epoch(deps.clock()))).available


def _comparable(result: Any) -> dict[str, Any]:
    body = result.model_dump()
    body.pop("refund_id")
    body.pop("receipt_id")
    return dict(body)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(operations, min_size=3, max_size=14))
async def test_refunds_answer_the_same_whether_or_not_expiry_ran(
    deps: Deps, clock: ManualClock, steps: list[tuple[Any, ...]]
) -> None:
    """Whatever the sales, payments, pauses and (partial) refunds, a customer whose
    lapsed lots the expiry job already took and one whose lots lapsed by time only have
    the same balance after every step and get the same refund answers."""
    tenant = await make_tenant(deps, f"Свойства {next(_ids)}", PROGRAM)
    term = terminal(tenant)
    with_job = await create_customer(deps, tenant.merchant_id)
    without = await create_customer(deps, tenant.merchant_id)
    sales: list[tuple[str, int]] = []  # (receipt id suffix, quantity left)
    for op in steps:
        if op[0] == "buy":
            _, price, quantity, share = op
            pay = min(await _available(deps, with_job) * share // 100, price * quantity)
            suffix = f"s{next(_ids)}"
            for member in (with_job, without):
                request = confirm_request(
                    f"{member.id}-{suffix}", member, [("x", price, quantity)], pay
                )
                await checkout.confirm(deps, term, request)
            sales.append((suffix, quantity))
        elif op[0] == "advance":
            clock.advance(days=op[1])
            async with deps.db.transaction() as tx:
                await tx.lock_customer(tenant.merchant_id, with_job.id)
                if await expire_customer_lots(
                    tx, tenant.merchant_id, with_job.id, to_epoch(clock())
                ):
                    event("expiry job took lapsed lots")
        elif op[0] == "refund" and sales:
            _, which, quantity = op
            index = which % len(sales)
            suffix, left = sales[index]
            quantity = min(max(quantity, 1), left)
            if left == 0:
                continue
            answers = []
            refund_id = f"r{next(_ids)}"
            for member in (with_job, without):
                request = refund_request(
                    f"{member.id}-{refund_id}", f"{member.id}-{suffix}", [("x", quantity)]
                )
                answers.append(_comparable(await checkout.refund(deps, term, request)))
            assert answers[0] == answers[1]
            if answers[0]["lapsed_accrual"]:
                event("a refund found lapsed accrual")
            if answers[0]["reissued_bonuses"]:
                event("a refund reissued bonuses")
            sales[index] = (suffix, left - quantity)
        assert await _available(deps, with_job) == await _available(deps, without)
        for member in (with_job, without):
            assert_ledger_consistent(await ledger_state(deps, member.id))
