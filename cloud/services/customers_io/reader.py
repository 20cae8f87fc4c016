"""Rows of an uploaded customer base: ``.xlsx`` (the first sheet, see ``xlsx.py``)
or ``.csv`` (UTF-8 with or without BOM, else cp1251; ``;`` or ``,`` between cells).

Rows are yielded with their number as the spreadsheet shows it (the header is row 1);
blank rows are skipped but keep their numbers counted."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from cloud.errors import BadRequest

MAX_ROWS = 200_000
MAX_COLUMNS = 30
FORMATS = ("xlsx", "csv")


def _unreadable(kind: str) -> BadRequest:
    return BadRequest(
        "import_unreadable",
        f"Файл не читается как {kind}: сохраните его из Excel как .xlsx или CSV (UTF-8 или "
        "Windows-1251, разделитель «;» или «,»)",
    )


def detect_format(data: bytes) -> str:
    """``xlsx`` for a ZIP container, ``csv`` otherwise."""
    return "xlsx" if data[:4] == b"PK\x03\x04" else "csv"


def read_rows(data: bytes, kind: str) -> Iterator[tuple[int, list[Any]]]:
    """``(row number, cells)`` from the header on; raises ``BadRequest`` for a file
    that is not of its kind, or holds no header or more than ``MAX_ROWS`` rows."""
    if not data.strip():
        raise BadRequest("import_empty", "Файл пуст: нужна строка заголовков и строки клиентов")
    rows = _xlsx_rows(data) if kind == "xlsx" else _csv_rows(data)
    count = 0
    for number, cells in rows:
        if number > 1 and _blank(cells):
            continue
        count += 1
        if count > MAX_ROWS + 1:
            raise BadRequest(
                "import_too_many_rows",
                f"В одном файле — не больше {MAX_ROWS} строк клиентов: разделите файл",
            )
        yield number, cells
    if count == 0:
        raise BadRequest("import_empty", "Файл пуст: нужна строка заголовков и строки клиентов")


def _blank(cells: list[Any]) -> bool:
    for cell in cells:
        if cell is None or cell == "":
            continue
        if str(cell).strip():
            return False
    return True


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    from cloud.services.customers_io.xlsx import sheet_rows  # the checkout path never needs it

    try:
        yield from sheet_rows(data, MAX_COLUMNS)
    except BadRequest:
        raise
    except Exception as exc:  # a broken zip, XML, openpyxl's own InvalidFileException...
        raise _unreadable("таблица .xlsx") from exc


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1251", errors="replace")


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    text = _decode(data)
    if "\x00" in text:
        raise _unreadable("CSV")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") >= first.count(",") and ";" in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for number, row in enumerate(reader, start=1):
            yield number, list(row[:MAX_COLUMNS])
    except csv.Error as exc:
        raise _unreadable("CSV") from exc
