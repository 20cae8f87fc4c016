"""Values of the first worksheet of an ``.xlsx``, as openpyxl's read-only mode
(``data_only=True``, ``values_only=True``) gives them, several times cheaper.

openpyxl still reads the package (manifest, workbook, its epoch, the style table that
says which cell styles are dates): those parts are small. What it spends its time on —
a dict and descriptor objects per cell, a ``Text`` object per shared string, a second
pass over the sheet when it declares no dimension — is replaced here by one
``lxml.etree.iterparse`` over the shared strings and one over the sheet, with the same
casts as ``openpyxl.worksheet._reader.WorkSheetParser.parse_cell``."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import IO, Any

from lxml import etree
from openpyxl.reader.excel import SHARED_STRINGS, ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils.cell import column_index_from_string, range_boundaries
from openpyxl.utils.datetime import from_excel, from_ISO8601
from openpyxl.xml.constants import SHEET_MAIN_NS

_NS = f"{{{SHEET_MAIN_NS}}}"
_SI, _T, _R, _V, _IS = _NS + "si", _NS + "t", _NS + "r", _NS + "v", _NS + "is"
_ROW, _DIMENSION = _NS + "row", _NS + "dimension"
_DIGITS = frozenset("0123456789")


def _parse(source: IO[bytes], tags: tuple[str, ...]) -> Any:
    # No entities, no network: an uploaded file is untrusted.
    return etree.iterparse(source, events=("end",), tag=tags, resolve_entities=False,
                           no_network=True, remove_comments=True)  # fmt: skip


def _text(node: Any) -> str:
    """``openpyxl.cell.text.Text.content``: the plain ``t`` and the ``t`` of each rich
    run, phonetic runs left out."""
    parts = []
    for child in node:
        if child.tag == _T:
            if child.text is not None:
                parts.append(child.text)
        elif child.tag == _R:
            for t in child.iterchildren(_T):
                if t.text is not None:
                    parts.append(t.text)
    return "".join(parts)


def _shared_strings(source: IO[bytes]) -> list[str]:
    strings = []
    for _, node in _parse(source, (_SI,)):
        strings.append(_text(node).replace("x005F_", ""))
        node.clear()
    return strings


def _number(text: str) -> int | float:
    return float(text) if "." in text or "E" in text or "e" in text else int(text)


def _column(coordinate: str, cache: dict[str, int]) -> int:
    """The column of ``B12``; letters are cached, a sheet repeats a few of them."""
    end = 0
    for end, char in enumerate(coordinate):  # noqa: B007 - the index is the result
        if char in _DIGITS:
            break
    letters = coordinate[:end]
    column = cache.get(letters)
    if column is None:
        int(coordinate[end:])  # openpyxl rejects a coordinate without a row number
        column = cache[letters] = column_index_from_string(letters)
    return column


def sheet_rows(data: bytes, max_col: int) -> Iterator[tuple[int, list[Any]]]:
    """``(row number, max_col values)`` of the first worksheet's rows that are present
    (missing rows are not yielded, except an empty row 1 where the sheet starts lower,
    as openpyxl gives it); dates are ``datetime``, numbers ``int`` or ``float``."""
    reader = ExcelReader(io.BytesIO(data), read_only=True, data_only=True)
    try:
        reader.read_manifest()
        strings: list[str] = []
        part = reader.package.find(SHARED_STRINGS)
        if part is not None:
            with reader.archive.open(part.PartName[1:]) as src:
                strings = _shared_strings(src)
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
        wb = reader.wb
        target = next((rel.target for _, rel in reader.parser.find_sheets()
                       if rel.target in reader.valid_files and "chartsheet" not in rel.Type),
                      None)  # fmt: skip
        if target is None:
            raise ValueError("no worksheet")
        with reader.archive.open(target) as src:
            yield from _rows(src, strings, wb.epoch, wb._date_formats, wb._timedelta_formats,
                             max_col)  # fmt: skip
    finally:
        reader.archive.close()


def _rows(
    src: IO[bytes], strings: list[str], epoch: Any, date_styles: set[int],
    timedelta_styles: set[int], max_col: int,
) -> Iterator[tuple[int, list[Any]]]:  # fmt: skip
    max_row: int | None = None
    counter = 1  # the next row openpyxl would yield
    row_counter = 0
    columns: dict[str, int] = {}
    dates: dict[tuple[str, int], Any] = {}
    for _, element in _parse(src, (_DIMENSION, _ROW)):
        if element.tag == _DIMENSION:
            max_row = range_boundaries(element.get("ref"))[3]
            continue
        r = element.get("r")
        if r is None:
            row_counter += 1
        else:
            try:
                row_counter = int(r)
            except ValueError:
                number = float(r)
                if not number.is_integer():
                    raise
                row_counter = int(number)
        idx = row_counter
        if max_row is not None and idx > max_row:
            break
        if counter <= idx:
            if counter == 1 and idx > 1:
                yield 1, [None] * max_col
            values: list[Any] = [None] * max_col
            col_counter = 0
            for cell in element:
                coordinate = cell.get("r")
                if coordinate:
                    col_counter = _column(coordinate, columns)
                else:
                    col_counter += 1
                kind = cell.get("t", "n")
                value: Any = None
                if kind == "inlineStr":
                    child = cell.find(_IS)
                    if child is not None:
                        value = _text(child)
                else:
                    v = cell.find(_V)
                    text = None if v is None else v.text
                    if text:
                        if kind == "n":
                            style = cell.get("s")
                            style_id = int(style) if style else 0
                            if style_id in date_styles:
                                key = (text, style_id)
                                value = dates.get(key)
                                if value is None:
                                    value = dates[key] = _date(text, style_id, epoch,
                                                               timedelta_styles)  # fmt: skip
                            else:
                                value = _number(text)
                        elif kind == "s":
                            value = strings[int(text)]
                        elif kind == "b":
                            value = bool(int(text))
                        elif kind == "d":
                            value = from_ISO8601(text)
                        else:
                            value = text
                if 1 <= col_counter <= max_col:
                    values[col_counter - 1] = value
            counter = idx + 1
            yield idx, values
        element.clear()
        while element.getprevious() is not None:
            del element.getparent()[0]


def _date(text: str, style_id: int, epoch: Any, timedelta_styles: set[int]) -> Any:
    try:
        return from_excel(_number(text), epoch, timedelta=style_id in timedelta_styles)
    except (OverflowError, ValueError):
        return "#VALUE!"  # openpyxl's value (with a warning) for a serial out of range
