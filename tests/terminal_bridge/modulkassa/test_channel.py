"""The Модулькасса bridge channel over bytes: what each call is, the receipt of a quote,
the offline answers (prices kept, no spend, the offline notice, the expected accrual),
the outbox answers and keys, errors in our shape."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from schemas import checkout as wire
from schemas import modulkassa as mk
from terminal_bridge.channel import BridgeChannel, CachedCustomer, OfflineLine, OfflineQuote
from terminal_bridge.channels.modulkassa import CHANNEL, NO_SPEND, OFFLINE_NOTICE

from .conftest import FIXTURES, encode


def _fixture(number: str) -> dict[str, Any]:
    path = next(FIXTURES.glob(f"{number}-*.json"))
    return dict(json.loads(path.read_text(), parse_float=Decimal)["request"])


SALE = _fixture("01")
SPEND = _fixture("03")
CLOSED = _fixture("02")
RETURN = _fixture("05")
CANCELLED = _fixture("07")
UNLINKED = _fixture("09")


def _offline(receipt: wire.Receipt, found: bool = True) -> OfflineQuote:
    customer = CachedCustomer(customer_id=1, tier="base", tier_name="Базовая") if found else None
    return OfflineQuote(
        receipt=receipt, customer=customer, customer_found=found, program_version=1,
        lines=[OfflineLine(line.id, Decimal(1), Decimal("0.05")) for line in receipt.lines],
        accrual=Decimal("76.95") if found else Decimal(0), messages=[OFFLINE_NOTICE],
    )  # fmt: skip


def test_the_channel_is_a_bridge_channel() -> None:
    """The module's channel satisfies the bridge's protocol, on the adapter's prefix."""
    channel: BridgeChannel = CHANNEL
    assert channel.name == "modulkassa" and channel.prefix == "/modulkassa"


def test_each_call_is_classified() -> None:
    """loyalty-request is a quote, events a record keyed as the cloud de-duplicates (the
    sale's receipt id, the return's check id, the cancelled receipt), sms-code online
    only, the document and anything else passed through; unreadable events, a return
    naming no sale and a correction check are refused (the cloud would refuse them)."""
    assert CHANNEL.classify("POST", "/modulkassa/v1/loyalty-request", encode(SALE)).kind == "quote"
    sale = CHANNEL.classify("POST", "/modulkassa/v1/events", encode(CLOSED))
    assert (sale.kind, sale.key) == ("record", "sale:" + CLOSED["loyaltyData"])
    back = CHANNEL.classify("POST", "/modulkassa/v1/events", encode(RETURN))
    assert back.key == "return:" + RETURN["checkId"]
    drop = CHANNEL.classify("POST", "/modulkassa/v1/events", encode(CANCELLED))
    assert drop.key == "cancel:" + CANCELLED["loyaltyData"]
    unlinked = CHANNEL.classify("POST", "/modulkassa/v1/events", encode(UNLINKED))
    assert unlinked.key == "sale:" + UNLINKED["checkId"]
    assert CHANNEL.classify("POST", "/modulkassa/v1/events", b"{oops").kind == "online_only"
    orphan = {**RETURN, "saleId": None}
    assert CHANNEL.classify("POST", "/modulkassa/v1/events", encode(orphan)).kind == "online_only"
    correction = {**CLOSED, "check": {**CLOSED["check"], "docType": "SALE_CORRECTION"}}
    assert CHANNEL.classify("POST", "/modulkassa/v1/events", encode(correction)).kind == (
        "online_only"
    )
    assert CHANNEL.classify("POST", "/modulkassa/v1/sms-code", b"{}").kind == "online_only"
    assert CHANNEL.classify("GET", "/modulkassa/v1/openapi.json", b"").kind == "passthrough"


def test_the_quote_request_is_the_receipt() -> None:
    """The receipt the bridge prices: the LoyaltyRequest id, its positions, the customer."""
    request = CHANNEL.quote_request(encode(SALE))
    assert request.receipt.id == SALE["id"]
    assert [line.id for line in request.receipt.lines] == ["p1", "p2", "p3"]
    assert request.receipt.lines[1].quantity == Decimal("0.347")
    assert request.receipt.customer == wire.CustomerRef(phone="+79161234567")


@pytest.mark.parametrize(
    "body", [b"", b"{", b"[]", encode({**SALE, "positions": []}),
             encode({**SALE, "positions": [{**SALE["positions"][0], "price": "1"}]})],
)  # fmt: skip
def test_a_bad_quote_is_a_russian_value_error(body: bytes) -> None:
    """A body that is not a LoyaltyRequest raises ValueError with the SDK's message."""
    with pytest.raises(ValueError, match=r"^Некорректная структура запроса"):
        CHANNEL.quote_request(body)


def test_the_offline_answer_keeps_prices_and_says_so() -> None:
    """Offline: one impact per position at the price asked (no discount), the offline
    notice and the expected accrual printed, and the answer parses as a LoyaltyResult."""
    status, raw = CHANNEL.render_quote(
        encode(SALE), _offline(CHANNEL.quote_request(encode(SALE)).receipt)
    )
    answer = mk.LoyaltyResult.model_validate_json(raw)
    assert status == 200 and answer.data == SALE["id"] and answer.details.offline
    assert [(i.positionId, i.price, i.quantity) for i in answer.impacts] == [
        (p["id"], p["price"], p["quantity"]) for p in SALE["positions"]
    ]
    assert answer.printableData is not None
    lines = answer.printableData.split("\n")
    assert lines[0] == OFFLINE_NOTICE and "Будет начислено бонусов: 76,95" in lines
    assert answer.details.discount == 0 and answer.details.spent == 0


def test_an_offline_spend_is_not_made_and_says_so() -> None:
    """A spend asked for offline is answered without it, with a line saying why; an
    unknown customer earns nothing and is named as not found."""
    receipt = CHANNEL.quote_request(encode(SPEND)).receipt
    _, raw = CHANNEL.render_quote(encode(SPEND), _offline(receipt, found=False))
    answer = mk.LoyaltyResult.model_validate_json(raw)
    assert NO_SPEND in (answer.printableData or "") and answer.details.spent == 0
    assert answer.details.customerFound is False and answer.details.accrual == 0
    total = sum(i.price * i.quantity for i in answer.impacts)
    assert total == sum(p["price"] * p["quantity"] for p in SPEND["positions"])


def test_recorded_events_are_accepted_offline() -> None:
    """A sale, a return and a cancel kept in the outbox answer 200 with offline set,
    the receipt they concern and a message for the cashier."""
    for body, operation, receipt in (
        (CLOSED, "sale", CLOSED["loyaltyData"]), (RETURN, "return", RETURN["saleId"]),
        (CANCELLED, "cancel", CANCELLED["loyaltyData"]),
    ):  # fmt: skip
        status, raw = CHANNEL.render_recorded("POST", "/modulkassa/v1/events", encode(body))
        answer = mk.EventResult.model_validate_json(raw)
        assert status == 200 and answer.offline and answer.operation == operation
        assert answer.receiptId == receipt and answer.messages


def test_errors_are_in_our_shape() -> None:
    """A refusal is ``{"code", "message"}`` with the status given; there is no lookup."""
    status, raw = CHANNEL.render_error(503, "offline", "Нет связи с сервером лояльности")
    assert status == 503 and json.loads(raw) == {
        "code": "offline", "message": "Нет связи с сервером лояльности",
    }  # fmt: skip
    assert CHANNEL.lookup_key(b"{}", {}) is None
    assert CHANNEL.render_lookup(b"{}", {}, None)[0] == 404
