"""Signing in and out of the cabinet: passwords, sessions, CSRF, limits, the CLI."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
from typing import Any

from cloud.cabinet import accounts
from cloud.cabinet.core import COOKIE
from cloud.services.deps import Deps
from tests.cabinet.conftest import PASSWORD, Staff, cabinet_client, csrf_of, sign_in
from tests.conftest import Tenant


async def test_sign_in_opens_the_customers_and_sign_out_closes_them(
    aiohttp_client: Any, deps: Deps, staff: Staff
) -> None:
    """The right password leads to the customer list; after signing out the list
    redirects to the sign-in page again."""
    client = await cabinet_client(aiohttp_client, deps, None)
    anonymous = await client.get("/cabinet/customers", allow_redirects=False)
    assert anonymous.status == 303 and anonymous.headers["Location"] == "/cabinet/login"
    response = await sign_in(client, staff.owner)
    assert response.status == 303 and response.headers["Location"] == "/cabinet/customers"
    cookie = response.headers["Set-Cookie"]
    assert COOKIE in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # the test server listens on loopback over plain HTTP
    page = await client.get("/cabinet/customers")
    html = await page.text()
    assert page.status == 200 and "Клиенты" in html and staff.owner in html
    out = await client.post("/cabinet/logout", data={"csrf": csrf_of(html)}, allow_redirects=False)
    assert out.status == 303
    again = await client.get("/cabinet/customers", allow_redirects=False)
    assert again.status == 303 and again.headers["Location"] == "/cabinet/login"


async def test_wrong_password_and_unknown_login_are_refused_alike(
    aiohttp_client: Any, deps: Deps, staff: Staff
) -> None:
    """A wrong password and a login nobody has get the same 401 page: which logins
    exist is not disclosed."""
    client = await cabinet_client(aiohttp_client, deps, None)
    wrong = await sign_in(client, staff.owner, "not the password")
    unknown = await sign_in(client, "nobody@nowhere.ru")
    assert wrong.status == unknown.status == 401
    assert "Неверный логин или пароль" in await wrong.text()
    assert "Неверный логин или пароль" in await unknown.text()
    assert (await client.get("/cabinet/customers", allow_redirects=False)).status == 303


async def test_failed_passwords_per_login_lock_the_login_even_for_the_right_one(
    aiohttp_client: Any, deps: Deps, staff: Staff
) -> None:
    """After five wrong passwords within the window the right one is refused too (429),
    and the failures live in the database (another worker sees them); after the window
    it signs in."""
    client = await cabinet_client(aiohttp_client, deps, None)
    for _ in range(deps.settings.cabinet_failures_per_login):
        assert (await sign_in(client, staff.manager, "guess")).status == 401
    locked = await sign_in(client, staff.manager)
    assert locked.status == 429 and "Слишком много неудачных попыток" in await locked.text()
    # Another worker: another application over the same database.
    elsewhere = await cabinet_client(aiohttp_client, deps, None)
    assert (await sign_in(elsewhere, staff.manager)).status == 429
    assert (await sign_in(client, staff.owner)).status == 303  # other logins are not locked
    deps.clock.advance(seconds=deps.settings.cabinet_sign_in_window_seconds + 1)  # type: ignore[attr-defined]
    assert (await sign_in(client, staff.manager)).status == 303


async def test_failed_passwords_per_address_lock_the_address(
    aiohttp_client: Any, deps: Deps, staff: Staff
) -> None:
    """Guessing across many logins from one address stops at the per-address limit."""
    limited = dataclasses.replace(
        deps, settings=deps.settings.model_copy(update={"cabinet_failures_per_ip": 3})
    )
    client = await cabinet_client(aiohttp_client, limited, None)
    for n in range(3):
        assert (await sign_in(client, f"guess{n}@x.ru", "guess")).status == 401
    assert (await sign_in(client, staff.viewer)).status == 429


async def test_a_post_without_the_csrf_token_is_refused(
    aiohttp_client: Any, deps: Deps, staff: Staff, customer: int
) -> None:
    """Every form post needs the session's CSRF token: without it, or with another
    session's, it is a 403 and nothing happens."""
    client = await cabinet_client(aiohttp_client, deps, staff.owner)
    other = await cabinet_client(aiohttp_client, deps, staff.manager)
    foreign = csrf_of(await (await other.get("/cabinet/customers")).text())
    form = {"kind": "credit", "amount": "100", "reason": "Подарок"}
    for data in (form, {**form, "csrf": foreign}, {**form, "csrf": ""}):
        refused = await client.post(f"/cabinet/customers/{customer}/adjust", data=data)
        assert refused.status == 403 and "Форма устарела" in await refused.text()
    anonymous = await cabinet_client(aiohttp_client, deps, None)
    login = await anonymous.post(
        "/cabinet/login", data={"login": staff.owner, "password": PASSWORD}
    )
    assert login.status == 403
    card = await (await client.get(f"/cabinet/customers/{customer}")).text()
    assert "Подарок" not in card


async def test_a_disabled_account_is_signed_out_and_cannot_sign_in(
    aiohttp_client: Any, deps: Deps, staff: Staff, demo_tenant: Tenant
) -> None:
    """Disabling a staff account ends its open session at the next request and refuses
    its password."""
    client = await cabinet_client(aiohttp_client, deps, staff.viewer)
    users = await accounts.list_users(deps, demo_tenant.merchant_id)
    viewer = next(u for u in users if u.login == staff.viewer)
    await accounts.set_disabled(deps, demo_tenant.merchant_id, viewer.id, True)
    assert (await client.get("/cabinet/customers", allow_redirects=False)).status == 303
    assert (await sign_in(client, staff.viewer)).status == 401


def _loyalty(database_url: str, stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    env.update(LOYALTY_DATABASE_URL=database_url, LOYALTY_LOG_LEVEL="WARNING")
    return subprocess.run(
        [sys.executable, "-m", "cloud.main", "cabinet", "add-user", *args],
        env=env, input=stdin, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


async def test_cli_adds_the_first_owner_who_then_signs_in(
    aiohttp_client: Any, deps: Deps, demo_tenant: Tenant, database_url: str
) -> None:
    """``loyalty cabinet add-user --password-stdin`` creates an owner who can sign in; a
    taken login and a short password are refused in Russian."""
    args = ("--merchant", str(demo_tenant.merchant_id), "--login", "Boss@Demo.ru")
    made = await asyncio.to_thread(_loyalty, database_url, PASSWORD + "\n", *args,
                                   "--role", "owner", "--password-stdin")  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "boss@demo.ru" in made.stdout
    client = await cabinet_client(aiohttp_client, deps, None)
    assert (await sign_in(client, "boss@demo.ru")).status == 303
    again = await asyncio.to_thread(_loyalty, database_url, PASSWORD + "\n", *args,
                                    "--password-stdin")  # fmt: skip
    assert again.returncode == 1 and "уже занят" in again.stderr
    short = await asyncio.to_thread(
        _loyalty, database_url, "short\n", "--merchant", str(demo_tenant.merchant_id),
        "--login", "other@demo.ru", "--password-stdin",
    )  # fmt: skip
    assert short.returncode == 1 and "Пароль" in short.stderr
