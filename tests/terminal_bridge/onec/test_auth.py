"""Who may call the 1C API: a terminal of channel ``1c`` by Bearer token, or by Basic
with the terminal's name (UTF-8 or cp1251, as 1C platforms send it) and its token;
everything else is a 401 ``{code, message}`` with ``WWW-Authenticate``."""

from __future__ import annotations

import base64

from aiohttp.test_utils import TestClient

from cloud.services import merchants
from cloud.services.deps import Deps
from tests.terminal_bridge.onec.conftest import LOGIN, TOKEN, OnecTill, auth


def basic(login: bytes, token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(login + b":" + token.encode()).decode()}


async def ping(client: TestClient, headers: dict[str, str], status: int) -> dict[str, str]:
    response = await client.get("/1c/v1/ping", headers=headers)
    body = await response.json()
    assert response.status == status, body
    if status == 401:
        assert "Basic" in response.headers["WWW-Authenticate"]
        assert body["message"] and not body["message"].isascii()
    return dict(body)


async def test_basic_in_cp1251_or_utf8_and_bearer_are_accepted(
    service: TestClient, till: OnecTill
) -> None:
    """The fixtures' three headers (a cp1251 Cyrillic login, a UTF-8 one, a Bearer
    token) reach the same terminal; the login is compared trimmed and case-blind."""
    for kind in ("basic-cp1251", "basic-utf8", "bearer"):
        body = await ping(service, {"Authorization": auth(kind)}, 200)
        assert body["terminal"] == LOGIN
    await ping(service, basic(" касса 1 ".encode("cp1251")), 200)
    await ping(service, basic("КАССА 1".encode()), 200)


async def test_wrong_login_token_or_header_is_401(
    service: TestClient, deps: Deps, till: OnecTill
) -> None:
    """Another login with the right token, a wrong token, a malformed Basic value, an
    unknown scheme and no header are each refused 401 with a Russian message."""
    assert (await ping(service, basic("Касса 2".encode("cp1251")), 401))["code"] == (
        "onec_wrong_login"
    )
    assert (await ping(service, basic(LOGIN.encode(), "nope"), 401))["code"] == "invalid_token"
    bad = {"Authorization": "Basic %%%not-base64"}
    assert (await ping(service, bad, 401))["code"] == "onec_bad_credentials"
    no_colon = {"Authorization": "Basic " + base64.b64encode(b"just-a-login").decode()}
    assert (await ping(service, no_colon, 401))["code"] == "onec_bad_credentials"
    assert (await ping(service, {"Authorization": "Digest x"}, 401))["code"] == (
        "onec_missing_credentials"
    )
    assert (await ping(service, {}, 401))["code"] == "onec_missing_credentials"


async def test_a_token_of_another_channel_or_revoked_is_refused(
    service: TestClient, deps: Deps, till: OnecTill
) -> None:
    """A native terminal's token is not a 1C credential (wrong_channel); a revoked 1C
    token stops at once."""
    now = deps.clock()
    native = await merchants.create_terminal(deps.db, till.merchant_id, till.store_id, "POS", now)
    token = await merchants.issue_terminal_token(deps.db, till.merchant_id, native, now)
    body = await ping(service, {"Authorization": f"Bearer {token}"}, 401)
    assert body["code"] == "wrong_channel"
    await merchants.revoke_terminal_token(deps.db, till.merchant_id, now, token=TOKEN)
    assert (await ping(service, {"Authorization": auth("basic-cp1251")}, 401))["code"] == (
        "invalid_token"
    )


async def test_the_body_is_not_read_before_the_caller_is_known(service: TestClient) -> None:
    """Malformed JSON from an unknown caller is a 401, not a 400 telling what is wrong."""
    response = await service.post("/1c/v1/receipts/calc", data=b"{not json")
    assert response.status == 401
    assert (await response.json())["code"] == "onec_missing_credentials"
