"""The native checkout API (``/api/v1/checkout/*``, ``/api/v1/customers/lookup``) as the
store bridge fronts it."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import orjson

from cloud.api.wire import parse_body
from cloud.errors import DomainError
from schemas import checkout as wire
from terminal_bridge.channel import CachedCustomer, Call, OfflineQuote

OFFLINE_NOTICE = "Нет связи с сервером лояльности: бонусы будут начислены позже"
NO_REDEEM_NOTICE = "Без связи с сервером оплата бонусами недоступна"
BLOCKED_NOTICE = "Карта заблокирована: бонусы не начисляются"

_RECORDS = {
    "/api/v1/checkout/confirm": "confirm",
    "/api/v1/checkout/cancel": "cancel",
    "/api/v1/checkout/refund": "refund",
}


def _money(value: Decimal) -> orjson.Fragment:
    return orjson.Fragment(b"%s" % str(value.quantize(Decimal("0.01"))).encode())


def _dump(document: dict[str, Any]) -> bytes:
    return orjson.dumps(document)


def _key_of(kind: str, document: Any) -> str | None:
    if not isinstance(document, dict):
        return None
    if kind == "confirm":
        receipt = document.get("receipt")
        value = receipt.get("id") if isinstance(receipt, dict) else None
    elif kind == "cancel":
        value = document.get("receipt_id")
    else:
        value = document.get("id")
    return f"{kind}:{value}" if isinstance(value, str) and value else None


def _spends(document: Any) -> bool:
    """A close that pays by bonuses or gift certificates: spending money the cloud alone
    can check, so it never goes into the outbox (no double spend)."""
    if not isinstance(document, dict):
        return False
    redeemed = document.get("redeemed", 0)
    try:
        paid = Decimal(str(redeemed)) != 0
    except ArithmeticError:
        paid = True
    return paid or bool(document.get("gift_certificates"))


class NativeChannel:
    name = "native"
    prefix = "/api/v1"

    def classify(self, method: str, path: str, body: bytes) -> Call:
        if method == "POST" and path == "/api/v1/checkout/calculate":
            return Call("quote")
        kind = _RECORDS.get(path) if method == "POST" else None
        if kind is not None:
            try:
                document = json.loads(body, parse_float=Decimal)
            except (ValueError, UnicodeDecodeError):
                # Unreadable: the cloud answers it with its own 400 when reachable.
                return Call("online_only")
            if kind == "confirm" and _spends(document):
                return Call("online_only")
            key = _key_of(kind, document)
            return Call("online_only") if key is None else Call("record", key)
        if method == "GET" and path == "/api/v1/customers/lookup":
            return Call("lookup")
        if path.startswith("/api/v1/checkout/") or path.startswith("/api/v1/gift-certificates"):
            return Call("online_only")
        return Call("passthrough")

    def quote_request(self, body: bytes) -> wire.CalculateRequest:
        try:
            return parse_body(wire.CalculateRequest, body)
        except DomainError as exc:
            raise ValueError(exc.message) from exc

    def render_quote(self, body: bytes, quote: OfflineQuote) -> tuple[int, bytes]:
        customer = quote.customer
        lines = [
            {
                "id": line.id,
                "amount": _money(line.amount),
                "discount": _money(Decimal(0)),
                "amount_after_discount": _money(line.amount),
                "unit_price_after_discount": None,
                "max_redeem": _money(Decimal(0)),
                "redeem": _money(Decimal(0)),
                "accrual": _money(line.accrual),
            }
            for line in quote.lines
        ]
        total = sum((line.amount for line in quote.lines), Decimal(0))
        document = {
            "receipt_id": quote.receipt.id,
            "program_version": quote.program_version or 0,
            "customer": None if customer is None else {
                "id": customer.customer_id, "tier": customer.tier,
                "tier_name": customer.tier_name, "balance": _money(Decimal(0)),
            },
            "lines": lines,
            "amount": _money(total), "discount": _money(Decimal(0)),
            "amount_after_discount": _money(total), "max_redeem": _money(Decimal(0)),
            "redeem": _money(Decimal(0)), "accrual": _money(quote.accrual),
            "messages": quote.messages, "slip": quote.messages, "coupons": [],
        }  # fmt: skip
        return 200, _dump(document)

    def render_recorded(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        document = json.loads(body, parse_float=Decimal)
        zero = _money(Decimal(0))
        kind = _RECORDS[path]
        if kind == "confirm":
            receipt = document["receipt"]
            return 200, _dump({
                "receipt_id": receipt["id"], "status": "queued", "program_version": 0,
                "customer": None, "lines": [], "amount": zero, "redeemed": zero,
                "accrued": zero, "accrual_available_from": None, "accrual_expires_at": None,
                "messages": [OFFLINE_NOTICE], "slip": [OFFLINE_NOTICE], "coupons": [],
                "gift_certificates": [],
            })  # fmt: skip
        if kind == "cancel":
            return 200, _dump({"receipt_id": document.get("receipt_id"), "released": zero})
        return 200, _dump({
            "refund_id": document.get("id"), "receipt_id": document.get("receipt_id"), "lines": [],
            "returned_bonuses": zero, "reversed_accrual": zero, "unrecovered_accrual": zero,
            "balance": zero, "messages": [OFFLINE_NOTICE.replace("начислены", "пересчитаны")],
        })  # fmt: skip

    def lookup_key(self, body: bytes, query: dict[str, str]) -> wire.CustomerRef | None:
        phone, card = query.get("phone"), query.get("card")
        if not phone and not card:
            return None
        try:
            return wire.CustomerRef(phone=phone or None, card=card or None)
        except ValueError:
            return None

    def render_lookup(
        self, body: bytes, query: dict[str, str], customer: CachedCustomer | None
    ) -> tuple[int, bytes]:
        if customer is None:
            return self.render_error(404, "customer_not_found", "Клиент не найден")
        messages = [OFFLINE_NOTICE]
        if customer.blocked:
            messages.append(BLOCKED_NOTICE)
        return 200, _dump({
            "id": customer.customer_id, "name": None, "tier": customer.tier,
            "tier_name": customer.tier_name, "balance": _money(Decimal(0)),
            "referral_code": "", "messages": messages,
        })  # fmt: skip

    def render_error(self, status: int, code: str, message: str) -> tuple[int, bytes]:
        return status, _dump({"code": code, "message": message})


CHANNEL = NativeChannel()
