"""Import of an existing customer base: a dry run that names every bad row, and the real
run, all or nothing per file, in set-based statements.

Decisions (also in ``fixtures/import/README.md``):
- a customer already in the base with the same phone is merged: the file's lots are
  added, empty fields (name, email, birthday, tier, consents; lifetime purchases when
  0) are filled, nothing already there is overwritten; a card is added beside theirs;
- a card number of another customer of the base is a bad row;
- imported customers get no welcome gift, ``registration_channel`` is ``import``, a
  virtual card like every customer; bonuses become lots of kind ``import``, spendable at
  once, lapsing at the merchant's local midnight after their date, journaled as
  ``import`` entries keyed ``import:<import>:<lot>``;
- the file's SHA-256 is recorded per merchant: uploading it again answers the first
  result and changes nothing (a dry run of it says so too).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime

from cloud.clock import to_epoch
from cloud.db.database import Executor, Transaction, is_unique_violation
from cloud.errors import Conflict, NotFound
from cloud.services.customers import live_program
from cloud.services.customers_io import columns as c
from cloud.services.customers_io.prepare import (
    Prepared,
    computed_tier,
    draw_virtual_number,
    prepare,
)
from cloud.services.customers_io.validate import Progress, RowError, parse_file, tier_lookup
from cloud.services.deps import Deps
from cloud.services.merchants import zone
from cloud.services.programs import LoadedProgram

MAX_LISTED_ERRORS = 1000
CHUNK = 500


@dataclass(slots=True)
class ImportResult:
    status: str
    """``dry_run``, ``imported``, ``already_imported`` or ``rejected``."""
    rows: int = 0
    customers_new: int = 0
    customers_merged: int = 0
    lots: int = 0
    bonuses: int = 0
    errors_total: int = 0
    errors: list[RowError] = field(default_factory=list)
    import_id: int | None = None
    imported_at: int | None = None


def _chunks(items: Sequence[str]) -> list[tuple[str, dict[str, str]]]:
    """``(placeholders, params)`` of an IN list per chunk of ``CHUNK`` values."""
    out = []
    for start in range(0, len(items), CHUNK):
        part = items[start : start + CHUNK]
        params = {f"v{i}": value for i, value in enumerate(part)}
        out.append((", ".join(f":v{i}" for i in range(len(part))), params))
    return out


async def _existing(
    executor: Executor, merchant_id: int, prepared: list[Prepared], lock: bool
) -> tuple[dict[str, tuple[int, str | None, int]], dict[str, int]]:
    """Customers of the base by phone index ``(id, tier, lifetime purchases)``, and the
    owners of the file's card numbers by card index (locked on PostgreSQL in a real run)."""
    suffix = " FOR UPDATE" if lock and getattr(executor, "dialect", "") == "postgresql" else ""
    phones: dict[str, tuple[int, str | None, int]] = {}
    for marks, params in _chunks([p.phone_index for p in prepared]):
        for row in await executor.fetch_all(
            "SELECT id, phone_index, tier_code, lifetime_purchases FROM customers "
            f"WHERE merchant_id = :m AND phone_index IN ({marks}) ORDER BY id{suffix}",
            {"m": merchant_id, **params},
        ):
            phones[str(row["phone_index"])] = (
                int(row["id"]),
                row["tier_code"],
                int(row["lifetime_purchases"]),
            )
    cards: dict[str, int] = {}
    wanted = [p.card_index for p in prepared if p.card_index] + [p.virtual_index for p in prepared]
    for marks, params in _chunks(wanted):
        for row in await executor.fetch_all(
            "SELECT lookup_index, customer_id FROM cards "
            f"WHERE merchant_id = :m AND lookup_index IN ({marks})",
            {"m": merchant_id, **params},
        ):
            cards[str(row["lookup_index"])] = int(row["customer_id"])
    return phones, cards  # fmt: skip


def _card_errors(
    prepared: list[Prepared], phones: dict[str, tuple[int, str | None, int]], cards: dict[str, int]
) -> list[RowError]:
    errors = []
    for item in prepared:
        if item.card_index is None or item.card_index not in cards:
            continue
        existing = phones.get(item.phone_index)
        if existing is None or existing[0] != cards[item.card_index]:
            errors.append(RowError(item.entry.field_rows["card"], c.BY_KEY["card"].title,
                                   "Карта уже привязана к другому клиенту"))  # fmt: skip
    return errors


async def _stored(executor: Executor, merchant_id: int, digest: str) -> ImportResult | None:
    stored = await executor.fetch_value(
        "SELECT result FROM customer_imports WHERE merchant_id = :m AND digest = :d",
        {"m": merchant_id, "d": digest},
    )
    if stored is None:
        return None
    data = json.loads(stored)
    data["errors"] = [RowError(**error) for error in data["errors"]]
    return ImportResult(**{**data, "status": "already_imported"})


def _finish(result: ImportResult, errors: list[RowError]) -> ImportResult:
    errors.sort(key=lambda error: (error.row, error.column))
    result.errors_total = len(errors)
    result.errors = errors[:MAX_LISTED_ERRORS]
    return result


async def import_base(
    deps: Deps,
    merchant_id: int,
    data: bytes,
    kind: str,
    *,
    dry_run: bool,
    label: str = "",
    progress: Progress | None = None,
) -> ImportResult:
    """Check (``dry_run``) or import a base file of ``kind`` ``xlsx`` / ``csv``."""
    digest = hashlib.sha256(data).hexdigest()
    timezone = await deps.db.fetch_value(
        "SELECT timezone FROM merchants WHERE id = :m", {"m": merchant_id}
    )
    if timezone is None:
        raise NotFound("merchant_not_found", f"Компания #{merchant_id} не найдена")
    replay = await _stored(deps.db, merchant_id, digest)
    if replay is not None:
        return replay
    tz = zone(str(timezone))
    now = deps.clock()
    program = await live_program(deps, merchant_id)
    tiers = tier_lookup(
        None if program is None else [(t.code, t.name) for t in program.program.tiers]
    )
    parsed = await asyncio.to_thread(
        parse_file, data, kind, now.astimezone(tz).date(), tiers, progress
    )
    entries = list(parsed.entries.values())
    prepared = await asyncio.to_thread(
        prepare, entries, merchant_id, deps.cipher, deps.index, tz, program
    )
    result = ImportResult("dry_run", rows=parsed.rows)
    if dry_run:
        phones, cards = await _existing(deps.db, merchant_id, prepared, lock=False)
        _count(result, prepared, phones)
        return _finish(result, parsed.errors + _card_errors(prepared, phones, cards))
    if parsed.errors:
        result.status = "rejected"
        return _finish(result, parsed.errors)
    try:
        async with deps.db.transaction() as tx:
            done = await _import_in(tx, deps, merchant_id, digest, prepared, program, now,
                                    label, result, progress)  # fmt: skip
    except Exception as exc:
        # A till registered one of the file's phones or cards between our check and our
        # insert: nothing was written; the next upload sees the customer and merges.
        if not is_unique_violation(exc):
            raise
        raise Conflict(
            "import_conflict",
            "Пока файл загружался, на кассе зарегистрировали клиента из него: ничего не "
            "загружено, повторите загрузку",
        ) from exc
    if done is not None:
        return done
    return _finish(result, [])


async def _import_in(
    tx: Transaction, deps: Deps, merchant_id: int, digest: str, prepared: list[Prepared],
    program: LoadedProgram | None, now: datetime, label: str, result: ImportResult,
    progress: Progress | None,
) -> ImportResult | None:  # fmt: skip
    """The real run inside its transaction; an answer when it writes nothing (a replay,
    a card of another customer), None once written into ``result``."""
    if tx.dialect == "postgresql":  # one import of a merchant at a time
        await tx.execute("SELECT id FROM merchants WHERE id = :m FOR UPDATE", {"m": merchant_id})
    replay = await _stored(tx, merchant_id, digest)
    if replay is not None:
        return replay
    phones, cards = await _existing(tx, merchant_id, prepared, lock=True)
    errors = _card_errors(prepared, phones, cards)
    if errors:
        result.status = "rejected"
        return _finish(result, errors)
    result.status = "imported"
    _count(result, prepared, phones)
    for item in prepared:  # a merged customer's tier follows their own purchases
        known = phones.get(item.phone_index)
        if known is not None and known[2] > 0 and item.params["explicit_tier"] is None:
            item.params["tier"] = computed_tier(program, known[2])
    await _write(tx, deps, merchant_id, prepared, phones, cards, now, digest, label, result,
                 progress)  # fmt: skip
    return None


def _count(
    result: ImportResult, prepared: list[Prepared], phones: dict[str, tuple[int, str | None, int]]
) -> None:
    result.customers_merged = sum(1 for p in prepared if p.phone_index in phones)
    result.customers_new = len(prepared) - result.customers_merged
    result.lots = sum(len(p.lots) for p in prepared)
    result.bonuses = sum(amount for p in prepared for amount, _ in p.lots)


_INSERT_CUSTOMER = (
    "INSERT INTO customers (merchant_id, phone_index, phone_enc, name_enc, email_enc, "
    "birthday_enc, tier_code, lifetime_purchases, purchase_count, last_purchase_at, "
    "registration_channel, registered_store_id, consent_messages_at, "
    "consent_personal_data_at, created_at) VALUES (:m, :pi, :phone, :name, :email, "
    ":birthday, :tier, :lp, 0, NULL, 'import', NULL, :cm, :cpd, :now)"
)
# Merging never overwrites: only empty fields (and lifetime purchases of 0) are filled.
_MERGE_CUSTOMER = (
    "UPDATE customers SET name_enc = COALESCE(name_enc, :name), "
    "email_enc = COALESCE(email_enc, :email), birthday_enc = COALESCE(birthday_enc, :birthday), "
    "tier_code = COALESCE(tier_code, :tier), "
    "lifetime_purchases = CASE WHEN lifetime_purchases = 0 THEN :lp ELSE lifetime_purchases END, "
    "consent_messages_at = COALESCE(consent_messages_at, :cm), "
    "consent_personal_data_at = COALESCE(consent_personal_data_at, :cpd) "
    "WHERE merchant_id = :m AND id = :id"
)
_INSERT_CARD = (
    "INSERT INTO cards (merchant_id, customer_id, kind, lookup_index, number_enc, created_at) "
    "VALUES (:m, :c, :kind, :i, :number, :now)"
)
_INSERT_LOT = (
    "INSERT INTO bonus_lots (merchant_id, customer_id, kind, amount, remaining, "
    "available_from, expires_at, receipt_id, created_at) "
    "VALUES (:m, :c, 'import', :a, :a, :now, :exp, NULL, :now)"
)
_JOURNAL_LOTS = (
    "INSERT INTO ledger_entries (merchant_id, customer_id, kind, amount, lot_id, receipt_id, "
    "idempotency_key, created_at) SELECT merchant_id, customer_id, 'import', amount, id, NULL, "
    "'import:' || CAST(:imp AS TEXT) || ':' || CAST(id AS TEXT), created_at FROM bonus_lots "
    "WHERE merchant_id = :m AND kind = 'import' AND id > :before"
)


async def _write(
    tx: Transaction, deps: Deps, merchant_id: int, prepared: list[Prepared],
    phones: dict[str, tuple[int, str | None, int]], cards: dict[str, int], now_dt: datetime,
    digest: str, label: str, result: ImportResult, progress: Progress | None,
) -> None:  # fmt: skip
    now = to_epoch(now_dt)
    import_id = await tx.insert(
        "INSERT INTO customer_imports (merchant_id, digest, rows, credential_label, result, "
        "created_at) VALUES (:m, :d, :rows, :label, '{}', :now) RETURNING id",
        {"m": merchant_id, "d": digest, "rows": result.rows, "label": label, "now": now},
    )
    new = [p for p in prepared if p.phone_index not in phones]
    merged = [p for p in prepared if p.phone_index in phones]
    before = int(await tx.fetch_value("SELECT COALESCE(MAX(id), 0) FROM customers"))
    columns = ("m", "pi", "phone", "name", "email", "birthday", "tier", "lp", "cm", "cpd")
    await tx.execute_many(
        _INSERT_CUSTOMER, [{**{k: p.params[k] for k in columns}, "now": now} for p in new]
    )
    ids = {str(row["phone_index"]): int(row["id"]) for row in await tx.fetch_all(
        "SELECT id, phone_index FROM customers WHERE merchant_id = :m AND id > :before",
        {"m": merchant_id, "before": before},
    )}  # fmt: skip
    if progress is not None:
        progress("written", len(new))
    await tx.execute_many(
        _MERGE_CUSTOMER,
        [{**{k: p.params[k] for k in columns if k not in ("pi", "phone")},
          "id": phones[p.phone_index][0]} for p in merged],
    )  # fmt: skip
    ids.update({p.phone_index: phones[p.phone_index][0] for p in merged})
    taken = set(cards)
    card_rows: list[dict[str, object]] = []
    for p in new:
        customer = ids[p.phone_index]
        card_rows.append({"m": merchant_id, "c": customer, "kind": "phone", "i": p.phone_index,
                          "number": p.params["phone"], "now": now})  # fmt: skip
        while p.virtual_index in taken:  # one chance in 10^11 per card: draw again
            number = draw_virtual_number()
            p.virtual_index = deps.index.of(merchant_id, "card", number)
            p.virtual_enc = deps.cipher.encrypt(merchant_id, number)
        taken.add(p.virtual_index)
        card_rows.append({"m": merchant_id, "c": customer, "kind": "virtual",
                          "i": p.virtual_index, "number": p.virtual_enc, "now": now})  # fmt: skip
    for p in prepared:
        if p.card_index is not None and p.card_index not in cards:
            card_rows.append({"m": merchant_id, "c": ids[p.phone_index], "kind": "physical",
                              "i": p.card_index, "number": p.card_enc, "now": now})  # fmt: skip
    await tx.execute_many(_INSERT_CARD, card_rows)
    lot_before = int(await tx.fetch_value("SELECT COALESCE(MAX(id), 0) FROM bonus_lots"))
    await tx.execute_many(_INSERT_LOT, [
        {"m": merchant_id, "c": ids[p.phone_index], "a": amount, "exp": expires, "now": now}
        for p in prepared for amount, expires in p.lots
    ])  # fmt: skip
    await tx.execute(_JOURNAL_LOTS, {"imp": str(import_id), "m": merchant_id, "before": lot_before})
    # A tier is recorded as a change only where the customer had none.
    await tx.execute_many(
        "INSERT INTO tier_changes (merchant_id, customer_id, from_tier, to_tier, reason, "
        "receipt_id, created_at) VALUES (:m, :c, NULL, :t, 'import', NULL, :now)",
        [{"m": merchant_id, "c": ids[p.phone_index], "t": p.params["tier"], "now": now}
         for p in prepared if p.params["tier"] is not None
         and (p.phone_index not in phones or phones[p.phone_index][1] is None)],
    )  # fmt: skip
    result.import_id, result.imported_at = import_id, now
    stored = asdict(result)
    await tx.execute(
        "UPDATE customer_imports SET result = :r WHERE id = :id",
        {"r": json.dumps(stored, ensure_ascii=False), "id": import_id},
    )
    if progress is not None:
        progress("written", len(prepared))
