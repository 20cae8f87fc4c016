"""Evotor PAYBACK documents: a return applied to its sale's lines.

A PAYBACK names its sale by the sale's document id (``base_document_id``) and its
positions by uuid, product or name: the sale is found through the receipt session, the
returned lines are matched to what is left of the sale's lines, and the return goes
through ``receipt_sessions.refund`` under the PAYBACK's own id (idempotent).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import structlog

from cloud.errors import NotFound
from cloud.services import receipt_sessions
from cloud.services.deps import Deps
from cloud.services.evotor_receipts import SOURCE, cashier_of
from cloud.services.merchants import TerminalContext
from cloud.services.receipt_sessions import SETTLED
from schemas import checkout as wire

log = structlog.get_logger("loyalty.evotor")

MILLI = Decimal(1000)
_KEY = {"ch": SOURCE}


@dataclass(frozen=True, slots=True)
class PaybackLine:
    uuid: str | None
    sku: str | None
    name: str
    price: int
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class PaybackDocument:
    document_id: str
    store_external_id: str | None
    base_document_id: str | None
    lines: list[PaybackLine]
    closed_at: datetime | None
    employee_id: str | None = None


@dataclass(frozen=True, slots=True)
class PaybackOutcome:
    """``refunded``; ``pending`` (its sale is not here yet: keep the document and apply
    it when the sale arrives); ``ignored`` (nothing left to return, or no line matches)."""

    status: str
    reason: str | None = None


async def sale_of_document(deps: Deps, merchant_id: int, document_id: str) -> str | None:
    """The key of the sale a document id confirmed, ``None`` if no such sale is here."""
    row = await deps.db.fetch_one(
        receipt_sessions.SELECT + "document_id = :d ORDER BY id LIMIT 1",
        {"m": merchant_id, **_KEY, "d": document_id},
    )
    if row is not None and row["state"] in SETTLED:
        return str(row["external_id"])
    exists = await deps.db.fetch_value(
        "SELECT id FROM receipts WHERE merchant_id = :m AND source = :src AND kind = 'sale' "
        "AND external_id = :e",
        {"m": merchant_id, "src": SOURCE, "e": document_id},
    )
    return None if exists is None else document_id


async def refund_document(
    deps: Deps, terminal: TerminalContext, document: PaybackDocument
) -> PaybackOutcome:
    """Refund the lines of a PAYBACK against its base sale. A PAYBACK whose sale is not
    here yet is ``pending`` (the caller keeps it); a return of more than is left refunds
    what is left."""
    merchant_id = terminal.merchant_id
    base = document.base_document_id
    if not base:
        log.warning("evotor_payback_without_base", merchant=merchant_id)
        return PaybackOutcome("ignored", "no_base_document")
    sale_key = await sale_of_document(deps, merchant_id, base)
    if sale_key is None:
        log.info("evotor_payback_pending", merchant=merchant_id, base=base,
                 document=document.document_id)  # fmt: skip
        return PaybackOutcome("pending", "sale_not_received")
    sale_lines = await deps.db.fetch_all(
        "SELECT l.line_id, l.sku, l.name, l.price, l.quantity_milli, "
        "l.returned_quantity_milli FROM receipt_lines l "
        "JOIN receipts r ON r.id = l.receipt_id AND r.merchant_id = l.merchant_id "
        "WHERE r.merchant_id = :m AND r.source = :src AND r.kind = 'sale' "
        "AND r.external_id = :e ORDER BY l.position",
        {"m": merchant_id, "src": SOURCE, "e": sale_key},
    )
    wanted = match_payback_lines(document.lines, sale_lines)
    if not wanted:
        log.warning("evotor_payback_no_lines_matched", merchant=merchant_id, base=base)
        return PaybackOutcome("ignored", "nothing_left_to_return")
    request = wire.RefundRequest(
        id=document.document_id,
        receipt_id=sale_key,
        lines=[wire.RefundLine(id=line_id, quantity=quantity) for line_id, quantity in wanted],
        created_at=document.closed_at,
        cashier=await cashier_of(deps, merchant_id, document.employee_id),
    )
    try:
        await receipt_sessions.refund(deps, terminal, SOURCE, request)
    except NotFound:
        return PaybackOutcome("pending", "sale_not_received")
    return PaybackOutcome("refunded")


def match_payback_lines(lines: list[PaybackLine], sale_lines: Any) -> list[tuple[str, Decimal]]:
    """Sale line and quantity for each returned position: the same position uuid, else
    the same product at the same price, else the same product, else the same name and
    price; a line's quantity is never matched beyond what is left of it (sold minus
    returned before), so a second partial return works and an over-return takes what
    remains."""
    left = {
        str(s["line_id"]): Decimal(
            int(s["quantity_milli"]) - int(s["returned_quantity_milli"])
        ) / MILLI
        for s in sale_lines
    }  # fmt: skip
    chosen: dict[str, Decimal] = {}
    tests = (
        lambda p, s: p.uuid is not None and p.uuid == s["line_id"],
        lambda p, s: p.sku is not None and p.sku == s["sku"] and p.price == int(s["price"]),
        lambda p, s: p.sku is not None and p.sku == s["sku"],
        lambda p, s: bool(p.name) and p.name == s["name"] and p.price == int(s["price"]),
    )
    for position in lines:
        quantity = position.quantity
        for test in tests:
            for sale in sale_lines:
                line_id = str(sale["line_id"])
                if quantity <= 0 or left[line_id] <= 0 or not test(position, sale):
                    continue
                take = min(quantity, left[line_id])
                left[line_id] -= take
                chosen[line_id] = chosen.get(line_id, Decimal(0)) + take
                quantity -= take
        if quantity > 0:
            log.warning("evotor_payback_line_unmatched", name=position.name)
    return [(line_id, quantity) for line_id, quantity in chosen.items() if quantity > 0]
