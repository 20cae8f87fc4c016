"""Bounded, exact input on the native API: every amount, quantity, id, version number and
date has an upper bound answered with a 4xx ``{code, message}``; numbers are read without
a float in between; strings with NUL are refused before they reach a database."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import given
from hypothesis import strategies as st

from cloud.api.app import create_app
from cloud.errors import BadRequest
from cloud.services import merchants
from cloud.services.deps import Deps
from cloud.web_json import loads
from tests.conftest import Tenant
from tests.helpers import money, register_over_api

PHONE = "+79161234567"


def line(**overrides: Any) -> dict[str, Any]:
    return {"id": "1", "name": "Жидкость", "price": 450.00, "quantity": 1, **overrides}


def receipt(receipt_id: str = "r-1", **overrides: Any) -> dict[str, Any]:
    return {"id": receipt_id, "lines": [line()], **overrides}


async def refused(client: TestClient, method: str, path: str, body: Any = None, *,
                  raw: bytes | None = None, status: int = 400) -> dict[str, Any]:  # fmt: skip
    """Send and expect the API's error shape with the given status; returns the body."""
    response = await client.request(
        method, path, json=body if raw is None else None, data=raw,
        headers={"Content-Type": "application/json"} if raw is not None else None,
    )  # fmt: skip
    text = await response.text()
    assert response.status == status, f"{response.status}: {text}"
    answer = json.loads(text)
    assert set(answer) == {"code", "message"} and answer["message"], answer
    return dict(answer)


@pytest.fixture
async def admin(aiohttp_client: Any, deps: Deps, demo_tenant: Tenant) -> TestClient:
    key = await merchants.issue_merchant_key(deps.db, demo_tenant.merchant_id, deps.clock())
    client: TestClient = await aiohttp_client(
        create_app(deps.settings, deps=deps), headers={"Authorization": f"Bearer {key}"}
    )
    return client


# ---- exact numbers ----------------------------------------------------------------------


@given(
    st.integers(0, 20).flatmap(
        lambda places: st.decimals(min_value=-(10**20), max_value=10**20, places=places)
    )
    | st.sampled_from(
        [
            Decimal("1E-400"),
            Decimal("4.9E-324"),
            Decimal("1.5E+300"),
            Decimal(-(2**63) - 1),
            Decimal(2**64),
            Decimal(10**30),
        ]
    )
)
def test_json_numbers_arrive_exactly_or_are_refused(value: Decimal) -> None:
    """Whatever decimal a client writes, the body reader either hands on exactly that
    number (an int, or a float whose shortest text is the number) or refuses it with
    ``inexact_number``; one of at most 15 significant digits is never refused."""
    text = f'{{"a": [{value}]}}'.encode()
    try:
        parsed = loads(text)["a"][0]
    except BadRequest as exc:
        assert exc.code == "inexact_number"
        assert len(value.normalize().as_tuple().digits) > 15 or abs(value) < Decimal("1e-99")
        return
    assert Decimal(str(parsed)) == value


async def test_long_price_is_exact_or_refused(client: TestClient) -> None:
    """99999999999999.99 is not read as …98: it is refused, as a number no float holds;
    a price with more places than a kopeck that a float would round to 100 is refused
    too, never priced as 100.00; 99999999.99 (the bound) arrives exactly."""
    for price in ("99999999999999.99", "100.000000000000001"):
        line_text = f'{{"id": "1", "price": {price}, "quantity": 1}}'
        body = f'{{"receipt": {{"id": "r", "lines": [{line_text}]}}}}'.encode()
        answer = await refused(client, "POST", "/api/v1/checkout/calculate", raw=body)
        assert answer["code"] == "inexact_number" and price in answer["message"]
    response = await client.post(
        "/api/v1/checkout/calculate",
        json={"receipt": receipt(lines=[line(price=99_999_999.99)])},
    )
    assert response.status == 200, await response.text()
    assert (await response.json())["amount"] == 99_999_999.99


async def test_exact_path_prices_like_the_fast_one(client: TestClient) -> None:
    """A body read on the exact path (a 16-digit card number as a JSON number elsewhere,
    trailing zeros) is priced the same as the plain one."""
    plain = await client.post("/api/v1/checkout/calculate", json={"receipt": receipt()})
    assert plain.status == 200
    body = b'{"receipt": {"id": "r-1", "lines": [{"id": "1", "name": "\\u0416\\u0438\\u0434' \
        b'\\u043a\\u043e\\u0441\\u0442\\u044c", "price": 450.000000000000000, ' \
        b'"quantity": 1.00000000000000000}]}}'  # fmt: skip
    exact = await client.post(
        "/api/v1/checkout/calculate", data=body, headers={"Content-Type": "application/json"}
    )
    assert exact.status == 200, await exact.text()
    assert await exact.json() == await plain.json()


# ---- bounds -----------------------------------------------------------------------------

CHECKOUT_CASES = [
    ("calculate", {"receipt": receipt(lines=[line(price=1e20)])}, "price"),
    ("calculate", {"receipt": receipt(lines=[line(price=100_000_000)])}, "price"),
    ("calculate", {"receipt": receipt(lines=[line(quantity=100_000)])}, "quantity"),
    ("calculate", {"receipt": receipt(lines=[line(price=99_999_999.99, quantity=2)])},
     "цена × количество"),
    ("calculate", {"receipt": receipt(lines=[line(amount=1e12)])}, "amount"),
    ("calculate", {"receipt": receipt(lines=[line(minimum_price=1e12)])}, "minimum_price"),
    ("calculate", {"receipt": receipt(customer={"customer_id": 10**19 + 1})}, "customer_id"),
    ("calculate", {"receipt": receipt(customer={"customer_id": 0})}, "customer_id"),
    ("calculate", {"receipt": receipt(created_at="9999-12-31T23:59:59-05:00")}, "created_at"),
    ("calculate", {"receipt": receipt(created_at="0001-01-01T00:00:00+05:00")}, "created_at"),
    ("calculate", {"receipt": receipt(), "redeem": 1e20}, "redeem"),
    ("hold", {"receipt": receipt(), "amount": 1e20}, "amount"),
    ("confirm", {"receipt": receipt(), "redeemed": 100_000_000}, "redeemed"),
    ("confirm", {"receipt": receipt(lines=[line(price=1e20)])}, "price"),
    ("refund", {"id": "f", "receipt_id": "r", "lines": [{"id": "1", "quantity": 1e9}]},
     "quantity"),
    ("refund", {"id": "f", "receipt_id": "r", "created_at": "9999-12-31T00:00:00Z"},
     "created_at"),
]  # fmt: skip


@pytest.mark.parametrize(("operation", "body", "field"), CHECKOUT_CASES)
async def test_checkout_refuses_out_of_range_input(
    client: TestClient, operation: str, body: dict[str, Any], field: str
) -> None:
    """Absurd amounts, quantities, customer ids and dates are a 400 that names the field
    (they answered 500, or were accepted and overflowed a balance)."""
    answer = await refused(client, "POST", f"/api/v1/checkout/{operation}", body)
    assert answer["code"] == "validation_error" and field in answer["message"]


async def test_largest_sale_leaves_the_customer_able_to_buy(client: TestClient, deps: Deps) -> None:
    """An absurd sale (9·10^16 roubles: it used to be accepted, and the customer's lifetime
    sum then overflowed on every later sale) is refused; the largest receipt the bounds
    allow (500 lines of 99 999 999.99) confirms twice, and the same customer can still be
    quoted afterwards: no sum overflows."""
    customer = await register_over_api(client, deps, PHONE)
    ref = {"customer_id": customer["id"]}
    absurd = receipt("absurd", customer=ref, lines=[line(price=90_000_000_000_000_000)])
    await refused(client, "POST", "/api/v1/checkout/confirm", {"receipt": absurd})
    lines = [line(id=str(i), price=99_999_999.99) for i in range(500)]
    for receipt_id in ("big-1", "big-2"):
        response = await client.post(
            "/api/v1/checkout/confirm",
            json={"receipt": receipt(receipt_id, customer=ref, lines=lines)},
        )
        assert response.status == 200, await response.text()
    response = await client.post(
        "/api/v1/checkout/calculate", json={"receipt": receipt("small", customer=ref)}
    )
    assert response.status == 200, await response.text()
    assert money((await response.json())["customer"]["balance"]) > 0


@pytest.mark.parametrize("version", ["0", "3000000000", "9223372036854775808", "9" * 40])
async def test_program_version_beyond_the_column_is_not_found(
    admin: TestClient, version: str
) -> None:
    """A version number no INTEGER column can hold is a 404, on every version route."""
    for method, suffix, body in (("GET", "", None), ("POST", "/activate", None),
                                 ("POST", "/preview", {"receipt": receipt()})):  # fmt: skip
        answer = await refused(
            admin, method, f"/api/v1/programs/{version}{suffix}", body, status=404
        )
        assert answer["code"] == "program_not_found"


@pytest.mark.parametrize(
    "query", ["before=9223372036854775808", "before=0", "limit=1000", "limit=abc"]
)
async def test_history_parameters_are_bounded(client: TestClient, deps: Deps, query: str) -> None:
    """History's cursor and page size out of range are a 400."""
    customer = await register_over_api(client, deps, PHONE)
    await refused(client, "GET", f"/api/v1/customers/{customer['id']}/history?{query}")


# ---- NUL and other text a database cannot store -------------------------------------------


NUL_CASES = [
    ("POST", "/api/v1/checkout/calculate", {"receipt": receipt("a\u0000b")}),
    ("POST", "/api/v1/checkout/confirm", {"receipt": receipt(lines=[line(name="a\u0000")])}),
    ("POST", "/api/v1/checkout/cancel", {"receipt_id": "\u0000"}),
    ("POST", "/api/v1/checkout/refund", {"id": "\u0000", "receipt_id": "r"}),
    ("POST", "/api/v1/sms-codes", {"phone": "+7916\u00001234567", "purpose": "redeem"}),
]


@pytest.mark.parametrize(("method", "path", "body"), NUL_CASES)
async def test_nul_in_a_string_is_refused(
    client: TestClient, method: str, path: str, body: dict[str, Any]
) -> None:
    """A NUL character anywhere in a body is a 400 ``nul_character`` (PostgreSQL answered
    500: it cannot store one)."""
    answer = await refused(client, method, path, body)
    assert answer["code"] == "nul_character"


async def test_nul_in_registration_and_lookup_is_refused(client: TestClient, deps: Deps) -> None:
    """Registration with a NUL in the name, a lookup by a card with a NUL and a NUL in an
    object key are refused with 400."""
    body = {"phone": PHONE, "name": "Иван\u0000", "consent": {"personal_data": True}}
    assert (await refused(client, "POST", "/api/v1/customers", body))["code"] == "nul_character"
    answer = await refused(client, "GET", "/api/v1/customers/lookup?card=12%0034")
    assert answer["code"] == "nul_character"
    answer = await refused(client, "POST", "/api/v1/checkout/cancel", raw=b'{"a\\u0000": 1}')
    assert answer["code"] == "nul_character"


async def test_nul_in_a_program_document_is_refused(admin: TestClient) -> None:
    """A program document with a NUL in its name is a 400 before it is stored."""
    answer = await refused(admin, "POST", "/api/v1/programs", {"name": "Бонусы\u0000"})
    assert answer["code"] == "nul_character"


async def test_idempotency_key_outside_printable_ascii_is_refused(client: TestClient) -> None:
    """A header key with bytes outside ASCII (they arrive as lone surrogates) is a 400,
    not a database encoding error."""
    response = await client.post(
        "/api/v1/customers",
        data=b'{"phone": "+79161234567", "consent": {"personal_data": true}}',
        headers={"Content-Type": "application/json", "Idempotency-Key": "ключ"},
    )
    assert response.status == 400, await response.text()
    assert (await response.json())["code"] == "invalid_idempotency_key"


async def test_deeply_nested_body_is_refused(client: TestClient) -> None:
    """A body nested deeper than the parsers go (with a long number, so it takes the
    exact path) is a 400, not a RecursionError."""
    raw = b"[" * 1000 + b"1.00000000000000001" + b"]" * 1000
    answer = await refused(client, "POST", "/api/v1/checkout/cancel", raw=raw)
    assert answer["code"] in ("malformed_json", "validation_error")


@pytest.mark.parametrize("price", ['"450"', '" 450"', '"4_50"', "true", "null"])
async def test_amounts_are_json_numbers_only(client: TestClient, price: str) -> None:
    """An amount sent as a string (or a boolean) is refused with 400 naming the field,
    on the fast path and on the exact one alike; the contract says number."""
    for extra in ("", ', "sku": 1.0000000000000000'):  # the second takes the exact path
        line_text = f'{{"id": "1", "price": {price}, "quantity": 1{extra}}}'
        raw = f'{{"receipt": {{"id": "r", "lines": [{line_text}]}}}}'.encode()
        answer = await refused(client, "POST", "/api/v1/checkout/calculate", raw=raw)
        assert answer["code"] == "validation_error" and "price" in answer["message"]
