"""The README tells a newcomer the truth: the demo customers' table is what the demo
loads (whichever day), the five onboarding commands run as printed and their token
prices a receipt, the development SMS code is where the README says, and the README
links nothing outside the repository."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import queue
import re
import shlex
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from cloud.api.app import create_app
from cloud.clock import ManualClock
from cloud.services import demo
from cloud.services.deps import Deps
from tests.conftest import START
from tests.ops.readme_facts import (
    DEMO_HEADING,
    ONBOARD_HEADING,
    README,
    ROOT,
    commands,
    demo_rows,
    numbers_in,
    section,
    table_rows,
)


async def test_demo_table_is_what_the_demo_loads(deps: Deps) -> None:
    """Every row of the README's demo table (phone, name, plastic card, tier, bonuses)
    equals the loaded demo's customer, in order; loaded 137 days later the figures are
    the same (the README says whichever day)."""
    written = table_rows(section(DEMO_HEADING))
    assert len(written) == 20
    assert written == await demo_rows(deps)
    later = dataclasses.replace(deps, clock=ManualClock(START + timedelta(days=137)))
    await demo.load_demo(later, refresh=True)
    assert written == await demo_rows(later)


def _run(database_url: str, command: str) -> str:
    """A README line ``./dev loyalty ...``, as ``loyalty ...`` on this database."""
    args = shlex.split(command)
    assert args[:2] == ["./dev", "loyalty"], command
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    env.update(LOYALTY_DATABASE_URL=database_url, LOYALTY_LOG_LEVEL="WARNING")
    result = subprocess.run(
        [sys.executable, "-m", "cloud.main", *args[2:]], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, (command, result.stderr)
    return result.stdout


def _curl_body() -> dict[str, Any]:
    match = re.search(r"-d '(\{.*\})'", section(ONBOARD_HEADING))
    assert match is not None
    body: dict[str, Any] = json.loads(match.group(1))
    return body


async def _onboard(database_url: str, renumber: bool) -> tuple[str, dict[str, str]]:
    """Run the README's five commands in order. Without ``renumber`` they run verbatim
    and must print the numbers their comments show; with it each number of the README
    is replaced by the one the earlier command printed. The token, and the mapping."""
    lines = commands(section(ONBOARD_HEADING))
    assert len(lines) == 5
    printed: dict[str, str] = {}
    token = ""
    for command, comment in lines:
        if renumber:
            command = re.sub(
                r"(--merchant|--store) (\d+)", lambda m: f"{m[1]} {printed[m[2]]}", command
            )
        out = await asyncio.to_thread(_run, database_url, command)
        shown = re.findall(r"(?:Merchant|Store|Terminal) #(\d+)", out)
        assert len(shown) >= len(numbers_in(comment)), (command, out)
        for number, actual in zip(numbers_in(comment), shown, strict=False):
            printed[number] = actual
            if not renumber:
                assert number == actual, (command, out)
        if "version 1 (active)" in comment:
            assert "version 1 (active)" in out, out
        if "token" in comment:
            token = re.findall(r"Terminal token[^:]*: (\S+)", out)[0]
    assert token
    return token, printed


async def _prices(aiohttp_client: Any, deps: Deps, token: str) -> None:
    till = await aiohttp_client(
        create_app(deps.settings, deps=deps), headers={"Authorization": f"Bearer {token}"}
    )
    priced = await till.post("/api/v1/checkout/calculate", json=_curl_body())
    assert priced.status == 200, await priced.text()
    assert (await priced.json())["program_version"] == 1


# The CLI on PostgreSQL is run by tests/cli/test_onboarding.py and
# tests/ops/test_entrypoint.py; here the README's text is what is tested.
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_readme_onboarding_runs_verbatim_after_first_serve(
    aiohttp_client: Any, deps: Deps, database_url: str
) -> None:
    """On the database ``./dev serve`` leaves (the demo loaded), the README's five
    commands run as written, print the numbers their comments show, make two stores,
    and the printed token prices the README's curl receipt; the README's revoke line
    then stops that token."""
    await demo.load_demo(deps)  # what the first ``./dev serve`` does
    token, printed = await _onboard(database_url, renumber=False)
    assert await deps.db.fetch_value(
        "SELECT count(*) FROM stores WHERE merchant_id = :m", {"m": int(printed["2"])}
    ) == 2  # fmt: skip
    await _prices(aiohttp_client, deps, token)
    revoke = re.search(r"`(\./dev loyalty tokens revoke [^`]+)`", section(ONBOARD_HEADING))
    assert revoke is not None
    assert "Revoked 1 token(s)" in await asyncio.to_thread(_run, database_url, revoke[1])
    till = await aiohttp_client(
        create_app(deps.settings, deps=deps), headers={"Authorization": f"Bearer {token}"}
    )
    assert (await till.post("/api/v1/checkout/calculate", json=_curl_body())).status == 401


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_readme_onboarding_on_an_empty_database(
    aiohttp_client: Any, deps: Deps, database_url: str
) -> None:
    """On a database with no merchant at all, the same five commands with the numbers
    each one printed create a merchant with two stores and a terminal whose token
    prices the README's receipt. (SQLite only: the commands are the same on both, and
    the CLI on PostgreSQL is run by the verbatim test above, tests/cli/test_onboarding.py
    and tests/ops/test_entrypoint.py; each command costs a process start.)"""
    token, printed = await _onboard(database_url, renumber=True)
    assert printed["2"] == "1"  # the first merchant of the database
    assert await deps.db.fetch_value("SELECT count(*) FROM stores") == 2
    await _prices(aiohttp_client, deps, token)


def test_no_link_leaves_the_repository() -> None:
    """Every Markdown link of the README points to a file of the repository, every URL
    to this machine, and no path climbs out of the repository."""
    text = README.read_text()
    for target in re.findall(r"\]\(([^)]+)\)", text):
        assert (ROOT / target.split("#")[0]).exists(), target
    for url in re.findall(r"https?://[^\s`'\"]+", text):
        assert re.match(r"https?://(127\.0\.0\.1|localhost)[:/]", url), url
    assert "../" not in text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_development_sms_code_is_in_the_serve_log(tmp_path: Path) -> None:
    """``loyalty serve`` in development (as ``./dev serve``): a code requested with the
    demo till's token appears in the server's output on an ``sms.sent`` line, as the
    README shows, and registers the customer."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    env["LOYALTY_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path}/dev.sqlite3"
    server = subprocess.Popen(
        [sys.executable, "-m", "cloud.main", "serve", "--port", str(port)], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    assert server.stdout is not None
    output = server.stdout
    reader = threading.Thread(target=lambda: [lines.put(line) for line in output], daemon=True)
    reader.start()
    base = f"http://127.0.0.1:{port}"
    till = {"Authorization": "Bearer demo-tverskaya-till-1"}
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.3)
        sent = httpx.post(f"{base}/api/v1/sms-codes", headers=till, timeout=10,
                          json={"phone": "+79001234567", "purpose": "registration"})  # fmt: skip
        assert sent.status_code == 200, sent.text
        code = None
        while code is None:
            line = lines.get(timeout=30)
            if "sms.sent" in line:
                assert "development=True" in line and "provider=log" in line, line
                code = re.search(r"Код подтверждения: (\d{6})", line)
                shown = line[line.index("[") :].rstrip().replace(code[1], "123456")
                # the request's id is a fresh one each run; the README shows one such
                shown = re.sub(r"request_id=\w+", "request_id=5e0c9b1d7a3f2468", shown)
                assert f"    {shown}\n" in README.read_text(), shown  # the README's example
        registered = httpx.post(
            f"{base}/api/v1/customers", headers=till, timeout=10,
            json={"phone": "+79001234567", "sms_code": code[1],
                  "consent": {"personal_data": True}},
        )  # fmt: skip
        assert registered.status_code == 201, registered.text
    finally:
        server.terminate()
        server.wait(timeout=30)
        reader.join(timeout=10)
        output.close()


def test_a_taken_port_is_refused_in_one_line(tmp_path: Path) -> None:
    """``loyalty serve`` on a port another process holds exits 2 with one line naming
    the next port and both ways to choose one (no traceback, no "is listening")."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
        env["LOYALTY_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path}/dev.sqlite3"
        result = subprocess.run(
            [sys.executable, "-m", "cloud.main", "serve", "--port", str(port)], cwd=ROOT,
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr == (
        f"loyalty: port {port} on 127.0.0.1 is already in use (another `loyalty serve`?); "
        f"choose another: `./dev serve --port {port + 1}` or LOYALTY_PORT={port + 1}\n"
    )
    assert "is listening" not in result.stdout
