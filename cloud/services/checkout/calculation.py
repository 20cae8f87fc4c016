"""Calculate: a pure quote, no write."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from cloud import engine
from cloud.clock import to_epoch
from cloud.db.database import Executor
from cloud.engine import types as et
from cloud.services import coupon_use
from cloud.services.checkout.render import (
    customer_summary,
    quote_lines,
    shown_tier,
    with_level,
)
from cloud.services.checkout.snapshot import (
    CARD_BLOCKED_MESSAGE,
    Snapshot,
    engine_lines,
    purchase_time,
    read_snapshot,
)
from cloud.services.customers import NO_PLASTIC_CARD_MESSAGE
from cloud.services.deps import Deps
from cloud.services.merchants import TerminalContext
from cloud.services.programs import LoadedProgram
from schemas import checkout as wire
from schemas.money import to_kopecks, to_roubles


@dataclass(frozen=True, slots=True)
class PricedReceipt:
    """A calculation's result before it is rendered for a particular wire."""

    receipt_id: str
    snapshot: Snapshot
    quote: et.Quote
    coupons: coupon_use.Checked = coupon_use.NONE
    """The codes the receipt carried, sorted out (the usable ones priced)."""


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
        deps, deps.db, terminal, request.receipt, source, to_epoch(now), program, plastic=True
    )
    coupons = await check_coupons(deps.db, terminal, request.receipt, snapshot, to_epoch(now))
    quote = price(
        snapshot, request.receipt, now, terminal, request.redeem, request.unit_price_exact,
        coupons.rules,
    )  # fmt: skip
    if snapshot.blocked_customer_id is not None:
        quote = replace(quote, messages=(CARD_BLOCKED_MESSAGE, *quote.messages))
    if snapshot.without_plastic_card:
        quote = replace(quote, messages=(*quote.messages, NO_PLASTIC_CARD_MESSAGE))
    if coupons.outcomes:
        quote = replace(quote, messages=(*quote.messages, *coupons.messages()))
    return PricedReceipt(request.receipt.id, snapshot, quote, coupons)


async def check_coupons(
    executor: Executor, terminal: TerminalContext, receipt: wire.Receipt, snapshot: Snapshot,
    now: int,
) -> coupon_use.Checked:  # fmt: skip
    """The receipt's coupon codes sorted out for its customer (no query without codes)."""
    if not receipt.coupons:
        return coupon_use.NONE
    customer = snapshot.customer
    return await coupon_use.check(
        executor, terminal.merchant_id, receipt.coupons,
        None if customer is None else customer.customer_id, snapshot.program.program, now,
        terminal.timezone,
    )  # fmt: skip


async def calculate(
    deps: Deps,
    terminal: TerminalContext,
    request: wire.CalculateRequest,
    source: str = "api",
    program: LoadedProgram | None = None,
) -> wire.Quote:
    """``price_receipt`` as the canonical wire model (adapters translate from it)."""
    return wire_quote(await price_receipt(deps, terminal, request, source, program))


def price(
    snapshot: Snapshot,
    receipt: wire.Receipt,
    now: datetime,
    terminal: TerminalContext,
    redeem: Decimal,
    unit_price_exact: bool,
    coupons: list[str] | None = None,
) -> et.Quote:
    return engine.calculate(
        snapshot.program.compiled,
        snapshot.customer,
        engine_lines(receipt),
        purchase_time(receipt.created_at, now, terminal.timezone),
        terminal.timezone,
        redeem=to_kopecks(redeem),
        unit_price_exact=unit_price_exact,
        coupons=coupons or (),
    )


def wire_quote(priced: PricedReceipt) -> wire.Quote:
    """The canonical wire model of a priced receipt (adapters translate from it)."""
    snapshot, quote = priced.snapshot, priced.quote
    customer = snapshot.customer
    shown = shown_tier(customer, quote.tier_code)
    program = snapshot.program.program
    return wire.Quote.model_construct(
        receipt_id=priced.receipt_id,
        program_version=snapshot.program.version,
        customer=None
        if customer is None
        else customer_summary(program, customer.customer_id, shown, customer.available_bonuses),
        lines=quote_lines(quote.lines),
        amount=to_roubles(quote.amount),
        discount=to_roubles(quote.discount),
        amount_after_discount=to_roubles(quote.amount_after_discount),
        max_redeem=to_roubles(quote.max_redeem),
        redeem=to_roubles(quote.redeem),
        accrual=to_roubles(quote.accrual),
        messages=quote_texts(priced, quote.messages),
        slip=quote_texts(priced, quote.slip),
        coupons=list(priced.coupons.outcomes),
    )


def quote_texts(priced: PricedReceipt, lines: Sequence[str]) -> list[str]:
    """The quote's cashier messages or slip lines as every wire shows them: the level
    line names the tier that prices the receipt for its customer, none without one."""
    snapshot = priced.snapshot
    shown = shown_tier(snapshot.customer, priced.quote.tier_code)
    return with_level(lines, snapshot.program.program, shown)


def customer_id_of(priced: PricedReceipt) -> int | None:
    """The customer the receipt named, a blocked one included (priced without its card)."""
    customer = priced.snapshot.customer
    return priced.snapshot.blocked_customer_id if customer is None else customer.customer_id
