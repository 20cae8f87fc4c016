"""What a receipt *is*, as a digest: the second half of an idempotency key.

A terminal that restarts its numbering, or two tills sharing a prefix, can send a new
sale under an id already used. Replaying the first sale's answer would lose the second
one without a word, so a confirm (or refund) whose id is known must also carry the same
digest; otherwise it is a conflict.

The digest covers only what the sale is — lines (id, sku, price, quantity, amount,
category), the customer named, the bonus payment — and leaves out the envelope a
genuine retry may refresh: the request time, line names (vendors truncate them), the
order of the lines, and the cashier (a retry sent after another cashier took over the
till is the same sale; the first cashier recorded stays). Amounts are compared in
kopecks and quantities in thousandths, so ``1`` and ``1.000`` or an omitted amount and
its ``price x quantity`` are one receipt.

Every channel reaches here with the canonical ``schemas.checkout`` models.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from decimal import Decimal

import orjson

from cloud.errors import DomainError
from cloud.phones import normalize_card, normalize_phone
from schemas import checkout as wire
from schemas.money import line_amount, to_kopecks

_MILLI = Decimal(1000)


def _customer(ref: wire.CustomerRef | None) -> list[object] | None:
    if ref is None:
        return None
    phone = ref.phone
    if phone is not None:
        try:
            phone = normalize_phone(phone)
        except DomainError:
            phone = phone.strip()  # refused later by the look-up; compare as sent
    card = ref.card
    if card is not None:
        try:
            card = normalize_card(card)
        except DomainError:
            card = card.strip()
    return [phone, card, ref.customer_id]


def _line(line: wire.ReceiptLine) -> list[object]:
    price = to_kopecks(line.price)
    amount = (
        to_kopecks(line.amount) if line.amount is not None else line_amount(price, line.quantity)
    )
    return [line.id, line.sku, price, int(line.quantity * _MILLI), amount, line.category]


def _hash(document: object) -> str:
    return hashlib.sha256(orjson.dumps(document)).hexdigest()


def receipt_digest(
    receipt: wire.Receipt,
    redeemed: Decimal = Decimal(0),
    gift_certificates: Sequence[wire.GiftCertificatePayment] = (),
) -> str:
    """The digest of a sale: its lines, its customer, the bonuses and the gift
    certificates paid with it (a sale without certificates digests as before them)."""
    document: dict[str, object] = {
        "kind": "sale",
        "customer": _customer(receipt.customer),
        "lines": sorted((_line(line) for line in receipt.lines), key=lambda x: str(x[0])),
        "redeemed": to_kopecks(redeemed),
    }
    if gift_certificates:
        document["gift_certificates"] = sorted(
            [p.number, to_kopecks(p.amount)] for p in gift_certificates
        )
    return _hash(document)


def refund_digest(request: wire.RefundRequest) -> str:
    """The digest of a refund: the sale it returns and which quantities of which lines
    (none listed: the whole remainder)."""
    lines = None
    if request.lines is not None:
        lines = sorted([line.id, int(line.quantity * _MILLI)] for line in request.lines)
    return _hash({"kind": "refund", "receipt_id": request.receipt_id, "lines": lines})
