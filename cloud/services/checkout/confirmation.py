"""Confirm: the closed receipt committed in one transaction under the customer's lock."""

from __future__ import annotations

from datetime import datetime, timedelta

from cloud import engine
from cloud.clock import to_epoch
from cloud.db.database import Transaction, is_unique_violation
from cloud.engine import types as et
from cloud.errors import BadRequest, Unprocessable
from cloud.ledger.balance import read_balance
from cloud.ledger.holds import active_hold, release_holds
from cloud.ledger.lots import accrue
from cloud.ledger.redemption import redeem
from cloud.services import coupon_use, experiments, programs, referrals
from cloud.services.checkout import gift_payments
from cloud.services.checkout import snapshot as snapshots
from cloud.services.checkout.holds import sms_code_required
from cloud.services.checkout.render import (
    MILLI,
    customer_summary,
    local_time,
    quote_lines,
    with_balance,
    with_level,
)
from cloud.services.checkout.snapshot import (
    engine_lines,
    purchase_time,
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
from cloud.services.receipt_digest import receipt_digest
from schemas import checkout as wire
from schemas.money import line_amount, to_kopecks, to_roubles
from schemas.program import Program

LATE_SALE_SECONDS = 120
"""A sale older than this when confirmed is priced by the version live at its time; a
younger one by the live version (a till's clock a minute off changes nothing)."""


_INSERT_LINES = (
    "INSERT INTO receipt_lines (merchant_id, receipt_id, position, line_id, sku, name, "
    "category, price, quantity_milli, amount, discount, redeemed, accrual, "
    "returned_quantity_milli, returned_redeemed, reversed_accrual) VALUES (:m, :r, :pos, "
    ":lid, :sku, :name, :cat, :price, :qty, :amount, :discount, :redeemed, :accrual, "
    "0, 0, 0)"
)
_LINE_ARRAYS = {
    "pos": "int", "lid": "text", "sku": "text", "name": "text", "cat": "text",
    "price": "bigint", "qty": "bigint", "amount": "bigint", "discount": "bigint",
    "redeemed": "bigint", "accrual": "bigint",
}  # fmt: skip
_INSERT_LINES_UNNEST = (
    "INSERT INTO receipt_lines (merchant_id, receipt_id, position, line_id, sku, name, "
    "category, price, quantity_milli, amount, discount, redeemed, accrual, "
    "returned_quantity_milli, returned_redeemed, reversed_accrual) "
    f"SELECT :m::bigint, :r::bigint, {', '.join(_LINE_ARRAYS)}, 0, 0, 0 FROM unnest("
    + ", ".join(f":{key}::{kind}[]" for key, kind in _LINE_ARRAYS.items())
    + f") AS line({', '.join(_LINE_ARRAYS)}) ORDER BY pos"
)

AHEAD_TOLERANCE = timedelta(days=1)
"""A till's time up to this far ahead of ours is believed (a clock minutes fast, a till
set to a neighbouring zone); further ahead the sale is taken as made now."""


async def confirm(
    deps: Deps, terminal: TerminalContext, request: wire.ConfirmRequest, source: str = "api"
) -> wire.ConfirmResult:
    """Commit the closed receipt. Idempotent on (merchant, source, receipt id) and the
    receipt's digest: a repeat returns the stored result and writes nothing; another
    receipt under the same id is a conflict (``idempotency_conflict``).

    Priced by the program version that quoted the receipt when it has a live hold (the
    only quote we keep: calculate writes nothing); else, for a sale made more than
    ``LATE_SALE_SECONDS`` ago, by the version live when it was sold; else by the live
    version."""
    rid = request.receipt.id
    digest = receipt_digest(request.receipt, request.redeemed, request.gift_certificates)
    # The first look for a stored answer is inside the transaction (one round trip
    # fewer per new sale than a look before it): a retry rolls back and replays.
    try:
        return await _confirm(deps, terminal, request, source, digest)
    except Exception as exc:
        # A retry, or another request confirmed the same receipt before our insert.
        if not (isinstance(exc, AlreadyStored) or is_unique_violation(exc)):
            raise
        stored = await stored_with_digest(deps.db, terminal.merchant_id, source, "sale", rid)
        if stored is None:
            raise
    # A replay reads no snapshot, so a remembered credential proves itself here.
    await snapshots.verify_credential(deps.db, terminal)
    return wire.ConfirmResult.model_validate_json(replay(stored, digest, "sale", rid))


async def _confirm(
    deps: Deps, terminal: TerminalContext, request: wire.ConfirmRequest, source: str, digest: str
) -> wire.ConfirmResult:
    receipt = request.receipt
    now = deps.clock()
    epoch = to_epoch(now)
    async with deps.db.transaction() as tx:
        if await stored_response(tx, terminal.merchant_id, source, "sale", receipt.id):
            raise AlreadyStored()
        # After the stored answer: a retry is answered as before, whatever it carries.
        # The receipt keeps the till's time as given (it is the fiscal receipt's). A till
        # more than a day ahead of our clock cannot be telling the sale's time: the ledger
        # counts from now, so its bonuses neither activate late nor live longer and the
        # last purchase is not set in the future. A till behind is a late sale (below).
        stated = purchase_time(receipt.created_at, now, terminal.timezone)
        bought_at = now if stated > now + AHEAD_TOLERANCE else stated
        redeemed = to_kopecks(request.redeemed)
        if redeemed and receipt.customer is None:
            raise BadRequest("customer_required", "Для оплаты бонусами укажите клиента")
        lines = engine_lines(receipt)
        quoted = await active_hold(tx, terminal.merchant_id, source, receipt.id, epoch)
        quoted_by = None
        sold_during: snapshots.Sold = snapshots.LIVE
        if quoted is not None and quoted.program_version_id is not None:
            quoted_by = await deps.programs.get(quoted.program_version_id, tx)
        elif to_epoch(bought_at) < epoch - LATE_SALE_SECONDS:
            # The fiscal receipt is the truth: a sale recorded late (replayed by a store
            # bridge, a document that came hours after the receipt) earns what the
            # program live at its sale promised, not what a newer version says.
            sold_by = await programs.version_live_at(tx, terminal.merchant_id, to_epoch(bought_at))
            if sold_by is not None:
                quoted_by = await deps.programs.get(sold_by, tx)
                sold_during = await experiments.running_at(
                    tx, deps.experiments, terminal.merchant_id, to_epoch(bought_at)
                )
        snapshot = await snapshots.locked_snapshot(
            deps, tx, terminal, receipt, source, epoch, quoted_by, sold_during
        )
        own_hold = quoted
        if tx.dialect != "sqlite" and snapshot.customer is not None:
            # Reads taken before the customer's lock: a twin of this call may have
            # confirmed the receipt, or a cancel ended its hold, while we waited. (SQLite's
            # transaction is the only writer from its start: nothing moved since.)
            if await stored_response(tx, terminal.merchant_id, source, "sale", receipt.id):
                raise AlreadyStored()
            own_hold = await active_hold(tx, terminal.merchant_id, source, receipt.id, epoch)
        program = snapshot.program.program
        customer = snapshot.customer
        if snapshot.blocked_customer_id is not None and redeemed:
            # A blocked card spends nothing; without a bonus payment the sale is recorded
            # (the fiscal receipt is the truth) as if no card was shown: no accrual.
            raise snapshots.card_blocked()
        if customer is not None and redeemed > customer.available_bonuses:
            had_expired_hold = await tx.fetch_value(
                "SELECT COUNT(*) FROM holds WHERE merchant_id = :m AND source = :s "
                "AND receipt_external_id = :r AND status IN ('active', 'expired') "
                "AND expires_at <= :now",
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
            raise sms_code_required()
        customer_id = customer.customer_id if customer else None
        # Decided again under the campaigns' locks: a code another till used meanwhile is
        # not recorded twice (the sale still is, without it).
        coupons = await coupon_use.lock_and_check(
            tx, terminal.merchant_id, receipt.coupons, customer_id, program, epoch,
            terminal.timezone,
        )  # fmt: skip
        settled = engine.settle(
            snapshot.program.compiled, customer, lines, redeemed, bought_at, terminal.timezone,
            coupons=coupons.rules,
        )  # fmt: skip
        receipt_id = await tx.insert(
            "INSERT INTO receipts (merchant_id, store_id, terminal_id, customer_id, source, "
            "kind, external_id, program_version_id, amount, discount, redeemed, accrued, "
            "local_date, created_at, response, digest, cashier_id, cashier_name) VALUES (:m, "
            ":s, :t, :c, :src, 'sale', :e, :pv, :amount, :discount, :redeemed, :accrued, :day, "
            ":now, '', :digest, :cashier_id, :cashier_name) RETURNING id",
            {
                "m": terminal.merchant_id, "s": terminal.store_id, "t": terminal.terminal_id,
                "c": customer_id, "src": source, "e": receipt.id, "pv": snapshot.program.id,
                "amount": settled.amount_after_discount,
                "discount": sum(_line_discount(line) for line in lines),
                "redeemed": settled.redeem, "accrued": settled.accrual,
                "day": stated.astimezone(terminal.timezone).date().isoformat(),
                "now": to_epoch(stated), "digest": digest, **cashier_columns(request.cashier),
            },
        )  # fmt: skip
        line_rows = [
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
        ]  # fmt: skip
        if tx.dialect == "postgresql":
            # One statement for all the lines, not one per line: a 10-line sale's
            # statements go from 30 to 21 (bench/checkout.py --count-statements).
            columns = {key: [row[key] for row in line_rows] for key in _LINE_ARRAYS}
            await tx.execute(_INSERT_LINES_UNNEST, {"m": terminal.merchant_id,
                                                    "r": receipt_id, **columns})  # fmt: skip
        else:
            await tx.execute_many(_INSERT_LINES, line_rows)
        await coupon_use.redeem(tx, terminal.merchant_id, coupons, receipt_id, customer_id, epoch)
        # Certificates pay money: the accrual above already counts them as paid.
        paid_by_certificates, certificate_slip = await gift_payments.spend(
            tx, terminal.merchant_id, source, receipt.id, receipt_id, request.gift_certificates,
            settled.amount_after_discount - settled.redeem, epoch,
        )  # fmt: skip
        messages = list(settled.messages)
        messages.extend(coupons.messages())
        if snapshot.blocked_customer_id is not None:
            messages.insert(0, snapshots.CARD_BLOCKED_MESSAGE)
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
            if program.gifts.referral is not None:
                base = sum(
                    referrals.line_base(
                        snapshot.program.compiled, line.category, quoted.amount_after_discount,
                        quoted.redeem,
                    )
                    for line, quoted in zip(lines, settled.lines, strict=True)
                )  # fmt: skip
                await referrals.reward_referrers(
                    tx, deps, terminal.merchant_id, snapshot.program, customer.customer_id,
                    settled.tier_code, receipt_id, base, bought_at, terminal.timezone, epoch,
                )  # fmt: skip
            tier_code = await _after_purchase(
                tx, terminal.merchant_id, program, customer, settled, receipt_id, bought_at, epoch
            )
            if tier_code != customer.tier_code and customer.tier_code is not None:
                tier = program.tier(tier_code)
                messages.append(f"Новый уровень карты: {tier.name if tier else tier_code}")
            balance = (await read_balance(tx, customer.customer_id, epoch)).available
            messages = with_balance(messages, balance)
        shown = None if customer is None else tier_code
        available_from = settled.accrual_available_from
        expires_at = settled.accrual_expires_at
        result = wire.ConfirmResult(
            receipt_id=receipt.id,
            status="confirmed",
            program_version=snapshot.program.version,
            customer=None
            if customer is None
            else customer_summary(program, customer.customer_id, shown, balance),
            lines=quote_lines(settled.lines),
            amount=to_roubles(settled.amount_after_discount),
            redeemed=to_roubles(settled.redeem),
            accrued=to_roubles(settled.accrual),
            accrual_available_from=None
            if available_from is None
            else local_time(available_from, terminal.timezone),
            accrual_expires_at=None
            if expires_at is None
            else local_time(expires_at, terminal.timezone),
            messages=with_level(messages, program, shown),
            slip=certificate_slip + _confirm_slip(settled, balance, customer is not None),
            gift_certificates=paid_by_certificates,
            coupons=list(coupons.outcomes),
        )
        await tx.execute(
            "UPDATE receipts SET response = :body WHERE merchant_id = :m AND id = :id",
            {"body": result.model_dump_json(), "m": terminal.merchant_id, "id": receipt_id},
        )
    return result


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
