"""The 1C channel at the store bridge, over the bytes 1C sends (the fixtures, with their
BOMs and CRLFs): each call classified, a calc priced offline in the 1C answer shape with
no discount and nothing spendable, sales / cancels / returns accepted under the key the
cloud de-duplicates on, a lookup from the snapshot without a balance, errors as
``{code, message}``."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from terminal_bridge.channel import CachedCustomer, Call, OfflineLine, OfflineQuote
from terminal_bridge.channels.onec import CHANNEL, OFFLINE
from tests.terminal_bridge.onec.conftest import FIXTURES

CALC = (FIXTURES / "03-receipts.calc.request.json").read_bytes()
CONFIRM = (FIXTURES / "04-receipts.confirm.request.json").read_bytes()
RETURN = (FIXTURES / "10-receipts.return.request.json").read_bytes()
CANCEL = (FIXTURES / "12-receipts.cancel.request.json").read_bytes()
LOOKUP_PHONE = (FIXTURES / "02-customers.lookup.request.json").read_bytes()
LOOKUP_CARD = (FIXTURES / "05-customers.lookup.request.json").read_bytes()
SALE = "0f5c2a1e-7b3d-4c9a-9e21-5d8f6a4b3c01"


def loads(raw: bytes) -> dict[str, object]:
    return dict(json.loads(raw, parse_float=str))


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [
        ("POST", "/1c/v1/receipts/calc", CALC, Call("quote")),
        ("POST", "/1c/v1/receipts/confirm", CONFIRM, Call("record", f"confirm:{SALE}")),
        ("POST", "/1c/v1/receipts/confirm/", CONFIRM, Call("record", f"confirm:{SALE}")),
        ("POST", "/1c/v1/receipts/cancel", CANCEL,
         Call("record", "cancel:c3b1a2d4-5e6f-4a7b-8c9d-0e1f2a3b4c03")),
        ("POST", "/1c/v1/receipts/return", RETURN,
         Call("record", "return:4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f60010")),
        ("POST", "/1c/v1/receipts/confirm", b"{not json", Call("record")),
        ("POST", "/1c/v1/receipts/confirm", b'{"receiptId": 5}', Call("record")),
        ("POST", "/1c/v1/customers/lookup", LOOKUP_PHONE, Call("lookup")),
        ("POST", "/1c/v1/receipts/hold", b"{}", Call("online_only")),
        ("POST", "/1c/v1/sms-codes", b"{}", Call("online_only")),
        ("POST", "/1c/v1/customers/register", b"{}", Call("online_only")),
        ("GET", "/1c/v1/openapi.json", b"", Call("passthrough")),
        ("GET", "/1c/v1/ping", b"", Call("passthrough")),
        ("POST", "/1c/v1/unknown", b"{}", Call("passthrough")),
        ("POST", "/modulkassa/v1/receipts/calc", CALC, Call("passthrough")),
    ],
)  # fmt: skip
def test_classify(method: str, path: str, body: bytes, expected: Call) -> None:
    """Each 1C call is what the bridge must do with it offline; a record's key is the
    body's own idempotency key, by kind; a record body without a key has none."""
    assert CHANNEL.classify(method, path, body) == expected


def test_offline_quote_from_the_bom_crlf_body() -> None:
    """The fixture calc (BOM, CRLF, 1250.00 and 0.350) becomes the canonical receipt;
    offline it is answered with no discount, nothing spendable, the accrual per line,
    offline: true and the cashier's offline message."""
    request = CHANNEL.quote_request(CALC)
    assert request.redeem == 0
    receipt = request.receipt
    assert [(line.price, line.quantity) for line in receipt.lines] == [
        (Decimal("1250.00"), Decimal("2.000")), (Decimal("890.00"), Decimal("0.350"))
    ]  # fmt: skip
    assert receipt.customer is not None and receipt.customer.phone == "79161234567"
    quote = OfflineQuote(
        receipt=receipt, customer=CachedCustomer(7, "base", "Базовая"), customer_found=True,
        program_version=3,
        lines=[OfflineLine("1", Decimal("2500.00"), Decimal("125.00")),
               OfflineLine("2", Decimal("311.50"), Decimal("15.57"))],
        accrual=Decimal("140.57"), messages=[OFFLINE],
    )  # fmt: skip
    status, raw = CHANNEL.render_quote(CALC, quote)
    answer = loads(raw)
    assert status == 200
    assert answer["offline"] is True and answer["discount"] == "0.00"
    assert answer["maxRedeem"] == "0.00" and answer["redeem"] == "0.00"
    assert answer["amount"] == "2811.50" and answer["accrual"] == "140.57"
    assert answer["customer"] == {"customerId": 7, "tier": "base", "tierName": "Базовая",
                                  "balance": None}  # fmt: skip
    assert answer["messages"] == [OFFLINE]
    lines = answer["lines"]
    assert isinstance(lines, list)
    assert [line["amountAfterDiscount"] for line in lines] == ["2500.00", "311.50"]


def test_a_bad_calc_body_is_a_russian_value_error() -> None:
    """A body that is not a calc raises ValueError with a Russian message."""
    twice = b'{"id": "1", "price": 1, "quantity": 1}'
    duplicate = b'{"receiptId": "R", "lines": [' + twice + b", " + twice + b"]}"
    for raw in (b"", b"[]", b'{"receiptId": "R"}', duplicate):
        with pytest.raises(ValueError) as caught:
            CHANNEL.quote_request(raw)
        assert not str(caught.value).isascii()


def test_recorded_answers() -> None:
    """A sale kept in the outbox: accepted, the amount charged, accrual later; a cancel
    and a return accepted likewise, in their own shapes."""
    status, raw = CHANNEL.render_recorded("POST", "/1c/v1/receipts/confirm", CONFIRM)
    sale = loads(raw)
    assert status == 200 and sale["status"] == "accepted" and sale["receiptId"] == SALE
    assert sale["amount"] == "2670.93" and sale["accrued"] == "0.00"
    assert sale["messages"] == [OFFLINE]
    status, raw = CHANNEL.render_recorded("POST", "/1c/v1/receipts/cancel", CANCEL)
    assert loads(raw)["status"] == "accepted"
    status, raw = CHANNEL.render_recorded("POST", "/1c/v1/receipts/return", RETURN)
    back = loads(raw)
    assert back["status"] == "accepted" and back["lines"] == [
        {"id": "2", "quantity": "1.000", "returnedBonuses": "0.00", "reversedAccrual": "0.00"}
    ]
    status, raw = CHANNEL.render_recorded("POST", "/1c/v1/receipts/confirm", b"[]")
    assert status == 400 and set(loads(raw)) == {"code", "message"}


def test_lookup_from_the_snapshot() -> None:
    """By phone or card: the cached tier and no balance; nobody cached: 404 in shape."""
    assert CHANNEL.lookup_key(LOOKUP_PHONE, {}) is not None
    ref = CHANNEL.lookup_key(LOOKUP_CARD, {})
    assert ref is not None and ref.card == "7700123456789"
    assert CHANNEL.lookup_key(b"{}", {}) is None
    status, raw = CHANNEL.render_lookup(LOOKUP_PHONE, {}, CachedCustomer(7, "gold", "Золото"))
    found = loads(raw)
    assert status == 200 and found["offline"] is True and found["balance"] is None
    assert found["tierName"] == "Золото" and found["phone"] == "7916***4567"
    status, raw = CHANNEL.render_lookup(LOOKUP_CARD, {}, None)
    assert status == 404 and loads(raw)["code"] == "customer_not_found"


def test_errors_in_the_1c_shape() -> None:
    """An online-only call refused offline: the status given, {code, message} only."""
    status, raw = CHANNEL.render_error(503, "offline", "Нет связи с сервером лояльности")
    assert status == 503
    assert loads(raw) == {"code": "offline", "message": "Нет связи с сервером лояльности"}


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8)
    | st.decimals(allow_nan=False, allow_infinity=False, places=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["receiptId", "returnId", "lines", "id", "price", "quantity", "phone",
                         "card", "amount", "redeemed", "saleDate", "x"]), inner, max_size=5),
    max_leaves=12,
)  # fmt: skip
PATHS = ["/1c/v1/receipts/calc", "/1c/v1/receipts/confirm", "/1c/v1/receipts/cancel",
         "/1c/v1/receipts/return", "/1c/v1/customers/lookup", "/1c/v1/receipts/hold"]  # fmt: skip


def _encode(value: object) -> bytes:
    return json.dumps(value, default=str, ensure_ascii=False).encode()


@settings(max_examples=150, deadline=None)
@given(value=_JSON, path=st.sampled_from(PATHS), bom=st.booleans(), junk=st.binary(max_size=6))
def test_any_body_is_classified_and_answered_without_raising(
    value: object, path: str, bom: bool, junk: bytes
) -> None:
    """Whatever bytes arrive, classify never raises; a record answer is always JSON in a
    1C shape (an answer or {code, message}); a quote either parses or raises ValueError;
    a lookup key is a reference or None."""
    for body in ((b"\xef\xbb\xbf" if bom else b"") + _encode(value), junk):
        call = CHANNEL.classify("POST", path, body)
        assert call.kind in ("quote", "record", "lookup", "online_only")
        if call.kind == "record":
            status, raw = CHANNEL.render_recorded("POST", path, body)
            assert isinstance(json.loads(raw), dict) and status in (200, 400)
            assert (status == 200) == (call.key is not None)  # kept only under a key
        elif call.kind == "quote":
            try:
                CHANNEL.quote_request(body)
            except ValueError as exc:
                assert not str(exc).isascii()
        elif call.kind == "lookup":
            CHANNEL.lookup_key(body, {})
