"""One receipt session per terminal receipt, for every channel.

A till prices an open receipt several times, holds a bonus payment, maybe drops it, and
closes the receipt, each call naming the receipt by its own id (Evotor ``receiptUuid``,
Frontol ``uid``, a SIGMA receipt id). The session ties that id to what earlier calls
learnt: the customer identified, the bonuses held, the program version priced, the
fiscal document once known and the state. So a close that names no customer or no bonus
payment still confirms the sale the cashier saw, and every adapter only translates its
wire into these calls.

The external id is also the sale's idempotency key in ``checkout`` (``receipts.source`` =
the channel), so a close repeated with a fresh envelope returns the recorded answer.

States: ``quoted`` -> ``held`` -> (``quoted`` after a release) -> ``confirmed``; or
``cancelled``. ``unsettled`` is a confirmed sale part of whose bonus payment could not be
debited (a fiscal document arriving after the hold lapsed); both are ``SETTLED`` and
final: later calls never reopen them.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import structlog

from cloud.clock import to_epoch
from cloud.db.database import is_unique_violation
from cloud.engine.types import EngineError
from cloud.errors import BadRequest, DomainError, NotFound, PaymentRequired
from cloud.services import checkout, customers
from cloud.services.deps import Deps
from cloud.services.merchants import TerminalContext
from schemas import checkout as wire
from schemas.money import line_amount, to_kopecks, to_roubles

log = structlog.get_logger("loyalty.receipts")

SETTLED = ("confirmed", "unsettled")
"""States of a session whose sale is recorded (``unsettled``: part of its bonus payment
could not be debited; the rest of the sale stands)."""
COLUMNS = frozenset(
    {"store_external_id", "document_id", "terminal_id", "customer_id", "positions_key",
     "held", "hold_id", "state", "program_version", "unsettled", "unsettled_reason",
     "total", "closed_at", "number"}
)  # fmt: skip
SELECT = (
    "SELECT channel, external_id, document_id, customer_id, held, hold_id, state, "
    "program_version, closed_at FROM receipt_sessions "
    "WHERE merchant_id = :m AND channel = :ch AND "
)
"""The start of a session query; append the condition on the session's own columns."""


@dataclass(frozen=True, slots=True)
class Session:
    channel: str
    external_id: str
    document_id: str | None
    customer_id: int | None
    held: int
    """Kopecks held for the bonus payment (0 when none)."""
    hold_id: int | None
    state: str
    program_version: int | None
    closed_at: int | None = None
    """Set when the terminal closed the receipt (not when a fiscal document recorded it)."""

    @property
    def settled(self) -> bool:
        return self.state in SETTLED


Categorise = Callable[[wire.Receipt], Awaitable[wire.Receipt]]
"""The receipt with categories for its lines from the merchant's catalogue."""


@dataclass(frozen=True)
class QuoteOutcome:
    priced: checkout.PricedReceipt
    customer_found: bool
    """False when a phone or card was given but nobody has it (priced without them)."""
    customer_id: int | None

    @functools.cached_property
    def quote(self) -> wire.Quote:
        """The canonical wire quote, rendered on first use: a channel that answers from
        a few of its figures (Frontol) reads ``priced`` and skips the rest."""
        return checkout.wire_quote(self.priced)


def session_of(row: Any) -> Session | None:
    if row is None:
        return None
    return Session(
        channel=str(row["channel"]),
        external_id=str(row["external_id"]),
        document_id=row["document_id"],
        customer_id=None if row["customer_id"] is None else int(row["customer_id"]),
        held=int(row["held"]),
        hold_id=None if row["hold_id"] is None else int(row["hold_id"]),
        state=str(row["state"]),
        program_version=None if row["program_version"] is None else int(row["program_version"]),
        closed_at=None if row["closed_at"] is None else int(row["closed_at"]),
    )


async def find(deps: Deps, merchant_id: int, channel: str, external_id: str) -> Session | None:
    row = await deps.db.fetch_one(
        SELECT + "external_id = :e", {"m": merchant_id, "ch": channel, "e": external_id}
    )
    return session_of(row)


async def remember(
    deps: Deps, merchant_id: int, channel: str, external_id: str, **fields: Any
) -> None:
    """Insert or update the session. A settled session keeps its state and hold, and a
    store once known is never erased by a call that does not know it."""
    unknown = set(fields) - COLUMNS
    assert not unknown, unknown
    now = to_epoch(deps.clock())
    key = {"m": merchant_id, "ch": channel, "e": external_id}
    for attempt in range(2):
        try:
            async with deps.db.transaction() as tx:
                state = await tx.fetch_value(
                    "SELECT state FROM receipt_sessions WHERE merchant_id = :m "
                    "AND channel = :ch AND external_id = :e",
                    key,
                )
                values = dict(fields)
                if state in SETTLED:
                    for settled_field in ("state", "held", "hold_id"):
                        values.pop(settled_field, None)
                if state is not None and values.get("store_external_id", "") is None:
                    values.pop("store_external_id")
                if state is None:
                    values.setdefault("held", 0)
                    values.setdefault("state", "quoted")
                    columns = "".join(f", {name}" for name in values)
                    marks = "".join(f", :{name}" for name in values)
                    await tx.insert(
                        "INSERT INTO receipt_sessions (merchant_id, channel, external_id"
                        f"{columns}, created_at, updated_at) VALUES (:m, :ch, :e{marks}, "
                        ":now, :now) RETURNING id",
                        {**key, "now": now, **values},
                    )
                else:
                    sets = "".join(f"{name} = :{name}, " for name in values)
                    await tx.execute(
                        f"UPDATE receipt_sessions SET {sets}updated_at = :now "
                        "WHERE merchant_id = :m AND channel = :ch AND external_id = :e",
                        {**key, "now": now, **values},
                    )
            return
        except Exception as exc:
            # Two first calls for one receipt raced on the insert: the second updates.
            if attempt or not is_unique_violation(exc):
                raise


# ---- helpers shared by the channels -------------------------------------------------------


async def resolve_customer(
    deps: Deps, merchant_id: int, ref: wire.CustomerRef | None
) -> int | None:
    """Our customer for a phone, card or id; ``None`` when nobody has it."""
    if ref is None:
        return None
    return await customers.find_customer(
        deps, merchant_id, phone=ref.phone, card=ref.card, customer_id=ref.customer_id
    )


def held_amount(session: Session | None) -> Decimal:
    """The bonus payment reserved for a session still holding it."""
    if session is None or session.state != "held":
        return Decimal(0)
    return to_roubles(session.held)


def _one_key(ref: wire.CustomerRef | None) -> wire.CustomerRef | None:
    """The reference by the key ``resolve_customer`` would use (phone, else card, else
    id): a till that sends both a phone and a card is not refused for a mismatch here."""
    if ref is None or (ref.phone, ref.card, ref.customer_id).count(None) == 2:
        return ref
    if ref.phone is not None:
        return wire.CustomerRef(phone=ref.phone)
    return wire.CustomerRef(card=ref.card)


def by_id(customer_id: int | None) -> wire.CustomerRef | None:
    return None if customer_id is None else wire.CustomerRef(customer_id=customer_id)


def positions_key(ids: Iterable[str]) -> str | None:
    """A fingerprint of a receipt's set of position ids (for channels whose position ids
    are unique, to recognise one receipt reported twice under two ids)."""
    ordered = sorted(i for i in ids if i)
    if not ordered:
        return None
    return hashlib.sha256("\n".join(ordered).encode()).hexdigest()


def charged_total(lines: Iterable[wire.ReceiptLine]) -> int:
    """What the receipt charged, in kopecks, the same way for a close and a document."""
    return sum(
        to_kopecks(line.amount)
        if line.amount is not None
        else line_amount(to_kopecks(line.price), line.quantity)
        for line in lines
    )


async def stored_sale(
    deps: Deps, merchant_id: int, channel: str, external_id: str
) -> wire.ConfirmResult | None:
    """The answer the sale was recorded with, ``None`` when no such sale is here."""
    response = await deps.db.fetch_value(
        "SELECT response FROM receipts WHERE merchant_id = :m AND source = :src "
        "AND kind = 'sale' AND external_id = :e",
        {"m": merchant_id, "src": channel, "e": external_id},
    )
    return wire.ConfirmResult.model_validate_json(response) if response else None


# ---- the calls of a receipt ---------------------------------------------------------------


async def quote(
    deps: Deps, terminal: TerminalContext, channel: str, request: wire.CalculateRequest,
    *, store_external_id: str | None = None, fingerprint: str | None = None,
    stateless: bool = False, categorise: Categorise | None = None,
) -> QuoteOutcome:  # fmt: skip
    """Price the open receipt. An unknown phone or card still prices it (without the
    customer) and says so; the customer found is remembered for the close. The customer
    is looked up inside the price's own snapshot read: one query in the usual case.

    ``stateless``: the channel names the customer on every call of the receipt (Frontol),
    so a quote teaches the session nothing and writes nothing; the session starts at the
    hold or the close. ``categorise``: the channel's lines carry no category and get it
    from the merchant's catalogue, looked up only when the program has a category rule."""
    guess = deps.programs.last_active(terminal.merchant_id)
    looked_up = categorise is not None and (guess is None or guess.compiled.uses_categories)
    if categorise is not None and looked_up:
        request = _with_receipt(request, await categorise(request.receipt))
    outcome = await _price(deps, terminal, channel, request)
    if categorise is not None and not looked_up:
        # Priced by the program the snapshot read found: if it is not the one guessed
        # (the merchant switched programs) and it looks at categories, price again.
        live = deps.programs.last_active(terminal.merchant_id)
        # (An A/B test's variant B prices some customers by a version other than the
        # live one: only a program that reads categories needs them.)
        priced_by = outcome.priced.snapshot.program
        if live is None or live.compiled.uses_categories or priced_by.compiled.uses_categories:
            request = _with_receipt(request, await categorise(request.receipt))
            outcome = await _price(deps, terminal, channel, request)
    if not stateless:
        await remember(
            deps, terminal.merchant_id, channel, request.receipt.id,
            store_external_id=store_external_id, terminal_id=terminal.terminal_id,
            customer_id=outcome.customer_id, positions_key=fingerprint,
            program_version=outcome.priced.snapshot.program.version,
        )  # fmt: skip
    return outcome


def _with_receipt(request: wire.CalculateRequest, receipt: wire.Receipt) -> wire.CalculateRequest:
    return request.model_copy(update={"receipt": receipt})


async def _price(
    deps: Deps, terminal: TerminalContext, channel: str, request: wire.CalculateRequest
) -> QuoteOutcome:
    receipt = request.receipt
    found = True
    try:
        key = _one_key(receipt.customer)
        if key is not receipt.customer:
            request = _with_receipt(request, receipt.model_copy(update={"customer": key}))
        priced = await checkout.price_receipt(deps, terminal, request, channel)
    except NotFound as exc:
        if exc.code != "customer_not_found":
            raise
        found = False
        anonymous = receipt.model_copy(update={"customer": None})
        priced = await checkout.price_receipt(
            deps, terminal, _with_receipt(request, anonymous), channel
        )
    return QuoteOutcome(priced, found, checkout.customer_id_of(priced))


async def hold(
    deps: Deps, terminal: TerminalContext, channel: str, request: wire.HoldRequest,
    *, store_external_id: str | None = None, fingerprint: str | None = None,
) -> wire.HoldResult:  # fmt: skip
    """Reserve the bonus payment for the receipt; a second hold replaces the first."""
    receipt = request.receipt
    customer_id = await resolve_customer(deps, terminal.merchant_id, receipt.customer)
    if customer_id is None:
        session = await find(deps, terminal.merchant_id, channel, receipt.id)
        customer_id = None if session is None else session.customer_id
    if customer_id is None:
        raise customers.not_found()
    held = request.model_copy(
        update={"receipt": receipt.model_copy(update={"customer": by_id(customer_id)})}
    )
    result = await checkout.hold(deps, terminal, held, channel)
    await remember(
        deps, terminal.merchant_id, channel, receipt.id,
        store_external_id=store_external_id, terminal_id=terminal.terminal_id,
        customer_id=customer_id, positions_key=fingerprint,
        held=to_kopecks(result.amount), hold_id=result.hold_id, state="held",
    )  # fmt: skip
    return result


async def release(
    deps: Deps, terminal: TerminalContext, channel: str, external_id: str,
    *, receipt_cancelled: bool,
) -> wire.CancelResult:  # fmt: skip
    """The bonus payment was removed (``receipt_cancelled=False``) or the whole receipt
    was dropped: release the hold."""
    result = await checkout.cancel(
        deps, terminal, wire.CancelRequest(receipt_id=external_id), channel
    )
    await remember(
        deps, terminal.merchant_id, channel, external_id, held=0, hold_id=None,
        state="cancelled" if receipt_cancelled else "quoted",
    )  # fmt: skip
    return result


async def close(
    deps: Deps, terminal: TerminalContext, channel: str, receipt: wire.Receipt,
    redeemed: Decimal | None, *, store_external_id: str | None = None,
    document_id: str | None = None, number: int | None = None,
    cashier: wire.Cashier | None = None, fingerprint: str | None = None,
    gift_certificates: list[wire.GiftCertificatePayment] | None = None,
    fiscal: bool = False,
) -> wire.ConfirmResult:  # fmt: skip
    """The terminal closed the receipt: record the sale under its external id. The
    customer is the receipt's or else the one earlier calls identified; ``redeemed=None``
    spends what the session holds. A settled session answers with the sale recorded
    then: a retried close (a fresh envelope, say) or the till's view of a receipt its
    fiscal document already recorded is neither a second sale nor a conflict.

    ``fiscal``: the receipt is already printed (a till's close event, a replayed close),
    so a bonus payment that can no longer be debited (the hold lapsed and the bonuses
    were spent meanwhile, an SMS code the till never asked for) does not drop the sale:
    it is recorded with what can still be debited, the session is ``unsettled`` with the
    rest and why, and the answer's ``redeemed`` says what was debited."""
    merchant_id = terminal.merchant_id
    session = await find(deps, merchant_id, channel, receipt.id)
    customer_id = await resolve_customer(deps, merchant_id, receipt.customer)
    if customer_id is None and session is not None:
        customer_id = session.customer_id
    paid = redeemed if redeemed is not None else held_amount(session)
    if paid and customer_id is None:
        raise BadRequest("customer_required", "Для оплаты бонусами укажите клиента")
    stored = None
    if session is not None and session.settled:
        stored = await stored_sale(deps, merchant_id, channel, receipt.id)
    named = receipt.model_copy(update={"customer": by_id(customer_id)})
    unsettled, reason = 0, None
    if stored is not None:
        result = stored
    elif fiscal and paid and not gift_certificates:
        result, reason = await confirm_what_can_be_debited(
            deps, terminal, channel, named, paid, cashier
        )
        unsettled = to_kopecks(paid) - to_kopecks(result.redeemed)
    else:
        result = await checkout.confirm(
            deps, terminal,
            wire.ConfirmRequest(
                receipt=named, redeemed=paid, cashier=cashier,
                gift_certificates=gift_certificates or [],
            ),
            channel,
        )  # fmt: skip
    fields: dict[str, Any] = {
        "state": "unsettled" if unsettled else "confirmed", "customer_id": customer_id,
        "terminal_id": terminal.terminal_id, "positions_key": fingerprint,
        "total": charged_total(receipt.lines), "closed_at": to_epoch(deps.clock()),
        "number": number, "program_version": result.program_version,
    }  # fmt: skip
    if unsettled:
        fields.update(unsettled=unsettled, unsettled_reason=reason)
        log.warning(
            "sale_unsettled", channel=channel, merchant=merchant_id, receipt=receipt.id,
            customer=customer_id, amount_unsettled=str(to_roubles(unsettled)), reason=reason,
        )  # fmt: skip
    if store_external_id is not None:
        fields["store_external_id"] = store_external_id
    if document_id:
        fields["document_id"] = document_id
    await remember(deps, merchant_id, channel, receipt.id, **fields)
    return result


async def confirm_what_can_be_debited(
    deps: Deps, terminal: TerminalContext, channel: str, receipt: wire.Receipt, paid: Decimal,
    cashier: wire.Cashier | None = None,
) -> tuple[wire.ConfirmResult, str | None]:  # fmt: skip
    """Confirm with the whole bonus payment, else with what the customer can still
    spend, else with none; returns the sale recorded (its ``redeemed`` is what was
    debited) and why the rest was not. A refusal
    that is not about the bonuses (a suspended merchant, a failure of ours) is raised."""
    reason: str | None = None
    attempts = [paid]
    for attempt in range(3):
        amount = attempts[attempt] if attempt < len(attempts) else Decimal(0)
        try:
            result = await checkout.confirm(
                deps, terminal,
                wire.ConfirmRequest(receipt=receipt, redeemed=amount, cashier=cashier), channel,
            )  # fmt: skip
            return result, reason
        except (DomainError, EngineError) as exc:
            if isinstance(exc, DomainError) and (
                isinstance(exc, PaymentRequired) or exc.status >= 500
            ):
                raise
            if not amount:
                raise
            reason = reason or exc.code
            if attempt == 0 and receipt.customer is not None:
                spendable = await _spendable(deps, terminal.merchant_id, receipt)
                if 0 < spendable < amount:
                    attempts.append(spendable)
    raise AssertionError("unreachable")  # pragma: no cover


async def _spendable(deps: Deps, merchant_id: int, receipt: wire.Receipt) -> Decimal:
    assert receipt.customer is not None and receipt.customer.customer_id is not None
    summary = await customers.customer_summary(deps, merchant_id, receipt.customer.customer_id)
    return to_roubles(max(0, int(summary.available)))


async def refund(
    deps: Deps, terminal: TerminalContext, channel: str, request: wire.RefundRequest
) -> wire.RefundResult:
    """Return lines of the sale recorded under ``request.receipt_id`` (idempotent on the
    return's own ``request.id``; partial by quantity)."""
    return await checkout.refund(deps, terminal, request, channel)
