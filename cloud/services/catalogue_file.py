"""Reading an uploaded product catalogue: ``.xlsx`` (the first sheet) or ``.csv`` (UTF-8
with or without BOM, else Windows-1251; ``;`` or ``,`` between cells, as Russian Excel
saves it).

The first row names the columns: a code (``code`` / ``код`` / ``артикул`` / ``sku``)
and a category (``category`` / ``категория``); other columns (a name, a price) are
ignored, so a goods list exported from the back office uploads as it is. A code ending
in ``*`` is a prefix rule: ``12*`` covers every code starting with ``12``, and ``*``
alone every code nothing else covers. A barcode is a code like any other: a line
matches on what the till sends as its product code.

Problems are collected with their line numbers (the header is line 1) so the merchant
fixes the whole file at once; nothing here touches the database.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from cloud.errors import BadRequest

MAX_ROWS = 200_000
MAX_CODE = 128
"""A line's ``sku`` is at most 128 characters."""
MAX_PREFIX = 32
"""A prefix rule's length without the ``*``: the lookup tries every prefix of a line's
code up to this length, so it bounds the query of a receipt."""
MAX_CATEGORY = 64
_MAX_COLUMNS = 30

CODE_HEADERS = frozenset({"code", "код", "код товара", "артикул", "sku"})
CATEGORY_HEADERS = frozenset({"category", "категория", "категория программы"})


@dataclass(slots=True)
class ParsedCatalogue:
    entries: dict[str, tuple[str, int]] = field(default_factory=dict)
    """code (a prefix rule with its ``*``) -> (category, line), in the file's order."""
    errors: list[tuple[int, str]] = field(default_factory=list)
    rows: int = 0


def _unreadable(kind: str) -> BadRequest:
    return BadRequest(
        "catalogue_unreadable",
        f"Файл не читается как {kind}: сохраните его из Excel как .xlsx или CSV (UTF-8 или "
        "Windows-1251, разделитель «;» или «,»)",
    )


def _empty() -> BadRequest:
    return BadRequest(
        "catalogue_empty", "Файл пуст: нужна строка заголовков (код; категория) и строки товаров"
    )


def detect_format(data: bytes) -> str:
    """``xlsx`` for a ZIP container, ``csv`` otherwise."""
    return "xlsx" if data[:4] == b"PK\x03\x04" else "csv"


def parse(data: bytes, kind: str) -> ParsedCatalogue:
    """The file's entries and the problems of its lines; raises ``BadRequest`` for a file
    that cannot be read at all (not its kind, no header, too many rows)."""
    if not data.strip():
        raise _empty()
    rows = _xlsx_rows(data) if kind == "xlsx" else _csv_rows(data)
    header = next(rows, None)
    if header is None:
        raise _empty()
    code_at, category_at = _columns(header[1])
    parsed = ParsedCatalogue()
    for line, cells in rows:
        code, category = _cell(cells, code_at), _cell(cells, category_at)
        if not code and not category:
            continue  # a blank row (Excel leaves them between blocks)
        parsed.rows += 1
        if parsed.rows > MAX_ROWS:
            raise BadRequest(
                "catalogue_too_many_rows",
                f"В каталоге — не больше {MAX_ROWS} строк: объедините коды в префиксы (12*)",
            )
        problem = _problem(code, category)
        if problem is not None:
            parsed.errors.append((line, problem))
            continue
        seen = parsed.entries.get(code)
        if seen is None:
            parsed.entries[code] = (category, line)
        elif seen[0] != category:
            parsed.errors.append(
                (line, f"код «{code}» уже указан в строке {seen[1]} с категорией «{seen[0]}»")
            )
    if parsed.rows == 0:
        raise _empty()
    return parsed


def _problem(code: str, category: str) -> str | None:
    if not code:
        return "не указан код товара"
    if not category:
        return f"не указана категория для кода «{code[:40]}»"
    if not code.isprintable():
        return "в коде товара — непечатные символы"
    if "*" in code[:-1]:
        return f"код «{code[:40]}»: звёздочка ставится только в конце (префикс кодов)"
    if code.endswith("*") and len(code) - 1 > MAX_PREFIX:
        return f"префикс «{code[:40]}»: не длиннее {MAX_PREFIX} символов до звёздочки"
    if len(code) > MAX_CODE:
        return f"код «{code[:40]}…»: не длиннее {MAX_CODE} символов"
    if len(category) > MAX_CATEGORY:
        return f"категория «{category[:40]}…»: не длиннее {MAX_CATEGORY} символов"
    return None


def _columns(header: list[Any]) -> tuple[int, int]:
    names = [_cell(header, i).lower().replace("ё", "е") for i in range(len(header))]
    code_at = next((i for i, name in enumerate(names) if name in CODE_HEADERS), None)
    category_at = next((i for i, name in enumerate(names) if name in CATEGORY_HEADERS), None)
    if code_at is None or category_at is None:
        missing = [
            what
            for what, at in (("код (code)", code_at), ("категория (category)", category_at))
            if at is None
        ]
        raise BadRequest(
            "catalogue_columns",
            "Первая строка файла — заголовки столбцов: нет столбца "
            + " и ".join(missing)
            + " (например «код;категория»)",
        )
    return code_at, category_at


def _cell(cells: list[Any], index: int) -> str:
    """A cell as text: Excel keeps a numeric code as a number (a whole float is written
    without its ``.0``; leading zeros are lost in Excel itself — format the column as
    text)."""
    value = cells[index] if index < len(cells) else None
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    from cloud.services.customers_io.xlsx import sheet_rows  # the checkout path never needs it

    try:
        yield from sheet_rows(data, _MAX_COLUMNS)
    except Exception as exc:  # a broken zip, XML, openpyxl's own InvalidFileException...
        raise _unreadable("таблица .xlsx") from exc


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1251", errors="replace")
    if "\x00" in text:
        raise _unreadable("CSV")
    first = text.split("\n", 1)[0]
    delimiter = ";" if ";" in first and first.count(";") >= first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for number, row in enumerate(reader, start=1):
            yield number, list(row[:_MAX_COLUMNS])
    except csv.Error as exc:
        raise _unreadable("CSV") from exc
