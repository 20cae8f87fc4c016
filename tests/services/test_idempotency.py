"""Idempotency keys: one execution per key, stored answer on repeats."""

from __future__ import annotations

import pytest

from cloud.clock import ManualClock, to_epoch
from cloud.errors import Conflict, Unprocessable
from cloud.services.deps import Deps
from cloud.services.idempotency import STALE_CLAIM_SECONDS, request_hash, run_idempotent
from tests.conftest import Tenant


class Counter:
    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> tuple[int, bytes]:
        self.calls += 1
        return 201, f'{{"call":{self.calls}}}'.encode()


async def test_repeat_returns_stored_answer_without_running_again(
    deps: Deps, demo_tenant: Tenant
) -> None:
    """The same key and request give the first answer; the action ran once."""
    action = Counter()
    body = b'{"phone": "+79991234567", "a": 1}'
    first = await run_idempotent(deps, demo_tenant.merchant_id, "s", "k1", body, action)
    # Re-serialised by the client (other key order, no spaces): still the same request.
    again = b'{"a":1,"phone":"+79991234567"}'
    second = await run_idempotent(deps, demo_tenant.merchant_id, "s", "k1", again, action)
    assert first == second == (201, b'{"call":1}')
    assert action.calls == 1


async def test_same_key_other_request_is_a_conflict(deps: Deps, demo_tenant: Tenant) -> None:
    """Reusing a key for a different request is refused with 409, not silently replayed."""
    action = Counter()
    await run_idempotent(deps, demo_tenant.merchant_id, "s", "k", b'{"a":1}', action)
    with pytest.raises(Conflict) as error:
        await run_idempotent(deps, demo_tenant.merchant_id, "s", "k", b'{"a":2}', action)
    assert error.value.code == "idempotency_key_reused"
    assert action.calls == 1


async def test_keys_are_per_merchant_and_scope(
    deps: Deps, demo_tenant: Tenant, other_tenant: Tenant
) -> None:
    """One key in two scopes or at two merchants is two independent calls."""
    action = Counter()
    await run_idempotent(deps, demo_tenant.merchant_id, "a", "k", b"{}", action)
    await run_idempotent(deps, demo_tenant.merchant_id, "b", "k", b"{}", action)
    await run_idempotent(deps, other_tenant.merchant_id, "a", "k", b"{}", action)
    assert action.calls == 3


async def test_without_key_the_action_always_runs(deps: Deps, demo_tenant: Tenant) -> None:
    """No key, no memory: each call runs the action."""
    action = Counter()
    await run_idempotent(deps, demo_tenant.merchant_id, "s", None, b"{}", action)
    await run_idempotent(deps, demo_tenant.merchant_id, "s", None, b"{}", action)
    assert action.calls == 2


async def test_failed_action_is_not_remembered(deps: Deps, demo_tenant: Tenant) -> None:
    """An action that raises stores nothing, so a retry with the same key runs again."""
    attempts = 0

    async def flaky() -> tuple[int, bytes]:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise Unprocessable("sms_code_invalid", "Неверный код")
        return 201, b"{}"

    with pytest.raises(Unprocessable):
        await run_idempotent(deps, demo_tenant.merchant_id, "s", "k", b"{}", flaky)
    assert await run_idempotent(deps, demo_tenant.merchant_id, "s", "k", b"{}", flaky) == (
        201, b"{}"
    )  # fmt: skip
    assert attempts == 2


async def test_call_in_progress_is_not_run_twice(
    deps: Deps, demo_tenant: Tenant, clock: ManualClock
) -> None:
    """While the first call with a key runs, a second one is told to retry; a claim left
    by a crashed process is taken over once stale."""
    merchant = demo_tenant.merchant_id
    inner = Counter()

    async def reentrant() -> tuple[int, bytes]:
        with pytest.raises(Conflict) as error:
            await run_idempotent(deps, merchant, "s", "k", b"{}", inner)
        assert error.value.code == "idempotency_in_progress"
        return 200, b"{}"

    await run_idempotent(deps, merchant, "s", "k", b"{}", reentrant)
    assert inner.calls == 0

    async with deps.db.transaction() as tx:  # what a process dying mid-action leaves
        await tx.insert(
            "INSERT INTO idempotency_records (merchant_id, scope, key, request_hash, "
            "status_code, response, created_at) "
            "VALUES (:m, 's', 'dead', :h, 0, '', :t) RETURNING id",
            {"m": merchant, "h": request_hash(b"{}"), "t": to_epoch(clock())},
        )
    with pytest.raises(Conflict):
        await run_idempotent(deps, merchant, "s", "dead", b"{}", inner)
    clock.advance(seconds=STALE_CLAIM_SECONDS + 1)
    assert await run_idempotent(deps, merchant, "s", "dead", b"{}", inner) == (
        201, b'{"call":1}'
    )  # fmt: skip
