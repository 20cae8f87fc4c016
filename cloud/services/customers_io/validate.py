"""Reading a customer base file into one entry per customer, with every bad row named.

Rules (also in ``fixtures/import/README.md``):
- phones are normalised, so ``8…``, ``+7…`` and ``7…`` are one customer;
- several rows of one phone are one customer with several lots of bonuses (one lot per
  row); their other cells must agree (a cell left empty takes the others' value), a
  row that repeats an earlier one cell for cell is reported as a duplicate;
- one card number belongs to one phone;
- an expiry date in the past, a birthday or consent in the future, an unknown tier are
  bad rows. Nothing is written here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from cloud.services.customers_io import columns as c
from cloud.services.customers_io.reader import read_rows

CUSTOMER_FIELDS = ("card", "name", "birthday", "email", "tier", "lifetime_purchases",
                   "consent_messages", "consent_personal_data")  # fmt: skip
Progress = Callable[[str, int], None]


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    column: str
    message: str


@dataclass(slots=True)
class Lot:
    row: int
    amount: int
    expires_on: date | None


@dataclass(slots=True)
class Entry:
    """One customer of the file: the phone, the cells that describe them (first non-empty
    value of each), the row each came from, and a lot per row with bonuses."""

    row: int
    phone: str
    fields: dict[str, Any] = field(default_factory=dict)
    field_rows: dict[str, int] = field(default_factory=dict)
    lots: list[Lot] = field(default_factory=list)


@dataclass(slots=True)
class ParsedFile:
    rows: int
    entries: dict[str, Entry]
    errors: list[RowError]


def tier_lookup(tiers: list[tuple[str, str]] | None) -> dict[str, str] | None:
    """Tier code or name (any case) -> code, from ``(code, name)`` of the live program."""
    if tiers is None:
        return None
    found: dict[str, str] = {}
    for code, name in tiers:
        found[name.strip().lower()] = code
        found[code.lower()] = code
    return found


Reader = Callable[[Any], Any]


def readers(today: date) -> dict[str, Reader]:
    return {
        "phone": c.read_phone, "card": c.read_card, "name": c.read_name,
        "birthday": c.read_date, "email": c.read_email,
        "lifetime_purchases": c.read_amount, "balance": c.read_amount,
        "expires_on": c.read_date,
        "consent_messages": lambda v: c.read_consent(v, today),
        "consent_personal_data": lambda v: c.read_consent(v, today),
    }  # fmt: skip


def _read_row(
    cells: list[Any], positions: dict[str, int], today: date, tiers: dict[str, str] | None,
    read: dict[str, Reader],
) -> tuple[dict[str, Any], list[tuple[str, str]]]:  # fmt: skip
    """The row's values by column key, and ``(column title, reason)`` of each bad cell."""
    values: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    width = len(cells)
    for key, position in positions.items():
        raw = cells[position] if position < width else None
        if raw is None or (raw.__class__ is str and not raw.strip()):
            continue
        if key == "tier":
            text = str(raw).strip()
            if tiers is None:
                problems.append((c.BY_KEY[key].title, "У компании нет активной программы: "
                                 "уровень задать нельзя, оставьте столбец пустым"))  # fmt: skip
            elif text.lower() not in tiers:
                names = ", ".join(sorted(set(tiers.values())))[:200]
                problems.append((c.BY_KEY[key].title, f"Нет такого уровня в программе: {names}"))
            else:
                values[key] = tiers[text.lower()]
            continue
        try:
            values[key] = read[key](raw)
        except c.CellError as exc:
            problems.append((c.BY_KEY[key].title, str(exc)))
    if "phone" not in values and not any(t == c.BY_KEY["phone"].title for t, _ in problems):
        problems.insert(0, (c.BY_KEY["phone"].title, "Не указан телефон"))
    birthday = values.get("birthday")
    if birthday is not None and birthday > today:
        problems.append((c.BY_KEY["birthday"].title, "Дата рождения не может быть в будущем"))
    expires = values.get("expires_on")
    if expires is not None:
        if not values.get("balance"):
            problems.append((c.BY_KEY["expires_on"].title, "Дата сгорания без суммы бонусов"))
        elif expires < today:
            problems.append((c.BY_KEY["expires_on"].title,
                             "Дата сгорания уже прошла: такие бонусы не загружаются"))  # fmt: skip
    return values, problems


def parse_file(
    data: bytes,
    kind: str,
    today: date,
    tiers: dict[str, str] | None,
    progress: Progress | None = None,
) -> ParsedFile:
    """Every row read and checked against the others (not against the database)."""
    rows = read_rows(data, kind)
    _, header = next(rows)
    positions = c.header_map(header)
    entries: dict[str, Entry] = {}
    errors: list[RowError] = []
    seen_rows: dict[tuple[Any, ...], int] = {}
    card_rows: dict[str, tuple[str, int]] = {}
    read = readers(today)
    order = sorted(positions)
    count = 0
    for number, cells in rows:
        count += 1
        if progress is not None and count % 10_000 == 0:
            progress("read", count)
        values, problems = _read_row(cells, positions, today, tiers, read)
        if problems:
            errors.extend(RowError(number, column, message) for column, message in problems)
            continue
        phone = values["phone"]
        signature = tuple(values.get(key) for key in order)
        if signature in seen_rows:
            errors.append(RowError(number, c.BY_KEY["phone"].title,
                                   f"Строка повторяет строку {seen_rows[signature]}"))  # fmt: skip
            continue
        card = values.get("card")
        if card is not None and card in card_rows and card_rows[card][0] != phone:
            errors.append(RowError(number, c.BY_KEY["card"].title,
                                   f"Номер карты уже указан в строке {card_rows[card][1]} "
                                   "для другого телефона"))  # fmt: skip
            continue
        entry = entries.get(phone)
        if entry is not None:
            conflicts = [
                RowError(number, c.BY_KEY[key].title,
                         f"Телефон уже встречается в строке {entry.field_rows[key]} "
                         "с другим значением этого столбца")
                for key in CUSTOMER_FIELDS
                if values.get(key) is not None and entry.fields.get(key) is not None
                and values[key] != entry.fields[key]
            ]  # fmt: skip
            if conflicts:
                errors.extend(conflicts)
                continue
        else:
            entry = entries[phone] = Entry(number, phone)
        seen_rows[signature] = number
        for key in CUSTOMER_FIELDS:
            if values.get(key) is not None and entry.fields.get(key) is None:
                entry.fields[key] = values[key]
                entry.field_rows[key] = number
        if card is not None:
            card_rows.setdefault(card, (phone, number))
        if values.get("balance"):
            entry.lots.append(Lot(number, values["balance"], values.get("expires_on")))
    if progress is not None:
        progress("read", count)
    return ParsedFile(count, entries, errors)
