"""Lifecycle jobs: birthday gifts, expiry warnings, reanimation and follow-up reminders
grant through the ledger and queue SMS once, only for customers who consented, and a
second run changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from cloud import main
from cloud.clock import ManualClock, to_epoch
from cloud.engine.lifecycle import local_midnight
from cloud.messages import outbox
from cloud.messages.providers import LogSmsProvider
from cloud.services import customers, jobs, lifecycle, notices, reanimation_report
from cloud.services.deps import Deps
from cloud.services.merchants import zone
from cloud.settings import Settings
from schemas.customers import Consent, RegisterCustomer
from tests.conftest import Tenant, make_tenant
from tests.ledger.helpers import assert_ledger_consistent, give_lot, ledger_state
from tests.services.test_tier_job import _buy

MSK = zone("Europe/Moscow")

PROGRAM: dict[str, Any] = {
    "name": "Салон: подарки",
    "tiers": [
        {"code": "base", "name": "Базовый", "accrual_percent": "5"},
        {"code": "vip", "name": "VIP", "accrual_percent": "10", "purchases_over": "50000"},
    ],
    "tier_assignment": "registration",
    "lifetime_days": 180,
    "expiry_warning_days": 3,
    "gifts": {
        "birthday": {"amount": "500", "days_before": 3, "valid_days": 10,
                     "activation_delay_days": 1},
        "reanimation": [
            {"code": "cheap", "name": "Вернуть с небольшим чеком", "days_without_purchase": 60,
             "purchase_count": {"at_least": 2}, "average_receipt": {"below": "1000"},
             "amount": "200", "valid_days": 14},
            {"code": "any", "name": "Вернуть всех", "days_without_purchase": 90,
             "tiers": ["base"], "amount": "300", "sms": False},
        ],
    },
}  # fmt: skip


async def _register(
    deps: Deps, tenant: Tenant, phone: str, birthday: date | None = None, messages: bool = True
) -> int:
    data = RegisterCustomer(
        phone=phone, birthday=birthday, consent=Consent(personal_data=True, messages=messages)
    )
    return await customers.register_customer(
        deps, tenant.merchant_id, data, store_id=tenant.store_id, channel="import", sms_code=None
    )


async def _notes(deps: Deps, merchant_id: int) -> list[tuple[int, str, dict[str, Any]]]:
    rows = await deps.db.fetch_all(
        "SELECT customer_id, kind, params, status, channel, body FROM notifications "
        "WHERE merchant_id = :m AND kind IS NOT NULL ORDER BY id",
        {"m": merchant_id},
    )
    assert all((r["status"], r["channel"], r["body"]) == ("pending", "sms", "") for r in rows)
    return [(int(r["customer_id"]), str(r["kind"]), json.loads(r["params"])) for r in rows]


async def _lots(deps: Deps, customer_id: int, kind: str) -> list[tuple[int, int, int | None]]:
    rows = await deps.db.fetch_all(
        "SELECT amount, available_from, expires_at FROM bonus_lots WHERE customer_id = :c "
        "AND kind = :k ORDER BY id",
        {"c": customer_id, "k": kind},
    )
    return [(int(r["amount"]), int(r["available_from"]), r["expires_at"]) for r in rows]


async def _counts(deps: Deps) -> tuple[int, ...]:
    row = await deps.db.fetch_one(
        "SELECT (SELECT COUNT(*) FROM bonus_lots) AS a, (SELECT COUNT(*) FROM ledger_entries) "
        "AS b, (SELECT COUNT(*) FROM notifications) AS c, (SELECT COUNT(*) FROM job_events) "
        "AS d, (SELECT COUNT(*) FROM reanimations) AS e"
    )
    assert row is not None
    return tuple(int(row[k]) for k in "abcde")


def _epoch(day: date) -> int:
    return to_epoch(local_midnight(day, MSK))


async def test_birthday_gift_once_per_year_through_the_ledger(
    deps: Deps, clock: ManualClock
) -> None:
    """Three days before the birthday the customer gets 500 ₽ as a ``birthday`` lot that
    activates at the next local midnight and lapses 10 days after, with its journal
    entry; the SMS carries the amount and the dates and goes only to the customer who
    consented; a birthday stored before the index existed is found too; a second run,
    and a run on another date of the same year, grant nothing more."""
    clock.now = datetime(2026, 3, 7, 9, tzinfo=UTC)  # 12:00 in Moscow
    tenant = await make_tenant(deps, "Салон", PROGRAM)
    yes = await _register(deps, tenant, "+79160000101", date(1990, 3, 10))
    no_sms = await _register(deps, tenant, "+79160000102", date(1985, 3, 10), messages=False)
    other_day = await _register(deps, tenant, "+79160000103", date(1990, 3, 11))
    legacy = await _register(deps, tenant, "+79160000104", date(2000, 3, 10))
    await deps.db.execute("UPDATE customers SET birthday_md = NULL WHERE id = :c", {"c": legacy})

    report = await lifecycle.run_birthday(deps)
    assert report.details[str(tenant.merchant_id)]["granted"] == 3
    starts, ends = _epoch(date(2026, 3, 8)), _epoch(date(2026, 3, 18))
    for customer in (yes, no_sms, legacy):
        assert await _lots(deps, customer, "birthday") == [(50_000, starts, ends)]
        assert_ledger_consistent(await ledger_state(deps, customer))
    assert await _lots(deps, other_day, "birthday") == []
    message = {"amount": 50_000, "birthday": "2026-03-10", "available_from": "2026-03-08",
               "expires_on": "2026-03-17"}  # fmt: skip
    assert await _notes(deps, tenant.merchant_id) == [
        (yes, "birthday_gift", message), (legacy, "birthday_gift", message)
    ]  # fmt: skip

    before = await _counts(deps)
    assert (await lifecycle.run_birthday(deps)).skipped == 1
    assert await _counts(deps) == before

    # The next day is other_day's; ``yes`` edited the birthday to the 11th meanwhile,
    # but has had this year's gift already.
    clock.advance(days=1)
    await deps.db.execute("UPDATE customers SET birthday_md = 311 WHERE id = :c", {"c": yes})
    report = await lifecycle.run_birthday(deps)
    assert report.details[str(tenant.merchant_id)]["granted"] == 1
    assert len(await _lots(deps, other_day, "birthday")) == 1
    assert len(await _lots(deps, yes, "birthday")) == 1


async def test_birthday_job_leaves_other_merchants_alone(deps: Deps, clock: ManualClock) -> None:
    """A merchant whose program has no birthday gift grants nothing to its customers on
    the same day, and the job records the date for it all the same."""
    clock.now = datetime(2026, 3, 7, 9, tzinfo=UTC)
    mine = await make_tenant(deps, "Салон", PROGRAM)
    theirs = await make_tenant(deps, "Чужой", {**PROGRAM, "gifts": {}})
    await _register(deps, mine, "+79160000111", date(1990, 3, 10))
    stranger = await _register(deps, theirs, "+79160000111", date(1990, 3, 10))
    report = await lifecycle.run_birthday(deps)
    assert report.details[str(theirs.merchant_id)] == {"date": "2026-03-07", "configured": False}
    assert await _lots(deps, stranger, "birthday") == []
    assert await _notes(deps, theirs.merchant_id) == []


async def test_expiry_warning_sums_the_lots_of_the_day_once(deps: Deps, clock: ManualClock) -> None:
    """Three days before bonuses lapse, each consenting customer gets one warning with
    the sum of the lots whose last day that is, and the date; lots of another day are
    left out, spent-out lots too; a second run warns nobody again."""
    clock.now = datetime(2026, 5, 10, 9, tzinfo=UTC)
    tenant = await make_tenant(deps, "Салон", PROGRAM)
    a = await _register(deps, tenant, "+79160000201")
    quiet = await _register(deps, tenant, "+79160000202", messages=False)
    now = to_epoch(clock.now)
    lapses = _epoch(date(2026, 5, 14))  # the last day to spend is 13 May
    for customer, amount in ((a, 1_000), (a, 2_500), (quiet, 4_000)):
        await give_lot(deps, tenant.merchant_id, customer, amount, expires_in=lapses - now)
    await give_lot(deps, tenant.merchant_id, a, 7_000, expires_in=lapses + 86_400 - now)

    report = await notices.run_expiry_warnings(deps)
    assert report.details[str(tenant.merchant_id)]["warned"] == 1
    assert await _notes(deps, tenant.merchant_id) == [
        (a, "expiry_warning", {"amount": 3_500, "expires_on": "2026-05-13"})
    ]
    before = await _counts(deps)
    await notices.run_expiry_warnings(deps)
    await notices.run_expiry_warnings(deps, date(2026, 5, 10))
    assert await _counts(deps) == before


async def _set(deps: Deps, customer: int, **columns: Any) -> None:
    sets = ", ".join(f"{name} = :{name}" for name in columns)
    await deps.db.execute(f"UPDATE customers SET {sets} WHERE id = :c", {**columns, "c": customer})


async def test_reanimation_by_rules_once_per_absence_and_the_report(
    deps: Deps, clock: ManualClock
) -> None:
    """The first rule that picks a customer gives its gift once per absence: two cheap
    purchases 61 days ago -> «cheap» (200 ₽, SMS); one dear purchase 100 days ago ->
    «any» (300 ₽, no SMS by the rule); a VIP absent 100 days and a recent buyer get
    nothing. A second run gives nothing; the customer who then buys again is reported as
    back, with what they spent."""
    clock.now = datetime(2026, 6, 1, 9, tzinfo=UTC)
    tenant = await make_tenant(deps, "Салон", PROGRAM)
    today = date(2026, 6, 1)
    cheap = await _register(deps, tenant, "+79160000301")
    dear = await _register(deps, tenant, "+79160000302")
    vip = await _register(deps, tenant, "+79160000303")
    recent = await _register(deps, tenant, "+79160000304")
    away = {cheap: 61, dear: 100, vip: 100, recent: 10}
    for customer, days in away.items():
        await _set(deps, customer, last_purchase_at=_epoch(today - timedelta(days=days)) + 3600)
    await _set(deps, cheap, purchase_count=2, lifetime_purchases=150_000)
    await _set(deps, dear, purchase_count=1, lifetime_purchases=900_000)
    await _set(deps, vip, purchase_count=9, lifetime_purchases=9_000_000, tier_code="vip")

    report = await lifecycle.run_reanimation(deps)
    assert report.details[str(tenant.merchant_id)]["rules"] == {"cheap": 1, "any": 1}
    assert [a for a, _, _ in await _lots(deps, cheap, "reanimation")] == [20_000]
    assert [a for a, _, _ in await _lots(deps, dear, "reanimation")] == [30_000]
    for customer in (vip, recent):
        assert await _lots(deps, customer, "reanimation") == []
    for customer in away:
        assert_ledger_consistent(await ledger_state(deps, customer))
    notes = await _notes(deps, tenant.merchant_id)
    assert [(c, k) for c, k, _ in notes] == [(cheap, "reanimation_gift")]
    assert notes[0][2] == {"amount": 20_000, "expires_on": "2026-06-14"}

    before = await _counts(deps)
    clock.advance(days=1)
    await lifecycle.run_reanimation(deps)
    assert await _counts(deps) == before

    await _buy(deps, tenant, cheap, "back-1", 800)
    found = await reanimation_report.report(deps, tenant.merchant_id)
    assert [(r.rule, r.gifted, r.returned, r.sales, r.revenue, r.gifts) for r in found.rules] == [
        ("any", 1, 0, 0, Decimal(0), Decimal(300)),
        ("cheap", 1, 1, 1, Decimal(800), Decimal(200)),
    ]


async def test_reanimation_gifts_name_their_own_lots_and_ids_stay_fresh(
    deps: Deps, clock: ManualClock
) -> None:
    """The job draws each gift's lot id where it records the gift: every reanimation
    row names a lot of its own customer, rule amount and kind, whose one journal entry
    names the same lot, across both rules and customers interleaved; and the lots
    written afterwards (a purchase's accrual) get ids after them, never one of theirs."""
    clock.now = datetime(2026, 6, 1, 9, tzinfo=UTC)
    tenant = await make_tenant(deps, "Салон", PROGRAM)
    today = date(2026, 6, 1)
    people = [await _register(deps, tenant, f"+7916000040{i}") for i in range(6)]
    for i, customer in enumerate(people):
        # Even: two cheap purchases 61 days ago («cheap»); odd: one dear, 100 days («any»).
        days, count, total = (61, 2, 150_000) if i % 2 == 0 else (100, 1, 900_000)
        await _set(deps, customer, last_purchase_at=_epoch(today - timedelta(days=days)) + 1,
                   purchase_count=count, lifetime_purchases=total)  # fmt: skip
    await give_lot(deps, tenant.merchant_id, people[0], 1_000)

    await lifecycle.run_reanimation(deps)
    rows = await deps.db.fetch_all(
        "SELECT r.customer_id, r.rule_code, r.amount, l.customer_id AS owner, l.kind, "
        "l.amount AS lot_amount, (SELECT COUNT(*) FROM ledger_entries e WHERE e.lot_id = l.id "
        "AND e.customer_id = r.customer_id AND e.amount = r.amount) AS entries "
        "FROM reanimations r JOIN bonus_lots l ON l.id = r.lot_id ORDER BY r.customer_id"
    )
    assert [(r["customer_id"], r["rule_code"]) for r in rows] == [
        (c, "cheap" if i % 2 == 0 else "any") for i, c in enumerate(people)
    ]
    for r in rows:
        assert (r["owner"], r["kind"], r["lot_amount"], r["entries"]) == (
            r["customer_id"], "reanimation", r["amount"], 1,
        )  # fmt: skip
    newest = await deps.db.fetch_value("SELECT MAX(lot_id) FROM reanimations")
    await _buy(deps, tenant, people[1], "after-gifts", 1_000)
    lot = await deps.db.fetch_value("SELECT MAX(id) FROM bonus_lots WHERE kind <> 'reanimation'")
    assert lot > newest
    for customer in people:
        assert_ledger_consistent(await ledger_state(deps, customer))


FOLLOW_UP: dict[str, Any] = {
    **PROGRAM,
    "follow_up_offer": {"days": 30, "reminder_days_before": 10},
    "modifiers": [{"code": "offer", "name": "Персональное предложение",
                   "when": {"follow_up_offer": True}, "accrual_multiplier": "2"}],
}  # fmt: skip


async def test_follow_up_reminder_ten_days_before_the_offer_ends(
    deps: Deps, clock: ManualClock
) -> None:
    """A purchase on 1 April opens the offer through 1 May; on 21 April the customer
    whose last purchase was that day is reminded (the last day in the message), a
    customer who bought again later is not; a second run reminds nobody again."""
    clock.now = datetime(2026, 4, 21, 9, tzinfo=UTC)
    tenant = await make_tenant(deps, "Салон", FOLLOW_UP)
    a = await _register(deps, tenant, "+79160000401")
    later = await _register(deps, tenant, "+79160000402")
    await _set(deps, a, last_purchase_at=_epoch(date(2026, 4, 1)) + 15 * 3600)
    await _set(deps, later, last_purchase_at=_epoch(date(2026, 4, 5)))
    await notices.run_follow_up_reminders(deps)
    assert await _notes(deps, tenant.merchant_id) == [
        (a, "follow_up_reminder", {"expires_on": "2026-05-01"})
    ]
    before = await _counts(deps)
    await notices.run_follow_up_reminders(deps, date(2026, 4, 21))
    assert await _counts(deps) == before


async def test_cli_runs_a_lifecycle_job_for_one_merchant(
    deps: Deps, settings: Settings, clock: ManualClock
) -> None:
    """``loyalty jobs run birthday --merchant N --date D`` runs the job for that merchant
    and date only."""
    clock.now = datetime(2026, 3, 7, 9, tzinfo=UTC)
    tenant = await make_tenant(deps, "Салон", PROGRAM)
    other = await make_tenant(deps, "Другой", PROGRAM)
    await _register(deps, tenant, "+79160000501", date(1990, 3, 10))
    assert {"birthday", "expiry_warnings", "reanimation", "follow_up_reminders"} <= set(main.JOBS)
    report = await main.run_job(settings, "birthday", date(2026, 3, 7), tenant.merchant_id)
    assert report.details[str(tenant.merchant_id)]["granted"] == 1
    assert str(other.merchant_id) not in report.details


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_a_claimed_merchant_is_skipped_by_another_worker(
    deps: Deps, clock: ManualClock
) -> None:
    """While one worker holds a merchant's birthday job, another worker's run skips that
    merchant instead of waiting or granting twice; once released, the date runs."""
    clock.now = datetime(2026, 3, 7, 9, tzinfo=UTC)
    tenant = await make_tenant(deps, "Салон", PROGRAM)
    await _register(deps, tenant, "+79160000601", date(1990, 3, 10))
    async with jobs.claim(deps, tenant.merchant_id, "birthday") as mine:
        assert mine
        report = await lifecycle.run_birthday(deps)
        assert (report.merchants, report.skipped) == (0, 1)
    report = await lifecycle.run_birthday(deps)
    assert report.details[str(tenant.merchant_id)]["granted"] == 1


async def test_the_jobs_messages_reach_the_customer_through_the_outbox(
    deps: Deps, clock: ManualClock
) -> None:
    """What the expiry-warning job queues is what the outbox worker can
    send: it renders into its Russian text with the amount and the date, does not fail on
    its params, and the customer without consent gets nothing."""
    clock.now = datetime(2026, 5, 10, 9, tzinfo=UTC)  # 12:00 in Moscow: not quiet hours
    tenant = await make_tenant(deps, "Салон", PROGRAM)
    a = await _register(deps, tenant, "+79160000211")
    quiet = await _register(deps, tenant, "+79160000212", messages=False)
    now = to_epoch(clock.now)
    lapses = _epoch(date(2026, 5, 14))
    for customer in (a, quiet):
        await give_lot(deps, tenant.merchant_id, customer, 12_345, expires_in=lapses - now)
    await notices.run_expiry_warnings(deps)

    report = await outbox.drain(deps)
    assert (report.sent, report.failed) == (1, 0)
    assert isinstance(deps.sms, LogSmsProvider)
    assert deps.sms.last_to("+79160000212") is None
    assert deps.sms.last_to("+79160000211") == (
        "Салон: 123,45 ₽ бонусами сгорят после 13.05.2026. Успейте потратить!"
    )
