"""Marketplace lifecycle contract: the install flow fixtures replay, tokens are stored
hashed / encrypted, app-token authentication in every accepted form, Evotor's error
codes for bad calls, and billing events applied in sequence order, once."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from cloud.crypto import hash_token
from cloud.services import merchants
from cloud.services.deps import Deps
from cloud.settings import DEV_EVOTOR_APP_TOKEN
from tests.conftest import make_tenant
from tests.webhooks.evotor.conftest import (
    DEVICE,
    USER,
    app_auth,
    basic_auth,
    call,
    error_codes,
    fixture,
    install,
    user_auth,
)

SUBSCRIPTION = "/api/v1/subscription/event"


def event(sequence: int, kind: str, subscription: str = "sub-1", user: str = USER) -> dict:
    return {"subscriptionId": subscription, "productId": "app", "userId": user,
            "timestamp": "2017-04-20T18:26:37.753+0000", "sequenceNumber": sequence,
            "type": kind}  # fmt: skip


async def merchant_status(deps: Deps, user: str = USER) -> str:
    return str(await deps.db.fetch_value(
        "SELECT m.status FROM merchants m JOIN evotor_accounts a ON a.merchant_id = m.id "
        "WHERE a.evotor_user_id = :u", {"u": user}
    ))  # fmt: skip


async def test_install_flow_stores_tokens_safely(evotor: TestClient, deps: Deps) -> None:
    """Installation event (before the account), user/create, repeated user/create, cloud
    token, uninstall: the user token is kept only as a hash and ciphertext, the cloud
    token only as ciphertext, and a repeated install event is recorded once."""
    for _ in range(2):
        await call(evotor, "POST", "/api/v2/installation/event",
                   fixture("install/01_installation_event.json"), app_auth())  # fmt: skip
    created = await call(evotor, "POST", "/api/v1/user/create",
                         fixture("install/02_user_create.json"), app_auth())  # fmt: skip
    assert set(created) == {"userId", "token"} and created["userId"] == USER
    row = await deps.db.fetch_one(
        "SELECT * FROM evotor_accounts WHERE evotor_user_id = :u", {"u": USER}
    )
    assert row is not None and row["user_token_hash"] == hash_token(created["token"])
    assert created["token"].encode() not in bytes(row["user_token_enc"])
    assert row["installed_at"] is not None, "the early install event is linked"
    name = await deps.db.fetch_value(
        "SELECT name FROM merchants WHERE id = :m", {"m": row["merchant_id"]}
    )
    assert name == "ООО Ромашка"
    cloud = fixture("install/03_user_token.json")
    assert await call(evotor, "POST", "/api/v1/user/token", cloud, app_auth()) == {}
    stored = await deps.db.fetch_value(
        "SELECT cloud_token_enc FROM evotor_accounts WHERE evotor_user_id = :u", {"u": USER}
    )
    assert cloud["token"].encode() not in bytes(stored)
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM evotor_installation_events") == 1
    await call(evotor, "POST", "/api/v2/installation/event",
               fixture("install/07_installation_uninstalled.json"), app_auth())  # fmt: skip
    assert await deps.db.fetch_value(
        "SELECT uninstalled_at FROM evotor_accounts WHERE evotor_user_id = :u", {"u": USER}
    ) is not None  # fmt: skip


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {DEV_EVOTOR_APP_TOKEN}"},
        {"Authorization": DEV_EVOTOR_APP_TOKEN},
        basic_auth("evotor", DEV_EVOTOR_APP_TOKEN),
        {"authorization": f"bearer {DEV_EVOTOR_APP_TOKEN}"},
    ],
)
async def test_app_token_forms_accepted(evotor: TestClient, headers: dict[str, str]) -> None:
    """Bearer, a bare token, Basic with the token as password, any header case."""
    created = await call(evotor, "POST", "/api/v1/user/create/", {"userId": USER}, headers)
    assert created["userId"] == USER


@pytest.mark.parametrize(
    ("headers", "raw", "status", "codes"),
    [
        ({"Authorization": "Bearer nope"}, b'{"userId": "01-000000000000001"}', 401, [1001]),
        ({}, b'{"userId": "01-000000000000001"}', 401, [1001]),
        (basic_auth("evotor", "nope"), b'{"userId": "01-000000000000001"}', 401, [1001]),
        ({"Authorization": "Basic !!!"}, b'{"userId": "01-000000000000001"}', 401, [1001]),
        (app_auth(), b'{"userId": ', 400, [2001]),
        (app_auth(), b"{}", 400, [2002]),
        (app_auth(), b'{"userId": "1-1"}', 400, [2003]),
        (app_auth(), b'"text"', 400, [2003]),
    ],
)  # fmt: skip
async def test_marketplace_errors_use_evotor_codes(
    evotor: TestClient, headers: dict[str, str], raw: bytes, status: int, codes: list[int]
) -> None:
    """Wrong app tokens get 1001 and malformed bodies 2001/2002/2003, in Evotor's shape;
    the missing field is named as the subject."""
    answer = await call(evotor, "POST", "/api/v1/user/create", raw=raw,
                        headers={**headers, "Content-Type": "application/json"},
                        status=status)  # fmt: skip
    assert error_codes(answer) == codes
    if codes == [2002]:
        assert answer["errors"][0] == {
            "code": 2002,
            "reason": "missing",
            "subject": "userId",
            "message": "обязательное поле",
        }


async def test_user_verify_never_accepts_a_till_token(evotor: TestClient, deps: Deps) -> None:
    """With the public development app token anyone can call verify: a till's token
    (which every cashier's terminal holds) must not buy a merchant-level Evotor token.
    It is refused 401/1006 and nothing is linked; a revoked merchant key is refused too."""
    tenant = await make_tenant(deps, "Кофейня")
    body = {**fixture("install/user_verify.json"), "username": str(tenant.merchant_id),
            "password": tenant.token}  # fmt: skip
    refused = await call(evotor, "POST", "/api/v1/user/verify", body, app_auth(), status=401)
    assert error_codes(refused) == [1006]
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM evotor_accounts") == 0
    huge = {**body, "username": "9" * 30}
    refused = await call(evotor, "POST", "/api/v1/user/verify", huge, app_auth(), status=401)
    assert error_codes(refused) == [1006]


async def test_user_verify_links_existing_merchant(evotor: TestClient, deps: Deps) -> None:
    """The merchant's number and its merchant API key link it (hasBilling false);
    again answers the same token; wrong credentials 1006; linking it to another Evotor
    user, or the user to another merchant, 2004."""
    tenant = await make_tenant(deps, "Кофейня")
    key = await merchants.issue_merchant_key(deps.db, tenant.merchant_id, deps.clock())
    body = {**fixture("install/user_verify.json"), "username": str(tenant.merchant_id),
            "password": key}  # fmt: skip
    linked = await call(evotor, "POST", "/api/v1/user/verify", body, app_auth())
    assert linked["userId"] == "01-000000000000002" and linked["hasBilling"] is False
    assert await call(evotor, "POST", "/api/v1/user/verify", body, app_auth()) == linked
    wrong = await call(evotor, "POST", "/api/v1/user/verify", {**body, "password": "x"},
                       app_auth(), status=401)  # fmt: skip
    assert error_codes(wrong) == [1006]
    other = await call(
        evotor,
        "POST",
        "/api/v1/user/verify",
        {**body, "userUuid": "01-000000000000003"},
        app_auth(),
        status=409,
    )
    assert error_codes(other) == [2004]
    second = await make_tenant(deps, "Вторая")
    second_key = await merchants.issue_merchant_key(deps.db, second.merchant_id, deps.clock())
    taken = await call(evotor, "POST", "/api/v1/user/verify",
                       {**body, "username": str(second.merchant_id), "password": second_key},
                       app_auth(), status=409)  # fmt: skip
    assert error_codes(taken) == [2004]
    # The linked merchant's Evotor device then works with the answered token.
    now = deps.clock()
    await merchants.create_terminal(deps.db, tenant.merchant_id, tenant.store_id, "Эвотор",
                                    now, external_id=DEVICE)  # fmt: skip
    quote = await call(evotor, "POST", "/terminal/v1/receipts/calculate",
                       {"receiptUuid": "r", "positions": [{"uuid": "p", "price": 10,
                                                           "quantity": 1}]},
                       user_auth(linked["token"], user="01-000000000000002"))  # fmt: skip
    assert quote["total"] == 10


async def test_user_token_for_unknown_user_is_404(evotor: TestClient) -> None:
    """A cloud token for a user we never created is refused so Evotor retries later."""
    answer = await call(
        evotor,
        "POST",
        "/api/v1/user/token",
        fixture("install/03_user_token.json"),
        app_auth(),
        status=404,
    )
    assert error_codes(answer) == [2003] and answer["errors"][0]["subject"] == "userId"


async def test_billing_events_apply_in_sequence_once(evotor: TestClient, deps: Deps) -> None:
    """An early event waits for its predecessor; a repeat applies nothing; termination
    suspends the merchant (terminal calls get 1004) and a renewal lifts it; a late event
    of a replaced subscription changes nothing."""
    token = await install(evotor)
    early = await call(evotor, "POST", SUBSCRIPTION, event(2, "SubscriptionActivated"),
                       app_auth())  # fmt: skip
    assert early == {"applied": []}
    first = await call(evotor, "POST", SUBSCRIPTION,
                       {**event(1, "SubscriptionCreated"), "trialPeriodDuration": "P14DT",
                        "deviceNumber": 2, "planId": "basic"}, app_auth())  # fmt: skip
    assert first == {"applied": [1, 2]}
    assert await call(evotor, "POST", SUBSCRIPTION, event(1, "SubscriptionCreated"),
                      app_auth()) == {"applied": []}  # fmt: skip
    # S1 says the user token authenticates billing events: accepted too.
    await call(evotor, "POST", SUBSCRIPTION, event(3, "SubscriptionTerminated"),
               user_auth(token, device=None))  # fmt: skip
    assert await merchant_status(deps) == "suspended"
    body = {"receiptUuid": "r", "positions": [{"uuid": "p", "price": 10, "quantity": 1}]}
    refused = await call(evotor, "POST", "/terminal/v1/receipts/calculate", body,
                         user_auth(token), status=402)  # fmt: skip
    assert error_codes(refused) == [1004]
    await call(evotor, "POST", SUBSCRIPTION, event(1, "SubscriptionCreated", "sub-2"),
               app_auth())  # fmt: skip
    await call(evotor, "POST", SUBSCRIPTION, event(2, "SubscriptionActivated", "sub-2"),
               app_auth())  # fmt: skip
    assert await merchant_status(deps) == "active"
    await call(evotor, "POST", SUBSCRIPTION, event(4, "SubscriptionTerminated"), app_auth())
    assert await merchant_status(deps) == "active", "the old subscription is superseded"
    await call(evotor, "POST", "/terminal/v1/receipts/calculate", body, user_auth(token))
    # Another user's token cannot post this user's billing events.
    other = await install(evotor, user="01-000000000000002")
    foreign = await call(evotor, "POST", SUBSCRIPTION, event(3, "SubscriptionTerminated",
                                                             "sub-2"),
                         user_auth(other, device=None, user=None), status=401)  # fmt: skip
    assert error_codes(foreign) == [1002]
    unknown = await call(evotor, "POST", SUBSCRIPTION,
                         event(1, "SubscriptionCreated", user="01-000000000000009"),
                         app_auth(), status=404)  # fmt: skip
    assert error_codes(unknown) == [2003]
