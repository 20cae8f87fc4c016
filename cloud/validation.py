"""Pydantic validation errors as one readable Russian sentence that names the fields."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

_MESSAGES: dict[str, str] = {
    "missing": "обязательное поле",
    "extra_forbidden": "неизвестное поле",
    "string_type": "ожидается строка",
    "string_too_short": "слишком короткая строка (минимум {min_length})",
    "string_too_long": "слишком длинная строка (максимум {max_length})",
    "string_pattern_mismatch": "неверный формат",
    "int_type": "ожидается целое число",
    "int_parsing": "ожидается целое число",
    "int_from_float": "ожидается целое число",
    "float_type": "ожидается число",
    "float_parsing": "ожидается число",
    "decimal_type": "ожидается число",
    "decimal_parsing": "ожидается число",
    "decimal_max_digits": "слишком много цифр",
    "decimal_whole_digits": "слишком много цифр до запятой (максимум {whole_digits})",
    "decimal_max_places": "слишком много знаков после запятой (максимум {decimal_places})",
    "greater_than": "должно быть больше {gt}",
    "greater_than_equal": "должно быть не меньше {ge}",
    "less_than": "должно быть меньше {lt}",
    "less_than_equal": "должно быть не больше {le}",
    "bool_type": "ожидается true или false",
    "bool_parsing": "ожидается true или false",
    "model_type": "ожидается объект",
    "model_attributes_type": "ожидается объект",
    "dict_type": "ожидается объект",
    "list_type": "ожидается список",
    "too_short": "слишком мало элементов (минимум {min_length})",
    "too_long": "слишком много элементов (максимум {max_length})",
    "literal_error": "допустимые значения: {expected}",
    "date_parsing": "ожидается дата в формате ГГГГ-ММ-ДД",
    "date_from_datetime_parsing": "ожидается дата в формате ГГГГ-ММ-ДД",
    "date_type": "ожидается дата в формате ГГГГ-ММ-ДД",
    "datetime_parsing": "ожидается дата и время в формате ISO 8601",
    "datetime_from_date_parsing": "ожидается дата и время в формате ISO 8601",
    "datetime_type": "ожидается дата и время в формате ISO 8601",
    "finite_number": "ожидается конечное число",
    "is_instance_of": "ожидается число",
}


def error_message(error: Any) -> str:
    """One pydantic error entry in Russian."""
    template = _MESSAGES.get(error["type"])
    if template is None:
        # Our own validators already speak Russian ("Value error, ...").
        return str(error["msg"]).removeprefix("Value error, ")
    try:
        return template.format(**(error.get("ctx") or {}))
    except (KeyError, IndexError):
        return template


def describe_validation_error(exc: ValidationError, limit: int = 5) -> str:
    parts = []
    for error in exc.errors()[:limit]:
        where = ".".join(str(p) for p in error["loc"]) or "тело запроса"
        parts.append(f"{where}: {error_message(error)}")
    return "Ошибка в данных: " + "; ".join(parts)
