"""Evotor receipts: the terminal hooks and the document webhook onto one sale.

Two channels report the same sale: the loyalty app on the terminal (quote, bonus payment,
close) and the Evotor cloud's SELL document. Both must land on **one** idempotency key
of ``checkout.confirm``, whichever comes first, whether or not the other ever comes.

The key is the terminal's ``receiptUuid``. The contract does not say whether a cloud
document's ``id`` equals it, so the document is mapped to a receipt in this order:

1. ``extras`` of the document: our app puts ``{"receiptUuid": ...}`` into the receipt with
   ``SetExtra`` and Evotor returns it in the document (``extras`` of our app);
2. a receipt the hooks reported under ``receiptUuid == document id``;
3. a receipt the hooks reported with exactly the same set of position uuids (the
   position ``uuid`` of a document is the one the terminal app saw);
4. a sale the close hook confirmed on the same terminal, with the same charged total,
   closed within ``MATCH_WINDOW`` of the document (and with the same number when both
   know it): a document without our extras and without position uuids;
5. otherwise the document id itself (a sale no hook saw: offline, or the card given only
   as ``customer_phone``).

A document of a sale already recorded is a ``duplicate`` whatever path brought it. The
fiscal document is the truth: when its bonus payment can no longer be debited (the hold
expired, the bonuses were spent meanwhile), the sale is still recorded with what can be
debited and the rest is kept on the record (state ``unsettled``, ``unsettled`` kopecks,
``unsettled_reason``) and logged as ``evotor_sale_unsettled``.

The receipt session (``cloud.services.receipt_sessions``, channel ``evotor``) keeps the
mapping (``receiptUuid`` <-> ``document_id``), the customer the hooks identified and the
bonuses held, so a document confirms the receipt with the right customer and bonus
payment even when the close hook never ran; a duplicate document (same store id +
document id) changes nothing. This module holds only what is Evotor's own: the two
channels of one sale and how a document finds its receipt.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import structlog

from cloud.clock import to_epoch
from cloud.db.database import is_unique_violation
from cloud.errors import BadRequest
from cloud.services import customers, evotor_catalogue, receipt_sessions
from cloud.services.deps import Deps
from cloud.services.merchants import TerminalContext
from cloud.services.receipt_sessions import (
    SETTLED,
    QuoteOutcome,
    Session,
    by_id,
    charged_total,
    held_amount,
    positions_key,
    session_of,
)
from schemas import checkout as wire
from schemas.money import to_kopecks, to_roubles

log = structlog.get_logger("loyalty.evotor")

SOURCE = "evotor"
MATCH_WINDOW = 600
"""Seconds between the close hook and the document's close time that still make them
one sale (the till's clock and ours differ a little; a document arrives minutes late)."""
_SELECT = receipt_sessions.SELECT
_KEY = {"ch": SOURCE}


async def _remember(deps: Deps, merchant_id: int, receipt_uuid: str, **fields: Any) -> None:
    await receipt_sessions.remember(deps, merchant_id, SOURCE, receipt_uuid, **fields)


def _fingerprint(lines: Iterable[wire.ReceiptLine]) -> str | None:
    return positions_key(line.id for line in lines)


# ---- terminal hooks -----------------------------------------------------------------------


async def quote(
    deps: Deps, terminal: TerminalContext, store_external_id: str | None,
    request: wire.CalculateRequest,
) -> QuoteOutcome:  # fmt: skip
    """Price the open receipt with its product groups' categories."""
    receipt = await evotor_catalogue.with_categories(
        deps, terminal.merchant_id, store_external_id, request.receipt
    )
    return await receipt_sessions.quote(
        deps, terminal, SOURCE, request.model_copy(update={"receipt": receipt}),
        store_external_id=store_external_id, fingerprint=_fingerprint(receipt.lines),
    )  # fmt: skip


async def hold(
    deps: Deps, terminal: TerminalContext, store_external_id: str | None,
    request: wire.HoldRequest,
) -> wire.HoldResult:  # fmt: skip
    """The bonus payment: reserve it; our hold id is the payment's ``rrn``."""
    receipt = await evotor_catalogue.with_categories(
        deps, terminal.merchant_id, store_external_id, request.receipt
    )
    return await receipt_sessions.hold(
        deps, terminal, SOURCE, request.model_copy(update={"receipt": receipt}),
        store_external_id=store_external_id, fingerprint=_fingerprint(receipt.lines),
    )  # fmt: skip


async def release(
    deps: Deps, terminal: TerminalContext, receipt_uuid: str, *, receipt_cancelled: bool
) -> wire.CancelResult:
    """The bonus payment was removed or the whole receipt was dropped."""
    return await receipt_sessions.release(
        deps, terminal, SOURCE, receipt_uuid, receipt_cancelled=receipt_cancelled
    )


async def close(
    deps: Deps, terminal: TerminalContext, store_external_id: str | None,
    receipt: wire.Receipt, redeemed: Decimal | None, document_id: str | None,
    number: int | None = None, employee_id: str | None = None,
) -> wire.ConfirmResult:  # fmt: skip
    """The terminal closed the receipt: confirm it under its ``receiptUuid`` (or under
    the receipt a document with the same positions already confirmed)."""
    receipt = await evotor_catalogue.with_categories(
        deps, terminal.merchant_id, store_external_id, receipt
    )
    if await receipt_sessions.find(deps, terminal.merchant_id, SOURCE, receipt.id) is None:
        twin = await _by_positions(deps, terminal.merchant_id, receipt.lines)
        if twin is not None:
            receipt = receipt.model_copy(update={"id": twin.external_id})
    return await receipt_sessions.close(
        deps, terminal, SOURCE, receipt, redeemed, store_external_id=store_external_id,
        document_id=document_id, number=number,
        cashier=await cashier_of(deps, terminal.merchant_id, employee_id),
        fingerprint=_fingerprint(receipt.lines),
    )  # fmt: skip


async def _by_positions(
    deps: Deps, merchant_id: int, lines: Iterable[wire.ReceiptLine]
) -> Session | None:
    fingerprint = _fingerprint(lines)
    if fingerprint is None:
        return None
    row = await deps.db.fetch_one(
        _SELECT + "positions_key = :k ORDER BY id DESC LIMIT 1",
        {"m": merchant_id, **_KEY, "k": fingerprint},
    )
    return session_of(row)


# ---- documents ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SellDocument:
    document_id: str
    store_external_id: str | None
    receipt_uuid_hint: str | None
    """``receiptUuid`` our app put into the receipt's extras."""
    customer_id_hint: int | None
    customer_phone: str | None
    lines: list[wire.ReceiptLine]
    bonus_paid: Decimal | None
    """Payments our app took (by its app id); ``None`` when the document cannot tell."""
    closed_at: datetime | None
    number: int | None = None
    """The till's document number (restarts after a reset: a hint, never a key)."""
    employee_id: str | None = None
    """The Evotor employee who closed it (``close_user_id``, ``employeeId``)."""
    coupons: tuple[str, ...] = ()
    """Coupon codes the document's discounts name (V2 ``coupon``, V1 ``couponNumber``)."""


@dataclass(frozen=True, slots=True)
class DocumentOutcome:
    """``confirmed``, ``unsettled`` (recorded; ``unsettled`` kopecks of its bonus payment
    could not be debited, for ``reason``) or ``duplicate``."""

    status: str
    unsettled: int = 0
    reason: str | None = None


async def confirm_document(
    deps: Deps, terminal: TerminalContext, document: SellDocument
) -> DocumentOutcome:
    """Record the sale a SELL document reports. The fiscal document is the truth: a bonus
    payment that can no longer be debited (hold expired, not enough bonuses, an SMS code
    the till never asked for) does not drop the sale — the sale is confirmed with what
    can be debited and the rest stays visible on the receipt record and in the log."""
    merchant_id = terminal.merchant_id
    if await _seen_document(deps, merchant_id, document):
        return DocumentOutcome("duplicate")
    record = await _record_for_document(deps, terminal, document)
    cashier = await cashier_of(deps, merchant_id, document.employee_id)
    if record is not None and record.state in SETTLED:
        # Already recorded (the close hook, or this document through another path): the
        # document at most names the sale, and its cashier when the hook named none.
        await _fill_cashier(deps, merchant_id, record.external_id, cashier)
        if record.document_id is None:
            await _remember(
                deps, merchant_id, record.external_id, document_id=document.document_id,
                store_external_id=document.store_external_id,
            )  # fmt: skip
        elif document.store_external_id is not None:
            await _fill_store(deps, merchant_id, record.external_id, document.store_external_id)
        return DocumentOutcome("duplicate")
    key = record.external_id if record is not None else (
        document.receipt_uuid_hint or document.document_id
    )  # fmt: skip
    customer_id = record.customer_id if record is not None else None
    if customer_id is None and document.customer_id_hint is not None:
        customer_id = await customers.find_customer(
            deps, merchant_id, customer_id=document.customer_id_hint
        )
    if customer_id is None and document.customer_phone:
        try:
            customer_id = await customers.find_customer(
                deps, merchant_id, phone=document.customer_phone
            )
        except BadRequest:
            log.warning("evotor_document_bad_phone", merchant=merchant_id)
    paid = document.bonus_paid if document.bonus_paid is not None else held_amount(record)
    receipt = await evotor_catalogue.with_categories(
        deps, merchant_id, document.store_external_id,
        wire.Receipt(
            id=key, customer=by_id(customer_id), lines=document.lines,
            created_at=document.closed_at, coupons=list(document.coupons),
        ),
    )  # fmt: skip
    recorded, reason = await receipt_sessions.confirm_what_can_be_debited(
        deps, terminal, SOURCE, receipt, paid if customer_id is not None else Decimal(0), cashier
    )
    debited = recorded.redeemed
    if paid and customer_id is None:
        reason = "customer_required"
    unsettled = to_kopecks(paid) - to_kopecks(debited)
    state = "unsettled" if unsettled else "confirmed"
    await _remember(
        deps, merchant_id, key, state=state, customer_id=customer_id,
        store_external_id=document.store_external_id, document_id=document.document_id,
        terminal_id=terminal.terminal_id, unsettled=unsettled,
        unsettled_reason=reason if unsettled else None,
        positions_key=_fingerprint(document.lines),
        total=charged_total(document.lines), number=document.number,
    )  # fmt: skip
    if unsettled:
        log.warning(
            "evotor_sale_unsettled", merchant=merchant_id, receipt=key,
            document=document.document_id, customer=customer_id,
            amount_unsettled=str(to_roubles(unsettled)), reason=reason,
        )  # fmt: skip
        return DocumentOutcome("unsettled", unsettled, reason)
    return DocumentOutcome("confirmed")


async def cashier_of(deps: Deps, merchant_id: int, employee_id: str | None) -> wire.Cashier | None:
    """The receipt's cashier from the Evotor employee id: the name as the employees
    notification or the cloud pull stored it (``cashiers``), else the id alone."""
    employee_id = (employee_id or "").strip()[:64]
    if not employee_id or not employee_id.isprintable():
        return None
    name = await deps.db.fetch_value(
        "SELECT name FROM cashiers WHERE merchant_id = :m AND external_id = :e",
        {"m": merchant_id, "e": employee_id},
    )
    name = str(name).strip()[:200] if name else None
    return wire.Cashier(id=employee_id, name=name or None)


async def _fill_cashier(
    deps: Deps, merchant_id: int, receipt_uuid: str, cashier: wire.Cashier | None
) -> None:
    """A sale the close hook recorded without a cashier learns it from its document."""
    if cashier is None:
        return
    async with deps.db.transaction() as tx:
        await tx.execute(
            "UPDATE receipts SET cashier_id = :id, cashier_name = :name WHERE merchant_id = :m "
            "AND source = :src AND kind = 'sale' AND external_id = :e AND cashier_id IS NULL "
            "AND cashier_name IS NULL",
            {"id": cashier.id, "name": cashier.name, "m": merchant_id, "src": SOURCE,
             "e": receipt_uuid},
        )  # fmt: skip


async def _fill_store(deps: Deps, merchant_id: int, receipt_uuid: str, store: str) -> None:
    """A store learnt later (V1 through the V2 path first, then the store's own path)
    fills an unknown one; a known store is never replaced."""
    try:
        async with deps.db.transaction() as tx:
            await tx.execute(
                "UPDATE receipt_sessions SET store_external_id = :s WHERE merchant_id = :m "
                "AND channel = :ch AND external_id = :r AND store_external_id IS NULL",
                {"s": store, "m": merchant_id, **_KEY, "r": receipt_uuid},
            )
    except Exception as exc:
        if not is_unique_violation(exc):
            raise


async def _seen_document(deps: Deps, merchant_id: int, document: SellDocument) -> bool:
    """The document (store id + document id) was applied before. A document without a
    store (V1 through the V2 path) is the one with its id, whatever store it had."""
    if document.store_external_id is not None:
        row = await deps.db.fetch_one(
            _SELECT + "store_external_id = :s AND document_id = :d",
            {"m": merchant_id, **_KEY, "s": document.store_external_id, "d": document.document_id},
        )
    else:
        row = await deps.db.fetch_one(
            _SELECT + "document_id = :d ORDER BY id LIMIT 1",
            {"m": merchant_id, **_KEY, "d": document.document_id},
        )
    return row is not None and row["state"] in SETTLED


async def _record_for_document(
    deps: Deps, terminal: TerminalContext, document: SellDocument
) -> Session | None:
    merchant_id = terminal.merchant_id
    for candidate in (document.receipt_uuid_hint, document.document_id):
        if candidate:
            record = await receipt_sessions.find(deps, merchant_id, SOURCE, candidate)
            if record is not None:
                return record
    twin = await _by_positions(deps, merchant_id, document.lines)
    if twin is not None and twin.document_id in (None, document.document_id):
        return twin
    return await _by_close(deps, terminal, document)


async def _by_close(
    deps: Deps, terminal: TerminalContext, document: SellDocument
) -> Session | None:
    """A sale the close hook confirmed, recognised by what a bare document carries: the
    same terminal, the same charged total, a close time within ``MATCH_WINDOW`` and, when
    both know it, the same document number; the nearest in time wins."""
    if document.closed_at is None:
        return None
    closed = to_epoch(document.closed_at)
    rows = await deps.db.fetch_all(
        _SELECT.replace("SELECT ", "SELECT number, ")
        + "terminal_id = :t AND document_id IS NULL AND total = :total "
        "AND closed_at BETWEEN :lo AND :hi",
        {"m": terminal.merchant_id, **_KEY, "t": terminal.terminal_id,
         "total": charged_total(document.lines), "lo": closed - MATCH_WINDOW,
         "hi": closed + MATCH_WINDOW},
    )  # fmt: skip
    candidates = [
        row for row in rows
        if row["state"] in SETTLED and (
            document.number is None or row["number"] is None
            or int(row["number"]) == document.number
        )
    ]  # fmt: skip
    if not candidates:
        return None
    best = min(candidates, key=lambda row: abs(int(row["closed_at"]) - closed))
    return session_of(best)
