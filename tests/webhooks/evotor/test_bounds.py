"""Bounded, exact input on every Evotor path: money read from the JSON text (never
through a float), upper bounds on amounts, quantities, sequence numbers, offsets and
dates, and a close that cannot claim more than the price — each refused 400 in Evotor's
error shape, never a 500 and never accrued on."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cloud.services import programs
from cloud.services.deps import Deps
from tests.webhooks.evotor.conftest import (
    app_auth,
    call,
    error_codes,
    fixture,
    install,
    user_auth,
)
from tests.webhooks.evotor.test_documents_and_sync import headers, setup
from tests.webhooks.evotor.test_terminal_hooks import FIVE_PERCENT, merchant_of

CALCULATE = "/terminal/v1/receipts/calculate"
CLOSE = "/terminal/v1/receipts/close"


@pytest.fixture
async def till(evotor: TestClient, deps: Deps) -> str:
    """An installed merchant with synced devices and a 5 % discount program."""
    user_token = await install(evotor)
    await programs.publish(deps.db, await merchant_of(deps), FIVE_PERCENT, deps.clock())
    return user_token


def receipt(**position: Any) -> dict[str, Any]:
    return {"receiptUuid": "r-1", "positions": [{"uuid": "p", "price": 100, "quantity": 1,
                                                 **position}]}  # fmt: skip


async def test_close_cannot_claim_more_than_the_price(
    evotor: TestClient,
    deps: Deps,
    till: str,
) -> None:
    """``priceWithDiscountPosition`` above the price, or ``resultSum`` above price x
    quantity, is refused 400/2003 naming the position; nothing is confirmed."""
    for position in ({"priceWithDiscountPosition": 150}, {"quantity": 2, "resultSum": 200.01}):
        answer = await call(evotor, "POST", CLOSE, receipt(**position), user_auth(till),
                            status=400)  # fmt: skip
        assert error_codes(answer) == [2003]
        assert answer["errors"][0]["subject"].startswith("positions.0")
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM receipts") == 0
    ok = await call(evotor, "POST", CLOSE, receipt(quantity=2, resultSum=200), user_auth(till))
    assert ok["status"] == "confirmed"
    # 33.33 x 0.333 = 11.09889: the till's line total is 11.10 (half-up), not above it.
    rounded = {"receiptUuid": "r-2", "positions": [
        {"uuid": "w", "price": 33.33, "quantity": 0.333, "resultSum": 11.10}]}  # fmt: skip
    ok = await call(evotor, "POST", CLOSE, rounded, user_auth(till))
    assert ok["status"] == "confirmed"


@pytest.mark.parametrize(
    "raw",
    [
        # Exactness: a float would read 10.00 and accept it; the text has 16 places.
        b'{"receiptUuid": "r", "positions": [{"uuid": "p", "price": 10.0000000000000001, '
        b'"quantity": 1}]}',
        b'{"receiptUuid": "r", "positions": [{"uuid": "p", "price": 1, '
        b'"quantity": 1.0000000000000001}]}',
        # Bounds: a float would read 99999999999999.98.
        b'{"receiptUuid": "r", "positions": [{"uuid": "p", "price": 99999999999999.99, '
        b'"quantity": 1}]}',
        b'{"receiptUuid": "r", "positions": [{"uuid": "p", "price": 1e20, "quantity": 1}]}',
        b'{"receiptUuid": "r", "positions": [{"uuid": "p", "price": 1, "quantity": 1e9}]}',
        b'{"receiptUuid": "r", "createdAt": "0001-01-01T00:00:00Z", "positions": '
        b'[{"uuid": "p", "price": 1, "quantity": 1}]}',
        b'{"receiptUuid": "r", "createdAt": "9999-12-31T23:59:59+14:00", "positions": '
        b'[{"uuid": "p", "price": 1, "quantity": 1}]}',
    ],
)
async def test_inexact_or_absurd_terminal_input_is_refused(
    evotor: TestClient,
    till: str,
    raw: bytes,
) -> None:
    """Refused 400/2003 in Evotor's shape (never a 500, never rounded silently)."""
    answer = await call(evotor, "POST", CALCULATE, None, {**user_auth(till),
                        "Content-Type": "application/json"}, status=400, raw=raw)  # fmt: skip
    assert error_codes(answer) == [2003]


async def test_nan_and_nul_are_malformed(evotor: TestClient, till: str) -> None:
    """``NaN`` is not JSON and a NUL character cannot be stored: 400/2001."""
    for raw in (
        b'{"receiptUuid": "r", "positions": [{"uuid": "p", "price": NaN, "quantity": 1}]}',
        b'{"receiptUuid": "r\\u0000", "positions": [{"uuid": "p", "price": 1, "quantity": 1}]}',
    ):
        answer = await call(evotor, "POST", CALCULATE, None, user_auth(till), status=400,
                            raw=raw)  # fmt: skip
        assert error_codes(answer) == [2001]


async def test_huge_sequence_number_and_offset(evotor: TestClient, deps: Deps) -> None:
    """``sequenceNumber`` 2^63, an install ``timestamp`` of 2^64 and a device
    ``timezoneOffset`` of 2^63: 400/2003."""
    token, _, _ = await setup(evotor, deps)
    event = {**fixture("install/04_subscription_created.json"), "sequenceNumber": 2**63}
    answer = await call(evotor, "POST", "/api/v1/subscription/event", event, app_auth(),
                        status=400)  # fmt: skip
    assert error_codes(answer) == [2003]
    installed = {**fixture("install/01_installation_event.json"), "timestamp": 2**64}
    answer = await call(evotor, "POST", "/api/v2/installation/event", installed, app_auth(),
                        status=400)  # fmt: skip
    assert set(error_codes(answer)) == {2003}
    device = {**fixture("inventories/devices.json")[0], "timezoneOffset": 2**63}
    answer = await call(evotor, "PUT", "/api/v1/inventories/devices", [device], headers(token),
                        status=400)  # fmt: skip
    assert error_codes(answer) == [2003]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(close_date="0001-01-01T00:00:00.000+0000"),
        lambda d: d.update(close_date="9999-12-31T23:59:59.000-1200"),
        lambda d: d.update(time_zone_offset=2**63),
        lambda d: d["body"]["positions"][0].update(price=10**20),
        lambda d: d["body"]["positions"][0].update(quantity=10**9),
    ],
)
async def test_absurd_documents_are_rejected_not_500(
    evotor: TestClient, deps: Deps, mutate: Any
) -> None:
    """A SELL with a year-1 or year-9999 date, a 2^63 offset, a price of 1e20 or a
    billion pieces is kept as rejected (200), no sale is written."""
    token, merchant_id, _ = await setup(evotor, deps)
    document = fixture("documents/sell_v2.json")
    mutate(document)
    ack = await call(evotor, "PUT", "/api/v2/documents", document, headers(token))
    assert ack["results"][0]["status"] == "rejected"
    assert await deps.db.fetch_value(
        "SELECT COUNT(*) FROM receipts WHERE merchant_id = :m", {"m": merchant_id}
    ) == 0  # fmt: skip


async def test_document_money_is_exact(evotor: TestClient, deps: Deps) -> None:
    """A document price with more digits than a float holds keeps them:
    1 234 567.124999999999999 rounds half-up to 1 234 567.12 (a float reads it as
    1 234 567.125 and would make it ...13)."""
    token, merchant_id, _ = await setup(evotor, deps)
    document = fixture("documents/sell_v2.json")
    document["body"]["positions"][1]["price"] = "__PRICE__"
    raw = json.dumps(document).replace('"__PRICE__"', "1234567.124999999999999")
    ack = await call(evotor, "PUT", "/api/v2/documents", None, headers(token), raw=raw.encode())
    assert ack["results"][0]["status"] == "confirmed"
    prices = await deps.db.fetch_all(
        "SELECT price FROM receipt_lines WHERE merchant_id = :m ORDER BY position",
        {"m": merchant_id},
    )
    assert [r["price"] for r in prices] == [28000, 123456712]
