"""The columns of a customer base file and how each cell is read.

Pure functions: a cell (what openpyxl or the CSV reader gave: text, a number, a date)
becomes a value or a Russian reason why not. Headers are matched case-insensitively in
Russian or English (``fixtures/import/README.md`` lists them)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import phonenumbers

from cloud.errors import BadRequest
from cloud.phones import normalize_card, normalize_phone

MAX_AMOUNT = 9_999_999_999  # kopecks: 99 999 999,99 ₽, the wire's bound
MAX_TEXT = 200


class CellError(ValueError):
    """A cell that cannot be read; the message is the Russian reason."""


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    title: str
    """The Russian header of the template."""
    english: str
    aliases: tuple[str, ...] = ()


COLUMNS: tuple[Column, ...] = (
    Column("phone", "Телефон", "phone", ("номер телефона", "мобильный телефон")),
    Column("card", "Номер карты", "card", ("карта", "card number")),
    Column("name", "Имя", "name", ("фио", "клиент")),
    Column("birthday", "Дата рождения", "birthday", ("день рождения",)),
    Column("email", "Email", "email", ("e-mail", "эл. почта", "электронная почта", "почта")),
    Column("tier", "Уровень", "tier", ("статус", "уровень программы")),
    Column("lifetime_purchases", "Сумма покупок", "lifetime_purchases",
           ("сумма покупок за всё время", "покупки")),
    Column("balance", "Бонусы", "balance", ("баланс", "бонусный баланс")),
    Column("expires_on", "Сгорают", "expires_on", ("дата сгорания", "срок действия бонусов")),
    Column("consent_messages", "Согласие на рассылки", "consent_messages",
           ("согласие на рассылку",)),
    Column("consent_personal_data", "Согласие на обработку ПД", "consent_personal_data",
           ("согласие на обработку персональных данных", "согласие на пд")),
)  # fmt: skip
BY_KEY = {column.key: column for column in COLUMNS}


def _header_key(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower().replace("ё", "е"))


_HEADERS: dict[str, str] = {}
for _column in COLUMNS:
    for _name in (_column.title, _column.english, *_column.aliases):
        _HEADERS[_header_key(_name)] = _column.key


def header_map(cells: list[Any]) -> dict[str, int]:
    """Column key -> position from the first row; raises ``BadRequest`` naming every
    unknown or repeated header, or a missing phone column."""
    found: dict[str, int] = {}
    problems: list[str] = []
    for position, cell in enumerate(cells):
        text = "" if cell is None else str(cell)
        if not text.strip():
            continue
        key = _HEADERS.get(_header_key(text))
        if key is None:
            problems.append(f"неизвестный столбец «{text.strip()[:60]}»")
        elif key in found:
            problems.append(f"столбец «{text.strip()[:60]}» повторяется")
        else:
            found[key] = position
    if "phone" not in found and not problems:
        problems.append("нет столбца «Телефон»")
    if problems:
        raise BadRequest(
            "import_columns",
            "Первая строка файла — заголовки столбцов (см. шаблон): " + "; ".join(problems[:5]),
        )
    return found


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


_RU_NUMBER = re.compile(r"(?:\+7|7|8)([1-9]\d{9})")
_SEPARATORS = re.compile(r"[\s\-()]")


def read_phone(value: Any) -> str:
    """``cloud.phones.normalize_phone``, with a shortcut for the usual ``+7`` / ``7`` /
    ``8`` spellings of a ten-digit number: checked against the same metadata without
    parsing (a third of the cost on a 100 000-row file)."""
    text = _text(value)
    match = _RU_NUMBER.fullmatch(_SEPARATORS.sub("", text))
    if match is not None:
        number = phonenumbers.PhoneNumber(country_code=7, national_number=int(match.group(1)))
        if phonenumbers.is_valid_number(number):
            return "+7" + match.group(1)
    try:
        return normalize_phone(text)
    except BadRequest:
        raise CellError("Некорректный номер телефона") from None


def read_card(value: Any) -> str:
    text = _text(value)
    if len(text) > 64 or not re.fullmatch(r"[0-9A-Za-z\- ]+", text):
        raise CellError("Номер карты: до 64 цифр и латинских букв")
    return normalize_card(text)


def read_name(value: Any) -> str:
    text = re.sub(r"\s+", " ", _text(value))
    if len(text) > MAX_TEXT or any(ord(ch) < 32 for ch in text):
        raise CellError(f"Имя: до {MAX_TEXT} символов, без управляющих")
    return text


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def read_email(value: Any) -> str:
    text = _text(value).lower()
    if len(text) > 254 or not _EMAIL.fullmatch(text):
        raise CellError("Некорректный адрес электронной почты")
    return text


# Excel's text dates, optionally with a time of day (ignored).
_DAY_FIRST = re.compile(r"(\d{1,2})[./](\d{1,2})[./](\d{4})(?: \d{1,2}:\d{2}(?::\d{2})?)?")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?")


def read_date(value: Any) -> date:
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    else:
        text = _text(value)
        match = _DAY_FIRST.fullmatch(text)
        parts = None if match is None else (match[3], match[2], match[1])
        if parts is None:
            match = _ISO.fullmatch(text)
            parts = None if match is None else (match[1], match[2], match[3])
        if parts is None:
            raise CellError("Дата: ДД.ММ.ГГГГ или ГГГГ-ММ-ДД")
        try:
            day = date(int(parts[0]), int(parts[1]), int(parts[2]))
        except ValueError:
            raise CellError("Такой даты нет в календаре") from None
    if not 1900 <= day.year <= 2099:
        raise CellError("Дата: год от 1900 до 2099")
    return day


def read_amount(value: Any) -> int:
    """Roubles (``1 234,56``, ``1234.56`` or a number cell) -> kopecks, never a float."""
    if isinstance(value, bool):
        raise CellError("Сумма: число рублей, до двух знаков после запятой")
    if isinstance(value, float):
        text = repr(value)
    else:
        text = re.sub(r"[\s\u00a0\u202f₽]|руб\.?", "", _text(value)).replace(",", ".")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise CellError("Сумма: число рублей, до двух знаков после запятой") from None
    if not amount.is_finite():
        raise CellError("Сумма: число рублей, до двух знаков после запятой")
    if amount > Decimal(MAX_AMOUNT) / 100:
        raise CellError("Сумма: не больше 99 999 999,99")
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise CellError("Сумма: не больше двух знаков после запятой")
    if cents < 0:
        raise CellError("Сумма не может быть отрицательной")
    return int(cents)


_YES = {"да", "yes", "y", "1", "true", "+", "есть"}
_NO = {"нет", "no", "n", "0", "false", "-"}


def read_consent(value: Any, today: date) -> date | None:
    """A date the customer agreed on, or yes (today) / no."""
    if isinstance(value, bool):
        return today if value else None
    if isinstance(value, str | int) and not isinstance(value, date):
        word = _text(value).lower()
        if word in _YES:
            return today
        if word in _NO:
            return None
    try:
        day = read_date(value)
    except CellError:
        raise CellError("Согласие: дата согласия, «да» или «нет»") from None
    if day > today:
        raise CellError("Дата согласия не может быть в будущем")
    return day
