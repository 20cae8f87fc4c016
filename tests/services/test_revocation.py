"""Revoking a terminal token takes effect at once, in every worker process on the
database: no process keeps accepting a token it saw before the revocation."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from cloud.api.app import create_app
from cloud.api.keys import AUTHENTICATOR
from cloud.services import merchants
from cloud.services.deps import Deps
from tests.conftest import Tenant

LOOKUP = "/api/v1/customers/lookup"


async def worker(aiohttp_client, deps: Deps, token: str) -> TestClient:  # type: ignore[no-untyped-def]
    """One more instance of the service with its own database connections, as another
    worker process behind the same load balancer would have."""
    app = create_app(deps.settings)
    return await aiohttp_client(app, headers={"Authorization": f"Bearer {token}"})


async def status_of(client: TestClient) -> tuple[int, str]:
    response = await client.get(LOOKUP, params={"phone": "+79990000000"})
    return response.status, (await response.json())["code"]


async def test_revoked_token_is_refused_at_once_by_every_worker(
    aiohttp_client, deps: Deps, demo_tenant: Tenant
) -> None:  # type: ignore[no-untyped-def]
    """Both workers accept the token; it is revoked in the database; the very next
    call to either answers 401 invalid_token (it used to pass for 30 s)."""
    first = await worker(aiohttp_client, deps, demo_tenant.token)
    second = await worker(aiohttp_client, deps, demo_tenant.token)
    for client in (first, second):
        assert await status_of(client) == (404, "customer_not_found")
    # Revoked through a third connection to the database, as the CLI or an admin API
    # in yet another process would.
    revoked = await merchants.revoke_terminal_token(
        deps.db, demo_tenant.merchant_id, deps.clock(), token=demo_tenant.token
    )
    assert revoked == 1
    for client in (second, first):
        assert await status_of(client) == (401, "invalid_token")


async def test_revoking_a_terminal_revokes_all_its_tokens_and_only_its_merchants(
    deps: Deps, demo_tenant: Tenant, other_tenant: Tenant
) -> None:
    """By terminal every live token of that till goes; another merchant cannot revoke
    a token that is not theirs; revoking twice changes nothing."""
    now = deps.clock()
    m, till = demo_tenant.merchant_id, demo_tenant.terminal_id
    spare = await merchants.issue_terminal_token(deps.db, m, till, now)
    authenticator = merchants.TerminalAuthenticator(deps.db)
    assert await merchants.revoke_terminal_token(
        deps.db, other_tenant.merchant_id, now, token=demo_tenant.token
    ) == 0  # fmt: skip
    await authenticator.authenticate(demo_tenant.token)
    assert await merchants.revoke_terminal_token(deps.db, m, now, terminal_id=till) == 2
    assert await merchants.revoke_terminal_token(deps.db, m, now, terminal_id=till) == 0
    for token in (demo_tenant.token, spare):
        with pytest.raises(merchants.Unauthorized):
            await authenticator.authenticate(token)
    await authenticator.authenticate(other_tenant.token)


async def test_suspending_a_merchant_takes_effect_at_once(deps: Deps, demo_tenant: Tenant) -> None:
    """A merchant suspended in the database is refused on the next call (402), by an
    authenticator that accepted its till a moment before."""
    authenticator = merchants.TerminalAuthenticator(deps.db)
    await authenticator.authenticate(demo_tenant.token)
    async with deps.db.transaction() as tx:
        await tx.execute(
            "UPDATE merchants SET status = 'suspended' WHERE id = :m",
            {"m": demo_tenant.merchant_id},
        )
    with pytest.raises(merchants.PaymentRequired):
        await authenticator.authenticate(demo_tenant.token)


CALCULATE = "/api/v1/checkout/calculate"
RECEIPT = {"receipt": {"id": "r-1", "lines": [{"id": "1", "price": 100, "quantity": 1}]}}


async def calculate_status(client: TestClient) -> tuple[int, str | None]:
    response = await client.post(CALCULATE, json=RECEIPT)
    return response.status, (await response.json()).get("code")


async def test_calculate_refuses_a_revoked_token_at_once_in_every_worker(
    aiohttp_client, deps: Deps, demo_tenant: Tenant
) -> None:  # type: ignore[no-untyped-def]
    """Calculate keeps one database read by remembering a till's context, but its
    snapshot query proves the token live: after the revocation the very next calculate
    in either worker is 401, though both had just accepted the token."""
    first = await worker(aiohttp_client, deps, demo_tenant.token)
    second = await worker(aiohttp_client, deps, demo_tenant.token)
    for client in (first, second, first, second):
        assert await calculate_status(client) == (200, None)
    await merchants.revoke_terminal_token(
        deps.db, demo_tenant.merchant_id, deps.clock(), token=demo_tenant.token
    )
    for client in (second, first):
        assert await calculate_status(client) == (401, "invalid_token")


async def test_calculate_refuses_a_suspended_merchant_at_once(
    aiohttp_client, deps: Deps, demo_tenant: Tenant
) -> None:  # type: ignore[no-untyped-def]
    """A merchant suspended after its till's context was remembered: the next calculate
    is 402 merchant_suspended."""
    client = await worker(aiohttp_client, deps, demo_tenant.token)
    assert await calculate_status(client) == (200, None)
    async with deps.db.transaction() as tx:
        await tx.execute(
            "UPDATE merchants SET status = 'suspended' WHERE id = :m",
            {"m": demo_tenant.merchant_id},
        )
    assert await calculate_status(client) == (402, "merchant_suspended")


async def test_calculate_follows_a_store_moved_to_another_time_zone(
    aiohttp_client, deps: Deps, demo_tenant: Tenant
) -> None:  # type: ignore[no-untyped-def]
    """A store's zone changed after its till's context was remembered: the calculate
    still answers, and the till is priced in the new zone from then on (the remembered
    context is replaced, not kept)."""
    app = create_app(deps.settings)
    client = await aiohttp_client(app, headers={"Authorization": f"Bearer {demo_tenant.token}"})
    assert await calculate_status(client) == (200, None)
    async with deps.db.transaction() as tx:
        await tx.execute(
            "UPDATE stores SET timezone = 'Asia/Novosibirsk' WHERE id = :s",
            {"s": demo_tenant.store_id},
        )
    assert await calculate_status(client) == (200, None)
    remembered = await app[AUTHENTICATOR].authenticate(demo_tenant.token, deferred=True)
    assert remembered.timezone.key == "Asia/Novosibirsk"


CONFIRM = "/api/v1/checkout/confirm"


async def test_confirm_refuses_a_revoked_token_at_once_even_for_a_replay(
    aiohttp_client, deps: Deps, demo_tenant: Tenant
) -> None:  # type: ignore[no-untyped-def]
    """Confirm proves a remembered token live inside its own transaction, not with a
    query of its own: after the revocation the next confirm of a new receipt, the replay
    of one already confirmed and a malformed body are all 401 in either worker."""
    first = await worker(aiohttp_client, deps, demo_tenant.token)
    second = await worker(aiohttp_client, deps, demo_tenant.token)
    third = await worker(aiohttp_client, deps, demo_tenant.token)
    for client in (first, second, third):
        response = await client.post(CONFIRM, json=RECEIPT)
        assert response.status == 200, await response.text()
    await merchants.revoke_terminal_token(
        deps.db, demo_tenant.merchant_id, deps.clock(), token=demo_tenant.token
    )
    fresh = {"receipt": {**RECEIPT["receipt"], "id": "r-2"}}
    # Each worker meets one kind of call first, while it still remembers the token.
    for client, body in ((first, RECEIPT), (second, fresh)):
        response = await client.post(CONFIRM, json=body)
        assert (response.status, (await response.json())["code"]) == (401, "invalid_token")
    for client in (third,):
        response = await client.post(CONFIRM, json={"receipt": {"id": "r-3"}})
        assert (response.status, (await response.json())["code"]) == (401, "invalid_token")
    assert await deps.db.fetch_value(
        "SELECT COUNT(*) FROM receipts WHERE merchant_id = :m", {"m": demo_tenant.merchant_id}
    ) == 1  # fmt: skip


async def test_calculate_answers_a_bad_body_from_a_revoked_token_with_401(
    aiohttp_client, deps: Deps, demo_tenant: Tenant
) -> None:  # type: ignore[no-untyped-def]
    """An error raised before the snapshot read (here a body that fails validation) is
    not answered to a remembered token that was revoked meanwhile: it gets 401."""
    client = await worker(aiohttp_client, deps, demo_tenant.token)
    assert await calculate_status(client) == (200, None)
    response = await client.post(CALCULATE, json={"receipt": {"id": "x"}})
    assert response.status == 400
    await merchants.revoke_terminal_token(
        deps.db, demo_tenant.merchant_id, deps.clock(), token=demo_tenant.token
    )
    response = await client.post(CALCULATE, json={"receipt": {"id": "x"}})
    assert (response.status, (await response.json())["code"]) == (401, "invalid_token")
