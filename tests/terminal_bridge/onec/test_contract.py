"""The fixture day of ``fixtures/onec/`` replayed byte for byte, as 1C sends it: BOMs,
CRLF and tab indents of ``ЗаписатьJSON``, a cp1251 Basic login, local date-times without
an offset, numbers like ``1250.00`` and ``0.350``; each answer equals the published one
(the OpenAPI examples are the same files)."""

from __future__ import annotations

import json
import os
from typing import Any

from aiohttp.test_utils import TestClient

from cloud.clock import ManualClock
from cloud.services.deps import Deps
from tests.terminal_bridge.onec.conftest import BOM, FIXTURES, OnecTill, auth, exchanges, with_code

WRITE = os.environ.get("ONEC_WRITE_FIXTURES") == "1"


ANY = "<any>"
"""In a published answer: a value that differs from run to run (a new virtual card)."""


def same(expected: Any, actual: Any) -> bool:
    if expected == ANY:
        return True
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(
            same(value, actual[key]) for key, value in expected.items()
        )
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(map(same, expected, actual))
    return bool(expected == actual)


async def replay(client: TestClient, deps: Deps, step: dict[str, Any]) -> tuple[int, bytes, Any]:
    headers = {"Authorization": auth(step["auth"])}
    if step["method"] == "GET":
        response = await client.get(step["path"], headers=headers)
    else:
        raw = (FIXTURES / step["request"]).read_bytes()
        phone = json.loads(raw.removeprefix(BOM)).get("phone", "+79161234567")
        if b'"000000"' in raw:
            raw = with_code(deps, raw, phone)
        headers["Content-Type"] = "application/json; charset=utf-8"
        response = await client.post(step["path"], data=raw, headers=headers)
    body = await response.read()
    return response.status, body, response


async def test_the_fixture_day_replays_to_the_published_answers(
    service: TestClient, deps: Deps, till: OnecTill
) -> None:
    """Every step of exchanges.json gets its status and exactly its published answer,
    as UTF-8 JSON with an explicit charset; the sale and the return land once each."""
    clock = deps.clock
    assert isinstance(clock, ManualClock)
    clock.advance(minutes=9)  # the day opens at 12:09 in the store (Moscow)
    for step in exchanges():
        clock.advance(minutes=1)
        status, body, response = await replay(service, deps, step)
        assert status == step["status"], f"step {step['step']}: {status} {body.decode()}"
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        expected_file = FIXTURES / step["response"]
        if WRITE:
            expected_file.write_bytes(body + b"\n")
        # Numbers compared as written: 100.00 is not 100.0 to a reader of the contract.
        expected = json.loads(expected_file.read_text(), parse_float=str)
        assert same(expected, json.loads(body, parse_float=str)), f"step {step['step']}"
    sales = await deps.db.fetch_value(
        "SELECT COUNT(*) FROM receipts WHERE merchant_id = :m AND source = '1c' AND kind = 'sale'",
        {"m": till.merchant_id},
    )
    assert sales == 2
