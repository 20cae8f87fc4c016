"""The customer snapshot: program and customer in one query (the hot path's only read)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from cloud import engine
from cloud.clock import from_epoch, to_epoch
from cloud.db.database import Executor, Row, Transaction
from cloud.engine import types as et
from cloud.errors import Conflict, NotFound, Unprocessable
from cloud.ledger.balance import HOLDS_ACTIVE_SQL, LOTS_AVAILABLE_SQL
from cloud.phones import normalize_card, normalize_phone
from cloud.services import experiments
from cloud.services.deps import Deps
from cloud.services.merchants import TerminalContext, credential_check
from cloud.services.programs import LoadedProgram
from schemas import checkout as wire
from schemas.money import line_amount, to_kopecks

PERIOD_PURCHASES_SQL = (
    "SELECT COALESCE(SUM(CASE WHEN kind = 'sale' THEN amount ELSE -amount END), 0) "
    "FROM receipts WHERE merchant_id = :m AND customer_id = {customer} "
    "AND created_at >= :start AND created_at < :now"
)


@functools.cache
def snapshot_sql(by: str, with_period: bool, second: bool, proof: str | None, plastic: bool) -> str:
    """The snapshot query by ``card`` or customer ``id``: with the spend-over-a-period
    sum or without, resolving the phone named beside a card (``second``), proving a
    remembered credential live (``proof``: its ``Liveness.sql``), counting the
    customer's plastic cards or not. A handful of texts per process, built once."""
    columns = (
        "SELECT m.active_program_version_id AS program_id, m.running_experiment_id AS experiment, "
        "c.id AS customer_id, c.tier_code, "
        "c.lifetime_purchases, c.purchase_count, c.last_purchase_at, c.birthday_enc, c.blocked_at, "
        f"({LOTS_AVAILABLE_SQL.format(customer='c.id')}) AS lots, "
        f"({HOLDS_ACTIVE_SQL.format(customer='c.id')} "
        "AND NOT (source = :src AND receipt_external_id = :rid)) AS held"
    )
    if with_period:
        columns += f", ({PERIOD_PURCHASES_SQL.format(customer='c.id')}) AS period"
    if second:
        # A receipt naming both a card and a phone: whose phone it is, in the same query.
        columns += (
            ", (SELECT customer_id FROM cards WHERE merchant_id = :m "
            "AND lookup_index = :idx2) AS second_customer"
        )
    if proof is not None:
        columns += _verify_columns(proof)
    if plastic:
        # A physical_card program's quote tells the cashier when the customer has no
        # plastic card yet: an index probe (ix_cards_customer) in the same query.
        columns += (
            ", (SELECT COUNT(*) FROM cards p WHERE p.customer_id = c.id "
            "AND p.merchant_id = m.id AND p.kind = 'physical') AS plastic"
        )
    if by == "card":
        joins = (
            "LEFT JOIN cards k ON k.merchant_id = m.id AND k.lookup_index = :idx "
            "LEFT JOIN customers c ON c.id = k.customer_id AND c.merchant_id = m.id "
        )
    else:
        joins = "LEFT JOIN customers c ON c.id = :cid AND c.merchant_id = m.id "
    return f"{columns} FROM merchants m {joins}WHERE m.id = :m"


def _verify_columns(proof: str) -> str:
    # A remembered terminal credential proves itself live in the same read.
    return f", m.status AS merchant_status, {proof} AS credential_zone"


@functools.cache
def program_only_sql(proof: str | None) -> str:
    """The program (and a remembered credential's proof) for a receipt with no customer."""
    columns = "" if proof is None else _verify_columns(proof)
    return (
        f"SELECT m.active_program_version_id AS program_id{columns} "
        "FROM merchants m WHERE m.id = :m"
    )


LIVE = "live"
Sold = experiments.Split | None | str
"""A receipt's A/B test: ``LIVE`` (the one running now, read in the snapshot query),
or the one running when a late sale was sold (None: none was)."""

CARD_BLOCKED_MESSAGE = "Карта заблокирована: бонусы не начисляются и не списываются"


@dataclass(frozen=True, slots=True)
class Snapshot:
    program: LoadedProgram
    customer: et.CustomerSnapshot | None
    blocked_customer_id: int | None = None
    """The customer the receipt names when the merchant has blocked their card: the
    receipt is then priced as if no card was shown (``customer`` is None), so it
    neither accrues nor spends, and the cashier is told why."""
    without_plastic_card: bool = False
    """A ``physical_card`` program's customer with no plastic card bound yet (read only
    when the caller asked: the quote tells the cashier to hand one out)."""


def card_blocked() -> Unprocessable:
    return Unprocessable("card_blocked", CARD_BLOCKED_MESSAGE + ": оплата бонусами недоступна")


def engine_lines(receipt: wire.Receipt) -> list[et.Line]:
    lines = []
    for line in receipt.lines:
        price = to_kopecks(line.price)
        amount = (
            to_kopecks(line.amount)
            if line.amount is not None
            else line_amount(price, line.quantity)
        )
        floor = 0
        if line.minimum_price is not None:
            floor = min(line_amount(to_kopecks(line.minimum_price), line.quantity), amount)
        lines.append(
            et.Line(
                id=line.id,
                price=price,
                quantity=line.quantity,
                amount=amount,
                category=line.category,
                floor=floor,
                sku=line.sku,
            )
        )
    return lines


def purchase_time(receipt_time: datetime | None, now: datetime, tz: ZoneInfo) -> datetime:
    """The terminal's local time when it sent one (a naive time is the store's zone)."""
    if receipt_time is None:
        return now
    if receipt_time.tzinfo is None:
        receipt_time = receipt_time.replace(tzinfo=tz)
    return receipt_time.astimezone(UTC)


def customer_lookup_index(deps: Deps, merchant_id: int, ref: wire.CustomerRef) -> str | None:
    if ref.card is not None:
        return deps.index.of(merchant_id, "card", normalize_card(ref.card))
    if ref.phone is not None:
        return deps.index.of(merchant_id, "phone", normalize_phone(ref.phone))
    return None


async def read_snapshot(
    deps: Deps,
    executor: Executor,
    terminal: TerminalContext,
    receipt: wire.Receipt,
    source: str,
    now: int,
    program: LoadedProgram | None = None,
    plastic: bool = False,
    sold_during: Sold = LIVE,
) -> Snapshot:
    """Program and customer in one query (the hot path's only database read).
    ``program`` prices with a given version instead of the live one (preview).
    ``plastic``: under a ``physical_card`` program, also say whether the customer has a
    plastic card (a column of the same query). ``sold_during``: a late sale's A/B test
    (the one running when it was sold, or None), instead of the one running now."""
    params: dict[str, object] = {
        "m": terminal.merchant_id, "now": now, "src": source, "rid": receipt.id,
    }  # fmt: skip
    # The program is known only from the row, but the spend-over-a-period sum belongs in
    # the same query: guess with the version this merchant ran last time (versions
    # rarely change), and read the sum separately only when the guess was wrong.
    expected = program or deps.programs.last_active(terminal.merchant_id)
    # Unknown before the first read of the process: counted then, whatever the program.
    plastic = plastic and (expected is None or expected.program.card == "physical_card")
    start = _window_start(expected, now, terminal.timezone)
    if start is not None:
        params["start"] = start
    liveness = terminal.credential
    proof = None if liveness is None else liveness.sql
    if liveness is not None:
        params.update(liveness.params)
    ref = receipt.customer
    if ref is None:
        only = {"m": terminal.merchant_id, **({} if liveness is None else liveness.params)}
        row = await executor.fetch_one(program_only_sql(proof), only)
    elif ref.customer_id is not None and ref.phone is None and ref.card is None:
        params["cid"] = ref.customer_id
        row = await executor.fetch_one(
            snapshot_sql("id", start is not None, False, proof, plastic), params
        )
    elif ref.card is not None and ref.phone is not None:
        params["idx"] = customer_lookup_index(deps, terminal.merchant_id, ref)
        params["idx2"] = deps.index.of(terminal.merchant_id, "phone", normalize_phone(ref.phone))
        row = await executor.fetch_one(
            snapshot_sql("card", start is not None, True, proof, plastic), params
        )
    else:
        params["idx"] = customer_lookup_index(deps, terminal.merchant_id, ref)
        row = await executor.fetch_one(
            snapshot_sql("card", start is not None, False, proof, plastic), params
        )
    if row is None:
        raise NotFound("merchant_not_found", "Компания не найдена")
    if liveness is not None:
        credential_check(terminal, row["credential_zone"], row["merchant_status"])
    if ref is not None and (ref.phone, ref.card, ref.customer_id).count(None) < 2:
        _check_one_customer(ref, row)
    if program is None:
        if row["program_id"] is None:
            raise Conflict("no_program", "У компании нет активной программы лояльности")
        program = await deps.programs.get(int(row["program_id"]))
        deps.programs.remember_active(terminal.merchant_id, program)
    customer = None
    if ref is not None:
        if row["customer_id"] is None:
            raise NotFound("customer_not_found", "Клиент не найден")
        if row["blocked_at"] is not None:
            return Snapshot(
                program=program, customer=None, blocked_customer_id=int(row["customer_id"])
            )
        split = sold_during
        if split is LIVE:
            split = None
            if row["experiment"] is not None:
                split = await deps.experiments.get(executor, int(row["experiment"]))
        if isinstance(split, experiments.Split):
            # An A/B test: its customers in variant B are priced by B.
            program = await experiments.program_for(
                deps.programs, executor, split, program, int(row["customer_id"])
            )
        period = None
        if program is not expected:
            window = _window_start(program, now, terminal.timezone)
            if window is not None and window == start:
                # The same spend window (an A/B variant's tier rates): the query's sum holds.
                period = int(row["period"])
            start = window
        elif start is not None:
            period = int(row["period"])
        customer = await _snapshot_from_row(
            deps, executor, terminal.merchant_id, program, row, now, start, period
        )
        # A guess of the program that missed leaves the count out: no message then.
        if plastic and program.program.card == "physical_card" and not int(row["plastic"]):
            return Snapshot(program=program, customer=customer, without_plastic_card=True)
    return Snapshot(program=program, customer=customer)


_REF_NAMES = {"phone": "телефон", "card": "карта", "customer_id": "номер клиента"}


def _check_one_customer(ref: wire.CustomerRef, row: Row) -> None:
    """Every identifier a receipt names must name the same customer: a phone of one
    customer beside the card of another is refused, not priced for either of them."""
    found = row["customer_id"]
    found = None if found is None else int(found)
    named: dict[str, int | None] = {}
    if ref.card is not None:
        named["card"] = found
        if ref.phone is not None:
            second = row["second_customer"]
            named["phone"] = None if second is None else int(second)
    else:
        named["phone"] = found
    if ref.customer_id is not None:
        named["customer_id"] = ref.customer_id
    if len(set(named.values())) > 1 and any(v is not None for v in named.values()):
        names = [_REF_NAMES[key] for key in ("phone", "card", "customer_id") if key in named]
        listed = ", ".join(names[:-1]) + " и " + names[-1]
        raise Unprocessable(
            "customer_mismatch",
            f"{listed[0].upper()}{listed[1:]} в чеке указывают на разных клиентов",
        )


def _window_start(program: LoadedProgram | None, now: int, tz: ZoneInfo) -> int | None:
    if program is None:
        return None
    start = engine.spend_window_start(program.compiled, datetime.fromtimestamp(now, UTC), tz)
    return None if start is None else to_epoch(start)


async def _snapshot_from_row(
    deps: Deps,
    executor: Executor,
    merchant_id: int,
    program: LoadedProgram,
    row: Row,
    now: int,
    start: int | None,
    period: int | None,
) -> et.CustomerSnapshot:
    """``start``: where the program's spend window begins (None: no such rule);
    ``period``: the spend over it when the snapshot query already summed it, otherwise
    it is read here."""
    customer_id = int(row["customer_id"])
    birthday = None
    if program.compiled.uses_birthday:
        birthday = deps.cipher.decrypt_optional(merchant_id, row["birthday_enc"])
    period_purchases = period or 0
    if start is not None and period is None:
        period_purchases = int(
            await executor.fetch_value(
                PERIOD_PURCHASES_SQL.format(customer=":c"),
                {"m": merchant_id, "c": customer_id, "start": start, "now": now},
            )
        )
    return et.CustomerSnapshot(
        customer_id=customer_id,
        tier_code=row["tier_code"],
        lifetime_purchases=int(row["lifetime_purchases"]),
        available_bonuses=max(int(row["lots"]) - int(row["held"]), 0),
        purchase_count=int(row["purchase_count"]),
        birthday=None if birthday is None else date.fromisoformat(birthday),
        last_purchase_at=from_epoch(row["last_purchase_at"]),
        period_purchases=period_purchases,
    )


async def locked_snapshot(
    deps: Deps,
    tx: Transaction,
    terminal: TerminalContext,
    receipt: wire.Receipt,
    source: str,
    now: int,
    program: LoadedProgram | None = None,
    sold_during: Sold = LIVE,
) -> Snapshot:
    """Resolve the customer, lock the account, then read the snapshot under the lock
    (priced by ``program`` when given, else by the live version)."""
    first = await read_snapshot(
        deps, tx, terminal, receipt, source, now, program, sold_during=sold_during
    )
    if first.customer is None or tx.dialect == "sqlite":
        # On SQLite the transaction already holds the only writer: the first read is
        # the locked one.
        return first
    await tx.lock_customer(terminal.merchant_id, first.customer.customer_id)
    ref = wire.CustomerRef(customer_id=first.customer.customer_id)
    locked = receipt.model_copy(update={"customer": ref})
    # The first read proved a remembered credential live; the second need not again.
    verified = replace(terminal, credential=None)
    return await read_snapshot(
        deps, tx, verified, locked, source, now, program, sold_during=sold_during
    )


async def verify_credential(executor: Executor, terminal: TerminalContext) -> None:
    """Prove a remembered terminal credential still live where no snapshot is read (a
    stored answer replayed): one query, and only for a remembered context."""
    liveness = terminal.credential
    if liveness is None:
        return
    row = await executor.fetch_one(
        program_only_sql(liveness.sql), {"m": terminal.merchant_id, **liveness.params}
    )
    if row is None:
        raise NotFound("merchant_not_found", "Компания не найдена")
    credential_check(terminal, row["credential_zone"], row["merchant_status"])
