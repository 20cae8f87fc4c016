"""The outbox worker: retries with backoff, quiet hours, consent and «СТОП» at send time,
cost, Telegram before SMS, and two workers never sending one message twice."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cloud.clock import ManualClock, to_epoch
from cloud.db.database import open_database
from cloud.messages.outbox import drain, quiet_until
from cloud.messages.providers import Delivery, LogSmsProvider, PermanentFailure
from cloud.services.deps import Deps
from tests.conftest import Tenant
from tests.messages.conftest import add_customer, queue, row

PHONE = "+79161234567"
GIFT = {"amount": 50000, "expires_on": "2026-12-31"}


@dataclass
class FlakyGateway:
    """Fails the first ``failures`` sends, then delivers; remembers what it delivered."""

    failures: int = 0
    permanent: bool = False
    delay: float = 0
    name: str = "fake"
    sent: list[tuple[str, str]] = field(default_factory=list)

    async def send(self, recipient: str, text: str, *, masked: str | None = None) -> Delivery:
        await asyncio.sleep(self.delay)
        if self.failures:
            self.failures -= 1
            raise PermanentFailure("номер не существует") if self.permanent else OSError("503")
        self.sent.append((recipient, text))
        return Delivery(cost=350, provider_id=f"id-{len(self.sent)}")


async def test_retries_back_off_exponentially_then_fail(
    deps: Deps, demo_tenant: Tenant, clock: ManualClock
) -> None:
    """A temporary failure puts the message back with attempts+1, the error and a delay
    doubling from 60 s; it is not retried before its time; after the last attempt it is
    'failed'. A gateway that recovers in time delivers it."""
    deps.settings.outbox_max_attempts = 3
    gateway = FlakyGateway(failures=3)
    deps.sms = gateway
    customer = await add_customer(deps, demo_tenant.merchant_id, PHONE)
    message = await queue(deps, demo_tenant.merchant_id, customer, "birthday_gift", GIFT)
    start = to_epoch(clock())

    assert (await drain(deps)).retried == 1
    first = await row(deps, message)
    assert (first["status"], first["attempts"], first["next_attempt_at"]) == (
        "pending", 1, start + 60)  # fmt: skip
    assert "503" in first["last_error"]
    clock.advance(seconds=59)
    assert (await drain(deps)).handled == 0
    clock.advance(seconds=1)
    assert (await drain(deps)).retried == 1
    assert (await row(deps, message))["next_attempt_at"] == start + 60 + 120
    clock.advance(seconds=120)
    assert (await drain(deps)).failed == 1
    assert (await row(deps, message))["status"] == "failed"
    assert gateway.sent == []

    again = await queue(deps, demo_tenant.merchant_id, customer, "birthday_gift", GIFT)
    gateway.failures = 1
    await drain(deps)
    clock.advance(seconds=60)
    await drain(deps)
    delivered = await row(deps, again)
    assert (delivered["status"], delivered["attempts"], delivered["cost"]) == ("sent", 2, 350)
    assert delivered["provider_id"] == "id-1" and delivered["body"].startswith("Демо: с днём")


async def test_permanent_failure_is_not_retried(deps: Deps, demo_tenant: Tenant) -> None:
    """A gateway's «no such number» fails the message at once."""
    deps.sms = FlakyGateway(failures=1, permanent=True)
    customer = await add_customer(deps, demo_tenant.merchant_id, PHONE)
    message = await queue(deps, demo_tenant.merchant_id, customer, "tier_changed", {"tier": "A"})
    assert (await drain(deps)).failed == 1
    assert (await row(deps, message))["status"] == "failed"


async def test_quiet_hours_hold_messages_until_morning_in_the_stores_zone(
    deps: Deps, demo_tenant: Tenant, clock: ManualClock
) -> None:
    """At 22:30 in the customer's store's zone (Novosibirsk, UTC+7) a message waits until
    09:00 there, without spending an attempt; at 09:00 it goes. Moscow's evening is not
    Novosibirsk's."""
    gateway = FlakyGateway()
    deps.sms = gateway
    store = await deps.db.fetch_value("SELECT id FROM stores WHERE merchant_id = :m",
                                      {"m": demo_tenant.merchant_id})  # fmt: skip
    await deps.db.execute("UPDATE stores SET timezone = 'Asia/Novosibirsk' WHERE id = :s",
                          {"s": store})  # fmt: skip
    clock.now = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)  # 22:30 in Novosibirsk
    customer = await add_customer(deps, demo_tenant.merchant_id, PHONE, store_id=store)
    message = await queue(deps, demo_tenant.merchant_id, customer, "birthday_gift", GIFT)

    assert (await drain(deps)).deferred == 1
    waiting = await row(deps, message)
    morning = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)  # 09:00 in Novosibirsk
    assert (waiting["status"], waiting["attempts"]) == ("pending", 0)
    assert waiting["next_attempt_at"] == to_epoch(morning)
    clock.now = morning - timedelta(seconds=1)
    assert (await drain(deps)).handled == 0
    clock.now = morning
    assert (await drain(deps)).sent == 1 and len(gateway.sent) == 1


def test_quiet_window_arithmetic() -> None:
    """A window across midnight, a window within the day, and none."""
    zone = "Europe/Moscow"
    evening = datetime(2026, 6, 1, 18, 0, tzinfo=UTC)  # 21:00 Moscow
    assert quiet_until("21:00-09:00", evening, zone) == datetime(2026, 6, 2, 6, 0, tzinfo=UTC)
    night = datetime(2026, 6, 1, 23, 0, tzinfo=UTC)  # 02:00 Moscow
    assert quiet_until("21:00-09:00", night, zone) == datetime(2026, 6, 2, 6, 0, tzinfo=UTC)
    assert quiet_until("21:00-09:00", datetime(2026, 6, 1, 6, 0, tzinfo=UTC), zone) is None
    assert quiet_until("13:00-14:00", datetime(2026, 6, 1, 10, 30, tzinfo=UTC), zone) is not None
    assert quiet_until(None, evening, zone) is None


async def test_opt_out_is_checked_when_sending(deps: Deps, demo_tenant: Tenant) -> None:
    """Consent withdrawn after queueing stops advertising but not an account notice; a
    «СТОП» stops everything; a blocked card gets nothing. Nothing skipped costs money."""
    gateway = FlakyGateway()
    deps.sms = gateway
    m = demo_tenant.merchant_id
    withdrawn = await add_customer(deps, m, PHONE)
    stopped = await add_customer(deps, m, "+79161234568")
    blocked = await add_customer(deps, m, "+79161234569")
    ads = await queue(deps, m, withdrawn, "mailing", {"text": "Скидки!"})
    notice = await queue(deps, m, withdrawn, "expiry_warning", GIFT)
    stop = await queue(deps, m, stopped, "expiry_warning", GIFT)
    block = await queue(deps, m, blocked, "tier_changed", {"tier": "A"})
    await deps.db.execute("UPDATE customers SET consent_messages_at = NULL WHERE id = :c",
                          {"c": withdrawn})  # fmt: skip
    await deps.db.execute("UPDATE customers SET messages_opt_out_at = 1 WHERE id = :c",
                          {"c": stopped})  # fmt: skip
    await deps.db.execute("UPDATE customers SET blocked_at = 1 WHERE id = :c", {"c": blocked})

    report = await drain(deps)
    assert (report.sent, report.skipped) == (1, 3)
    assert (await row(deps, ads))["status"] == "skipped_opt_out"
    assert (await row(deps, notice))["status"] == "sent"
    assert (await row(deps, stop))["status"] == "skipped_opt_out"
    assert (await row(deps, block))["status"] == "skipped_blocked"
    assert [phone for phone, _ in gateway.sent] == [PHONE]
    total = await deps.db.fetch_value(
        "SELECT SUM(cost) FROM notifications WHERE status LIKE 'skipped%'"
    )
    assert total == 0


async def test_cost_of_the_configured_price_and_merchant_template(
    deps: Deps, demo_tenant: Tenant
) -> None:
    """A provider without a figure of its own records its configured price; the
    merchant's own text for the kind is used."""
    deps.sms = LogSmsProvider(cost_kopecks=250)
    m = demo_tenant.merchant_id
    await deps.db.execute(
        "INSERT INTO message_templates (merchant_id, kind, body, updated_at) "
        "VALUES (:m, 'tier_changed', 'Новый уровень: {tier}', 0)", {"m": m}
    )  # fmt: skip
    customer = await add_customer(deps, m, PHONE)
    message = await queue(deps, m, customer, "tier_changed", {"tier": "Серебро"})
    assert (await drain(deps)).cost == 250
    sent = await row(deps, message)
    assert (sent["cost"], sent["body"], sent["provider"]) == (250, "Новый уровень: Серебро", "log")


async def test_bad_params_fail_the_message_without_sending(deps: Deps, demo_tenant: Tenant) -> None:
    """A job's params that do not fit the template fail that message with the reason,
    and the rest of the batch goes."""
    gateway = FlakyGateway()
    deps.sms = gateway
    customer = await add_customer(deps, demo_tenant.merchant_id, PHONE)
    bad = await queue(deps, demo_tenant.merchant_id, customer, "birthday_gift", {"amount": 1})
    good = await queue(deps, demo_tenant.merchant_id, customer, "tier_changed", {"tier": "A"})
    await drain(deps)
    failed = await row(deps, bad)
    assert failed["status"] == "failed" and "expires_on" in failed["last_error"]
    assert (await row(deps, good))["status"] == "sent" and len(gateway.sent) == 1


async def test_two_workers_never_send_one_message_twice(deps: Deps, demo_tenant: Tenant) -> None:
    """Two workers with their own connections drain 120 messages at once (slow gateway,
    small batches): every message is sent exactly once."""
    deps.settings.outbox_batch = 10
    gateway = FlakyGateway(delay=0.002)
    deps.sms = gateway
    m = demo_tenant.merchant_id
    for i in range(120):
        customer = await add_customer(deps, m, f"+7916000{i:04d}")
        await queue(deps, m, customer, "tier_changed", {"tier": "A"})
    second_db = await open_database(deps.settings.database_url)
    try:
        other = Deps.build(deps.settings, second_db, sms=gateway, clock=deps.clock)
        first, second = await asyncio.gather(drain(deps), drain(other))
    finally:
        await second_db.close()
    assert first.sent + second.sent == 120
    phones = [phone for phone, _ in gateway.sent]
    assert len(phones) == len(set(phones)) == 120
    statuses = await deps.db.fetch_all("SELECT DISTINCT status FROM notifications")
    assert [s["status"] for s in statuses] == ["sent"]


async def test_expired_lease_makes_a_claimed_message_claimable_again(
    deps: Deps, demo_tenant: Tenant, clock: ManualClock
) -> None:
    """A worker that died after claiming leaves rows 'claimed'; once the lease is over
    another worker sends them."""
    gateway = FlakyGateway()
    deps.sms = gateway
    customer = await add_customer(deps, demo_tenant.merchant_id, PHONE)
    message = await queue(deps, demo_tenant.merchant_id, customer, "tier_changed", {"tier": "A"})
    lease = to_epoch(clock()) + deps.settings.outbox_lease_seconds
    await deps.db.execute(
        "UPDATE notifications SET status = 'claimed', next_attempt_at = :l WHERE id = :id",
        {"l": lease, "id": message},
    )
    assert (await drain(deps)).handled == 0
    clock.advance(seconds=deps.settings.outbox_lease_seconds)
    assert (await drain(deps)).sent == 1
    assert (await row(deps, message))["status"] == "sent"


async def test_one_time_codes_are_left_to_the_till(deps: Deps, demo_tenant: Tenant) -> None:
    """Codes are sent inline with the SMS provider and never picked up by the worker."""
    from cloud.services.sms_codes import send_code

    deps.sms = LogSmsProvider(cost_kopecks=250)
    await send_code(deps, demo_tenant.merchant_id, PHONE, "registration")
    code = await deps.db.fetch_one("SELECT status, kind, cost, provider FROM notifications")
    assert code is not None and dict(code) == {
        "status": "sent", "kind": "sms_code", "cost": 250, "provider": "log"}  # fmt: skip
    assert (await drain(deps)).handled == 0
