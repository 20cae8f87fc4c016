"""Activation notices (``activation_notices`` job): when delayed bonuses become
spendable the customer is told the amount and, if they lapse, the last day; once per
customer and date, only where the program has ``activation_sms``."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from cloud import main
from cloud.clock import ManualClock
from cloud.messages import outbox
from cloud.messages.providers import LogSmsProvider
from cloud.services import notices, scheduler
from cloud.services.deps import Deps
from schemas.program import Program
from tests.conftest import make_tenant
from tests.engine.test_fixture_programs import document
from tests.services.test_lifecycle_jobs import _notes, _register
from tests.services.test_tier_job import _buy, _refund

DELAYED: dict[str, Any] = {
    "name": "Салон: отложенные бонусы",
    "tiers": [{"code": "base", "name": "Базовый", "accrual_percent": "5"}],
    "tier_assignment": "registration",
    "activation_delay_days": 1,
    "lifetime_days": 180,
    "activation_sms": True,
    # A welcome gift is spendable at once: it is no activation to announce.
    "gifts": {"welcome": {"amount": "100"}},
}


async def test_bonuses_that_became_spendable_are_announced_once(
    deps: Deps, clock: ManualClock
) -> None:
    """Bought on 7 March (two receipts, one partly returned): on the 7th nothing is
    spendable yet; on the 8th one message per customer with the sum of what remains
    and the last day (activation day + 180 days, minus one); nothing to a customer
    without consent; the welcome gift (spendable at once) is not in it; a second run
    of the date and a run of the next day queue nothing more."""
    clock.now = datetime(2026, 3, 7, 7, tzinfo=UTC)  # 10:00 in Moscow
    tenant = await make_tenant(deps, "Салон", DELAYED)
    buyer = await _register(deps, tenant, "+79160000401")
    silent = await _register(deps, tenant, "+79160000402", messages=False)
    await _buy(deps, tenant, buyer, "r1", 1_000)  # 50 ₽
    await _buy(deps, tenant, buyer, "r2", 600)  # 30 ₽, returned below
    await _refund(deps, tenant, "f2", "r2", None)
    await _buy(deps, tenant, silent, "r3", 1_000)

    report = await notices.run_activation_notices(deps)
    assert report.details[str(tenant.merchant_id)]["told"] == 0
    clock.now = datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    report = await notices.run_activation_notices(deps)
    assert report.details[str(tenant.merchant_id)]["told"] == 1
    expected = [(buyer, "bonuses_activated", {"amount": 5000, "until": "2026-09-03"})]
    assert await _notes(deps, tenant.merchant_id) == expected

    assert (await notices.run_activation_notices(deps)).skipped == 1
    clock.now = datetime(2026, 3, 9, 7, 30, tzinfo=UTC)
    await notices.run_activation_notices(deps)
    await notices.run_activation_notices(deps, date(2026, 3, 8))  # recorded: skipped
    assert await _notes(deps, tenant.merchant_id) == expected


async def test_the_text_and_the_opt_out(deps: Deps, clock: ManualClock) -> None:
    """The worker writes «Салон: вам доступно 50 ₽ бонусами до 03.09.2026.» (a service
    message: no refusal link); without a lifetime the date is left out; a customer who
    said «СТОП» after being chosen gets nothing."""
    clock.now = datetime(2026, 3, 7, 7, tzinfo=UTC)
    deps.sms = LogSmsProvider()
    tenant = await make_tenant(deps, "Салон", DELAYED)
    forever = await make_tenant(deps, "Кофейня", {**DELAYED, "lifetime_days": None})
    buyer = await _register(deps, tenant, "+79160000411")
    stopped = await _register(deps, tenant, "+79160000412")
    loyal = await _register(deps, forever, "+79160000413")
    await _buy(deps, tenant, buyer, "r1", 1_000)
    await _buy(deps, tenant, stopped, "r2", 1_000)
    await _buy(deps, forever, loyal, "r3", 2_000)
    clock.now = datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    await notices.run_activation_notices(deps)
    await deps.db.execute(
        "UPDATE customers SET messages_opt_out_at = 1 WHERE id = :c", {"c": stopped}
    )
    report = await outbox.drain(deps)
    assert (report.sent, report.skipped) == (2, 1)
    sms = deps.sms
    assert isinstance(sms, LogSmsProvider)
    assert sms.last_to("+79160000411") == "Салон: вам доступно 50 ₽ бонусами до 03.09.2026."
    assert sms.last_to("+79160000413") == "Кофейня: вам доступно 100 ₽ бонусами."
    assert sms.last_to("+79160000412") is None


async def test_nothing_without_the_option(deps: Deps, clock: ManualClock) -> None:
    """A program with a delay but without ``activation_sms`` queues nothing and still
    records the date (the scheduler sees it done)."""
    clock.now = datetime(2026, 3, 7, 7, tzinfo=UTC)
    tenant = await make_tenant(deps, "Салон", {**DELAYED, "activation_sms": False})
    buyer = await _register(deps, tenant, "+79160000421")
    await _buy(deps, tenant, buyer, "r1", 1_000)
    clock.now = datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    report = await notices.run_activation_notices(deps)
    assert report.details[str(tenant.merchant_id)] == {"date": "2026-03-08", "configured": False}
    assert await _notes(deps, tenant.merchant_id) == []


def test_the_option_is_refused_where_it_would_do_nothing() -> None:
    """``activation_sms`` is refused in a discount-only program and in a program where
    every bonus is spendable at once; a gift's own delay is enough."""
    discount = [{"code": "d5", "name": "Скидка 5 %", "discount_percent": "5"}]
    for fields in ({"kind": "discount", "tiers": discount, "activation_sms": True},
                   {"activation_sms": True}):  # fmt: skip
        with pytest.raises(ValidationError) as refused:
            Program.model_validate(document(**fields))
        assert "activation_sms" in str(refused.value)
    Program.model_validate(document(activation_sms=True, activation_delay_days=1))
    Program.model_validate(document(
        activation_sms=True, gifts={"birthday": {"amount": "100", "activation_delay_days": 2}}
    ))  # fmt: skip


def test_the_job_is_registered() -> None:
    """``loyalty jobs run activation_notices`` and the scheduler (per date) know it."""
    assert main.JOBS["activation_notices"] is notices.run_activation_notices
    [job] = [job for job in scheduler.SCHEDULE if job.name == "activation_notices"]
    assert job.per_date
