"""The canonical checkout protocol: calculate, hold, confirm, cancel, refund.

Every terminal adapter ends up here. The hot path (``calculate``) reads one customer
snapshot in one query, takes the program from the in-process cache and runs the pure
engine; ``confirm`` does all its writes in one transaction under the customer's lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from cloud import engine
from cloud.clock import from_epoch, to_epoch
from cloud.db.database import Executor, Row, Transaction, is_unique_violation
from cloud.engine import types as et
from cloud.engine.text import format_date
from cloud.errors import BadRequest, Conflict, NotFound, Unprocessable
from cloud.ledger.balance import HOLDS_ACTIVE_SQL, LOTS_AVAILABLE_SQL, read_balance
from cloud.ledger.holds import active_hold, place_hold, release_holds
from cloud.ledger.lots import accrue, expire_customer_lots
from cloud.ledger.redemption import give_back, redeem, reverse_accrual
from cloud.phones import normalize_card, normalize_phone
from cloud.services.deps import Deps
from cloud.services.merchants import TerminalContext
from cloud.services.programs import LoadedProgram
from cloud.services.receipt_digest import receipt_digest, refund_digest
from cloud.services.sms_codes import consume_code, verify_code
from schemas import checkout as wire
from schemas.money import line_amount, to_kopecks, to_roubles
from schemas.program import Program

MILLI = Decimal(1000)

PERIOD_PURCHASES_SQL = (
    "SELECT COALESCE(SUM(CASE WHEN kind = 'sale' THEN amount ELSE -amount END), 0) "
    "FROM receipts WHERE merchant_id = :m AND customer_id = {customer} "
    "AND created_at >= :start AND created_at < :now"
)


def _snapshot_sql(by: str, with_period: bool, second: bool = False) -> str:
    columns = (
        "SELECT m.active_program_version_id AS program_id, c.id AS customer_id, c.tier_code, "
        "c.lifetime_purchases, c.purchase_count, c.last_purchase_at, c.birthday_enc, "
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
    if by == "card":
        joins = (
            "LEFT JOIN cards k ON k.merchant_id = m.id AND k.lookup_index = :idx "
            "LEFT JOIN customers c ON c.id = k.customer_id AND c.merchant_id = m.id "
        )
    else:
        joins = "LEFT JOIN customers c ON c.id = :cid AND c.merchant_id = m.id "
    return f"{columns} FROM merchants m {joins}WHERE m.id = :m"


# (by card or by id, with the spend-over-a-period sum or without)
SNAPSHOT_SQL = {
    (by, period): _snapshot_sql(by, period) for by in ("card", "id") for period in (False, True)
}
# By card, also resolving the phone the receipt names beside it.
SNAPSHOT_TWO_SQL = {period: _snapshot_sql("card", period, True) for period in (False, True)}
PROGRAM_ONLY_SQL = "SELECT active_program_version_id AS program_id FROM merchants WHERE id = :m"


@dataclass(frozen=True, slots=True)
class Snapshot:
    program: LoadedProgram
    customer: et.CustomerSnapshot | None


# ---- conversions ----------------------------------------------------------------------


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


# Responses are built from the engine's own integers with model_construct: validating
# what we just computed cost a fifth of a calculation (bench/RESULTS.md).
def _quote_lines(lines: tuple[et.QuoteLine, ...]) -> list[wire.QuoteLine]:
    return [
        wire.QuoteLine.model_construct(
            id=line.id,
            amount=to_roubles(line.amount),
            discount=to_roubles(line.discount),
            amount_after_discount=to_roubles(line.amount_after_discount),
            unit_price_after_discount=(
                None
                if line.unit_price_after_discount is None
                else to_roubles(line.unit_price_after_discount)
            ),
            max_redeem=to_roubles(line.max_redeem),
            redeem=to_roubles(line.redeem),
            accrual=to_roubles(line.accrual),
        )
        for line in lines
    ]


def _customer_summary(
    program: Program, customer_id: int, tier_code: str | None, balance: int
) -> wire.CustomerSummary:
    tier = program.tier(tier_code)
    return wire.CustomerSummary.model_construct(
        id=customer_id,
        tier=tier_code,
        tier_name=tier.name if tier else None,
        balance=to_roubles(balance),
    )


# ---- snapshot -------------------------------------------------------------------------


async def read_snapshot(
    deps: Deps,
    executor: Executor,
    terminal: TerminalContext,
    receipt: wire.Receipt,
    source: str,
    now: int,
    program: LoadedProgram | None = None,
) -> Snapshot:
    """Program and customer in one query (the hot path's only database read).
    ``program`` prices with a given version instead of the live one (preview)."""
    params: dict[str, object] = {
        "m": terminal.merchant_id, "now": now, "src": source, "rid": receipt.id,
    }  # fmt: skip
    # The program is known only from the row, but the spend-over-a-period sum belongs in
    # the same query: guess with the version this merchant ran last time (versions
    # rarely change), and read the sum separately only when the guess was wrong.
    expected = program or deps.programs.last_active(terminal.merchant_id)
    start = _window_start(expected, now, terminal.timezone)
    if start is not None:
        params["start"] = start
    ref = receipt.customer
    if ref is None:
        row = await executor.fetch_one(PROGRAM_ONLY_SQL, {"m": terminal.merchant_id})
    elif ref.customer_id is not None and ref.phone is None and ref.card is None:
        params["cid"] = ref.customer_id
        row = await executor.fetch_one(SNAPSHOT_SQL["id", start is not None], params)
    elif ref.card is not None and ref.phone is not None:
        params["idx"] = customer_lookup_index(deps, terminal.merchant_id, ref)
        params["idx2"] = deps.index.of(terminal.merchant_id, "phone", normalize_phone(ref.phone))
        row = await executor.fetch_one(SNAPSHOT_TWO_SQL[start is not None], params)
    else:
        params["idx"] = customer_lookup_index(deps, terminal.merchant_id, ref)
        row = await executor.fetch_one(SNAPSHOT_SQL["card", start is not None], params)
    if row is None:
        raise NotFound("merchant_not_found", "Компания не найдена")
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
        period = None
        if program is not expected:
            start = _window_start(program, now, terminal.timezone)
        elif start is not None:
            period = int(row["period"])
        customer = await _snapshot_from_row(
            deps, executor, terminal.merchant_id, program, row, now, start, period
        )
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


# ---- calculate ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PricedReceipt:
    """A calculation's result before it is rendered for a particular wire."""

    receipt_id: str
    snapshot: Snapshot
    quote: et.Quote


async def price_receipt(
    deps: Deps,
    terminal: TerminalContext,
    request: wire.CalculateRequest,
    source: str = "api",
    program: LoadedProgram | None = None,
) -> PricedReceipt:
    """A pure quote: per-line discounts, what may be spent, what will accrue. With
    ``program`` the receipt is priced by that version (a draft's preview)."""
    now = deps.clock()
    snapshot = await read_snapshot(
        deps, deps.db, terminal, request.receipt, source, to_epoch(now), program
    )
    quote = _price(
        snapshot, request.receipt, now, terminal, request.redeem, request.unit_price_exact
    )
    return PricedReceipt(request.receipt.id, snapshot, quote)


async def calculate(
    deps: Deps,
    terminal: TerminalContext,
    request: wire.CalculateRequest,
    source: str = "api",
    program: LoadedProgram | None = None,
) -> wire.Quote:
    """``price_receipt`` as the canonical wire model (adapters translate from it)."""
    priced = await price_receipt(deps, terminal, request, source, program)
    return _wire_quote(priced.receipt_id, priced.snapshot, priced.quote)


def _price(
    snapshot: Snapshot,
    receipt: wire.Receipt,
    now: datetime,
    terminal: TerminalContext,
    redeem: Decimal,
    unit_price_exact: bool,
) -> et.Quote:
    return engine.calculate(
        snapshot.program.compiled,
        snapshot.customer,
        engine_lines(receipt),
        purchase_time(receipt.created_at, now, terminal.timezone),
        terminal.timezone,
        redeem=to_kopecks(redeem),
        unit_price_exact=unit_price_exact,
    )


LEVEL_PREFIX = "Уровень: "
"""The engine's level line. One rule everywhere: a tier is named only for a customer —
on a receipt the tier that prices it for them (after the sale, on confirm), as
``tier`` and as this line; on the customer endpoints the tier they hold (``null``
until given). An anonymous receipt has no customer, so neither a ``tier`` nor a level
line (it used to print the entry tier's name as if someone held it)."""


def shown_tier(customer: et.CustomerSnapshot | None, quote_tier: str | None) -> str | None:
    """The tier a quote names: none without a customer."""
    return None if customer is None else quote_tier


def without_level(lines: Sequence[str]) -> list[str]:
    return [line for line in lines if not line.startswith(LEVEL_PREFIX)]


def _with_level(lines: Sequence[str], program: Program, tier_code: str | None) -> list[str]:
    """``lines`` with the level line naming ``tier_code`` (none without a tier)."""
    tier = program.tier(tier_code) if tier_code is not None else None
    if tier is None:
        return without_level(lines)
    return [LEVEL_PREFIX + tier.name if line.startswith(LEVEL_PREFIX) else line for line in lines]


def _wire_quote(receipt_id: str, snapshot: Snapshot, quote: et.Quote) -> wire.Quote:
    customer = snapshot.customer
    shown = shown_tier(customer, quote.tier_code)
    program = snapshot.program.program
    return wire.Quote.model_construct(
        receipt_id=receipt_id,
        program_version=snapshot.program.version,
        customer=None
        if customer is None
        else _customer_summary(program, customer.customer_id, shown, customer.available_bonuses),
        lines=_quote_lines(quote.lines),
        amount=to_roubles(quote.amount),
        discount=to_roubles(quote.discount),
        amount_after_discount=to_roubles(quote.amount_after_discount),
        max_redeem=to_roubles(quote.max_redeem),
        redeem=to_roubles(quote.redeem),
        accrual=to_roubles(quote.accrual),
        messages=_with_level(quote.messages, program, shown),
        slip=_with_level(quote.slip, program, shown),
    )


# ---- hold / cancel --------------------------------------------------------------------


def _require_customer(receipt: wire.Receipt) -> None:
    if receipt.customer is None:
        raise BadRequest("customer_required", "Для оплаты бонусами укажите клиента")


async def hold(
    deps: Deps, terminal: TerminalContext, request: wire.HoldRequest, source: str = "api"
) -> wire.HoldResult:
    """Reserve bonuses for the open receipt and spread the bonus payment over lines."""
    _require_customer(request.receipt)
    now = deps.clock()
    epoch = to_epoch(now)
    await _refuse_if_closed(deps.db, terminal.merchant_id, source, request.receipt.id)
    code_id = await _check_redeem_code(deps, terminal, request, source, epoch)
    async with deps.db.transaction() as tx:
        snapshot = await _locked_snapshot(deps, tx, terminal, request.receipt, source, epoch)
        # The receipt may have been confirmed while we waited for the lock.
        await _refuse_if_closed(tx, terminal.merchant_id, source, request.receipt.id)
        assert snapshot.customer is not None
        if code_id is None and snapshot.program.program.redeem_requires_sms_code:
            # The program was changed to ask for a code after we looked.
            raise _sms_code_required()
        if code_id is not None:
            # Used up with the hold it authorises: a refused hold leaves it usable.
            await consume_code(tx, terminal.merchant_id, code_id, epoch)
        if to_kopecks(request.amount) > snapshot.customer.available_bonuses:
            # The engine would cap the payment at the balance and call it a program limit.
            raise Unprocessable("insufficient_bonuses", "Недостаточно бонусов для резерва")
        quote = _price(
            snapshot, request.receipt, now, terminal, request.amount, request.unit_price_exact
        )
        expires = now + timedelta(seconds=deps.settings.hold_ttl_seconds)
        hold_id = await place_hold(
            tx,
            merchant_id=terminal.merchant_id,
            customer_id=snapshot.customer.customer_id,
            source=source,
            receipt_external_id=request.receipt.id,
            amount=quote.redeem,
            now=epoch,
            expires_at=to_epoch(expires),
            program_version_id=snapshot.program.id,
        )
    balance = snapshot.customer.available_bonuses - quote.redeem
    return wire.HoldResult(
        hold_id=hold_id,
        receipt_id=request.receipt.id,
        amount=to_roubles(quote.redeem),
        expires_at=local_time(expires, terminal.timezone),
        lines=_quote_lines(quote.lines),
        balance=to_roubles(balance),
        slip=[f"Оплата бонусами: {engine.format_roubles(quote.redeem)}"],
    )


def _sms_code_required() -> Unprocessable:
    return Unprocessable(
        "sms_code_required", "Для оплаты бонусами нужен код из SMS, отправленного клиенту"
    )


def local_time(instant: datetime, tz: ZoneInfo) -> datetime:
    """One rule for instants on the native API: the store's local time with its offset,
    to the second (as the customer endpoints answer)."""
    return instant.astimezone(tz).replace(microsecond=0)


async def _check_redeem_code(
    deps: Deps, terminal: TerminalContext, request: wire.HoldRequest, source: str, now: int
) -> int | None:
    """For programs that want the customer's SMS code to spend bonuses: check it (not
    yet used up) and return its id; None when the program does not ask for one."""
    snapshot = await read_snapshot(deps, deps.db, terminal, request.receipt, source, now)
    if not snapshot.program.program.redeem_requires_sms_code:
        return None
    if request.sms_code is None:
        raise _sms_code_required()
    assert snapshot.customer is not None
    phone_enc = await deps.db.fetch_value(
        "SELECT phone_enc FROM customers WHERE merchant_id = :m AND id = :c",
        {"m": terminal.merchant_id, "c": snapshot.customer.customer_id},
    )
    phone = deps.cipher.decrypt(terminal.merchant_id, bytes(phone_enc))
    return await verify_code(
        deps, terminal.merchant_id, phone, "redeem", request.sms_code, consume=False
    )


async def _locked_snapshot(
    deps: Deps,
    tx: Transaction,
    terminal: TerminalContext,
    receipt: wire.Receipt,
    source: str,
    now: int,
    program: LoadedProgram | None = None,
) -> Snapshot:
    """Resolve the customer, lock the account, then read the snapshot under the lock
    (priced by ``program`` when given, else by the live version)."""
    first = await read_snapshot(deps, tx, terminal, receipt, source, now, program)
    if first.customer is None or tx.dialect == "sqlite":
        # On SQLite the transaction already holds the only writer: the first read is
        # the locked one.
        return first
    await tx.lock_customer(terminal.merchant_id, first.customer.customer_id)
    ref = wire.CustomerRef(customer_id=first.customer.customer_id)
    locked = receipt.model_copy(update={"customer": ref})
    return await read_snapshot(deps, tx, terminal, locked, source, now, program)


async def cancel(
    deps: Deps, terminal: TerminalContext, request: wire.CancelRequest, source: str = "api"
) -> wire.CancelResult:
    """Release the receipt's hold. Cancelling twice, or with no hold, releases nothing."""
    await _refuse_if_closed(deps.db, terminal.merchant_id, source, request.receipt_id)
    async with deps.db.transaction() as tx:
        released = await release_holds(
            tx, terminal.merchant_id, source, request.receipt_id, "released"
        )
    return wire.CancelResult(receipt_id=request.receipt_id, released=to_roubles(released))


async def _refuse_if_closed(executor: Executor, merchant_id: int, source: str, rid: str) -> None:
    if await _stored_response(executor, merchant_id, source, "sale", rid) is not None:
        raise Conflict("receipt_closed", "Чек уже закрыт: изменить его нельзя, только вернуть")


async def _stored_with_digest(
    executor: Executor, merchant_id: int, source: str, kind: str, external_id: str
) -> tuple[str, str | None] | None:
    row = await executor.fetch_one(
        "SELECT response, digest FROM receipts WHERE merchant_id = :m AND source = :s "
        "AND kind = :k AND external_id = :e",
        {"m": merchant_id, "s": source, "k": kind, "e": external_id},
    )
    return None if row is None else (str(row["response"]), row["digest"])


def _replay(stored: tuple[str, str | None], digest: str, kind: str, external_id: str) -> str:
    """The stored answer to a genuine retry; a different receipt under a used id is a
    conflict (rows from before digests were kept replay as before)."""
    response, stored_digest = stored
    if stored_digest is not None and stored_digest != digest:
        what = "Чек" if kind == "sale" else "Возврат"
        raise Conflict(
            "idempotency_conflict",
            f"{what} с номером «{external_id}» уже проведён с другим содержимым: "
            "номер использован повторно. Проверьте нумерацию на кассе",
        )
    return response


async def _stored_response(
    executor: Executor, merchant_id: int, source: str, kind: str, external_id: str
) -> str | None:
    value = await executor.fetch_value(
        "SELECT response FROM receipts WHERE merchant_id = :m AND source = :s "
        "AND kind = :k AND external_id = :e",
        {"m": merchant_id, "s": source, "k": kind, "e": external_id},
    )
    return None if value is None else str(value)


# ---- confirm --------------------------------------------------------------------------


async def confirm(
    deps: Deps, terminal: TerminalContext, request: wire.ConfirmRequest, source: str = "api"
) -> wire.ConfirmResult:
    """Commit the closed receipt. Idempotent on (merchant, source, receipt id) and the
    receipt's digest: a repeat returns the stored result and writes nothing; another
    receipt under the same id is a conflict (``idempotency_conflict``).

    Priced by the program version that quoted the receipt when it has a live hold (the
    only quote we keep: calculate writes nothing), else by the live version."""
    rid = request.receipt.id
    digest = receipt_digest(request.receipt, request.redeemed)
    stored = await _stored_with_digest(deps.db, terminal.merchant_id, source, "sale", rid)
    if stored is not None:
        return wire.ConfirmResult.model_validate_json(_replay(stored, digest, "sale", rid))
    try:
        return await _confirm(deps, terminal, request, source, digest)
    except Exception as exc:
        # Another request confirmed the same receipt between our check and our insert.
        if not (isinstance(exc, _AlreadyStored) or is_unique_violation(exc)):
            raise
        stored = await _stored_with_digest(deps.db, terminal.merchant_id, source, "sale", rid)
        if stored is None:
            raise
        return wire.ConfirmResult.model_validate_json(_replay(stored, digest, "sale", rid))


async def _confirm(
    deps: Deps, terminal: TerminalContext, request: wire.ConfirmRequest, source: str, digest: str
) -> wire.ConfirmResult:
    receipt = request.receipt
    now = deps.clock()
    epoch = to_epoch(now)
    bought_at = purchase_time(receipt.created_at, now, terminal.timezone)
    redeemed = to_kopecks(request.redeemed)
    if redeemed and receipt.customer is None:
        raise BadRequest("customer_required", "Для оплаты бонусами укажите клиента")
    lines = engine_lines(receipt)
    async with deps.db.transaction() as tx:
        if await _stored_response(tx, terminal.merchant_id, source, "sale", receipt.id):
            raise _AlreadyStored()
        quoted = await active_hold(tx, terminal.merchant_id, source, receipt.id, epoch)
        quoted_by = None
        if quoted is not None and quoted.program_version_id is not None:
            quoted_by = await deps.programs.get(quoted.program_version_id, tx)
        snapshot = await _locked_snapshot(deps, tx, terminal, receipt, source, epoch, quoted_by)
        # A twin of this call may have confirmed the receipt while we waited for the lock.
        if snapshot.customer is not None and await _stored_response(
            tx, terminal.merchant_id, source, "sale", receipt.id
        ):
            raise _AlreadyStored()
        program = snapshot.program.program
        customer = snapshot.customer
        own_hold = await active_hold(tx, terminal.merchant_id, source, receipt.id, epoch)
        if customer is not None and redeemed > customer.available_bonuses:
            had_expired_hold = await tx.fetch_value(
                "SELECT COUNT(*) FROM holds WHERE merchant_id = :m AND source = :s "
                "AND receipt_external_id = :r AND status = 'active' AND expires_at <= :now",
                {"m": terminal.merchant_id, "s": source, "r": receipt.id, "now": epoch},
            )
            if had_expired_hold:
                raise Unprocessable(
                    "hold_expired", "Резерв бонусов истёк, а свободных бонусов не хватает"
                )
            raise Unprocessable("insufficient_bonuses", "Недостаточно бонусов на счёте")
        if (
            redeemed
            and program.redeem_requires_sms_code
            and (own_hold is None or own_hold.amount < redeemed)
        ):
            # Only a hold checks the customer's code: under such a program it is the
            # only door for spending, whatever the channel.
            raise _sms_code_required()
        settled = engine.settle(
            snapshot.program.compiled, customer, lines, redeemed, bought_at, terminal.timezone
        )
        customer_id = customer.customer_id if customer else None
        receipt_id = await tx.insert(
            "INSERT INTO receipts (merchant_id, store_id, terminal_id, customer_id, source, "
            "kind, external_id, program_version_id, amount, discount, redeemed, accrued, "
            "local_date, created_at, response, digest) VALUES (:m, :s, :t, :c, :src, 'sale', "
            ":e, :pv, :amount, :discount, :redeemed, :accrued, :day, :now, '', :digest) "
            "RETURNING id",
            {
                "m": terminal.merchant_id, "s": terminal.store_id, "t": terminal.terminal_id,
                "c": customer_id, "src": source, "e": receipt.id, "pv": snapshot.program.id,
                "amount": settled.amount_after_discount,
                "discount": sum(_line_discount(line) for line in lines),
                "redeemed": settled.redeem, "accrued": settled.accrual,
                "day": bought_at.astimezone(terminal.timezone).date().isoformat(),
                "now": to_epoch(bought_at), "digest": digest,
            },
        )  # fmt: skip
        await tx.execute_many(
            "INSERT INTO receipt_lines (merchant_id, receipt_id, position, line_id, sku, name, "
            "category, price, quantity_milli, amount, discount, redeemed, accrual, "
            "returned_quantity_milli, returned_redeemed, reversed_accrual) VALUES (:m, :r, :pos, "
            ":lid, :sku, :name, :cat, :price, :qty, :amount, :discount, :redeemed, :accrual, "
            "0, 0, 0)",
            [
                {
                    "m": terminal.merchant_id, "r": receipt_id, "pos": position,
                    "lid": source_line.id, "sku": source_line.sku, "name": source_line.name,
                    "cat": source_line.category, "price": line.price,
                    "qty": int(line.quantity * MILLI), "amount": quoted.amount_after_discount,
                    "discount": _line_discount(line), "redeemed": quoted.redeem,
                    "accrual": quoted.accrual,
                }
                for position, (source_line, line, quoted) in enumerate(
                    zip(receipt.lines, lines, settled.lines, strict=True)
                )
            ],
        )  # fmt: skip
        messages = list(settled.messages)
        tier_code = settled.tier_code
        balance = 0
        if customer is not None:
            await release_holds(
                tx, terminal.merchant_id, source, receipt.id,
                "consumed" if own_hold else "released",
            )  # fmt: skip
            await redeem(
                tx, merchant_id=terminal.merchant_id, customer_id=customer.customer_id,
                amount=settled.redeem, receipt_id=receipt_id, now=epoch,
            )  # fmt: skip
            if settled.accrual > 0:
                assert settled.accrual_available_from is not None
                await accrue(
                    tx, merchant_id=terminal.merchant_id, customer_id=customer.customer_id,
                    kind="purchase", amount=settled.accrual,
                    available_from=to_epoch(settled.accrual_available_from),
                    expires_at=None if settled.accrual_expires_at is None
                    else to_epoch(settled.accrual_expires_at),
                    receipt_id=receipt_id, key=f"accrue:{receipt_id}", now=epoch,
                )  # fmt: skip
            tier_code = await _after_purchase(
                tx, terminal.merchant_id, program, customer, settled, receipt_id, bought_at, epoch
            )
            if tier_code != customer.tier_code and customer.tier_code is not None:
                tier = program.tier(tier_code)
                messages.append(f"Новый уровень карты: {tier.name if tier else tier_code}")
            balance = (await read_balance(tx, customer.customer_id, epoch)).available
            messages = _with_balance(messages, balance)
        shown = None if customer is None else tier_code
        available_from = settled.accrual_available_from
        expires_at = settled.accrual_expires_at
        result = wire.ConfirmResult(
            receipt_id=receipt.id,
            status="confirmed",
            program_version=snapshot.program.version,
            customer=None
            if customer is None
            else _customer_summary(program, customer.customer_id, shown, balance),
            lines=_quote_lines(settled.lines),
            amount=to_roubles(settled.amount_after_discount),
            redeemed=to_roubles(settled.redeem),
            accrued=to_roubles(settled.accrual),
            accrual_available_from=None
            if available_from is None
            else local_time(available_from, terminal.timezone),
            accrual_expires_at=None
            if expires_at is None
            else local_time(expires_at, terminal.timezone),
            messages=_with_level(messages, program, shown),
            slip=_confirm_slip(settled, balance, customer is not None),
        )
        await tx.execute(
            "UPDATE receipts SET response = :body WHERE id = :id",
            {"body": result.model_dump_json(), "id": receipt_id},
        )
    return result


class _AlreadyStored(Exception):
    """Raised inside the transaction to roll back and answer with the stored result."""


_BALANCE_PREFIX = "Баланс: "


def _with_balance(messages: list[str], balance: int) -> list[str]:
    """The cashier's balance line as after the sale, as the slip prints it (the engine
    priced the receipt with the balance before it)."""
    line = f"{_BALANCE_PREFIX}{engine.format_roubles(balance)} бонусов"
    return [line if message.startswith(_BALANCE_PREFIX) else message for message in messages]


def _line_discount(line: et.Line) -> int:
    return max(line_amount(line.price, line.quantity) - line.amount, 0)


def _confirm_slip(settled: et.Quote, balance: int, has_customer: bool) -> list[str]:
    if not has_customer:
        return []
    slip = []
    if settled.redeem:
        slip.append(f"Оплачено бонусами: {engine.format_roubles(settled.redeem)}")
    if settled.accrual:
        slip.append(f"Начислено бонусов: {engine.format_roubles(settled.accrual)}")
    slip.append(f"Баланс бонусов: {engine.format_roubles(balance)}")
    return slip


async def _after_purchase(
    tx: Transaction,
    merchant_id: int,
    program: Program,
    customer: et.CustomerSnapshot,
    settled: et.Quote,
    receipt_id: int,
    bought_at: datetime,
    now: int,
) -> str:
    """Purchase statistics and the tier the purchase earns (tiers only go up here: by
    lifetime purchases, or by this receipt alone for single-receipt thresholds)."""
    lifetime = customer.lifetime_purchases + settled.amount_after_discount
    tier_code, reason = engine.tier_change_after_purchase(
        program, customer.tier_code, lifetime, settled.amount_after_discount
    )
    # A late upload of an older sale must not move the last purchase back in time.
    await tx.execute(
        "UPDATE customers SET lifetime_purchases = :life, purchase_count = purchase_count + 1, "
        "last_purchase_at = CASE WHEN last_purchase_at IS NULL OR last_purchase_at < :at "
        "THEN :at ELSE last_purchase_at END, tier_code = :tier "
        "WHERE id = :c AND merchant_id = :m",
        {"life": lifetime, "at": to_epoch(bought_at), "tier": tier_code,
         "c": customer.customer_id, "m": merchant_id},
    )  # fmt: skip
    if tier_code != customer.tier_code:
        await tx.execute(
            "INSERT INTO tier_changes (merchant_id, customer_id, from_tier, to_tier, reason, "
            "receipt_id, created_at) VALUES (:m, :c, :f, :t, :reason, :r, :now)",
            {"m": merchant_id, "c": customer.customer_id, "f": customer.tier_code,
             "t": tier_code, "reason": reason, "r": receipt_id, "now": now},
        )  # fmt: skip
    return tier_code


# ---- refund ---------------------------------------------------------------------------


def _share(total: int, part_milli: int, whole_milli: int) -> int:
    """``total x part / whole`` rounded half-up, computed on cumulative quantities so a
    series of partial returns adds up to exactly the whole."""
    value = Decimal(total) * part_milli / whole_milli
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


async def refund(
    deps: Deps, terminal: TerminalContext, request: wire.RefundRequest, source: str = "api"
) -> wire.RefundResult:
    """Return lines of a confirmed receipt: reverse their share of the accrual and give
    back their share of the spent bonuses to the lots they came from. Idempotent on the
    refund's own id and its digest (another refund under a used id is a conflict)."""
    digest = refund_digest(request)
    stored = await _stored_with_digest(deps.db, terminal.merchant_id, source, "refund", request.id)
    if stored is not None:
        return wire.RefundResult.model_validate_json(_replay(stored, digest, "refund", request.id))
    try:
        return await _refund(deps, terminal, request, source, digest)
    except Exception as exc:
        if not (isinstance(exc, _AlreadyStored) or is_unique_violation(exc)):
            raise
        stored = await _stored_with_digest(
            deps.db, terminal.merchant_id, source, "refund", request.id
        )
        if stored is None:
            raise
        return wire.RefundResult.model_validate_json(_replay(stored, digest, "refund", request.id))


async def _refund(
    deps: Deps, terminal: TerminalContext, request: wire.RefundRequest, source: str, digest: str
) -> wire.RefundResult:
    now = deps.clock()
    epoch = to_epoch(now)
    async with deps.db.transaction() as tx:
        if await _stored_response(tx, terminal.merchant_id, source, "refund", request.id):
            raise _AlreadyStored()
        sale = await tx.fetch_one(
            "SELECT id, customer_id, program_version_id FROM receipts WHERE merchant_id = :m "
            "AND source = :s AND kind = 'sale' AND external_id = :e",
            {"m": terminal.merchant_id, "s": source, "e": request.receipt_id},
        )
        if sale is None:
            raise NotFound("receipt_not_found", f"Чек продажи «{request.receipt_id}» не найден")
        customer_id = sale["customer_id"]
        if customer_id is not None:
            await tx.lock_customer(terminal.merchant_id, customer_id)
        # Two refunds of one sale must not both return the same quantity, customer or not.
        await tx.lock_receipt(terminal.merchant_id, sale["id"])
        # A twin of this call may have stored the refund while we waited for the locks.
        if await _stored_response(tx, terminal.merchant_id, source, "refund", request.id):
            raise _AlreadyStored()
        stored_lines = await tx.fetch_all(
            "SELECT id, line_id, quantity_milli, amount, redeemed, accrual, "
            "returned_quantity_milli, returned_redeemed, reversed_accrual FROM receipt_lines "
            "WHERE merchant_id = :m AND receipt_id = :r ORDER BY position",
            {"m": terminal.merchant_id, "r": sale["id"]},
        )
        by_id = {row["line_id"]: row for row in stored_lines}
        wanted = _refund_quantities(request, stored_lines, by_id)
        refund_id = await tx.insert(
            "INSERT INTO receipts (merchant_id, store_id, terminal_id, customer_id, source, "
            "kind, external_id, original_receipt_id, program_version_id, amount, discount, "
            "redeemed, accrued, local_date, created_at, response, digest) VALUES (:m, :s, :t, "
            ":c, :src, 'refund', :e, :orig, :pv, 0, 0, 0, 0, :day, :now, '', :digest) "
            "RETURNING id",
            {
                "m": terminal.merchant_id, "s": terminal.store_id, "t": terminal.terminal_id,
                "c": customer_id, "src": source, "e": request.id, "orig": sale["id"],
                "pv": sale["program_version_id"], "digest": digest,
                "day": now.astimezone(terminal.timezone).date().isoformat(), "now": epoch,
            },
        )  # fmt: skip
        result_lines = []
        returned_total = reversed_total = amount_total = 0
        for line_id, quantity_milli in wanted:
            row = by_id[line_id]
            whole = int(row["quantity_milli"])
            cumulative = int(row["returned_quantity_milli"]) + quantity_milli
            give = _share(int(row["redeemed"]), cumulative, whole) - int(row["returned_redeemed"])
            take = _share(int(row["accrual"]), cumulative, whole) - int(row["reversed_accrual"])
            previous = int(row["returned_quantity_milli"])
            amount_total += _share(int(row["amount"]), cumulative, whole) - _share(
                int(row["amount"]), previous, whole
            )
            await tx.execute(
                "UPDATE receipt_lines SET returned_quantity_milli = :q, "
                "returned_redeemed = returned_redeemed + :g, "
                "reversed_accrual = reversed_accrual + :t WHERE id = :id",
                {"q": cumulative, "g": give, "t": take, "id": row["id"]},
            )
            returned_total += give
            reversed_total += take
            result_lines.append((line_id, quantity_milli, give, take))
        given = recovered = lapsed = reissued = 0
        reissued_until: datetime | None = None
        balance = 0
        if customer_id is not None:
            # What has lapsed lapses now, as the expiry job would: the refund's answer
            # must not depend on whether the job has run yet.
            await expire_customer_lots(tx, terminal.merchant_id, customer_id, epoch)
            reissue_expires = await _reissue_expiry(deps, tx, sale, now, terminal.timezone)
            back = await give_back(
                tx, merchant_id=terminal.merchant_id, customer_id=customer_id,
                sale_receipt_id=sale["id"], refund_receipt_id=refund_id,
                amount=returned_total, now=epoch,
                reissue_expires_at=None if reissue_expires is None else to_epoch(reissue_expires),
            )  # fmt: skip
            given, reissued = back.total, back.reissued
            if reissued:
                reissued_until = reissue_expires
            taken = await reverse_accrual(
                tx, merchant_id=terminal.merchant_id, customer_id=customer_id,
                sale_receipt_id=sale["id"], refund_receipt_id=refund_id,
                amount=reversed_total, now=epoch,
            )  # fmt: skip
            recovered, lapsed = taken.taken, taken.lapsed
            await tx.execute(
                "UPDATE customers SET lifetime_purchases = CASE WHEN lifetime_purchases > :a "
                "THEN lifetime_purchases - :a ELSE 0 END WHERE id = :c AND merchant_id = :m",
                {"a": amount_total, "c": customer_id, "m": terminal.merchant_id},
            )
            balance = (await read_balance(tx, customer_id, epoch)).available
        unrecovered = reversed_total - recovered - lapsed
        messages = []
        if unrecovered:
            messages.append(
                "Клиент уже потратил часть начисленных бонусов: не удалось списать "
                f"{engine.format_roubles(unrecovered)}"
            )
        if lapsed:
            messages.append(
                "Часть бонусов, начисленных за возвращённые позиции, уже сгорела: "
                f"{engine.format_roubles(lapsed)} не списываются"
            )
        if reissued:
            until = (
                "без срока"
                if reissued_until is None
                else "до "
                + format_date(
                    reissued_until.astimezone(terminal.timezone).date() - timedelta(days=1)
                )
                + " включительно"
            )
            messages.append(
                f"Срок бонусов, которыми был оплачен чек, истёк: {engine.format_roubles(reissued)} "
                f"возвращены новым начислением, действуют {until}"
            )
        result = wire.RefundResult(
            refund_id=request.id,
            receipt_id=request.receipt_id,
            lines=[
                wire.RefundResultLine(
                    id=line_id,
                    quantity=Decimal(quantity) / MILLI,
                    returned_bonuses=to_roubles(give),
                    reversed_accrual=to_roubles(take),
                )
                for line_id, quantity, give, take in result_lines
            ],
            returned_bonuses=to_roubles(given),
            reversed_accrual=to_roubles(recovered),
            unrecovered_accrual=to_roubles(unrecovered),
            lapsed_accrual=to_roubles(lapsed),
            reissued_bonuses=to_roubles(reissued),
            reissued_expires_at=None
            if reissued_until is None
            else local_time(reissued_until, terminal.timezone),
            balance=to_roubles(balance),
            messages=messages,
        )
        await tx.execute(
            "UPDATE receipts SET amount = :a, redeemed = :g, accrued = :r, response = :body "
            "WHERE id = :id",
            {"a": amount_total, "g": given, "r": -recovered, "body": result.model_dump_json(),
             "id": refund_id},
        )  # fmt: skip
    return result


async def _reissue_expiry(
    deps: Deps, tx: Transaction, sale: Row, now: datetime, tz: ZoneInfo
) -> datetime | None:
    """When bonuses given back on a refund get a new lot (theirs expired meanwhile), it
    lives as a fresh accrual of the program that priced the sale would: its lifetime
    from the refund's local day, spendable at once (no activation delay: they were the
    customer's already)."""
    version = sale["program_version_id"]
    if version is None:
        return None
    program = await deps.programs.get(int(version), tx)
    return engine.lot_dates(now, tz, 0, program.program.lifetime_days)[1]


def _refund_quantities(
    request: wire.RefundRequest, stored_lines: Sequence[Row], by_id: dict[str, Row]
) -> list[tuple[str, int]]:
    if request.lines is None:
        wanted = [
            (row["line_id"], int(row["quantity_milli"]) - int(row["returned_quantity_milli"]))
            for row in stored_lines
        ]
        wanted = [(line_id, q) for line_id, q in wanted if q > 0]
        if not wanted:
            raise Conflict("already_refunded", "Чек уже возвращён полностью")
        return wanted
    seen: set[str] = set()
    wanted = []
    for line in request.lines:
        row = by_id.get(line.id)
        if row is None:
            raise BadRequest("unknown_line", f"В чеке нет позиции «{line.id}»")
        if line.id in seen:
            raise BadRequest("duplicate_line", f"Позиция «{line.id}» указана дважды")
        seen.add(line.id)
        quantity = int(line.quantity * MILLI)
        left = int(row["quantity_milli"]) - int(row["returned_quantity_milli"])
        if quantity > left:
            raise Unprocessable(
                "refund_exceeds_sale",
                f"По позиции «{line.id}» можно вернуть не больше {Decimal(left) / MILLI}",
            )
        wanted.append((line.id, quantity))
    return wanted
