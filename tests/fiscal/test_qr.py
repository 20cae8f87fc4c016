"""The fiscal QR code's text: read exactly (Decimal sum, local time, the document's
numbers), returns and malformed codes refused with Russian messages."""

from __future__ import annotations

from datetime import datetime

import pytest

from cloud.errors import DomainError
from cloud.fiscal.qr import parse


def test_reads_every_field_exactly() -> None:
    """The sample code gives its local time, the sum in kopecks (no float on the way),
    fn, document number, fiscal sign and a sale."""
    qr = parse("t=20261127T1530&s=1234.50&fn=9999078900004792&i=12345&fp=3522207165&n=1")
    assert qr.time == datetime(2026, 11, 27, 15, 30)
    assert (qr.amount, qr.fn, qr.fd, qr.fp, qr.operation) == (
        123450,
        "9999078900004792",
        12345,
        "3522207165",
        1,
    )
    assert qr.document_key == "fn9999078900004792-fd12345"


def test_order_seconds_url_and_leading_zeros() -> None:
    """Fields in any order, a time with seconds, a URL carrying the code in its query,
    a whole-rouble sum and a zero-padded fiscal sign are all the same document."""
    qr = parse(
        "https://check.example/?n=1&fp=0003522207&i=7&fn=9999078900004792&s=100&t=20261127T153045"
    )
    assert qr.time == datetime(2026, 11, 27, 15, 30, 45)
    assert (qr.amount, qr.fd, qr.fp) == (10000, 7, "3522207")
    assert parse("t=20261127T1530&s=0.01&fn=9999078900004792&i=1&fp=1&n=1").amount == 1


@pytest.mark.parametrize(("n", "words"), [("2", "возврата"), ("3", "расхода"), ("4", "возврата")])
def test_returns_and_expenses_refused(n: str, words: str) -> None:
    """Only a sale (n=1) earns bonuses: a return (2) or an expense (3, 4) is refused
    with its own Russian message."""
    with pytest.raises(DomainError) as caught:
        parse(f"t=20261127T1530&s=1.00&fn=9999078900004792&i=1&fp=1&n={n}")
    assert caught.value.code == "fiscal_qr_not_sale"
    assert words in caught.value.message


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "t=20261127T1530&s=1.00&fn=9999078900004792&i=1&fp=1",
        "t=20261127&s=1.00&fn=9999078900004792&i=1&fp=1&n=1",
        "t=20261327T1530&s=1.00&fn=9999078900004792&i=1&fp=1&n=1",
        "t=20261127T1530&s=1,00&fn=9999078900004792&i=1&fp=1&n=1",
        "t=20261127T1530&s=1.001&fn=9999078900004792&i=1&fp=1&n=1",
        "t=20261127T1530&s=0&fn=9999078900004792&i=1&fp=1&n=1",
        "t=20261127T1530&s=1.00&fn=999907890000479&i=1&fp=1&n=1",
        "t=20261127T1530&s=1.00&fn=9999078900004792&i=abc&fp=1&n=1",
        "t=20261127T1530&s=1.00&fn=9999078900004792&i=1&fp=4294967296&n=1",
        "t=20261127T1530&s=1.00&fn=9999078900004792&i=1&fp=1&n=1&i=2",
        "t=20261127T1530&s=1.00&fn=9999078900004792&i=1&fp=1&n=9",
        "t=20261127T1530&s=1.00&fn=9999078900004792&i=0&fp=1&n=1",
        "t=1\x00&s=1",
    ],
)
def test_malformed_codes_refused_in_russian(text: str) -> None:
    """Missing fields, a bad time, a comma or third decimal in the sum, a short fn,
    letters, a fiscal sign past 32 bits, a repeated field, an unknown kind, a zero
    number, control characters: ``fiscal_qr_malformed`` with a Russian message."""
    with pytest.raises(DomainError) as caught:
        parse(text)
    assert caught.value.code == "fiscal_qr_malformed"
    assert caught.value.message.startswith("Не удалось прочитать QR-код чека")
