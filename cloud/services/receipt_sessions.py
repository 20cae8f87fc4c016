"""TEMPORARY stand-in for the lead's channel-neutral receipt session (SESSION_API.md):
the same signatures over ``checkout`` with the channel as the source, so the SIGMA
adapter can be built and tested before the real module lands on main. The merge takes
main's file (``git checkout --theirs``); nothing else imports this one."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from cloud.services import checkout, customers
from cloud.services.deps import Deps
from cloud.services.merchants import TerminalContext
from schemas import checkout as wire
from schemas.money import to_roubles


@dataclass(frozen=True, slots=True)
class Session:
    channel: str
    external_id: str
    document_id: str | None
    customer_id: int | None
    held: int
    hold_id: int | None
    state: str
    program_version: int | None
    closed_at: int | None


@dataclass(frozen=True, slots=True)
class QuoteOutcome:
    quote: wire.Quote
    customer_found: bool
    customer_id: int | None


async def find(deps: Deps, merchant_id: int, channel: str, external_id: str) -> Session | None:
    row = await deps.db.fetch_one(
        "SELECT id, customer_id, amount FROM holds WHERE merchant_id = :m AND source = :s "
        "AND receipt_external_id = :r AND status = 'active' ORDER BY id DESC LIMIT 1",
        {"m": merchant_id, "s": channel, "r": external_id},
    )
    if row is None:
        return None
    return Session(channel, external_id, None, int(row["customer_id"]), int(row["amount"]),
                   int(row["id"]), "held", None, None)  # fmt: skip


async def _customer(deps: Deps, merchant_id: int, ref: wire.CustomerRef | None) -> int | None:
    if ref is None:
        return None
    return await customers.find_customer(
        deps, merchant_id, phone=ref.phone, card=ref.card, customer_id=ref.customer_id
    )


def _by_id(customer_id: int | None) -> wire.CustomerRef | None:
    return None if customer_id is None else wire.CustomerRef(customer_id=customer_id)


async def quote(
    deps: Deps, terminal: TerminalContext, channel: str, request: wire.CalculateRequest,
    *, store_external_id: str | None = None,
) -> QuoteOutcome:  # fmt: skip
    receipt = request.receipt
    customer_id = await _customer(deps, terminal.merchant_id, receipt.customer)
    priced = request.model_copy(
        update={"receipt": receipt.model_copy(update={"customer": _by_id(customer_id)})}
    )
    result = await checkout.calculate(deps, terminal, priced, channel)
    found = receipt.customer is None or customer_id is not None
    return QuoteOutcome(result, found, customer_id)


async def hold(
    deps: Deps, terminal: TerminalContext, channel: str, request: wire.HoldRequest,
    *, store_external_id: str | None = None,
) -> wire.HoldResult:  # fmt: skip
    customer_id = await _customer(deps, terminal.merchant_id, request.receipt.customer)
    if customer_id is None:
        raise customers.not_found()
    held = request.model_copy(
        update={"receipt": request.receipt.model_copy(update={"customer": _by_id(customer_id)})}
    )
    return await checkout.hold(deps, terminal, held, channel)


async def release(
    deps: Deps, terminal: TerminalContext, channel: str, external_id: str,
    *, receipt_cancelled: bool,
) -> wire.CancelResult:  # fmt: skip
    return await checkout.cancel(
        deps, terminal, wire.CancelRequest(receipt_id=external_id), channel
    )


async def close(
    deps: Deps, terminal: TerminalContext, channel: str, receipt: wire.Receipt,
    redeemed: Decimal | None, *, store_external_id: str | None = None,
    document_id: str | None = None, number: int | None = None,
    cashier: wire.Cashier | None = None,
) -> wire.ConfirmResult:  # fmt: skip
    session = await find(deps, terminal.merchant_id, channel, receipt.id)
    customer_id = await _customer(deps, terminal.merchant_id, receipt.customer)
    if customer_id is None and session is not None:
        customer_id = session.customer_id
    paid = redeemed if redeemed is not None else to_roubles(session.held if session else 0)
    request = wire.ConfirmRequest(
        receipt=receipt.model_copy(update={"customer": _by_id(customer_id)}),
        redeemed=paid, cashier=cashier,
    )  # fmt: skip
    return await checkout.confirm(deps, terminal, request, channel)


async def refund(
    deps: Deps, terminal: TerminalContext, channel: str, request: wire.RefundRequest
) -> wire.RefundResult:
    return await checkout.refund(deps, terminal, request, channel)
