"""Holds: bonuses reserved for an open receipt, their TTL, cancel, and closed receipts."""

from __future__ import annotations

import pytest

from cloud.clock import ManualClock
from cloud.errors import Conflict, Unprocessable
from cloud.services import checkout
from cloud.services.deps import Deps
from tests.conftest import Tenant
from tests.ledger.helpers import (
    Member,
    assert_ledger_consistent,
    confirm_request,
    create_customer,
    give_lot,
    hold_request,
    ledger_state,
    roubles,
    terminal,
)

LINES = [("item", 20_000, 1)]  # 200 roubles; the program lets bonuses pay all of it


@pytest.fixture
async def member(deps: Deps, demo_tenant: Tenant) -> Member:
    """A customer with 100 roubles of never-expiring bonuses."""
    customer = await create_customer(deps, demo_tenant.merchant_id)
    await give_lot(deps, demo_tenant.merchant_id, customer.id, 10_000)
    return customer


async def test_hold_reserves_bonuses_from_other_receipts(
    deps: Deps, demo_tenant: Tenant, member: Member
) -> None:
    """While receipt A holds the whole balance, receipt B can neither hold nor spend it,
    and A's own confirm consumes its hold."""
    term = terminal(demo_tenant)
    held = await checkout.hold(deps, term, hold_request("A", member, LINES, 10_000))
    assert held.amount == roubles(10_000)
    assert held.balance == roubles(0)

    with pytest.raises(Unprocessable) as error:
        await checkout.hold(deps, term, hold_request("B", member, LINES, 100))
    assert error.value.code == "insufficient_bonuses"
    with pytest.raises(Unprocessable) as error:
        await checkout.confirm(deps, term, confirm_request("B", member, LINES, redeemed=100))
    assert error.value.code == "insufficient_bonuses"

    done = await checkout.confirm(deps, term, confirm_request("A", member, LINES, 10_000))
    assert done.redeemed == roubles(10_000)
    state = await ledger_state(deps, member.id)
    assert [status for _, _, status in state.holds] == ["consumed"]
    assert_ledger_consistent(state)


async def test_rehold_replaces_the_receipts_earlier_hold(
    deps: Deps, demo_tenant: Tenant, member: Member
) -> None:
    """Holding again for the same receipt replaces its hold instead of adding to it, so
    the receipt can raise its bonus payment up to the whole balance."""
    term = terminal(demo_tenant)
    await checkout.hold(deps, term, hold_request("A", member, LINES, 4_000))
    again = await checkout.hold(deps, term, hold_request("A", member, LINES, 10_000))
    assert again.amount == roubles(10_000)
    state = await ledger_state(deps, member.id)
    assert [(amount, status) for _, amount, status in state.holds] == [
        (4_000, "released"),
        (10_000, "active"),
    ]


async def test_hold_stops_counting_after_its_ttl(
    deps: Deps, demo_tenant: Tenant, member: Member, clock: ManualClock
) -> None:
    """A hold counts until ``hold_ttl_seconds`` have passed and not a second longer:
    after that another receipt may spend the bonuses it reserved."""
    term = terminal(demo_tenant)
    await checkout.hold(deps, term, hold_request("A", member, LINES, 10_000))
    clock.advance(seconds=deps.settings.hold_ttl_seconds - 1)
    with pytest.raises(Unprocessable):
        await checkout.confirm(deps, term, confirm_request("B", member, LINES, 10_000))
    clock.advance(seconds=1)
    done = await checkout.confirm(deps, term, confirm_request("B", member, LINES, 10_000))
    assert done.redeemed == roubles(10_000)
    assert_ledger_consistent(await ledger_state(deps, member.id))


async def test_confirm_after_hold_expired_without_free_bonuses_is_hold_expired(
    deps: Deps, demo_tenant: Tenant, member: Member, clock: ManualClock
) -> None:
    """A receipt whose hold lapsed and whose bonuses were spent meanwhile is refused with
    ``hold_expired`` (not a generic shortage), and nothing is written."""
    term = terminal(demo_tenant)
    await checkout.hold(deps, term, hold_request("A", member, LINES, 10_000))
    clock.advance(seconds=deps.settings.hold_ttl_seconds + 60)
    await checkout.confirm(deps, term, confirm_request("B", member, LINES, 6_000))
    before = await ledger_state(deps, member.id)
    with pytest.raises(Unprocessable) as error:
        await checkout.confirm(deps, term, confirm_request("A", member, LINES, 10_000))
    assert error.value.code == "hold_expired"
    assert await ledger_state(deps, member.id) == before


async def test_confirm_after_hold_expired_with_free_bonuses_succeeds(
    deps: Deps, demo_tenant: Tenant, member: Member, clock: ManualClock
) -> None:
    """A lapsed hold is no obstacle when the bonuses are still free: the confirm spends
    them and the stale hold is closed."""
    term = terminal(demo_tenant)
    await checkout.hold(deps, term, hold_request("A", member, LINES, 10_000))
    clock.advance(seconds=deps.settings.hold_ttl_seconds + 60)
    done = await checkout.confirm(deps, term, confirm_request("A", member, LINES, 10_000))
    assert done.redeemed == roubles(10_000)
    state = await ledger_state(deps, member.id)
    assert all(status != "active" for _, _, status in state.holds)
    assert state.lots_sum == done.accrued * 100
    assert_ledger_consistent(state)


async def test_cancel_releases_the_hold_and_twice_is_harmless(
    deps: Deps, demo_tenant: Tenant, member: Member
) -> None:
    """Cancel frees the reserved bonuses for other receipts; a second cancel (or one for
    a receipt with no hold) releases nothing and changes nothing."""
    term = terminal(demo_tenant)
    await checkout.hold(deps, term, hold_request("A", member, LINES, 10_000))
    first = await checkout.cancel(deps, term, checkout.wire.CancelRequest(receipt_id="A"))
    assert first.released == roubles(10_000)
    after_first = await ledger_state(deps, member.id)
    second = await checkout.cancel(deps, term, checkout.wire.CancelRequest(receipt_id="A"))
    assert second.released == roubles(0)
    nothing = await checkout.cancel(deps, term, checkout.wire.CancelRequest(receipt_id="none"))
    assert nothing.released == roubles(0)
    assert await ledger_state(deps, member.id) == after_first

    done = await checkout.confirm(deps, term, confirm_request("B", member, LINES, 10_000))
    assert done.redeemed == roubles(10_000)


async def test_confirmed_receipt_cannot_be_held_or_cancelled(
    deps: Deps, demo_tenant: Tenant, member: Member
) -> None:
    """Once a receipt is confirmed its bonuses are settled: hold and cancel on it are a
    ``receipt_closed`` conflict and leave the ledger untouched."""
    term = terminal(demo_tenant)
    await checkout.hold(deps, term, hold_request("A", member, LINES, 5_000))
    await checkout.confirm(deps, term, confirm_request("A", member, LINES, 5_000))
    before = await ledger_state(deps, member.id)
    with pytest.raises(Conflict) as error:
        await checkout.hold(deps, term, hold_request("A", member, LINES, 1_000))
    assert error.value.code == "receipt_closed"
    with pytest.raises(Conflict) as error:
        await checkout.cancel(deps, term, checkout.wire.CancelRequest(receipt_id="A"))
    assert error.value.code == "receipt_closed"
    assert await ledger_state(deps, member.id) == before
