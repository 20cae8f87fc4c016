"""The FNS receipt-check API for partners, replayed by respx in the documented shapes
(``fixtures/fns/``, ``docs/fiscal-qr.md``): what we send and how each answer reads."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from cloud.fiscal.fns import FnsProvider, ticket_receipt
from cloud.fiscal.qr import parse
from tests.fiscal.conftest import BASE, FN, INN, MASTER, QR, FakeFns

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _provider(polls: int = 3) -> FnsProvider:
    return FnsProvider(BASE, 5.0, polls=polls, poll_seconds=0)


async def test_found_receipt_and_the_requests_sent(fake_fns: FakeFns) -> None:
    """The master token buys a temporary token (AuthService), which goes with the
    user's token (base64) in the headers of SendMessage (GetTicketRequest with the sum
    in kopecks, the local time, fn, operation 1, document number and fiscal sign) and of
    GetMessage with the answered MessageId; the COMPLETED ticket reads as the receipt:
    the seller's INN (trimmed), fn, document, total, wall time, lines in kopecks."""
    result = await _provider().verify(MASTER, parse(QR), "1:7", NOW)
    assert result.outcome == "found" and result.receipt is not None
    receipt = result.receipt
    assert (receipt.user_inn, receipt.fn, receipt.fd, receipt.amount, receipt.operation) == (
        INN,
        FN,
        12345,
        123450,
        1,
    )
    assert receipt.time == datetime(2026, 11, 20, 11, 30)
    assert [(line.name, line.price, line.quantity, line.amount) for line in receipt.lines] == [
        ("Кофе латте 300 мл", 25000, Decimal(2), 50000),
        ("Круассан миндальный", 73450, Decimal(1), 73450),
    ]
    auth = fake_fns.sent("AuthRequest")[0].content.decode()
    assert f"<tns:MasterToken>{MASTER}</tns:MasterToken>" in auth
    send = fake_fns.sent("SendMessageRequest")[0]
    body = send.content.decode()
    for part in (
        "<tns:Sum>123450</tns:Sum>",
        "<tns:Date>2026-11-20T11:30:00</tns:Date>",
        f"<tns:Fn>{FN}</tns:Fn>",
        "<tns:TypeOperation>1</tns:TypeOperation>",
        "<tns:FiscalDocumentId>12345</tns:FiscalDocumentId>",
        "<tns:FiscalSign>3522207165</tns:FiscalSign>",
    ):
        assert part in body
    assert send.headers["FNS-OpenApi-Token"] == "7f3c2a9e41d84b6f9a0c5e2d1b8f4a73"
    assert send.headers["FNS-OpenApi-UserToken"] == base64.b64encode(b"1:7").decode()
    poll = fake_fns.sent("<ns:MessageId>")[0].content.decode()
    assert "1b2f4a0c-6e2d-4c1f-9a7b-3d5e8f0a2c41" in poll


async def test_temporary_token_reused_until_it_nears_expiry(fake_fns: FakeFns) -> None:
    """A second check within the token's life authenticates no more; past its expiry
    (13:00 MSK in the fixture) it authenticates again."""
    provider = _provider()
    await provider.verify(MASTER, parse(QR), "u", NOW)
    await provider.verify(MASTER, parse(QR), "u", NOW + timedelta(minutes=30))
    assert len(fake_fns.sent("AuthRequest")) == 1
    await provider.verify(MASTER, parse(QR), "u", NOW + timedelta(hours=1))
    assert len(fake_fns.sent("AuthRequest")) == 2


async def test_not_found_yet_refused_and_unavailable(fake_fns: FakeFns) -> None:
    """Code 404 (the receipt has not reached the FNS yet) is ``not_found``; 406 (the
    data did not pass the check) is ``refused`` with a Russian reason; 503 is
    ``unavailable``."""
    provider = _provider()
    fake_fns.tickets = ["get_ticket_404.xml"]
    assert (await provider.verify(MASTER, parse(QR), "u", NOW)).outcome == "not_found"
    fake_fns.tickets = ["get_ticket_406.xml"]
    refused = await provider.verify(MASTER, parse(QR), "u", NOW)
    assert refused.outcome == "refused" and "не совпадают" in refused.detail
    fake_fns.tickets = ["get_ticket_503.xml"]
    assert (await provider.verify(MASTER, parse(QR), "u", NOW)).outcome == "unavailable"


async def test_processing_then_completed_and_still_processing(fake_fns: FakeFns) -> None:
    """An answer still PROCESSING is polled again; one that stays PROCESSING past the
    polls is ``unavailable`` (the claim stays pending)."""
    fake_fns.tickets = ["get_message_processing.xml", "get_ticket_200.xml"]
    assert (await _provider().verify(MASTER, parse(QR), "u", NOW)).outcome == "found"
    fake_fns.tickets = ["get_message_processing.xml"]
    assert (await _provider(polls=2).verify(MASTER, parse(QR), "u", NOW)).outcome == "unavailable"


async def test_timeouts_faults_and_garbage_are_unavailable(fake_fns: FakeFns) -> None:
    """A timeout, an authentication fault (HTTP 500 with a Fault) and a body that is
    not XML are ``unavailable``, never an exception."""
    fake_fns.tickets = ["timeout"]
    assert (await _provider().verify(MASTER, parse(QR), "u", NOW)).outcome == "unavailable"
    fake_fns.auth = "auth_fault.xml"
    fake_fns.tickets = ["get_ticket_200.xml"]
    faulted = await _provider().verify("another-master", parse(QR), "u", NOW)
    assert faulted.outcome == "unavailable" and "мастер-токен" in faulted.detail
    fake_fns.auth = "auth_ok.xml"
    fake_fns.router.post(BASE + "/open-api/ais3/KktService/0.1").respond(200, text="<html>")
    assert (await _provider().verify("third", parse(QR), "u", NOW)).outcome == "unavailable"


def test_ticket_date_as_iso_text() -> None:
    """A ticket whose ``dateTime`` is ISO text reads the same wall time."""
    receipt = ticket_receipt(
        {"userInn": INN, "dateTime": "2026-11-20T11:30:00", "totalSum": 100, "items": []}
    )
    assert receipt.time == datetime(2026, 11, 20, 11, 30) and receipt.lines == ()
