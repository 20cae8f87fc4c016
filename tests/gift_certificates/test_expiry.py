"""Expiry of gift certificates and the certificate ledger's invariant.

The nightly job moves the remainder of every certificate whose time ran out to
``expired`` in a few set-based statements; it runs once per merchant and local date
under the scheduler, and even forced again changes nothing. Over random sequences of
payments, holds, cancels, returns, voids, clock moves and job runs (hypothesis) every
certificate keeps ``nominal = redeemed + remaining + expired + voided``, nothing goes
negative, the journal sums to ``remaining``, and a repeated job run changes nothing.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud.clock import ManualClock, to_epoch
from cloud.errors import DomainError
from cloud.services import checkout, gift_certificate_jobs, gift_certificates, scheduler
from cloud.services.deps import Deps
from schemas import checkout as wire
from schemas import gift_certificates as gift_wire
from tests.conftest import Tenant
from tests.gift_certificates.helpers import (
    CONFIRM,
    REPORT,
    STATUS,
    assert_balanced,
    call,
    issue,
    ledger,
    paying,
    receipt,
)
from tests.ledger.helpers import terminal


async def test_expiry_job_moves_remainders_once(
    client: TestClient, admin: TestClient, deps: Deps, clock: ManualClock, demo_tenant: Tenant
) -> None:
    """Two certificates valid through 20.11.2026, one partly spent, one valid a year:
    after midnight the job moves 2 000 ₽ and 3 000 ₽ to expired and leaves the third;
    a second run the same day is skipped, a forced statement finds nothing; the report
    and the status agree with the job before and after it ran."""
    await issue(admin, numbers=["J-0001", "J-0002"], valid_until="2026-11-20")
    await issue(admin, numbers=["J-0003"])
    await call(
        client,
        "POST",
        CONFIRM,
        {"receipt": receipt("r1", 1000), "gift_certificates": paying("J-0001", 1000)},
    )
    clock.now = datetime(2026, 11, 20, 21, 1, tzinfo=UTC)  # 00:01 on the 21st in Moscow
    before = await call(admin, "GET", REPORT)
    report = await gift_certificate_jobs.run_expiry(deps, merchant_id=demo_tenant.merchant_id)
    assert report.details == {str(demo_tenant.merchant_id): {"certificates": 2, "expired": 500000}}
    after = await call(admin, "GET", REPORT)
    assert before == after and after["expired"] == 5000 and after["outstanding"] == 3000
    again = await gift_certificate_jobs.run_expiry(deps, merchant_id=demo_tenant.merchant_id)
    assert (again.merchants, again.skipped) == (0, 1)
    async with deps.db.transaction() as tx:
        assert await gift_certificate_jobs.expire_due(
            tx, demo_tenant.merchant_id, to_epoch(clock())
        ) == (0, 0)
    for number, expired in (("J-0001", 200000), ("J-0002", 300000), ("J-0003", 0)):
        state = await ledger(deps, number)
        assert state["expired"] == expired
        assert_balanced(state)
    status = await call(client, "GET", f"{STATUS}?number=J-0002")
    assert (status["state"], status["remaining"]) == ("EXPIRED", 0)


async def test_scheduler_runs_the_expiry_after_local_midnight(
    deps: Deps, clock: ManualClock, demo_tenant: Tenant
) -> None:
    """The job is on the schedule at 00:10 local time, once per date."""
    tz = demo_tenant_zone()
    body = gift_wire.GiftCertificateIssue(
        numbers=["S-0001"], nominal=Decimal(100), valid_until=date(2026, 11, 20)
    )
    await gift_certificates.issue(deps, demo_tenant.merchant_id, tz, body)
    clock.now = datetime(2026, 11, 20, 21, 11, tzinfo=UTC)
    runs = await scheduler.tick(deps)
    assert (demo_tenant.merchant_id, "gift_certificates", "2026-11-21") in runs
    assert not [r for r in await scheduler.tick(deps) if r[1] == "gift_certificates"]
    assert (await ledger(deps, "S-0001"))["status"] == "expired"


def demo_tenant_zone() -> ZoneInfo:
    return ZoneInfo("Europe/Moscow")


# ---- the invariant, over random sequences ----------------------------------------------

_ids = itertools.count()
operations = st.one_of(
    st.tuples(st.just("spend"), st.integers(1, 4000), st.integers(0, 2)),
    st.tuples(st.just("hold"), st.integers(1, 4000), st.integers(0, 2)),
    st.tuples(st.just("cancel"), st.integers(0, 20), st.just(0)),
    st.tuples(st.just("refund"), st.integers(0, 20), st.integers(0, 1)),
    st.tuples(st.just("days"), st.integers(1, 200), st.just(0)),
    st.tuples(st.just("expire"), st.just(0), st.just(0)),
    st.tuples(st.just("void"), st.integers(0, 2), st.just(0)),
)
certificates_spec = st.lists(
    st.tuples(st.integers(1, 5000), st.sampled_from(["partial", "single"]), st.integers(1, 300)),
    min_size=1,
    max_size=3,
)


async def _states(deps: Deps, merchant_id: int) -> list[dict[str, Any]]:
    rows = await deps.db.fetch_all(
        "SELECT g.number, g.nominal, g.remaining, g.redeemed, g.expired, g.voided, g.status, "
        "(SELECT COALESCE(SUM(e.amount), 0) FROM gift_certificate_entries e "
        "WHERE e.certificate_id = g.id) AS journal FROM gift_certificates g "
        "WHERE g.merchant_id = :m ORDER BY g.id",
        {"m": merchant_id},
    )
    return [dict(row) for row in rows]


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(specs=certificates_spec, steps=st.lists(operations, min_size=3, max_size=12))
async def test_certificate_ledger_invariant(
    deps: Deps,
    demo_tenant: Tenant,
    clock: ManualClock,
    specs: list[tuple[int, str, int]],
    steps: list[tuple[str, int, int]],
) -> None:
    """After every step each certificate keeps nominal = redeemed + remaining +
    expired + voided with no part negative and the journal summing to remaining; a
    refused operation changes nothing; the expiry statement run twice changes nothing
    the second time."""
    merchant = demo_tenant.merchant_id
    term = terminal(demo_tenant)
    tz = demo_tenant_zone()
    run = next(_ids)
    numbers = []
    for i, (nominal, redemption, days) in enumerate(specs):
        number = f"P{run}-{i}"
        numbers.append(number)
        await gift_certificates.issue(
            deps,
            merchant,
            tz,
            gift_wire.GiftCertificateIssue(
                numbers=[number],
                nominal=Decimal(nominal),
                valid_days=days,
                redemption=redemption,  # type: ignore[arg-type]
            ),
        )
    sales: list[str] = []
    opened: list[str] = []
    for kind, value, which in steps:
        before = await _states(deps, merchant)
        number = numbers[which % len(numbers)]
        try:
            if kind in ("spend", "hold"):
                rid = f"P{run}-r{next(_ids)}"
                lines = [
                    wire.ReceiptLine(id="a", price=Decimal(2000), quantity=Decimal(1)),
                    wire.ReceiptLine(id="b", price=Decimal(3000), quantity=Decimal(1)),
                ]
                pay = [wire.GiftCertificatePayment(number=number, amount=Decimal(value))]
                sale = wire.Receipt(id=rid, lines=lines)
                if kind == "spend":
                    await checkout.confirm(
                        deps, term, wire.ConfirmRequest(receipt=sale, gift_certificates=pay)
                    )
                    sales.append(rid)
                else:
                    await checkout.hold_gift_certificates(
                        deps,
                        term,
                        wire.GiftCertificateHoldRequest(receipt=sale, gift_certificates=pay),
                    )
                    opened.append(rid)
            elif kind == "cancel" and opened:
                rid = opened[value % len(opened)]
                await checkout.cancel(deps, term, wire.CancelRequest(receipt_id=rid))
            elif kind == "refund" and sales:
                rid = sales[value % len(sales)]
                lines = [wire.RefundLine(id="a", quantity=Decimal(1))] if which else None
                await checkout.refund(
                    deps,
                    term,
                    wire.RefundRequest(id=f"{rid}-back{next(_ids)}", receipt_id=rid, lines=lines),
                )
            elif kind == "days":
                clock.advance(days=value)
            elif kind == "expire":
                await gift_certificate_jobs.run_expiry(deps, merchant_id=merchant)
            elif kind == "void":
                row = await deps.db.fetch_one(
                    "SELECT id FROM gift_certificates WHERE number = :n", {"n": number}
                )
                assert row is not None
                await gift_certificates.void(deps, merchant, int(row["id"]), tz)
        except DomainError:
            assert await _states(deps, merchant) == before, (kind, value)
        for state in await _states(deps, merchant):
            assert_balanced(state)
        async with deps.db.transaction() as tx:
            await gift_certificate_jobs.expire_due(tx, merchant, to_epoch(clock()))
        once = await _states(deps, merchant)
        async with deps.db.transaction() as tx:
            assert await gift_certificate_jobs.expire_due(tx, merchant, to_epoch(clock())) == (0, 0)
        assert await _states(deps, merchant) == once
        for state in once:
            assert_balanced(state)
