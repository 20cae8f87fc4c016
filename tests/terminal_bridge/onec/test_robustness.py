"""Bad input to every 1C call is a 4xx ``{code, message}`` with a Russian message, never
a 5xx: bodies that are not JSON, not an object, a BOM alone, wrong types, amounts as
strings or with too many places, dates 1C would never write; an unknown address or
method answers in the same shape."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from terminal_bridge.onec.app import ROUTES, onec_error_middleware
from tests.terminal_bridge.onec.conftest import BOM, OnecTill, bearer

BAD_BODIES = [
    b"", BOM, b"{", b"[]", b"null", b"42", b'"text"', BOM + BOM + b"{}", b"{}",
    b'{"receiptId": 5}', b'{"receiptId": "R", "lines": "x"}',
    b'{"receiptId": "R", "lines": [{"id": "1", "price": "10.00", "quantity": 1}]}',
    b'{"receiptId": "R", "lines": [{"id": "1", "price": 10.001, "quantity": 1}]}',
    b'{"receiptId": "R", "lines": [{"id": "1", "price": 1e400, "quantity": 1}]}',
    b'{"receiptId": "R", "lines": [{"id": "1", "price": NaN, "quantity": 1}]}',
    b'{"receiptId": "R", "saleDate": 1700000000, "lines": [{"id": "1", "price": 1, '
    b'"quantity": 1}]}',
    b'{"receiptId": "R", "saleDate": "28.11.2026 14:05:00", "lines": []}',
    b'{"returnId": "x", "receiptId": "nope", "lines": [{"id": "1", "quantity": -1}]}',
    b'{"requestId": "r", "phone": "12", "purpose": "redeem"}',
    b'{"requestId": "r", "phone": "79161234567", "purpose": "spam"}',
    b'{"phone": "not a phone"}', b'{"card": ""}', b'{"unknown": 1}',
    b'{"receiptId": "\\u0000"}', b'{"receiptId": "\xd7\xe5\xea"}',  # cp1251 text sent as if UTF-8
    b'{"requestId": "r", "phone": "79035550177", "smsCode": "1", "consentPersonalData": 1, '
    b'"consentMessages": "yes"}',
    b'{"requestId": "r", "phone": "79035550177", "smsCode": "1", "consentPersonalData": true, '
    b'"consentMessages": true, "birthday": "1990-05-17T10:30:00"}',
]  # fmt: skip


@pytest.mark.parametrize("path", sorted(ROUTES))
async def test_bad_bodies_are_4xx_with_a_russian_message(
    service: TestClient, till: OnecTill, path: str
) -> None:
    """Each bad body on each route: a 4xx, JSON with code and a non-ASCII message."""
    for raw in BAD_BODIES:
        response = await service.post(f"/1c{path}", data=raw, headers=bearer())
        body = await response.json()
        assert 400 <= response.status < 500, (path, raw, response.status, body)
        assert set(body) == {"code", "message"}, body
        assert not body["message"].isascii(), body


async def test_unknown_address_and_method(service: TestClient, till: OnecTill) -> None:
    """An unknown path is 404 and GET on a POST path 405 with Allow, both as JSON."""
    response = await service.post("/1c/v1/receipts/nothing", data=b"{}", headers=bearer())
    assert response.status == 404 and (await response.json())["code"] == "unknown_path"
    response = await service.get("/1c/v1/receipts/calc", headers=bearer())
    assert response.status == 405 and response.headers["Allow"] == "POST"
    assert (await response.json())["code"] == "method_not_allowed"


async def test_unknown_receipt_to_return_or_cancel(service: TestClient, till: OnecTill) -> None:
    """A return of a receipt we never recorded is a 404 that names it; a cancel of an
    unknown receipt releases nothing (there is nothing held)."""
    response = await service.post(
        "/1c/v1/receipts/return", json={"returnId": "r", "receiptId": "nope"}, headers=bearer()
    )
    assert response.status == 404, await response.text()
    response = await service.post(
        "/1c/v1/receipts/cancel", json={"receiptId": "nope"}, headers=bearer()
    )
    assert response.status == 200 and (await response.json())["released"] == 0


async def test_an_unexpected_failure_is_a_503_not_a_500(aiohttp_client) -> None:  # type: ignore[no-untyped-def]
    """A bug behind a route is answered 503 internal_error in the 1C shape (the module
    retries it with the same key), never a 500 or a stack trace."""

    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("boom")

    app = web.Application(middlewares=[onec_error_middleware])
    app.router.add_post("/v1/receipts/calc", broken)
    client = await aiohttp_client(app)
    response = await client.post("/v1/receipts/calc", data=b"{}")
    assert response.status == 503
    body = await response.json()
    assert body["code"] == "internal_error" and "boom" not in body["message"]
