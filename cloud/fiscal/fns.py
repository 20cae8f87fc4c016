"""The Federal Tax Service's receipt-check API for partners ("API ФНС для проверки
чеков"), over plain HTTP with httpx: SOAP 1.1 envelopes built and read here, no WSDL
client. The shapes, their source and our confidence in each: ``docs/fiscal-qr.md``.

1. ``AuthService``: the master token (issued by the FNS to a partner) buys a temporary
   token with an expiry, kept in memory per master token until shortly before then.
2. ``KktService`` ``SendMessage`` with a ``GetTicketRequest`` (sum in kopecks, local
   time, fn, operation type, document number, fiscal sign) answers a ``MessageId``.
3. ``KktService`` ``GetMessage`` with that id answers ``ProcessingStatus``; once
   ``COMPLETED``, a ``GetTicketResponse`` whose ``Result`` holds a ``Code`` and, for 200,
   the ``Ticket``: the receipt as JSON (``content``: ``userInn``, ``totalSum``,
   ``dateTime``, ``items`` …).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from xml.sax.saxutils import escape

import httpx
import structlog

from cloud.fiscal.provider import Verification, VerifiedLine, VerifiedReceipt
from cloud.fiscal.qr import FiscalQr

log = structlog.get_logger(__name__)

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
NS_SYNC = "urn://x-artefacts-gnivc-ru/inplat/servin/OpenApiMessageConsumerService/types/1.0"
NS_ASYNC = "urn://x-artefacts-gnivc-ru/inplat/servin/OpenApiAsyncMessageConsumerService/types/1.0"
NS_AUTH = "urn://x-artefacts-gnivc-ru/ais3/kkt/AuthService/types/1.0"
NS_TICKET = "urn://x-artefacts-gnivc-ru/ais3/kkt/KktTicketService/types/1.0"
AUTH_PATH = "/open-api/AuthService/0.1"
KKT_PATH = "/open-api/ais3/KktService/0.1"

NOT_YET = {"404", "455"}
"""No such document (yet): the receipt reaches the operator and the FNS minutes later."""
REFUSED = {
    "406": "Данные чека не совпадают с данными ФНС (сумма, время или фискальный признак)",
    "454": "ФНС не подтвердила фискальный признак чека",
    "400": "ФНС не приняла данные QR-кода чека",
}

_TOKENS: dict[str, tuple[str, datetime]] = {}
"""Temporary tokens by the master token's hash, with their expiry (process memory: a
restart costs one authentication)."""
_TOKEN_MARGIN = timedelta(minutes=2)


class FnsError(Exception):
    """An answer we cannot use: the claim stays pending and is retried."""


def envelope(namespace: str, body: str) -> bytes:
    return (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP}" xmlns:ns="{namespace}">'
        f"<soapenv:Header/><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    ).encode()


def auth_request(master_token: str) -> bytes:
    return envelope(
        NS_SYNC,
        (
            f'<ns:GetMessageRequest><ns:Message><tns:AuthRequest xmlns:tns="{NS_AUTH}">'
            f"<tns:AuthAppInfo><tns:MasterToken>{escape(master_token)}</tns:MasterToken>"
            "</tns:AuthAppInfo></tns:AuthRequest></ns:Message></ns:GetMessageRequest>"
        ),
    )


def ticket_request(qr: FiscalQr) -> bytes:
    return envelope(
        NS_ASYNC,
        (
            f'<ns:SendMessageRequest><ns:Message><tns:GetTicketRequest xmlns:tns="{NS_TICKET}">'
            f"<tns:GetTicketInfo><tns:Sum>{qr.amount}</tns:Sum>"
            f"<tns:Date>{qr.time.isoformat(timespec='seconds')}</tns:Date>"
            f"<tns:Fn>{qr.fn}</tns:Fn><tns:TypeOperation>{qr.operation}</tns:TypeOperation>"
            f"<tns:FiscalDocumentId>{qr.fd}</tns:FiscalDocumentId>"
            f"<tns:FiscalSign>{qr.fp}</tns:FiscalSign></tns:GetTicketInfo>"
            "</tns:GetTicketRequest></ns:Message></ns:SendMessageRequest>"
        ),
    )


def message_request(message_id: str) -> bytes:
    return envelope(
        NS_ASYNC,
        (
            f"<ns:GetMessageRequest><ns:MessageId>{escape(message_id)}</ns:MessageId>"
            "</ns:GetMessageRequest>"
        ),
    )


def _find(root: ET.Element, name: str) -> ET.Element | None:
    """The first element of that local name, whatever its namespace (the answers put
    the same names under three namespaces, some as default namespace)."""
    for element in root.iter():
        if element.tag == name or element.tag.endswith("}" + name):
            return element
    return None


def _text(root: ET.Element, name: str) -> str | None:
    element = _find(root, name)
    return None if element is None or element.text is None else element.text.strip()


def _xml(response: httpx.Response) -> ET.Element:
    try:
        root = ET.fromstring(response.content)
    except ET.ParseError as exc:
        raise FnsError(f"HTTP {response.status_code}: not XML") from exc
    fault_element = _find(root, "Fault")
    fault = _text(root, "faultstring") or (
        None if fault_element is None else _text(fault_element, "Message") or "Fault"
    )
    if fault is not None or response.status_code >= 400:
        raise FnsError(f"HTTP {response.status_code}: {fault or 'error'}"[:300])
    return root


class FnsProvider:
    name = "fns"

    def __init__(
        self, base_url: str, timeout: float, *, polls: int = 5, poll_seconds: float = 1.0
    ) -> None:
        self._base = base_url.rstrip("/")
        self._timeout = timeout
        self._polls = polls
        self._poll_seconds = poll_seconds

    async def verify(
        self, credentials: str, qr: FiscalQr, user: str, now: datetime
    ) -> Verification:
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as http:
                token = await self._token(http, credentials, now)
                headers = {
                    "Content-Type": "text/xml; charset=utf-8",
                    "FNS-OpenApi-Token": token,
                    "FNS-OpenApi-UserToken": base64.b64encode(user.encode()).decode(),
                }
                sent = _xml(
                    await http.post(
                        self._base + KKT_PATH,
                        content=ticket_request(qr),
                        headers={**headers, "SOAPAction": "urn:SendMessage"},
                    )
                )
                message_id = _text(sent, "MessageId")
                if not message_id:
                    raise FnsError("SendMessage answered no MessageId")
                for attempt in range(self._polls):
                    if attempt:
                        await asyncio.sleep(self._poll_seconds * attempt)
                    answer = _xml(
                        await http.post(
                            self._base + KKT_PATH,
                            content=message_request(message_id),
                            headers={**headers, "SOAPAction": "urn:GetMessage"},
                        )
                    )
                    if _text(answer, "ProcessingStatus") == "COMPLETED":
                        return _verification(answer)
                return Verification("unavailable", detail="FNS still processing")
        except httpx.HTTPError as exc:
            return Verification("unavailable", detail=f"{type(exc).__name__}: {exc}"[:300])
        except FnsError as exc:
            return Verification("unavailable", detail=str(exc))

    async def _token(self, http: httpx.AsyncClient, master: str, now: datetime) -> str:
        key = hashlib.sha256(f"{self._base}|{master}".encode()).hexdigest()
        cached = _TOKENS.get(key)
        if cached is not None and cached[1] - _TOKEN_MARGIN > now:
            return cached[0]
        root = _xml(
            await http.post(
                self._base + AUTH_PATH,
                content=auth_request(master),
                headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": "urn:GetMessage"},
            )
        )
        token, expires = _text(root, "Token"), _text(root, "ExpireTime")
        if not token:
            raise FnsError("AuthService answered no token")
        try:
            until = datetime.fromisoformat(expires or "")
        except ValueError:
            until = now + timedelta(minutes=30)
        if until.tzinfo is None:
            until = until.replace(tzinfo=UTC)
        _TOKENS[key] = (token, until)
        return token


def forget_tokens() -> None:
    _TOKENS.clear()


def _verification(answer: ET.Element) -> Verification:
    code = _text(answer, "Code") or ""
    if code in NOT_YET:
        return Verification("not_found", detail=f"FNS code {code}")
    if code in REFUSED:
        return Verification("refused", detail=REFUSED[code])
    if code != "200":
        return Verification("unavailable", detail=f"FNS code {code or '—'}")
    try:
        ticket = json.loads(_text(answer, "Ticket") or "")
        return Verification("found", receipt=ticket_receipt(ticket))
    except (ValueError, TypeError, KeyError, InvalidOperation) as exc:
        return Verification("unavailable", detail=f"unreadable ticket: {exc}"[:300])


def ticket_receipt(ticket: dict[str, Any]) -> VerifiedReceipt:
    """The ticket's ``content`` (or the ticket itself, when it has none) as a receipt.
    ``dateTime`` comes as Unix seconds of the register's wall time or as ISO text."""
    content = ticket.get("content", ticket)
    if not isinstance(content, dict):
        raise TypeError("content is not an object")
    moment = content["dateTime"]
    if isinstance(moment, int | float):
        time = datetime.fromtimestamp(int(moment), UTC).replace(tzinfo=None)
    else:
        time = datetime.fromisoformat(str(moment)).replace(tzinfo=None)
    lines = tuple(
        VerifiedLine(
            name=str(item.get("name") or "Позиция")[:256],
            price=int(item["price"]),
            quantity=Decimal(str(item["quantity"])),
            amount=int(item["sum"]),
        )
        for item in content.get("items") or []
    )
    return VerifiedReceipt(
        user_inn=str(content["userInn"]).strip(),
        fn=str(content.get("fiscalDriveNumber") or "").strip(),
        fd=int(content.get("fiscalDocumentNumber") or 0),
        amount=int(content["totalSum"]),
        time=time,
        operation=int(content.get("operationType") or 1),
        lines=lines,
    )
