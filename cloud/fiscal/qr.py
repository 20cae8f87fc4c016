"""The text of a Russian fiscal receipt's QR code: ``t=20261127T1530&s=1234.50&fn=…
&i=…&fp=…&n=1`` (order free; a URL carrying it in its query is accepted too).

``t`` is the register's local time (minutes, or seconds), ``s`` the total in roubles,
``fn`` the fiscal drive's 16-digit number, ``i`` the fiscal document number, ``fp`` its
fiscal sign, ``n`` the kind of settlement: 1 sale, 2 return of a sale, 3 expense, 4
return of an expense. Only a sale earns bonuses; everything else is refused here, with
a Russian message the customer reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from cloud.errors import BadRequest

MAX_TEXT = 512

_REQUIRED = ("t", "s", "fn", "i", "fp", "n")
_TIME = re.compile(r"^(\d{8})T(\d{4}|\d{6})$")
_SUM = re.compile(r"^\d{1,8}(\.\d{1,2})?$")
_KINDS = {
    "2": "Это чек возврата: бонусы за возврат не начисляются",
    "3": "Это чек расхода, а не покупки: бонусы за него не начисляются",
    "4": "Это чек возврата расхода: бонусы за него не начисляются",
}


@dataclass(frozen=True, slots=True)
class FiscalQr:
    time: datetime
    """Naive: the register's local time (the store's zone)."""
    amount: int
    """Kopecks."""
    fn: str
    fd: int
    fp: str
    operation: int

    @property
    def document_key(self) -> str:
        """The claim's receipt id at the checkout: the fiscal document, unique."""
        return f"fn{self.fn}-fd{self.fd}"


def malformed(detail: str) -> BadRequest:
    return BadRequest("fiscal_qr_malformed", f"Не удалось прочитать QR-код чека: {detail}")


def parse(text: str) -> FiscalQr:
    """The QR text's fields, checked; ``fiscal_qr_malformed`` or ``fiscal_qr_not_sale``
    (400) with a Russian message otherwise."""
    text = text.strip()
    if not text:
        raise malformed("пустая строка")
    if len(text) > MAX_TEXT or not text.isprintable():
        raise malformed("это не текст QR-кода кассового чека")
    if "?" in text:
        text = text.split("?", 1)[1]
    fields: dict[str, str] = {}
    for part in text.split("&"):
        key, eq, value = part.partition("=")
        key = key.strip().lower()
        if not eq:
            raise malformed("ожидались пары вида t=…&s=…&fn=…&i=…&fp=…&n=…")
        if key in fields:
            raise malformed(f"поле «{key}» повторяется")
        fields[key] = value.strip()
    missing = [key for key in _REQUIRED if not fields.get(key)]
    if missing:
        raise malformed(f"нет полей {', '.join(missing)}")
    operation = fields["n"]
    if operation in _KINDS:
        raise BadRequest("fiscal_qr_not_sale", _KINDS[operation])
    if operation != "1":
        raise malformed("неизвестный вид расчёта n")
    return FiscalQr(
        time=_time(fields["t"]),
        amount=_amount(fields["s"]),
        fn=_digits(fields["fn"], "fn", 16),
        fd=int(_digits(fields["i"], "i", 10)),
        fp=_fiscal_sign(fields["fp"]),
        operation=1,
    )


def _time(value: str) -> datetime:
    match = _TIME.match(value)
    if match is None:
        raise malformed("время t в виде ГГГГММДДTЧЧММ")
    day, clock = match.groups()
    try:
        return datetime.strptime(day + clock.ljust(6, "0"), "%Y%m%d%H%M%S")
    except ValueError as exc:
        raise malformed("время t: нет такой даты") from exc


def _amount(value: str) -> int:
    if not _SUM.match(value):
        raise malformed("сумма s в рублях, например 1234.50")
    try:
        kopecks = int(Decimal(value) * 100)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only numbers
        raise malformed("сумма s") from exc
    if kopecks <= 0:
        raise malformed("сумма s должна быть больше нуля")
    return kopecks


def _digits(value: str, name: str, most: int) -> str:
    if not (value.isascii() and value.isdigit()) or len(value) > most:
        raise malformed(f"поле {name}: до {most} цифр")
    if name == "fn" and len(value) != 16:
        raise malformed("номер фискального накопителя fn — 16 цифр")
    if int(value) == 0:
        raise malformed(f"поле {name} не может быть нулём")
    return value


def _fiscal_sign(value: str) -> str:
    digits = _digits(value, "fp", 10)
    if int(digits) > 0xFFFFFFFF:
        raise malformed("фискальный признак fp — не больше 4294967295")
    return str(int(digits))
