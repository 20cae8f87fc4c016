"""Refund: return lines of a confirmed receipt, in full or in part."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from cloud import engine
from cloud.clock import to_epoch
from cloud.db.database import Row, Transaction, is_unique_violation
from cloud.engine.text import format_date
from cloud.errors import BadRequest, Conflict, NotFound, Unprocessable
from cloud.ledger.balance import read_balance
from cloud.ledger.lots import expire_customer_lots
from cloud.ledger.redemption import give_back, reverse_accrual
from cloud.services import coupon_use, referrals, tiers
from cloud.services.checkout import gift_payments
from cloud.services.checkout.render import (
    MILLI,
    local_time,
)
from cloud.services.checkout.stored import (
    AlreadyStored,
    cashier_columns,
    replay,
    stored_response,
    stored_with_digest,
)
from cloud.services.deps import Deps
from cloud.services.merchants import TerminalContext
from cloud.services.receipt_digest import refund_digest
from schemas import checkout as wire
from schemas.money import to_roubles


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
    stored = await stored_with_digest(deps.db, terminal.merchant_id, source, "refund", request.id)
    if stored is not None:
        return wire.RefundResult.model_validate_json(replay(stored, digest, "refund", request.id))
    try:
        return await _refund(deps, terminal, request, source, digest)
    except Exception as exc:
        if not (isinstance(exc, AlreadyStored) or is_unique_violation(exc)):
            raise
        stored = await stored_with_digest(
            deps.db, terminal.merchant_id, source, "refund", request.id
        )
        if stored is None:
            raise
        return wire.RefundResult.model_validate_json(replay(stored, digest, "refund", request.id))


async def _refund(
    deps: Deps, terminal: TerminalContext, request: wire.RefundRequest, source: str, digest: str
) -> wire.RefundResult:
    now = deps.clock()
    epoch = to_epoch(now)
    async with deps.db.transaction() as tx:
        if await stored_response(tx, terminal.merchant_id, source, "refund", request.id):
            raise AlreadyStored()
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
        if await stored_response(tx, terminal.merchant_id, source, "refund", request.id):
            raise AlreadyStored()
        stored_lines = await tx.fetch_all(
            "SELECT id, line_id, category, quantity_milli, amount, redeemed, accrual, "
            "returned_quantity_milli, returned_redeemed, reversed_accrual FROM receipt_lines "
            "WHERE merchant_id = :m AND receipt_id = :r ORDER BY position",
            {"m": terminal.merchant_id, "r": sale["id"]},
        )
        by_id = {row["line_id"]: row for row in stored_lines}
        wanted = _refund_quantities(request, stored_lines, by_id)
        refund_id = await tx.insert(
            "INSERT INTO receipts (merchant_id, store_id, terminal_id, customer_id, source, "
            "kind, external_id, original_receipt_id, program_version_id, amount, discount, "
            "redeemed, accrued, local_date, created_at, response, digest, cashier_id, "
            "cashier_name) VALUES (:m, :s, :t, :c, :src, 'refund', :e, :orig, :pv, 0, 0, 0, 0, "
            ":day, :now, '', :digest, :cashier_id, :cashier_name) RETURNING id",
            {
                "m": terminal.merchant_id, "s": terminal.store_id, "t": terminal.terminal_id,
                "c": customer_id, "src": source, "e": request.id, "orig": sale["id"],
                "pv": sale["program_version_id"], "digest": digest,
                "day": now.astimezone(terminal.timezone).date().isoformat(), "now": epoch,
                **cashier_columns(request.cashier),
            },
        )  # fmt: skip
        result_lines = []
        returned_total = reversed_total = amount_total = 0
        returned_after: dict[str, int] = {}
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
                "reversed_accrual = reversed_accrual + :t WHERE id = :id AND merchant_id = :m",
                {"q": cumulative, "g": give, "t": take, "id": row["id"], "m": terminal.merchant_id},
            )
            returned_after[line_id] = cumulative
            returned_total += give
            reversed_total += take
            result_lines.append((line_id, quantity_milli, give, take))
        left = sum(
            int(row["quantity_milli"])
            - returned_after.get(row["line_id"], int(row["returned_quantity_milli"]))
            for row in stored_lines
        )
        freed = (
            await coupon_use.free_on_return(tx, terminal.merchant_id, sale["id"], refund_id, epoch)
            if left <= 0
            else []
        )
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
            await _claw_back_referrals(
                deps, tx, terminal.merchant_id, sale, refund_id, stored_lines, returned_after,
                epoch,
            )  # fmt: skip
            await tx.execute(
                "UPDATE customers SET lifetime_purchases = CASE WHEN lifetime_purchases > :a "
                "THEN lifetime_purchases - :a ELSE 0 END WHERE id = :c AND merchant_id = :m",
                {"a": amount_total, "c": customer_id, "m": terminal.merchant_id},
            )
            balance = (await read_balance(tx, customer_id, epoch)).available
        # The certificates' share goes back in this same transaction, customer or not.
        certificates_back, messages = await gift_payments.give_back(
            tx, terminal.merchant_id, sale["id"], refund_id, amount_total, epoch
        )
        unrecovered = reversed_total - recovered - lapsed
        messages = [*freed, *messages]
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
            gift_certificates=certificates_back,
        )
        await tx.execute(
            "UPDATE receipts SET amount = :a, redeemed = :g, accrued = :r, response = :body "
            "WHERE id = :id AND merchant_id = :m",
            {"a": amount_total, "g": given, "r": -recovered, "body": result.model_dump_json(),
             "id": refund_id, "m": terminal.merchant_id},
        )  # fmt: skip
        if customer_id is not None:
            # Once the refund receipt carries its amount: the tier reads what is left.
            await tiers.after_refund(
                deps, tx, terminal.merchant_id, customer_id, refund_id,
                now.astimezone(terminal.timezone).date(), epoch,
            )  # fmt: skip
    return result


async def _claw_back_referrals(
    deps: Deps, tx: Transaction, merchant_id: int, sale: Row, refund_id: int,
    stored_lines: Sequence[Row], returned_after: dict[str, int], now: int,
) -> None:  # fmt: skip
    """The referrers' rewards follow the sale's accrual base: each loses what its
    reward on the base before this refund exceeds its reward on what is left."""
    version = sale["program_version_id"]
    if version is None:
        return
    loaded = await deps.programs.get(int(version), tx)
    if loaded.program.gifts.referral is None:
        return
    before = after = 0
    for row in stored_lines:
        base = referrals.line_base(
            loaded.compiled, row["category"], int(row["amount"]), int(row["redeemed"])
        )
        whole = int(row["quantity_milli"])
        previous = int(row["returned_quantity_milli"])
        before += base - _share(base, previous, whole)
        after += base - _share(base, returned_after.get(row["line_id"], previous), whole)
    await referrals.claw_back(
        tx, merchant_id, int(sale["id"]), refund_id, before, after,
        loaded.program.accrual_rounding, now,
    )  # fmt: skip


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
