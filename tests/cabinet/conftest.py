"""The cabinet's fixtures: staff of the demo merchant in each role, an owner of another
merchant, a registered customer with a purchase, and clients signed in as each."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher

from cloud.api.app import create_app
from cloud.cabinet import accounts
from cloud.services.deps import Deps
from tests.cabinet.browser import CHROMIUM, Browser, fill_sign_in
from tests.conftest import Tenant
from tests.helpers import register_over_api

PASSWORD = "correct horse battery"
PHONE = "+79161234567"
CARD = "2000000000011"
LINES = [{"id": "1", "name": "Кальян", "price": 1000.00, "quantity": 1}]


@dataclass
class Staff:
    owner: str = "owner@demo.ru"
    manager: str = "manager@demo.ru"
    viewer: str = "viewer@demo.ru"
    stranger: str = "owner@other.ru"


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match is not None, html[:500]
    return match.group(1)


async def sign_in(client: TestClient, login: str, password: str = PASSWORD) -> Any:
    """Open the sign-in page (it sets the session's CSRF token), then post the form."""
    page = await client.get("/cabinet/login")
    token = csrf_of(await page.text())
    return await client.post(
        "/cabinet/login",
        data={"csrf": token, "login": login, "password": password},
        allow_redirects=False,
    )


async def post_form(client: TestClient, path: str, data: dict[str, str], page: str) -> Any:
    """Post a form the way a browser would: with the CSRF token of the page it is on."""
    html = await (await client.get(page)).text()
    return await client.post(path, data={"csrf": csrf_of(html), **data}, allow_redirects=False)


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id, at its lowest cost: the production parameters take half a second
    per hash on a busy two-core machine, and every test here hashes several passwords.
    (The CLI test's subprocess keeps the production cost.)"""
    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", hasher)
    monkeypatch.setattr(accounts, "_DUMMY_HASH", hasher.hash("not-a-password-of-anyone"))


@pytest.fixture
async def staff(deps: Deps, demo_tenant: Tenant, other_tenant: Tenant) -> Staff:
    names = Staff()
    for login, role in ((names.owner, "owner"), (names.manager, "manager"),
                        (names.viewer, "viewer")):  # fmt: skip
        await accounts.create_user(deps, demo_tenant.merchant_id, login, PASSWORD, role)
    await accounts.create_user(deps, other_tenant.merchant_id, names.stranger, PASSWORD, "owner")
    return names


@pytest.fixture
async def customer(client: TestClient, deps: Deps, demo_tenant: Tenant) -> int:
    """A customer of the demo merchant with a plastic card and one 1 000 ₽ purchase."""
    body = await register_over_api(client, deps, PHONE, card=CARD, name="Анна Смирнова")
    receipt = {"id": "R-1", "customer": {"phone": PHONE}, "lines": LINES}
    confirmed = await client.post(
        "/api/v1/checkout/confirm", json={"receipt": receipt, "redeemed": 0}
    )
    assert confirmed.status == 200, await confirmed.text()
    return int(body["id"])


async def cabinet_client(aiohttp_client: Any, deps: Deps, login: str | None) -> TestClient:
    """A browser-like client (cookies kept), signed in as ``login`` unless None."""
    client: TestClient = await aiohttp_client(create_app(deps.settings, deps=deps))
    if login is not None:
        response = await sign_in(client, login)
        assert response.status == 303, await response.text()
    return client


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for every browser test of the session."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip("no chromium here: apt-get install chromium")
    launched = Browser()
    launched.start()
    yield launched
    launched.stop()


@pytest.fixture
async def url(aiohttp_server: Any, deps: Deps) -> str:
    """The service on a real port (127.0.0.1), over the test's database."""
    server = await aiohttp_server(create_app(deps.settings, deps=deps))
    return f"http://127.0.0.1:{server.port}"


async def sign_in_page(
    b: Browser, page: Any, url: str, login: str, password: str = PASSWORD
) -> None:
    """Sign ``page`` in through the cabinet's form (the staff fixtures' password)."""
    await fill_sign_in(b, page, url, login, password)
