"""SMS pumping: codes are limited per till and per merchant over a rolling window, not
only per phone, so one till cannot send paid SMS to thirty numbers."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud.clock import ManualClock
from cloud.errors import TooManyRequests
from cloud.services import merchants
from cloud.services.deps import Deps
from cloud.services.sms_codes import send_code
from tests.conftest import Tenant, make_tenant


def phone(n: int) -> str:
    return f"+7999{n:07d}"


def limited(deps: Deps, **limits: int) -> Deps:
    return dataclasses.replace(deps, settings=deps.settings.model_copy(update=limits))


async def second_till(deps: Deps, tenant: Tenant) -> int:
    return await merchants.create_terminal(
        deps.db, tenant.merchant_id, tenant.store_id, "Касса 2", deps.clock()
    )


async def test_one_till_cannot_send_codes_to_thirty_numbers(
    deps: Deps, demo_tenant: Tenant, clock: ManualClock
) -> None:
    """With the default settings a till gets 20 codes an hour whatever the numbers; the
    21st is 429 too_many_codes in Russian with the wait; another till of the merchant
    still sends, and the first one again once the window has moved on."""
    m, till = demo_tenant.merchant_id, demo_tenant.terminal_id
    assert deps.settings.sms_codes_per_terminal == 20
    for n in range(20):
        await send_code(deps, m, phone(n), "registration", terminal_id=till)
        clock.advance(seconds=30)
    with pytest.raises(TooManyRequests) as error:
        await send_code(deps, m, phone(20), "registration", terminal_id=till)
    assert error.value.code == "too_many_codes"
    assert error.value.message == (
        "Слишком много SMS-кодов с этой кассы за час. Повторите через 50 мин."
    )
    other = await second_till(deps, demo_tenant)
    await send_code(deps, m, phone(21), "registration", terminal_id=other)
    clock.advance(minutes=50)
    await send_code(deps, m, phone(22), "registration", terminal_id=till)


async def test_merchant_limit_spans_all_tills(
    deps: Deps, demo_tenant: Tenant, other_tenant: Tenant, clock: ManualClock
) -> None:
    """Codes of every till (and of merchant-level callers) count towards the merchant's
    limit; another merchant is not affected."""
    deps = limited(deps, sms_codes_per_merchant=5, sms_codes_per_terminal=3)
    m = demo_tenant.merchant_id
    other = await second_till(deps, demo_tenant)
    for n, till in enumerate([demo_tenant.terminal_id] * 3 + [other, None]):
        await send_code(deps, m, phone(n), "redeem", terminal_id=till)
    with pytest.raises(TooManyRequests) as error:
        await send_code(deps, m, phone(9), "redeem", terminal_id=other)
    assert error.value.code == "too_many_codes"
    assert error.value.message.startswith("Слишком много SMS-кодов по компании за час.")
    await send_code(
        deps, other_tenant.merchant_id, phone(9), "redeem", terminal_id=other_tenant.terminal_id
    )
    codes = await deps.db.fetch_value(
        "SELECT COUNT(*) FROM sms_codes WHERE merchant_id = :m", {"m": m}
    )
    assert codes == 5


async def test_parallel_requests_do_not_overshoot_the_limit(
    deps: Deps, demo_tenant: Tenant
) -> None:
    """A pumping till sends its requests in parallel: exactly the limit gets through."""
    deps = limited(deps, sms_codes_per_terminal=3)
    m, till = demo_tenant.merchant_id, demo_tenant.terminal_id
    results = await asyncio.gather(
        *(send_code(deps, m, phone(n), "registration", terminal_id=till) for n in range(10)),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, TooManyRequests)]
    assert len(refused) == 7
    assert all(r.code == "too_many_codes" for r in refused)
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM sms_codes") == 3


async def test_api_counts_codes_per_till(client: TestClient) -> None:
    """Over HTTP the till is the caller's: its 21st code in an hour answers 429 with
    {"code": "too_many_codes", "message": ...}."""
    for n in range(20):
        response = await client.post(
            "/api/v1/sms-codes", json={"phone": phone(n), "purpose": "registration"}
        )
        assert response.status == 200, await response.text()
    response = await client.post(
        "/api/v1/sms-codes", json={"phone": phone(20), "purpose": "registration"}
    )
    assert response.status == 429
    body = await response.json()
    assert body["code"] == "too_many_codes"
    assert "с этой кассы" in body["message"]


steps = st.lists(
    st.tuples(
        st.sampled_from([0, 1, None]),  # the till that asks (None: a merchant-level caller)
        st.integers(0, 3),  # which phone
        st.sampled_from([0, 60, 1200, 3599, 3600]),  # seconds before the next request
    ),
    min_size=1,
    max_size=14,
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps)
async def test_limits_match_a_rolling_window_model(
    deps: Deps, clock: ManualClock, steps: list[tuple[int | None, int, int]]
) -> None:
    """Whatever the order of requests, a code is refused exactly when its phone, its
    till or its merchant already had the limit of codes in the last window, with the
    code of the limit that bit; so no window ever holds more than a limit."""
    deps = limited(deps, sms_codes_per_phone=2, sms_codes_per_terminal=3,
                   sms_codes_per_merchant=4)  # fmt: skip
    tenant = await make_tenant(deps, "Модель")
    tills = [tenant.terminal_id, await second_till(deps, tenant)]
    window = deps.settings.sms_rate_window_seconds
    accepted: list[tuple[int, int | None, int]] = []  # (at, till, phone)
    for till_index, phone_index, pause in steps:
        till = None if till_index is None else tills[till_index]
        now = int(clock().timestamp())
        recent = [(t, p) for at, t, p in accepted if at > now - window]
        expected = None
        if sum(p == phone_index for _, p in recent) >= 2:
            expected = "sms_rate_limited"
        elif till is not None and sum(t == till for t, _ in recent) >= 3:
            expected = "too_many_codes"
        elif len(recent) >= 4:
            expected = "too_many_codes"
        try:
            await send_code(deps, tenant.merchant_id, phone(phone_index), "redeem",
                            terminal_id=till)  # fmt: skip
        except TooManyRequests as error:
            assert error.code == expected
        else:
            assert expected is None
            accepted.append((now, till, phone_index))
        clock.advance(seconds=pause)
