"""The README's onboarding, as a newcomer types it: five ``loyalty`` commands create a
merchant with two stores, a live program and a native terminal whose token prices a
receipt through the native API; ``loyalty tokens revoke`` stops it at once. The CLI
never lets one merchant's number reach another merchant's store or token."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from typing import Any

import pytest

from cloud.api.app import create_app
from cloud.services.deps import Deps
from tests.conftest import DEMO_PROGRAM

RECEIPT = {
    "receipt": {
        "id": "onboard-1",
        "lines": [{"id": "1", "name": "Кальян", "price": 1000.00, "quantity": 1}],
    }
}


def _loyalty(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    env.update(LOYALTY_DATABASE_URL=database_url, LOYALTY_LOG_LEVEL="WARNING")
    return subprocess.run(
        [sys.executable, "-m", "cloud.main", *args],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


async def loyalty(database_url: str, *args: str) -> str:
    """Run one ``loyalty`` command; its standard output (it must succeed)."""
    result = await asyncio.to_thread(_loyalty, database_url, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _find(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match is not None, text
    return match.group(1)


async def _onboard(database_url: str, name: str) -> dict[str, str]:
    created = await loyalty(
        database_url, "merchants", "create", name, "--timezone", "Europe/Samara"
    )
    merchant = _find(r"Merchant #(\d+)", created)
    owner_key = _find(r"Owner key[^:]*: (\S+)", created)
    first = await loyalty(
        database_url, "stores", "add", "--merchant", merchant, "Ленина, 1",
        "--address", "Самара, ул. Ленина, 1",
    )  # fmt: skip
    second = await loyalty(
        database_url, "stores", "add", "--merchant", merchant, "Мира, 5",
        "--timezone", "Europe/Moscow",
    )  # fmt: skip
    await loyalty(
        database_url, "programs", "load", str(DEMO_PROGRAM), "--merchant", merchant, "--activate"
    )
    store = _find(r"Store #(\d+)", first)
    terminal = await loyalty(
        database_url, "terminals", "add", "--merchant", merchant, "--store", store, "Касса 1"
    )
    return {
        "merchant": merchant, "owner_key": owner_key, "store": store,
        "store2": _find(r"Store #(\d+)", second), "store_line": first,
        "terminal": _find(r"Terminal #(\d+)", terminal),
        "token": _find(r"Terminal token[^:]*: (\S+)", terminal),
    }  # fmt: skip


async def test_five_commands_onboard_a_merchant_whose_terminal_prices_a_receipt(
    aiohttp_client: Any, deps: Deps, database_url: str
) -> None:
    """merchants create, stores add (twice), programs load, terminals add: the printed
    token prices a receipt; the owner key lists the two stores with their zones and
    address; tokens revoke --terminal refuses the next request."""
    made = await _onboard(database_url, "Кальянная на Ленина")
    assert "(Europe/Samara)" in made["store_line"]  # the merchant's zone by default
    app = create_app(deps.settings, deps=deps)
    till = await aiohttp_client(app, headers={"Authorization": f"Bearer {made['token']}"})
    priced = await till.post("/api/v1/checkout/calculate", json=RECEIPT)
    assert priced.status == 200, await priced.text()
    assert (await priced.json())["program_version"] == 1

    owner = await aiohttp_client(
        create_app(deps.settings, deps=deps),
        headers={"Authorization": f"Bearer {made['owner_key']}"},
    )
    stores = (await (await owner.get("/api/v1/stores")).json())["stores"]
    assert [(s["name"], s["timezone"], s["address"]) for s in stores] == [
        ("Ленина, 1", "Europe/Samara", "Самара, ул. Ленина, 1"),
        ("Мира, 5", "Europe/Moscow", None),
    ]

    revoked = await loyalty(
        database_url, "tokens", "revoke", "--merchant", made["merchant"],
        "--terminal", made["terminal"],
    )  # fmt: skip
    assert "Revoked 1 token(s)" in revoked
    refused = await till.post("/api/v1/checkout/calculate", json=RECEIPT)
    assert refused.status == 401


# Fifty seconds of subprocesses per backend: the tenancy checks are SQL the onboarding
# tests already run on both databases, so this one runs on the production database only.
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_cli_keeps_merchants_apart_and_refuses_bad_input_in_russian(
    aiohttp_client: Any, deps: Deps, database_url: str
) -> None:
    """With merchant B's number the CLI cannot add a terminal to A's store nor revoke
    A's token (0 revoked, A's till still prices); an unknown merchant, zone or channel
    fails with a message and exit status, not a traceback."""
    a = await _onboard(database_url, "А")
    b = await loyalty(database_url, "merchants", "create", "Б")
    merchant_b = _find(r"Merchant #(\d+)", b)

    stolen = await asyncio.to_thread(
        _loyalty, database_url, "terminals", "add", "--merchant", merchant_b,
        "--store", a["store"], "Чужая касса",
    )  # fmt: skip
    assert stolen.returncode == 1 and "Магазин не найден" in stolen.stderr
    by_token = await loyalty(
        database_url, "tokens", "revoke", "--merchant", merchant_b, "--token", a["token"]
    )
    assert "Revoked 0 token(s)" in by_token
    by_terminal = await asyncio.to_thread(
        _loyalty, database_url, "tokens", "revoke", "--merchant", merchant_b,
        "--terminal", a["terminal"],
    )  # fmt: skip
    assert by_terminal.returncode == 1 and "не найден" in by_terminal.stderr
    till = await aiohttp_client(
        create_app(deps.settings, deps=deps), headers={"Authorization": f"Bearer {a['token']}"}
    )
    assert (await till.post("/api/v1/checkout/calculate", json=RECEIPT)).status == 200

    for args, message in (
        (("stores", "add", "--merchant", "999999", "X"), "Компания #999999 не найдена"),
        (("merchants", "create", "X", "--timezone", "Mars/Base"), "часовой пояс"),
    ):
        failed = await asyncio.to_thread(_loyalty, database_url, *args)
        assert failed.returncode == 1 and message in failed.stderr, failed.stderr
        assert "Traceback" not in failed.stderr
    wrong_channel = await asyncio.to_thread(
        _loyalty, database_url, "terminals", "add", "--merchant", a["merchant"],
        "--store", a["store"], "X", "--channel", "telepathy",
    )  # fmt: skip
    assert wrong_channel.returncode == 2 and "invalid choice" in wrong_channel.stderr
