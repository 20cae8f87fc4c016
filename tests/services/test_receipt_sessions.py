"""The channel-neutral receipt session: what every till channel relies on between the
calls of one receipt (customer, hold, state), kept apart per channel and final once the
sale is recorded."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cloud.clock import ManualClock
from cloud.errors import Unprocessable
from cloud.services import receipt_sessions
from cloud.services.deps import Deps
from schemas import checkout as wire
from tests.conftest import Tenant
from tests.ledger.helpers import create_customer, give_lot, hold_request, sale, terminal

LINES = [("1", 100000, 1)]


async def _balance(deps: Deps, merchant_id: int, customer_id: int) -> int:
    return int(
        await deps.db.fetch_value(
            "SELECT COALESCE(SUM(remaining), 0) FROM bonus_lots WHERE merchant_id = :m "
            "AND customer_id = :c",
            {"m": merchant_id, "c": customer_id},
        )
    )


async def test_close_without_customer_or_payment_uses_what_the_session_learnt(
    deps: Deps, demo_tenant: Tenant
) -> None:
    """A close that names neither the customer nor the bonus payment (as Frontol's confirm
    may) records the sale for the customer the quote found and debits the held bonuses."""
    member = await create_customer(deps, demo_tenant.merchant_id)
    await give_lot(deps, demo_tenant.merchant_id, member.id, 50000)
    till = terminal(demo_tenant)
    await receipt_sessions.quote(
        deps, till, "frontol", wire.CalculateRequest(receipt=sale("u-1", member, LINES))
    )
    await receipt_sessions.hold(deps, till, "frontol", hold_request("u-1", member, LINES, 20000))
    held = await receipt_sessions.find(deps, demo_tenant.merchant_id, "frontol", "u-1")
    assert held is not None and (held.state, held.held, held.customer_id) == (
        "held", 20000, member.id
    )  # fmt: skip
    result = await receipt_sessions.close(deps, till, "frontol", sale("u-1", None, LINES), None)
    assert result.redeemed == Decimal("200.00") and result.customer is not None
    closed = await receipt_sessions.find(deps, demo_tenant.merchant_id, "frontol", "u-1")
    assert closed is not None and closed.state == "confirmed"
    assert closed.program_version == result.program_version


async def test_a_retried_close_with_another_envelope_is_the_same_sale(
    deps: Deps, demo_tenant: Tenant
) -> None:
    """A till that resends its close with a fresh time (and even other amounts) gets the
    answer the sale was recorded with; nothing is debited or accrued twice."""
    member = await create_customer(deps, demo_tenant.merchant_id)
    await give_lot(deps, demo_tenant.merchant_id, member.id, 50000)
    till = terminal(demo_tenant)
    first = await receipt_sessions.close(
        deps, till, "sigma", sale("r-7", member, LINES), Decimal("100.00")
    )
    after_first = await _balance(deps, demo_tenant.merchant_id, member.id)
    retried = sale("r-7", member, [("1", 100000, 1, 90000)]).model_copy(
        update={"created_at": deps.clock()}
    )
    again = await receipt_sessions.close(deps, till, "sigma", retried, Decimal("100.00"))
    assert again == first
    assert await _balance(deps, demo_tenant.merchant_id, member.id) == after_first
    assert await deps.db.fetch_value(
        "SELECT COUNT(*) FROM receipts WHERE merchant_id = :m", {"m": demo_tenant.merchant_id}
    ) == 1  # fmt: skip


async def test_one_receipt_id_on_two_channels_is_two_sessions(
    deps: Deps, demo_tenant: Tenant
) -> None:
    """Receipt ids are the tills' own: the same id from two channels never shares a
    customer, a hold or a sale."""
    member = await create_customer(deps, demo_tenant.merchant_id)
    await give_lot(deps, demo_tenant.merchant_id, member.id, 50000)
    till = terminal(demo_tenant)
    await receipt_sessions.hold(deps, till, "frontol", hold_request("1", member, LINES, 10000))
    await receipt_sessions.quote(
        deps, till, "sigma", wire.CalculateRequest(receipt=sale("1", None, LINES))
    )
    sigma = await receipt_sessions.find(deps, demo_tenant.merchant_id, "sigma", "1")
    assert sigma is not None and (sigma.customer_id, sigma.held, sigma.state) == (
        None, 0, "quoted"
    )  # fmt: skip
    result = await receipt_sessions.close(deps, till, "sigma", sale("1", None, LINES), None)
    assert result.redeemed == 0 and result.customer is None
    frontol = await receipt_sessions.find(deps, demo_tenant.merchant_id, "frontol", "1")
    assert frontol is not None and frontol.state == "held"


async def test_release_returns_the_hold_and_a_cancelled_receipt_stays_cancelled(
    deps: Deps, demo_tenant: Tenant
) -> None:
    """Removing the bonus payment frees the bonuses and leaves the receipt open; dropping
    the receipt marks the session cancelled."""
    member = await create_customer(deps, demo_tenant.merchant_id)
    await give_lot(deps, demo_tenant.merchant_id, member.id, 50000)
    till = terminal(demo_tenant)
    await receipt_sessions.hold(deps, till, "frontol", hold_request("u-2", member, LINES, 20000))
    released = await receipt_sessions.release(deps, till, "frontol", "u-2", receipt_cancelled=False)
    assert released.released == Decimal("200.00")
    session = await receipt_sessions.find(deps, demo_tenant.merchant_id, "frontol", "u-2")
    assert session is not None and (session.state, session.held) == ("quoted", 0)
    await receipt_sessions.release(deps, till, "frontol", "u-2", receipt_cancelled=True)
    session = await receipt_sessions.find(deps, demo_tenant.merchant_id, "frontol", "u-2")
    assert session is not None and session.state == "cancelled"


async def test_a_printed_receipt_whose_bonuses_are_gone_is_recorded_unsettled(
    deps: Deps, demo_tenant: Tenant, clock: ManualClock
) -> None:
    """A close reporting a printed receipt (``fiscal``) whose held bonuses lapsed and were
    spent meanwhile records the sale with what can still be debited; the session says
    ``unsettled`` with the rest and why. A till's close that is not yet printed is refused
    instead, so the cashier can take the payment another way."""
    member = await create_customer(deps, demo_tenant.merchant_id)
    await give_lot(deps, demo_tenant.merchant_id, member.id, 30000)
    till = terminal(demo_tenant)
    await receipt_sessions.hold(deps, till, "modulkassa", hold_request("p-1", member, LINES, 25000))
    clock.advance(seconds=deps.settings.hold_ttl_seconds + 60)
    await receipt_sessions.close(deps, till, "sigma", sale("other", member, LINES), Decimal(200))
    with pytest.raises(Unprocessable):
        await receipt_sessions.close(deps, till, "native", sale("p-1", member, LINES), Decimal(250))
    result = await receipt_sessions.close(
        deps, till, "modulkassa", sale("p-1", None, LINES), None, fiscal=True
    )
    assert result.redeemed == Decimal("140.00")  # 100 left + 40 the other sale accrued
    session = await receipt_sessions.find(deps, demo_tenant.merchant_id, "modulkassa", "p-1")
    assert session is not None and session.state == "unsettled"
    row = await deps.db.fetch_one(
        "SELECT unsettled, unsettled_reason FROM receipt_sessions WHERE merchant_id = :m "
        "AND channel = 'modulkassa' AND external_id = 'p-1'",
        {"m": demo_tenant.merchant_id},
    )
    assert row is not None and (int(row["unsettled"]), row["unsettled_reason"]) == (
        11000, "hold_expired"
    )  # fmt: skip
    again = await receipt_sessions.close(
        deps, till, "modulkassa", sale("p-1", None, LINES), None, fiscal=True
    )
    assert again == result
