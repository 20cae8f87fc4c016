"""The import's own .xlsx reader (``customers_io.xlsx``) against openpyxl's read-only
reading of the same files: the values the import sees must not change with the reader."""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from cloud.services.customers_io.reader import MAX_COLUMNS
from cloud.services.customers_io.xlsx import sheet_rows

TEMPLATE = Path(__file__).resolve().parents[2] / "fixtures" / "import" / "template.xlsx"


def typed(row: Any) -> list[tuple[type, Any]]:
    """Values with their types: ``1 == 1.0 == True`` would hide a wrong cast."""
    return [(type(value), value) for value in row]


def by_openpyxl(data: bytes) -> dict[int, list[Any]]:
    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        rows = workbook.worksheets[0].iter_rows(max_col=MAX_COLUMNS, values_only=True)
        return {
            n: typed(row) for n, row in enumerate(rows, start=1) if any(v is not None for v in row)
        }
    finally:
        workbook.close()


def by_ours(data: bytes) -> dict[int, list[Any]]:
    return {
        n: typed(row) for n, row in sheet_rows(data, MAX_COLUMNS) if any(v is not None for v in row)
    }


text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12
) | st.sampled_from(
    [
        "Иванов Иван",
        "  пробелы  ",
        "+7 (912) 345-67-89",
        "0012",
        "1e5",
        "_x000D_",
        "x005F_x",
        "12,50",
    ]
)
cell = st.one_of(
    st.none(),
    text,
    st.integers(-(10**15), 10**15),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.dates(date(1900, 3, 1), date(2100, 1, 1)),
    st.datetimes(datetime(1900, 3, 1), datetime(2100, 1, 1)).map(
        lambda d: d.replace(microsecond=0)
    ),
    st.sampled_from([time(12, 30), timedelta(hours=30), "=1+1"]),
)
rows = st.lists(st.lists(cell, max_size=MAX_COLUMNS + 3), max_size=12)


@settings(max_examples=40, deadline=None)
@given(rows=rows, write_only=st.booleans(), start=st.integers(1, 3), gap=st.integers(0, 2))
def test_same_values_as_openpyxl(
    rows: list[list[Any]], write_only: bool, start: int, gap: int
) -> None:
    """Strings (shared, Russian, spaces, escapes), integers, floats, booleans, dates,
    datetimes, times, durations, formulas, empty cells, cells past the 30th column, rows
    missing before the first and between rows, in files written by openpyxl with and
    without a declared dimension: the reader gives what openpyxl's read-only mode gives."""
    workbook = Workbook(write_only=write_only)
    sheet = workbook.create_sheet("Клиенты") if write_only else workbook.active
    assert sheet is not None
    if write_only:
        for _ in range(start - 1):
            sheet.append([])
        for row in rows:
            sheet.append(row)
            for _ in range(gap):
                sheet.append([])
    else:
        number = start
        for row in rows:
            for column, value in enumerate(row, start=1):
                sheet.cell(number, column, value)
            number += 1 + gap
    out = io.BytesIO()
    workbook.save(out)
    assert by_ours(out.getvalue()) == by_openpyxl(out.getvalue())


def test_template_and_rich_text() -> None:
    """The published template, and a cell of rich text runs (one string of its runs),
    read as openpyxl reads them."""
    data = TEMPLATE.read_bytes()
    assert by_ours(data) == by_openpyxl(data)
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet["A1"] = CellRichText("Иван", TextBlock(InlineFont(b=True), "ов"), " Иван")
    sheet["B2"] = datetime(2024, 5, 1, 10, 0)
    sheet["B2"].number_format = "DD.MM.YYYY"
    sheet["C2"] = 45000
    sheet["C2"].number_format = "0.00"
    out = io.BytesIO()
    workbook.save(out)
    assert (
        by_ours(out.getvalue())
        == by_openpyxl(out.getvalue())
        == {
            1: typed(["Иванов Иван"] + [None] * (MAX_COLUMNS - 1)),
            2: typed([None, datetime(2024, 5, 1, 10, 0), 45000] + [None] * (MAX_COLUMNS - 3)),
        }
    )
