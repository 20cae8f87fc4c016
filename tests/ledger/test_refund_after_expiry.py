"""Refunds after expiry: only what the customer actually benefited from may be taken
back from other lots, whether or not the expiry job has run; bonuses given back into a
lot that lapsed meanwhile come back as a new lot with a stated validity."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from cloud.clock import ManualClock, to_epoch
from cloud.ledger.balance import read_balance
from cloud.services import checkout, jobs
from cloud.services.deps import Deps
from tests.conftest import make_tenant
from tests.ledger.helpers import (
    assert_ledger_consistent,
    confirm_request,
    create_customer,
    ledger_state,
    refund_request,
    terminal,
)

MSK = ZoneInfo("Europe/Moscow")
# 10 % accrual, bonuses live 30 days from the purchase day, spendable at once.
PROGRAM = {
    "name": "Тридцать дней",
    "kind": "bonus",
    "lifetime_days": 30,
    "tiers": [{"code": "std", "name": "Стандартная", "accrual_percent": "10"}],
}
THOUSAND = [("x", 100_000, 1)]  # 1 000,00 -> 100,00 bonuses


async def _available(deps: Deps, customer_id: int) -> int:
    return (await read_balance(deps.db, customer_id, to_epoch(deps.clock()))).available


@pytest.mark.parametrize("job_ran", [True, False])
async def test_refund_after_expiry_takes_nothing_from_other_lots(
    deps: Deps, clock: ManualClock, job_ran: bool
) -> None:
    """Sale 1 accrues 100 (never spent), sale 2 accrues 100 on day 25, sale 1's lot
    lapses on day 30; refunding sale 1 on day 35 leaves 100: the lapsed accrual is not
    taken out of sale 2's lot — with or without the expiry job having run."""
    tenant = await make_tenant(deps, "Экспирация", PROGRAM)
    term = terminal(tenant)
    member = await create_customer(deps, tenant.merchant_id)
    await checkout.confirm(deps, term, confirm_request("S1", member, THOUSAND))
    clock.advance(days=25)
    await checkout.confirm(deps, term, confirm_request("S2", member, THOUSAND))
    clock.advance(days=10)
    if job_ran:
        await jobs.run_expiry(deps)
    assert await _available(deps, member.id) == 10_000

    result = await checkout.refund(deps, term, refund_request("R1", "S1"))

    assert await _available(deps, member.id) == 10_000
    assert result.balance == Decimal("100.00")
    assert result.reversed_accrual == Decimal("0.00")
    assert result.lapsed_accrual == Decimal("100.00")
    assert result.unrecovered_accrual == Decimal("0.00")
    assert any("сгорела" in message for message in result.messages)
    assert_ledger_consistent(await ledger_state(deps, member.id))


async def test_what_was_spent_of_a_lapsed_lot_is_still_taken_back(
    deps: Deps, clock: ManualClock
) -> None:
    """Sale 1 accrues 100; on day 20 40 of it pay for sale 2 (accruing 56 = 10 % of
    560); the other 60 lapse on day 30. Refunding half of sale 1 takes back only the
    40 the customer enjoyed, from sale 2's lot (10 lapsed); refunding the rest finds
    nothing more to take (50 lapsed)."""
    tenant = await make_tenant(deps, "Экспирация", PROGRAM)
    term = terminal(tenant)
    member = await create_customer(deps, tenant.merchant_id)
    await checkout.confirm(deps, term, confirm_request("S1", member, THOUSAND))
    clock.advance(days=20)
    await checkout.confirm(deps, term, confirm_request("S2", member, [("y", 60_000, 1)], 4_000))
    clock.advance(days=12)
    assert await _available(deps, member.id) == 5_600

    half = await checkout.refund(deps, term, refund_request("R1", "S1", [("x", Decimal("0.5"))]))
    assert half.reversed_accrual == Decimal("40.00")
    assert half.lapsed_accrual == Decimal("10.00")
    rest = await checkout.refund(deps, term, refund_request("R2", "S1"))
    assert rest.reversed_accrual == Decimal("0.00")
    assert rest.lapsed_accrual == Decimal("50.00")
    assert await _available(deps, member.id) == 1_600
    assert_ledger_consistent(await ledger_state(deps, member.id))


async def test_bonuses_given_back_to_a_lapsed_lot_come_back_as_a_new_lot(
    deps: Deps, clock: ManualClock
) -> None:
    """Sale 2 was paid with 30 bonuses from sale 1's lot, which lapses before sale 2 is
    refunded: the 30 come back as a new lot living the program's 30 days from the
    refund's local day (not into the dead lot), and the answer says until when."""
    tenant = await make_tenant(deps, "Экспирация", PROGRAM)
    term = terminal(tenant)
    member = await create_customer(deps, tenant.merchant_id)
    await checkout.confirm(deps, term, confirm_request("S1", member, THOUSAND))
    clock.advance(days=20)
    await checkout.confirm(deps, term, confirm_request("S2", member, [("y", 60_000, 1)], 3_000))
    clock.advance(days=12)
    refund_day = clock().astimezone(MSK).date()

    result = await checkout.refund(deps, term, refund_request("R", "S2"))

    assert result.returned_bonuses == Decimal("30.00")
    assert result.reissued_bonuses == Decimal("30.00")
    expected = datetime.combine(refund_day + timedelta(days=30), datetime.min.time(), MSK)
    assert result.reissued_expires_at == expected
    assert result.reissued_expires_at is not None
    assert result.reissued_expires_at.utcoffset() == timedelta(hours=3)
    assert any("новым начислением" in message for message in result.messages)
    # The 57 accrued by sale 2 are reversed from its own lot; the 30 are spendable.
    assert await _available(deps, member.id) == 3_000
    lot = await deps.db.fetch_one(
        "SELECT kind, amount, remaining, expires_at FROM bonus_lots "
        "WHERE customer_id = :c ORDER BY id DESC",
        {"c": member.id},
    )
    assert lot is not None
    assert (lot["kind"], lot["amount"], lot["remaining"]) == ("return", 3_000, 3_000)
    assert lot["expires_at"] == to_epoch(expected)
    # The expiry job leaves the new lot alone.
    await jobs.run_expiry(deps)
    assert await _available(deps, member.id) == 3_000
    assert_ledger_consistent(await ledger_state(deps, member.id))
