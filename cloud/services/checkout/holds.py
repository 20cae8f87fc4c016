"""Hold and cancel: bonuses reserved for an open receipt (the only door for spending
under a program that asks for the customer's SMS code)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from cloud import engine
from cloud.clock import to_epoch
from cloud.engine.text import format_roubles
from cloud.errors import BadRequest, Unprocessable
from cloud.ledger.holds import place_hold, release_holds
from cloud.services.checkout import gift_payments
from cloud.services.checkout import snapshot as snapshots
from cloud.services.checkout.calculation import check_coupons, price
from cloud.services.checkout.render import (
    local_time,
    quote_lines,
)
from cloud.services.checkout.snapshot import (
    read_snapshot,
)
from cloud.services.checkout.stored import (
    refuse_if_closed,
)
from cloud.services.deps import Deps
from cloud.services.merchants import TerminalContext
from cloud.services.sms_codes import consume_code, verify_code
from schemas import checkout as wire
from schemas.money import to_kopecks, to_roubles


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
    await refuse_if_closed(deps.db, terminal.merchant_id, source, request.receipt.id)
    code_id = await _check_redeem_code(deps, terminal, request, source, epoch)
    async with deps.db.transaction() as tx:
        snapshot = await snapshots.locked_snapshot(
            deps, tx, terminal, request.receipt, source, epoch
        )
        # The receipt may have been confirmed while we waited for the lock.
        await refuse_if_closed(tx, terminal.merchant_id, source, request.receipt.id)
        if snapshot.blocked_customer_id is not None:
            raise snapshots.card_blocked()
        assert snapshot.customer is not None
        if code_id is None and snapshot.program.program.redeem_requires_sms_code:
            # The program was changed to ask for a code after we looked.
            raise sms_code_required()
        if code_id is not None:
            # Used up with the hold it authorises: a refused hold leaves it usable.
            await consume_code(tx, terminal.merchant_id, code_id, epoch)
        if to_kopecks(request.amount) > snapshot.customer.available_bonuses:
            # The engine would cap the payment at the balance and call it a program limit.
            raise Unprocessable("insufficient_bonuses", "Недостаточно бонусов для резерва")
        # The bonus payment a hold reserves is priced with the receipt's coupons, so it
        # matches the quote the cashier saw (a hold does not reserve the codes).
        coupons = await check_coupons(tx, terminal, request.receipt, snapshot, epoch)
        quote = price(
            snapshot, request.receipt, now, terminal, request.amount, request.unit_price_exact,
            coupons.rules,
        )  # fmt: skip
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
        lines=quote_lines(quote.lines),
        balance=to_roubles(balance),
        slip=[f"Оплата бонусами: {engine.format_roubles(quote.redeem)}"],
    )


def sms_code_required() -> Unprocessable:
    return Unprocessable(
        "sms_code_required", "Для оплаты бонусами нужен код из SMS, отправленного клиенту"
    )


async def _check_redeem_code(
    deps: Deps, terminal: TerminalContext, request: wire.HoldRequest, source: str, now: int
) -> int | None:
    """For programs that want the customer's SMS code to spend bonuses: check it (not
    yet used up) and return its id; None when the program does not ask for one."""
    snapshot = await read_snapshot(deps, deps.db, terminal, request.receipt, source, now)
    if snapshot.blocked_customer_id is not None:
        raise snapshots.card_blocked()
    if not snapshot.program.program.redeem_requires_sms_code:
        return None
    if request.sms_code is None:
        raise sms_code_required()
    assert snapshot.customer is not None
    phone_enc = await deps.db.fetch_value(
        "SELECT phone_enc FROM customers WHERE merchant_id = :m AND id = :c",
        {"m": terminal.merchant_id, "c": snapshot.customer.customer_id},
    )
    phone = deps.cipher.decrypt(terminal.merchant_id, bytes(phone_enc))
    return await verify_code(
        deps, terminal.merchant_id, phone, "redeem", request.sms_code, consume=False
    )


async def cancel(
    deps: Deps, terminal: TerminalContext, request: wire.CancelRequest, source: str = "api"
) -> wire.CancelResult:
    """Release the receipt's holds (bonuses and gift certificates). Cancelling twice, or
    with no hold, releases nothing."""
    await refuse_if_closed(deps.db, terminal.merchant_id, source, request.receipt_id)
    async with deps.db.transaction() as tx:
        released = await release_holds(
            tx, terminal.merchant_id, source, request.receipt_id, "released"
        )
        await gift_payments.release(
            tx, terminal.merchant_id, source, request.receipt_id, "released"
        )
    return wire.CancelResult(receipt_id=request.receipt_id, released=to_roubles(released))


def spend_within(quote: wire.Quote, wanted: Decimal | None) -> tuple[Decimal, str | None]:
    """What a till asking to spend ``wanted`` bonuses (None: as much as allowed) spends on
    this quote: never more than the program lets this receipt take; with the cashier's
    note when that is less than asked. Channels whose till names an amount instead of
    holding it exactly (МойСклад, Modul-Kassa) cap it here, not each its own way."""
    most = quote.max_redeem
    if wanted is None:
        return most, None
    if wanted <= most:
        return wanted, None
    return most, f"Можно списать не больше {format_roubles(to_kopecks(most))} бонусов"
