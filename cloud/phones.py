"""Phone numbers are the customer's card: one normalised form (E.164) for all spellings.

Parsing with ``phonenumbers`` costs tens of microseconds and tills repeat the same
numbers within a receipt, so results are cached (errors are not: they raise)."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

from cloud.errors import BadRequest

_DIGITS = re.compile(r"\D+")


@lru_cache(maxsize=65536)
def normalize_phone(raw: str, region: str = "RU") -> str:
    """``8 999 123-45-67``, ``+7 (999) 123-45-67`` and ``79991234567`` -> ``+79991234567``."""
    text = raw.strip()
    digits = _DIGITS.sub("", text)
    # Russian terminals often send 11 digits starting with 7 and no plus sign.
    if not text.startswith("+") and len(digits) == 11 and digits[0] == "7":
        text = "+" + digits
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise BadRequest("invalid_phone", f"Не удалось разобрать номер телефона «{raw}»") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise BadRequest("invalid_phone", f"Некорректный номер телефона «{raw}»")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=65536)
def normalize_card(raw: str) -> str:
    """Card numbers are compared without spaces and dashes, case-insensitively."""
    number = re.sub(r"[\s\-]", "", raw).upper()
    if not number:
        raise BadRequest("invalid_card", "Пустой номер карты")
    return number
