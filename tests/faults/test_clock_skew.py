"""A till's clock days off the cloud's. The receipt keeps the till's time as given (it
is the fiscal receipt's). A till more than a day ahead of us is taken to have sold now
(its bonuses activate and lapse as if sold now, the customer's last purchase is not set
in the future); a till behind is a late sale, whose bonuses count from when it says it
sold (a store bridge replaying yesterday's receipts)."""

from __future__ import annotations

from datetime import timedelta

from cloud.clock import to_epoch
from cloud.services import checkout
from cloud.services.deps import Deps
from tests.conftest import Tenant
from tests.ledger.helpers import confirm_request, create_customer, terminal

DAY = 86_400


async def test_a_till_ahead_or_behind_keeps_its_time_and_the_ledger_keeps_ours(
    deps: Deps, demo_tenant: Tenant
) -> None:
    """Three sales of one customer: one with no time, one stamped two days ahead, one
    three days behind. Each receipt stores the time it was sent with. The one ahead
    accrues exactly like the one with no time (available now, same last day) and leaves
    the last purchase at now; the one behind gets bonuses whose last day is three days
    earlier and does not move the last purchase back."""
    member = await create_customer(deps, demo_tenant.merchant_id)
    till = terminal(demo_tenant)
    now = deps.clock()
    stamps = {"now": None, "ahead": now + timedelta(days=2), "behind": now - timedelta(days=3)}
    for name, stamp in stamps.items():
        request = confirm_request(name, member, [("1", 100_000, 1)])
        request.receipt.created_at = stamp
        await checkout.confirm(deps, till, request)
    rows = await deps.db.fetch_all(
        "SELECT r.external_id, r.created_at, b.available_from, b.expires_at FROM receipts r "
        "JOIN bonus_lots b ON b.receipt_id = r.id WHERE r.merchant_id = :m",
        {"m": demo_tenant.merchant_id},
    )
    lots = {row["external_id"]: row for row in rows}
    assert {name: lots[name]["created_at"] for name in stamps} == {
        name: to_epoch(stamp or now) for name, stamp in stamps.items()
    }
    assert lots["ahead"]["available_from"] == lots["now"]["available_from"] <= to_epoch(now)
    assert lots["ahead"]["expires_at"] == lots["now"]["expires_at"]
    assert lots["behind"]["expires_at"] == lots["now"]["expires_at"] - 3 * DAY
    last = await deps.db.fetch_value(
        "SELECT last_purchase_at FROM customers WHERE id = :c", {"c": member.id}
    )
    assert last == to_epoch(now)
