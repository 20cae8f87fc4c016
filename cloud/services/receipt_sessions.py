"""TEMPORARY stand-in (h-frontol) for the lead's channel-neutral receipt session: the
same signatures as /work/wt/SESSION_API.md, straight over ``checkout`` with the channel as
the source. Replaced by main's module at the merge (take main's file whole)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from cloud.services import checkout, customers
from cloud.services.deps import Deps
from cloud.services.merchants import TerminalContext
from schemas import checkout as wire


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
    return None


async def quote(
    deps: Deps, terminal: TerminalContext, channel: str, request: wire.CalculateRequest,
    *, store_external_id: str | None = None,
) -> QuoteOutcome:  # fmt: skip
    ref = request.receipt.customer
    customer_id = None
    if ref is not None:
        customer_id = await customers.find_customer(
            deps, terminal.merchant_id, phone=ref.phone, card=ref.card,
            customer_id=ref.customer_id,
        )  # fmt: skip
        if customer_id is None:
            receipt = request.receipt.model_copy(update={"customer": None})
            request = request.model_copy(update={"receipt": receipt})
    result = await checkout.calculate(deps, terminal, request, source=channel)
    return QuoteOutcome(result, ref is None or customer_id is not None, customer_id)


async def hold(
    deps: Deps, terminal: TerminalContext, channel: str, request: wire.HoldRequest,
    *, store_external_id: str | None = None,
) -> wire.HoldResult:  # fmt: skip
    return await checkout.hold(deps, terminal, request, source=channel)


async def release(
    deps: Deps, terminal: TerminalContext, channel: str, external_id: str,
    *, receipt_cancelled: bool,
) -> wire.CancelResult:  # fmt: skip
    return await checkout.cancel(
        deps, terminal, wire.CancelRequest(receipt_id=external_id), source=channel
    )


async def close(
    deps: Deps, terminal: TerminalContext, channel: str, receipt: wire.Receipt,
    redeemed: Decimal | None, *, store_external_id: str | None = None,
    document_id: str | None = None, number: int | None = None,
    cashier: wire.Cashier | None = None,
) -> wire.ConfirmResult:  # fmt: skip
    request = wire.ConfirmRequest(receipt=receipt, redeemed=redeemed or Decimal(0), cashier=cashier)
    return await checkout.confirm(deps, terminal, request, source=channel)


async def refund(
    deps: Deps, terminal: TerminalContext, channel: str, request: wire.RefundRequest
) -> wire.RefundResult:
    return await checkout.refund(deps, terminal, request, source=channel)
