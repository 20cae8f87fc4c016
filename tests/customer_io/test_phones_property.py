"""Property: however a file spells its phones (``8…``, ``+7…``, ``7…``, with spaces,
dashes and brackets), each number is one customer, its rows become its lots, and a
second name for the same number is reported on that row; nothing depends on a database."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from cloud.services.customers_io.validate import parse_file
from tests.customer_io.conftest import csv_bytes, row

NUMBERS = st.lists(st.integers(min_value=0, max_value=9_999_999), min_size=1, max_size=6)
SPELLINGS = ("+7916{}", "8916{}", "7916{}", "+7 (916) {}", "8 916 {}")


def spell(number: int, style: int) -> str:
    digits = f"{number:07d}"
    if style >= 3:
        digits = f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"
    return SPELLINGS[style].format(digits)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(range(6)), st.integers(0, 4), st.integers(1, 999)),
        min_size=1,
        max_size=20,
    ),
    numbers=NUMBERS,
    clash=st.booleans(),
)
def test_every_spelling_of_a_number_is_one_customer(
    rows: list[tuple[int, int, int]], numbers: list[int], clash: bool
) -> None:
    """Entries = distinct numbers used; lots per entry = its rows (amounts differ per
    row, so none is a duplicate); with ``clash`` a last row gives the first number
    another name and is the only error."""
    cells = []
    used: dict[str, int] = {}
    for position, (which, style, amount) in enumerate(rows):
        number = numbers[which % len(numbers)]
        cells.append(row(spell(number, style), name=f"Клиент {number}", balance=amount * 1000
                         + position))  # fmt: skip
        key = f"+7916{number:07d}"
        used[key] = used.get(key, 0) + 1
    if clash:
        first = numbers[rows[0][0] % len(numbers)]
        cells.append(row(spell(first, 2), name="Другое имя", balance=1))
    parsed = parse_file(csv_bytes(cells), "csv", date(2026, 11, 20), None)
    assert {phone: len(entry.lots) for phone, entry in parsed.entries.items()} == used
    if clash:
        assert [(e.row, e.column) for e in parsed.errors] == [(len(cells) + 1, "Имя")]
    else:
        assert parsed.errors == []
