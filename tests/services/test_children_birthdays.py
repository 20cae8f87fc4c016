"""Children's birthdays: with ``gifts.birthday.children`` the parent gets the birthday
gift once per child and year, on each child's day, besides their own birthday."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from cloud.clock import ManualClock
from cloud.services import customers, lifecycle
from cloud.services.deps import Deps
from schemas.customers import Child, Consent, RegisterCustomer
from tests.conftest import Tenant, make_tenant
from tests.ledger.helpers import assert_ledger_consistent, ledger_state
from tests.services.test_lifecycle_jobs import PROGRAM, _counts, _epoch, _lots, _notes

WITH_CHILDREN: dict[str, Any] = {
    **PROGRAM,
    "gifts": {"birthday": {**PROGRAM["gifts"]["birthday"], "children": True}},
}


async def _parent(
    deps: Deps, tenant: Tenant, phone: str, birthday: date | None, *children: date
) -> int:
    data = RegisterCustomer(
        phone=phone,
        birthday=birthday,
        children=[Child(name=f"Ребёнок {n}", birthday=born) for n, born in enumerate(children)],
        consent=Consent(personal_data=True, messages=True),
    )
    return await customers.register_customer(
        deps, tenant.merchant_id, data, store_id=tenant.store_id, channel="import", sms_code=None
    )


async def test_a_gift_per_child_on_each_childs_birthday(deps: Deps, clock: ManualClock) -> None:
    """A parent whose own birthday and first child's fall on the same day gets two gifts
    that day (distinct journal keys) and one more on the second child's day; twins give
    two gifts in one run; each gift is a lot with its journal entry and SMS; a second run
    of the day changes nothing; the ledger stays consistent."""
    clock.now = datetime(2026, 3, 7, 9, tzinfo=UTC)  # 3 days before 10 March
    tenant = await make_tenant(deps, "Салон", WITH_CHILDREN)
    parent = await _parent(
        deps, tenant, "+79160000201", date(1990, 3, 10), date(2015, 3, 10), date(2018, 5, 20)
    )
    twins = await _parent(deps, tenant, "+79160000202", None, date(2020, 3, 10), date(2020, 3, 10))
    childless = await _parent(deps, tenant, "+79160000203", None)

    report = await lifecycle.run_birthday(deps)
    assert report.details[str(tenant.merchant_id)] == {
        "date": "2026-03-07", "granted": 1, "children": 3, "amount": 4 * 50_000
    }  # fmt: skip
    starts, ends = _epoch(date(2026, 3, 8)), _epoch(date(2026, 3, 18))
    assert await _lots(deps, parent, "birthday") == [(50_000, starts, ends)]
    assert await _lots(deps, parent, "child_birthday") == [(50_000, starts, ends)]
    assert await _lots(deps, twins, "child_birthday") == [(50_000, starts, ends)] * 2
    assert await _lots(deps, childless, "child_birthday") == []
    assert [(c, k) for c, k, _ in await _notes(deps, tenant.merchant_id)] == [
        (parent, "birthday_gift"), (parent, "birthday_gift"), (twins, "birthday_gift"),
        (twins, "birthday_gift"),
    ]  # fmt: skip
    keys = await deps.db.fetch_all(
        "SELECT idempotency_key FROM ledger_entries WHERE customer_id = :c ORDER BY id",
        {"c": parent},
    )
    assert len({r["idempotency_key"] for r in keys}) == 2
    lots = await deps.db.fetch_all(
        "SELECT lot_id FROM job_events WHERE customer_id IN (:a, :b)", {"a": parent, "b": twins}
    )
    assert len({r["lot_id"] for r in lots}) == 4 and None not in {r["lot_id"] for r in lots}
    for customer in (parent, twins):
        assert_ledger_consistent(await ledger_state(deps, customer))

    before = await _counts(deps)
    assert (await lifecycle.run_birthday(deps)).skipped == 1
    assert await _counts(deps) == before
    # The same date again under another run (a forced re-run) finds the keys taken.
    await deps.db.execute("DELETE FROM job_runs")
    await lifecycle.run_birthday(deps)
    assert await _counts(deps) == before

    clock.now = datetime(2026, 5, 17, 9, tzinfo=UTC)  # 3 days before 20 May
    report = await lifecycle.run_birthday(deps)
    assert report.details[str(tenant.merchant_id)]["children"] == 1
    assert len(await _lots(deps, parent, "child_birthday")) == 2
    assert_ledger_consistent(await ledger_state(deps, parent))


async def test_no_childrens_gifts_when_the_option_is_off(deps: Deps, clock: ManualClock) -> None:
    """Without ``children: true`` a child's birthday grants nothing, and children do not
    show in the job's report."""
    clock.now = datetime(2026, 3, 7, 9, tzinfo=UTC)
    tenant = await make_tenant(deps, "Салон", PROGRAM)
    parent = await _parent(deps, tenant, "+79160000211", None, date(2015, 3, 10))
    report = await lifecycle.run_birthday(deps)
    assert report.details[str(tenant.merchant_id)] == {
        "date": "2026-03-07", "granted": 0, "amount": 0
    }  # fmt: skip
    assert await _lots(deps, parent, "child_birthday") == []
    assert await _notes(deps, tenant.merchant_id) == []
