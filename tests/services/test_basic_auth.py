"""Basic authentication as 1C sends it: a Cyrillic login in cp1251, the token as the
password, on the native API and on the Evotor adapter."""

from __future__ import annotations

import base64

from aiohttp.test_utils import TestClient
from hypothesis import given
from hypothesis import strategies as st

from cloud.crypto import basic_credentials
from tests.conftest import Tenant
from webhooks.evotor.auth import token_candidates

LOGIN = "Кассир"


def basic(login: str, password: str, encoding: str) -> str:
    raw = login.encode(encoding) + b":" + password.encode(encoding)
    return "Basic " + base64.b64encode(raw).decode()


async def test_cp1251_login_with_the_right_token_is_accepted(
    client: TestClient, demo_tenant: Tenant
) -> None:
    """1C encodes a Cyrillic login in cp1251: the token in the password still
    authenticates the terminal (it used to answer 401 missing_token)."""
    for encoding in ("cp1251", "utf-8"):
        response = await client.get(
            "/api/v1/customers/lookup",
            params={"phone": "+79990000000"},
            headers={"Authorization": basic(LOGIN, demo_tenant.token, encoding)},
        )
        body = await response.json()
        assert response.status == 404, (encoding, body)
        assert body["code"] == "customer_not_found"


async def test_cp1251_login_with_a_wrong_token_is_refused(client: TestClient) -> None:
    """Decoding the login leniently does not loosen the check of the token."""
    response = await client.get(
        "/api/v1/customers/lookup",
        params={"phone": "+79990000000"},
        headers={"Authorization": basic(LOGIN, "not-a-token", "cp1251")},
    )
    assert response.status == 401
    assert (await response.json())["code"] == "invalid_token"


def test_evotor_takes_the_token_from_a_cp1251_basic_header() -> None:
    """The Evotor adapter reads the same Basic header: the password comes first, then
    the whole ``login:password``; a bare token without a colon is still a candidate."""
    assert token_candidates(basic(LOGIN, "app-token", "cp1251")) == [
        "app-token",
        f"{LOGIN}:app-token",
    ]
    bare = "Basic " + base64.b64encode(b"app-token").decode()
    assert token_candidates(bare) == ["app-token"]
    assert token_candidates("Basic %%%") == []


@given(
    login=st.text(st.characters(blacklist_characters=":", codec="cp1251")),
    password=st.text(st.characters(codec="ascii"), min_size=1),
    encoding=st.sampled_from(["cp1251", "utf-8"]),
)
def test_password_survives_any_login_encoding(login: str, password: str, encoding: str) -> None:
    """Whatever the login and its charset, an ASCII token in the password comes back
    exactly; a UTF-8 login comes back exactly too."""
    encoded = base64.b64encode(login.encode(encoding) + b":" + password.encode()).decode()
    pair = basic_credentials(encoded)
    assert pair is not None
    assert pair[1] == password
    if encoding == "utf-8":
        assert pair[0] == login
