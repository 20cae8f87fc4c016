"""A receipt is confirmed with the program version that quoted it. Calculate writes
nothing, so the quote we keep is the hold: it records the version that priced it, and
its confirm is priced by that version even when a new one went live in between."""

from __future__ import annotations

from decimal import Decimal

from cloud.clock import ManualClock
from cloud.services import checkout, programs
from cloud.services.deps import Deps
from tests.conftest import make_tenant
from tests.ledger.helpers import (
    confirm_request,
    create_customer,
    give_lot,
    hold_request,
    terminal,
)

OLD = {
    "name": "Пять процентов",
    "kind": "bonus",
    "tiers": [{"code": "std", "name": "Стандартная", "accrual_percent": "5"}],
}
NEW = {**OLD, "name": "Десять процентов",
       "tiers": [{"code": "std", "name": "Стандартная", "accrual_percent": "10"}]}  # fmt: skip
LINES = [("x", 100_000, 1)]  # 1 000,00


async def _recorded_version(deps: Deps, external_id: str) -> int:
    return int(
        await deps.db.fetch_value(
            "SELECT program_version_id FROM receipts WHERE external_id = :e", {"e": external_id}
        )
    )


async def test_confirm_prices_with_the_version_that_held_the_receipt(
    deps: Deps, clock: ManualClock
) -> None:
    """Hold under version 1 (5 %), version 2 (10 %) goes live, confirm: accrues 5 % of
    the 900,00 paid in money (45,00) and the receipt records version 1. A receipt with
    no hold is priced by the live version 2."""
    tenant = await make_tenant(deps, "Версии", OLD)
    term = terminal(tenant)
    member = await create_customer(deps, tenant.merchant_id)
    await give_lot(deps, tenant.merchant_id, member.id, 50_000)
    await checkout.hold(deps, term, hold_request("H", member, LINES, 10_000))
    clock.advance(minutes=1)
    new = await programs.publish(deps.db, tenant.merchant_id, NEW, clock())

    held = await checkout.confirm(deps, term, confirm_request("H", member, LINES, 10_000))
    fresh = await checkout.confirm(deps, term, confirm_request("F", member, LINES))

    assert held.program_version == 1 and held.accrued == Decimal("45.00")
    assert await _recorded_version(deps, "H") == tenant.program_version_id
    assert fresh.program_version == 2 and fresh.accrued == Decimal("100.00")
    assert await _recorded_version(deps, "F") == new.id


async def test_an_expired_hold_no_longer_fixes_the_version(deps: Deps, clock: ManualClock) -> None:
    """Once the hold has expired the quote is gone: the confirm is priced by the live
    version like any receipt without a quote."""
    tenant = await make_tenant(deps, "Версии", OLD)
    term = terminal(tenant)
    member = await create_customer(deps, tenant.merchant_id)
    await give_lot(deps, tenant.merchant_id, member.id, 50_000)
    await checkout.hold(deps, term, hold_request("H", member, LINES, 10_000))
    clock.advance(seconds=deps.settings.hold_ttl_seconds + 1)
    await programs.publish(deps.db, tenant.merchant_id, NEW, clock())

    done = await checkout.confirm(deps, term, confirm_request("H", member, LINES, 10_000))

    assert done.program_version == 2 and done.accrued == Decimal("90.00")
