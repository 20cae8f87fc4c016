"""A Frontol position is read straight into the canonical receipt line (no second model
per line on a calculate): each Frontol field lands where the canonical line keeps it,
a name longer than the canonical one is cut, and a ``category`` a till might send is
ignored (Frontol lines take theirs from the merchant's catalogue)."""

from __future__ import annotations

import json
from decimal import Decimal

from schemas import checkout as wire
from schemas import frontol as fr
from webhooks.frontol import translate

TEXT = "Чай " * 100
POSITION = {
    "index": 7, "id": 4600123, "text": TEXT, "price": "12.50", "quantity": 2,
    "minimumPrice": 10, "totalAmount": 25.0, "category": "bar", "referenceIndex": 3,
}  # fmt: skip


def test_a_position_is_a_canonical_line_under_frontol_names() -> None:
    """``index`` -> ``id`` (text), product ``id`` -> ``sku``, ``text`` -> ``name`` (cut
    to 256 on the receipt), ``totalAmount`` -> ``amount``, ``minimumPrice`` ->
    ``minimum_price``; the till's ``category`` is not taken; refunds still read
    ``index`` and ``referenceIndex``."""
    body = fr.DocumentRequest.model_validate_json(json.dumps({
        "action": "calculate", "businessUnit": "1", "workPlace": "1", "uid": "{AB-1}",
        "positions": [POSITION],
    }))  # fmt: skip
    position = body.positions[0]
    assert (position.index, position.referenceIndex) == (7, 3)
    line = translate.receipt(body).lines[0]
    assert isinstance(line, wire.ReceiptLine)
    assert (line.id, line.sku, line.category) == ("7", "4600123", None)
    assert line.name == TEXT[:256]
    assert (line.price, line.quantity) == (Decimal("12.50"), Decimal(2))
    assert (line.amount, line.minimum_price) == (Decimal(25), Decimal(10))
