"""The merchant's product catalogue: a line's product code -> a program category.

Frontol positions (and SIGMA's, Modul-Kassa's, 1C's) name a product code but no
category, while a program's rules are written per category (services 50 % / goods
10 %, gifts only). The merchant uploads a catalogue (``catalogue_file``) of codes and
code prefixes (``12*``); every channel without a category of its own runs its receipt
through ``with_categories`` before pricing it.

A line's category, when the line names none:

1. the entry of its exact code;
2. otherwise the longest prefix rule its code starts with (``*`` alone is the shortest:
   every code);
3. otherwise none (the program's rule for lines without a category applies).

A line that already names a category keeps it. The look-up is one indexed query per
receipt, over the keys a receipt's codes could match (the code, and each of its
prefixes up to ``MAX_PREFIX`` with its ``*``).

An upload replaces the whole catalogue in one transaction; its categories must be
categories of the merchant's live program (named in ``categories`` or in a rule's
goods), otherwise nothing is loaded and the merchant is told which lines to fix. A later
program that drops a category leaves those lines without its rules, as on the native
API for an unknown category.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from cloud.clock import to_epoch
from cloud.errors import Conflict, Unprocessable
from cloud.services import catalogue_file
from cloud.services.catalogue_file import MAX_PREFIX, ParsedCatalogue
from cloud.services.customers import live_program
from cloud.services.deps import Deps
from schemas import checkout as wire
from schemas import product_catalogue as api
from schemas.program import Program

MAX_LISTED = 20
"""Lines named in a refusal; the rest are counted."""

_INSERT = (
    "INSERT INTO product_catalogue (merchant_id, code, category, created_at) "
    "VALUES (:m, :code, :category, :now)"
)


# ---- the hot path --------------------------------------------------------------------


async def with_categories(deps: Deps, merchant_id: int, receipt: wire.Receipt) -> wire.Receipt:
    """The receipt with each line's category taken from the merchant's catalogue by the
    line's ``sku`` (a line that already names a category keeps it)."""
    wanted = {_code(line) for line in receipt.lines if line.category is None} - {""}
    if not wanted:
        return receipt
    found = await categories_of(deps, merchant_id, wanted)
    if not found:
        return receipt
    lines = [
        line.model_copy(update={"category": found[_code(line)]})
        if line.category is None and _code(line) in found
        else line
        for line in receipt.lines
    ]
    return receipt.model_copy(update={"lines": lines})


async def categories_of(deps: Deps, merchant_id: int, codes: Iterable[str]) -> dict[str, str]:
    """Product code -> category, for the codes the catalogue covers (one query; sized
    for a receipt's codes, at most 500 of up to 128 characters)."""
    codes = set(codes)
    keys = sorted({key for code in codes for key in _keys(code)})
    if not keys:
        return {}
    names = {f"k{i}": key for i, key in enumerate(keys)}
    rows = await deps.db.fetch_all(
        "SELECT code, category FROM product_catalogue WHERE merchant_id = :m "
        f"AND code IN ({', '.join(':' + name for name in names)})",
        {"m": merchant_id, **names},
    )
    if not rows:
        return {}
    entries = {str(row["code"]): str(row["category"]) for row in rows}
    result = {}
    for code in codes:
        category = _resolve(code, entries)
        if category is not None:
            result[code] = category
    return result


def _code(line: wire.ReceiptLine) -> str:
    return line.sku.strip() if line.sku else ""


def _keys(code: str) -> list[str]:
    """The entries that could decide ``code``: itself, then its prefixes as rules."""
    exact = [] if code.endswith("*") else [code]  # a stored code never ends in «*»
    return exact + [code[:n] + "*" for n in range(min(len(code), MAX_PREFIX) + 1)]


def _resolve(code: str, entries: dict[str, str]) -> str | None:
    if not code.endswith("*") and code in entries:
        return entries[code]
    for n in range(min(len(code), MAX_PREFIX), -1, -1):
        category = entries.get(code[:n] + "*")
        if category is not None:
            return category
    return None


# ---- administration ------------------------------------------------------------------


def program_categories(program: Program) -> set[str]:
    """The categories a program's rules speak of: its category overrides and the
    categories its modifiers, quantity promotions and redeemable goods select."""
    known = set(program.categories)
    selectors = [modifier.goods for modifier in program.modifiers]
    selectors += [promotion.goods for promotion in program.quantity_promotions]
    selectors.append(program.redeemable_goods)
    for selector in selectors:
        if selector is not None:
            known.update(selector.categories)
    return known


async def replace(
    deps: Deps, merchant_id: int, data: bytes, kind: str, tz: ZoneInfo
) -> api.CatalogueUploaded:
    """The merchant's catalogue becomes the file's, as a whole, or stays as it was."""
    program = await live_program(deps, merchant_id)
    if program is None:
        raise Conflict(
            "no_program",
            "У компании нет активной программы лояльности: категории каталога проверяются "
            "по ней — сначала опубликуйте программу",
        )
    parsed = await asyncio.to_thread(catalogue_file.parse, data, kind)
    _check(parsed, program_categories(program.program))
    now = deps.clock()
    at = to_epoch(now)
    rows = [
        {"m": merchant_id, "code": code, "category": category, "now": at}
        for code, (category, _) in parsed.entries.items()
    ]
    async with deps.db.transaction() as tx:
        if tx.dialect == "postgresql":  # two uploads of one merchant: one after the other
            await tx.execute(
                "SELECT id FROM merchants WHERE id = :m FOR UPDATE", {"m": merchant_id}
            )
        replaced = await tx.fetch_value(
            "SELECT COUNT(*) FROM product_catalogue WHERE merchant_id = :m", {"m": merchant_id}
        )
        await tx.execute("DELETE FROM product_catalogue WHERE merchant_id = :m", {"m": merchant_id})
        await tx.execute_many(_INSERT, rows)
    prefixes = sum(1 for code in parsed.entries if code.endswith("*"))
    return api.CatalogueUploaded(
        entries=len(rows), codes=len(rows) - prefixes, prefixes=prefixes,
        replaced=int(replaced or 0), uploaded_at=datetime.fromtimestamp(at, tz),
    )  # fmt: skip


def _check(parsed: ParsedCatalogue, known: set[str]) -> None:
    """Refuses the file, naming its lines, when a line is broken or its category is not
    one of the program's."""
    unknown: dict[str, list[int]] = {}
    for category, line in parsed.entries.values():
        if category not in known:
            unknown.setdefault(category, []).append(line)
    if not parsed.errors and not unknown:
        return
    parts = []
    if parsed.errors:
        errors = sorted(parsed.errors)
        listed = "; ".join(f"строка {line}: {text}" for line, text in errors[:MAX_LISTED])
        parts.append(f"Ошибки в строках ({len(errors)}): {listed}{_more(len(errors))}.")
    if unknown:
        parts.append(_unknown_text(unknown, known))
    parts.append("Ничего не загружено, каталог остался прежним.")
    code = "catalogue_invalid_rows" if parsed.errors else "catalogue_unknown_category"
    raise Unprocessable(code, " ".join(parts))


def _unknown_text(unknown: dict[str, list[int]], known: set[str]) -> str:
    named = []
    for category, lines in list(unknown.items())[:MAX_LISTED]:
        shown = ", ".join(str(line) for line in lines[:MAX_LISTED])
        word = "строка" if len(lines) == 1 else "строки"
        named.append(f"«{category[:64]}» — {word} {shown}{_more(len(lines))}")
    more = len(unknown) - MAX_LISTED
    text = "Таких категорий нет в действующей программе: " + "; ".join(named)
    text += f" и ещё {more} категорий." if more > 0 else "."
    if known:
        return text + " Категории программы: " + ", ".join(sorted(known)) + "."
    return text + " В программе нет категорий товаров: задайте их в программе (categories)."


def _more(count: int) -> str:
    return f" и ещё {count - MAX_LISTED}" if count > MAX_LISTED else ""


async def page(
    deps: Deps, merchant_id: int, tz: ZoneInfo, *, limit: int, after: int | None
) -> api.CataloguePage:
    """The catalogue in the file's order, ``limit`` entries after the cursor."""
    summary = await deps.db.fetch_one(
        "SELECT COUNT(*) AS total, SUM(CASE WHEN code LIKE '%*' THEN 1 ELSE 0 END) AS prefixes, "
        "MAX(created_at) AS uploaded_at FROM product_catalogue WHERE merchant_id = :m",
        {"m": merchant_id},
    )
    rows = await deps.db.fetch_all(
        "SELECT id, code, category FROM product_catalogue WHERE merchant_id = :m "
        "AND id > :after ORDER BY id LIMIT :limit",
        {"m": merchant_id, "after": after or 0, "limit": limit + 1},
    )
    items = [
        api.CatalogueEntry(id=int(r["id"]), code=str(r["code"]), category=str(r["category"]))
        for r in rows[:limit]
    ]
    uploaded = None if summary is None else summary["uploaded_at"]
    return api.CataloguePage(
        total=0 if summary is None else int(summary["total"]),
        prefixes=0 if summary is None else int(summary["prefixes"] or 0),
        uploaded_at=None if uploaded is None else datetime.fromtimestamp(int(uploaded), tz),
        items=items, next=items[-1].id if len(rows) > limit else None,
    )  # fmt: skip


async def export_csv(deps: Deps, merchant_id: int) -> bytes:
    """The whole catalogue as the file it came from (UTF-8 with BOM, «;»), to edit in
    Excel and upload again."""
    rows = await deps.db.fetch_all(
        "SELECT code, category FROM product_catalogue WHERE merchant_id = :m ORDER BY id",
        {"m": merchant_id},
    )
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(("код", "категория"))
    writer.writerows((row["code"], row["category"]) for row in rows)
    return out.getvalue().encode("utf-8-sig")


async def clear(deps: Deps, merchant_id: int) -> api.CatalogueCleared:
    """Removes the whole catalogue: lines keep no category from it any more."""
    async with deps.db.transaction() as tx:
        deleted = await tx.fetch_value(
            "SELECT COUNT(*) FROM product_catalogue WHERE merchant_id = :m", {"m": merchant_id}
        )
        await tx.execute("DELETE FROM product_catalogue WHERE merchant_id = :m", {"m": merchant_id})
    return api.CatalogueCleared(deleted=int(deleted or 0))
