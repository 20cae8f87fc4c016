"""One-time SMS codes: issue, verify, attempts, expiry, rate limit, outbox."""

from __future__ import annotations

import re
from typing import cast

import pytest
from structlog.testing import capture_logs

from cloud.clock import ManualClock
from cloud.db.models import Base
from cloud.errors import TooManyRequests, Unprocessable
from cloud.notify import Delivery, LogSmsProvider
from cloud.services.deps import Deps
from cloud.services.sms_codes import SmsDeliveryFailed, send_code, verify_code
from tests.conftest import Tenant

PHONE = "+79991234567"


def last_code(deps: Deps, phone: str = PHONE) -> str:
    text = cast(LogSmsProvider, deps.sms).last_to(phone)
    assert text is not None
    match = re.search(r"\b(\d{6})\b", text)
    assert match is not None
    return match.group(1)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def test_code_is_sent_in_russian_and_stored_only_as_hmac(
    deps: Deps, demo_tenant: Tenant
) -> None:
    """The SMS carries a 6-digit code in Russian; the table keeps its HMAC, never the
    code; the outbox row is 'sent' with the provider's cost and an encrypted recipient."""
    cast(LogSmsProvider, deps.sms).cost_kopecks = 350
    sent = await send_code(deps, demo_tenant.merchant_id, "8 999 123-45-67", "registration")
    assert sent.phone == PHONE
    assert sent.expires_in == 300
    code = last_code(deps)
    text = cast(LogSmsProvider, deps.sms).last_to(PHONE)
    assert text == f"Код подтверждения: {code}. Никому не сообщайте его."

    row = await deps.db.fetch_one("SELECT * FROM sms_codes")
    assert row is not None
    assert code not in str(dict(row))
    assert len(row["code_hash"]) == 64
    assert row["attempts_left"] == deps.settings.sms_code_attempts

    note = await deps.db.fetch_one("SELECT * FROM notifications")
    assert note is not None
    assert note["status"] == "sent"
    assert note["cost"] == 350
    assert note["channel"] == "sms"
    assert note["sent_at"] is not None
    assert b"9991234567" not in bytes(note["recipient_enc"])
    assert deps.cipher.decrypt(demo_tenant.merchant_id, bytes(note["recipient_enc"])) == PHONE


async def test_correct_code_verifies_once(deps: Deps, demo_tenant: Tenant) -> None:
    """A correct code verifies and is used up; the same code a second time is refused."""
    await send_code(deps, demo_tenant.merchant_id, PHONE, "registration")
    code = last_code(deps)
    await verify_code(deps, demo_tenant.merchant_id, "79991234567", "registration", code)
    with pytest.raises(Unprocessable) as error:
        await verify_code(deps, demo_tenant.merchant_id, PHONE, "registration", code)
    assert error.value.code == "sms_code_not_found"


async def test_check_without_consuming_keeps_the_code(deps: Deps, demo_tenant: Tenant) -> None:
    """consume=False checks the code and leaves it for the operation it authorises."""
    await send_code(deps, demo_tenant.merchant_id, PHONE, "redeem")
    code = last_code(deps)
    first = await verify_code(deps, demo_tenant.merchant_id, PHONE, "redeem", code, consume=False)
    second = await verify_code(deps, demo_tenant.merchant_id, PHONE, "redeem", code)
    assert first == second


async def test_wrong_code_spends_attempts_then_locks(deps: Deps, demo_tenant: Tenant) -> None:
    """Each wrong code costs an attempt (committed despite the error) and says how many
    are left; after the limit even the right code is refused."""
    await send_code(deps, demo_tenant.merchant_id, PHONE, "registration")
    code = last_code(deps)
    attempts = deps.settings.sms_code_attempts
    for left in range(attempts - 1, 0, -1):
        with pytest.raises(Unprocessable) as error:
            await verify_code(deps, demo_tenant.merchant_id, PHONE, "registration", wrong(code))
        assert error.value.code == "sms_code_invalid"
        assert f"Осталось попыток: {left}" in error.value.message
        stored = await deps.db.fetch_value("SELECT attempts_left FROM sms_codes")
        assert stored == left
    with pytest.raises(Unprocessable) as error:
        await verify_code(deps, demo_tenant.merchant_id, PHONE, "registration", wrong(code))
    assert error.value.code == "sms_code_attempts_exceeded"
    with pytest.raises(Unprocessable) as error:
        await verify_code(deps, demo_tenant.merchant_id, PHONE, "registration", code)
    assert error.value.code == "sms_code_attempts_exceeded"


async def test_expired_code_is_refused(deps: Deps, demo_tenant: Tenant, clock: ManualClock) -> None:
    """A code older than its TTL is refused even when correct."""
    await send_code(deps, demo_tenant.merchant_id, PHONE, "registration")
    code = last_code(deps)
    clock.advance(seconds=deps.settings.sms_code_ttl_seconds)
    with pytest.raises(Unprocessable) as error:
        await verify_code(deps, demo_tenant.merchant_id, PHONE, "registration", code)
    assert error.value.code == "sms_code_expired"


async def test_new_code_replaces_the_earlier_one(deps: Deps, demo_tenant: Tenant) -> None:
    """After a resend only the newest code works."""
    await send_code(deps, demo_tenant.merchant_id, PHONE, "registration")
    old = last_code(deps)
    await send_code(deps, demo_tenant.merchant_id, PHONE, "registration")
    new = last_code(deps)
    if old != new:
        with pytest.raises(Unprocessable) as error:
            await verify_code(deps, demo_tenant.merchant_id, PHONE, "registration", old)
        assert error.value.code == "sms_code_invalid"
    await verify_code(deps, demo_tenant.merchant_id, PHONE, "registration", new)


async def test_code_is_bound_to_purpose_and_merchant(
    deps: Deps, demo_tenant: Tenant, other_tenant: Tenant
) -> None:
    """A registration code does not confirm a redemption, nor work at another merchant."""
    await send_code(deps, demo_tenant.merchant_id, PHONE, "registration")
    code = last_code(deps)
    with pytest.raises(Unprocessable) as error:
        await verify_code(deps, demo_tenant.merchant_id, PHONE, "redeem", code)
    assert error.value.code == "sms_code_not_found"
    with pytest.raises(Unprocessable) as error:
        await verify_code(deps, other_tenant.merchant_id, PHONE, "registration", code)
    assert error.value.code == "sms_code_not_found"


async def test_at_most_five_codes_per_phone_per_hour(
    deps: Deps, demo_tenant: Tenant, clock: ManualClock
) -> None:
    """The sixth code within an hour is refused with 429 and a Russian message; an hour
    later sending works again."""
    for purpose in ("registration", "redeem", "registration", "redeem", "registration"):
        await send_code(deps, demo_tenant.merchant_id, PHONE, purpose)
        clock.advance(minutes=1)
    with pytest.raises(TooManyRequests) as error:
        await send_code(deps, demo_tenant.merchant_id, PHONE, "registration")
    assert error.value.code == "sms_rate_limited"
    assert "Слишком много кодов" in error.value.message
    sent = len(cast(LogSmsProvider, deps.sms).sent)
    assert sent == 5
    clock.advance(hours=1)
    await send_code(deps, demo_tenant.merchant_id, PHONE, "registration")


async def test_unknown_purpose_is_refused(deps: Deps, demo_tenant: Tenant) -> None:
    """Only 'registration' and 'redeem' codes exist."""
    with pytest.raises(Unprocessable) as error:
        await send_code(deps, demo_tenant.merchant_id, PHONE, "login")
    assert error.value.code == "invalid_purpose"


class _BrokenGateway:
    cost_kopecks = 100
    name = "broken"

    async def send(self, phone: str, text: str, *, masked: str | None = None) -> Delivery:
        raise ConnectionError("gateway down")


async def test_failed_delivery_is_recorded(deps: Deps, demo_tenant: Tenant) -> None:
    """When the gateway fails the caller gets a clear error and the outbox row says
    'failed', so SMS spend reports do not count it as sent."""
    deps.sms = _BrokenGateway()
    with pytest.raises(SmsDeliveryFailed) as error:
        await send_code(deps, demo_tenant.merchant_id, PHONE, "registration")
    assert error.value.code == "sms_delivery_failed"
    assert await deps.db.fetch_value("SELECT status FROM notifications") == "failed"


def _holds(value: object, code: str) -> bool:
    """Whether a stored value shows the code as a number of its own (an epoch such as
    1763701234 may contain six digits that happen to equal the code: not a leak)."""
    if isinstance(value, bytes | bytearray | memoryview):
        value = bytes(value).decode("latin-1")
    return isinstance(value, str) and re.search(rf"(?<!\d){code}(?!\d)", value) is not None


async def test_code_is_masked_in_the_outbox_and_the_log(deps: Deps, demo_tenant: Tenant) -> None:
    """The customer's SMS carries the code, but no row of any table and no log event
    does: the outbox keeps the message with the code masked, the log provider logs that."""
    with capture_logs() as events:
        await send_code(deps, demo_tenant.merchant_id, PHONE, "registration")
    code = last_code(deps)
    leaks = []
    for table in Base.metadata.tables:
        for row in await deps.db.fetch_all(f"SELECT * FROM {table}"):
            leaks += [(table, key) for key, value in dict(row).items() if _holds(value, code)]
    assert leaks == []
    body = await deps.db.fetch_value("SELECT body FROM notifications")
    assert body == "Код подтверждения: ******. Никому не сообщайте его."
    sent = [event for event in events if event["event"] == "sms.sent"]
    assert len(sent) == 1 and sent[0]["text"] == body
    assert not any(_holds(str(value), code) for event in events for value in event.values())
