"""A customer's claim of a fiscal receipt: checked, recorded once per fiscal document,
verified by the merchant's provider, accrued through the checkout.

Checks before anything is written (the customer is told at once, nothing is kept): the
QR reads as a sale; the merchant accepts claims; the ``fn`` is a drive of one of *this*
merchant's stores (another merchant's, or nobody's, is refused); the customer is this
merchant's and not blocked; the receipt is within the claim window. Then one row per
fiscal document (fn, fd, fp), unique in the whole service: a second claim finds the
first (the same customer hears its state, another is refused), so a receipt accrues
once. A refused row (a mismatch, a receipt the provider never confirmed) may be taken
again by a later claim: nothing was accrued for it.

Verification runs at once and, while the provider does not know the receipt yet or does
not answer, again from the ``fiscal_claims`` job with a doubling delay. A lease on the
row keeps the page, the bot and the job off the same claim; the accrual is a
``checkout.confirm`` of source ``fiscal_qr`` keyed by the document, idempotent as every
confirm, so even a lease that ran out cannot accrue twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

import structlog
from pydantic import ValidationError

from cloud.clock import to_epoch
from cloud.db.database import is_unique_violation
from cloud.errors import DomainError
from cloud.fiscal import qr as qr_text
from cloud.fiscal.provider import VerifiedReceipt, provider_for
from cloud.fiscal.setup import FiscalSettings, read_settings
from cloud.services import checkout
from cloud.services.deps import Deps
from cloud.services.merchants import TerminalContext, zone
from schemas import checkout as wire
from schemas.money import to_roubles

log = structlog.get_logger(__name__)

SOURCE = "fiscal_qr"
"""The checkout source of claimed receipts, and the channel of each store's virtual
terminal they are recorded on."""
LEASE_SECONDS = 120
MAX_RETRY_SECONDS = 6 * 3600
JOB_BATCH = 200
FUTURE_SLACK = timedelta(minutes=10)
MAX_LINES = 500

Status = Literal["accrued", "pending", "refused"]


@dataclass(frozen=True, slots=True)
class ClaimResult:
    status: Status
    message: str
    """Russian, for the customer."""
    claim_id: int | None = None
    accrued: int | None = None


def _refused(message: str, claim_id: int | None = None) -> ClaimResult:
    return ClaimResult("refused", message, claim_id)


PENDING = (
    "Чек принят и ждёт проверки в ФНС: чеки попадают туда не сразу, иногда через несколько "
    "часов. Бонусы начислятся автоматически."
)


async def claim(
    deps: Deps, merchant_id: int, customer_id: int, text: str, channel: str
) -> ClaimResult:
    try:
        qr = qr_text.parse(text)
    except DomainError as exc:
        return _refused(exc.message)
    settings = await read_settings(deps, merchant_id)
    if settings is None or settings.credentials is None:
        return _refused("Эта программа пока не принимает чеки по QR-коду")
    drive = await deps.db.fetch_one(
        "SELECT d.merchant_id, d.store_id, s.timezone FROM fiscal_drives d "
        "JOIN stores s ON s.id = d.store_id WHERE d.fn = :fn",
        {"fn": qr.fn},
    )
    if drive is None:
        return _refused(
            "Касса, выдавшая этот чек, не зарегистрирована в программе: "
            "бонусы за него не начисляются"
        )
    if int(drive["merchant_id"]) != merchant_id:
        return _refused("Этот чек выдан не в магазине этой программы")
    customer = await deps.db.fetch_one(
        "SELECT c.id, c.blocked_at, m.status FROM customers c JOIN merchants m "
        "ON m.id = c.merchant_id WHERE c.merchant_id = :m AND c.id = :c",
        {"m": merchant_id, "c": customer_id},
    )
    if customer is None:
        return _refused("Вы не зарегистрированы в программе лояльности")
    if customer["blocked_at"] is not None:
        return _refused("Карта заблокирована: бонусы не начисляются")
    if customer["status"] != "active":
        return _refused("Программа лояльности приостановлена")
    now = deps.clock()
    bought = qr.time.replace(tzinfo=zone(str(drive["timezone"])))
    if bought > now + FUTURE_SLACK:
        return _refused("Время покупки в QR-коде ещё не наступило: проверьте чек")
    if now - bought > timedelta(days=settings.claim_window_days):
        return _refused(
            f"Чек старше {settings.claim_window_days} дн.: бонусы начисляются "
            "только за недавние покупки"
        )
    claim_id = await _record(deps, merchant_id, customer_id, int(drive["store_id"]), qr, channel)
    if isinstance(claim_id, ClaimResult):
        return claim_id
    return await process(deps, claim_id)


async def _record(
    deps: Deps,
    merchant_id: int,
    customer_id: int,
    store_id: int,
    qr: qr_text.FiscalQr,
    channel: str,
) -> int | ClaimResult:
    """The claim's id (new, or a refused one taken over), or the answer to a repeat."""
    epoch = to_epoch(deps.clock())
    values = {
        "m": merchant_id,
        "c": customer_id,
        "s": store_id,
        "fn": qr.fn,
        "fd": qr.fd,
        "fp": qr.fp,
        "op": qr.operation,
        "amount": qr.amount,
        "t": qr.time.isoformat(timespec="seconds"),
        "ch": channel,
        "now": epoch,
    }
    try:
        async with deps.db.transaction() as tx:
            return await tx.insert(
                "INSERT INTO fiscal_claims (merchant_id, customer_id, store_id, fn, fd, fp, "
                "operation, amount, receipt_time, channel, status, attempts, next_attempt_at, "
                "created_at, updated_at) VALUES (:m, :c, :s, :fn, :fd, :fp, :op, :amount, :t, "
                ":ch, 'pending', 0, :now, :now, :now) RETURNING id",
                values,
            )
    except Exception as exc:
        if not is_unique_violation(exc):
            raise
    async with deps.db.transaction() as tx:
        retaken = await tx.fetch_value(
            "UPDATE fiscal_claims SET merchant_id = :m, customer_id = :c, store_id = :s, "
            "operation = :op, amount = :amount, receipt_time = :t, channel = :ch, "
            "status = 'pending', reason = NULL, attempts = 0, next_attempt_at = :now, "
            "lease_until = NULL, created_at = :now, updated_at = :now "
            "WHERE fn = :fn AND fd = :fd AND fp = :fp AND status = 'refused' RETURNING id",
            values,
        )
        if retaken is not None:
            return int(retaken)
        row = await tx.fetch_one(
            "SELECT id, merchant_id, customer_id, status, accrued FROM fiscal_claims "
            "WHERE fn = :fn AND fd = :fd AND fp = :fp",
            values,
        )
    assert row is not None  # the unique violation names a row; rows are never deleted
    if int(row["merchant_id"]) != merchant_id or int(row["customer_id"]) != customer_id:
        return _refused("Этот чек уже предъявлен другим участником программы")
    if row["status"] == "accrued":
        return ClaimResult(
            "accrued", "Бонусы за этот чек уже начислены", int(row["id"]), int(row["accrued"] or 0)
        )
    return ClaimResult("pending", PENDING, int(row["id"]))


async def state(deps: Deps, claim_id: int) -> ClaimResult:
    row = await deps.db.fetch_one(
        "SELECT status, reason, accrued FROM fiscal_claims WHERE id = :id", {"id": claim_id}
    )
    assert row is not None
    if row["status"] == "accrued":
        return ClaimResult(
            "accrued", _accrued_text(int(row["accrued"] or 0)), claim_id, int(row["accrued"] or 0)
        )
    if row["status"] == "refused":
        return _refused(str(row["reason"]), claim_id)
    return ClaimResult("pending", PENDING, claim_id)


def _accrued_text(accrued: int) -> str:
    if accrued <= 0:
        return "Чек принят. По правилам программы бонусы за эту покупку не начисляются."
    return f"Начислено бонусов: {_roubles(accrued)}"


def _roubles(kopecks: int) -> str:
    return f"{to_roubles(kopecks):f}".rstrip("0").rstrip(".").replace(".", ",")


async def process(deps: Deps, claim_id: int) -> ClaimResult:
    """Verify a pending claim once (if no one else is at it) and settle what follows."""
    now = deps.clock()
    epoch = to_epoch(now)
    async with deps.db.transaction() as tx:
        row = await tx.fetch_one(
            "UPDATE fiscal_claims SET lease_until = :until, attempts = attempts + 1, "
            "updated_at = :now WHERE id = :id AND status = 'pending' AND (lease_until IS NULL "
            "OR lease_until <= :now) RETURNING merchant_id, customer_id, store_id, fn, fd, fp, "
            "operation, amount, receipt_time, attempts, created_at",
            {"id": claim_id, "now": epoch, "until": epoch + LEASE_SECONDS},
        )
    if row is None:
        return await state(deps, claim_id)
    merchant_id = int(row["merchant_id"])
    qr = qr_text.FiscalQr(
        time=datetime.fromisoformat(str(row["receipt_time"])),
        amount=int(row["amount"]),
        fn=str(row["fn"]),
        fd=int(row["fd"]),
        fp=str(row["fp"]),
        operation=int(row["operation"]),
    )
    settings = await read_settings(deps, merchant_id)
    if settings is None or settings.credentials is None:
        return await _retry(deps, claim_id, row, "no credentials")
    provider = provider_for(settings.provider, deps.settings)
    verification = await provider.verify(
        settings.credentials, qr, f"{merchant_id}:{row['customer_id']}", now
    )
    log.info(
        "fiscal.verified", claim=claim_id, outcome=verification.outcome, detail=verification.detail
    )
    if verification.outcome == "refused":
        return await _finish_refused(deps, claim_id, verification.detail)
    if verification.outcome != "found" or verification.receipt is None:
        return await _retry(deps, claim_id, row, verification.detail)
    reason = mismatch(verification.receipt, settings, qr)
    if reason is not None:
        return await _finish_refused(deps, claim_id, reason)
    try:
        accrued, receipt_id = await _accrue(deps, row, qr, verification.receipt)
    except (DomainError, ValidationError) as exc:
        message = exc.message if isinstance(exc, DomainError) else "строки чека не разобрать"
        log.warning("fiscal.accrual_refused", claim=claim_id, error=message)
        return await _finish_refused(deps, claim_id, f"Чек не удалось провести: {message}")
    async with deps.db.transaction() as tx:
        await tx.execute(
            "UPDATE fiscal_claims SET status = 'accrued', accrued = :acc, receipt_id = :r, "
            "lease_until = NULL, updated_at = :now WHERE id = :id",
            {"acc": accrued, "r": receipt_id, "now": epoch, "id": claim_id},
        )
    return ClaimResult("accrued", _accrued_text(accrued), claim_id, accrued)


def mismatch(
    receipt: VerifiedReceipt, settings: FiscalSettings, qr: qr_text.FiscalQr
) -> str | None:
    """Why the verified receipt is not the one the QR names (or not this merchant's)."""
    if receipt.user_inn != settings.inn:
        return "Чек выдан другой организацией: ИНН продавца не совпадает"
    if (receipt.fn and receipt.fn != qr.fn) or (receipt.fd and receipt.fd != qr.fd):
        return "Данные ФНС относятся к другому чеку"
    if receipt.operation != 1:
        return "По данным ФНС это не чек продажи"
    if receipt.amount != qr.amount:
        return "Сумма чека в ФНС не совпадает с суммой в QR-коде"
    if receipt.time.replace(second=0) != qr.time.replace(second=0):
        return "Время чека в ФНС не совпадает со временем в QR-коде"
    return None


async def _finish_refused(deps: Deps, claim_id: int, reason: str) -> ClaimResult:
    async with deps.db.transaction() as tx:
        await tx.execute(
            "UPDATE fiscal_claims SET status = 'refused', reason = :reason, lease_until = NULL, "
            "updated_at = :now WHERE id = :id AND status = 'pending'",
            {"reason": reason[:500], "now": to_epoch(deps.clock()), "id": claim_id},
        )
    return _refused(reason, claim_id)


async def _retry(deps: Deps, claim_id: int, row: Any, detail: str) -> ClaimResult:
    """Pending again, due after a doubling delay (the job gives up past the limit)."""
    epoch = to_epoch(deps.clock())
    delay = min(
        deps.settings.fiscal_retry_seconds * 2 ** max(int(row["attempts"]) - 1, 0),
        MAX_RETRY_SECONDS,
    )
    async with deps.db.transaction() as tx:
        await tx.execute(
            "UPDATE fiscal_claims SET next_attempt_at = :next, lease_until = NULL, "
            "updated_at = :now WHERE id = :id AND status = 'pending'",
            {"next": epoch + delay, "now": epoch, "id": claim_id},
        )
    log.info("fiscal.pending", claim=claim_id, retry_in=delay, detail=detail)
    return ClaimResult("pending", PENDING, claim_id)


async def fiscal_terminal(deps: Deps, merchant_id: int, store_id: int) -> TerminalContext:
    """The store's virtual terminal of channel ``fiscal_qr``, created on first use. A
    receipt is always some terminal's; this one is no till (no token is ever issued for
    it: ``issue_terminal_token`` refuses channels outside ``CHANNELS``), so the
    merchant's reports show claimed receipts as the store's, apart from its tills."""
    sql = (
        "SELECT t.id, s.timezone, m.status FROM terminals t JOIN stores s ON s.id = "
        "t.store_id JOIN merchants m ON m.id = t.merchant_id WHERE t.merchant_id = :m "
        "AND t.store_id = :s AND t.channel = :ch ORDER BY t.id LIMIT 1"
    )
    params = {"m": merchant_id, "s": store_id, "ch": SOURCE}
    row = await deps.db.fetch_one(sql, params)
    if row is None:
        async with deps.db.transaction() as tx:
            await tx.insert(
                "INSERT INTO terminals (merchant_id, store_id, name, external_id, channel, "
                "created_at) VALUES (:m, :s, 'Чеки по QR-коду', :ch, :ch, :now) RETURNING id",
                {**params, "now": to_epoch(deps.clock())},
            )
        row = await deps.db.fetch_one(sql, params)
    assert row is not None
    return TerminalContext(
        merchant_id, store_id, int(row["id"]), zone(str(row["timezone"])), str(row["status"])
    )


def confirm_request(
    customer_id: int, qr: qr_text.FiscalQr, receipt: VerifiedReceipt, terminal: TerminalContext
) -> wire.ConfirmRequest:
    """The verified receipt as the checkout's closed receipt: the provider's lines with
    their names, prices and quantities, so the program's accrual rules price them; no
    bonus payment (a receipt from another register paid none of ours)."""
    lines = [
        {
            "id": str(n),
            "name": line.name,
            "price": to_roubles(line.price),
            "quantity": line.quantity.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP),
            "amount": to_roubles(line.amount),
        }
        for n, line in enumerate(receipt.lines, 1)
        if line.amount > 0 and line.quantity > 0
    ]
    if not lines or len(lines) > MAX_LINES:
        lines = [
            {
                "id": "1",
                "name": "Покупка",
                "price": to_roubles(receipt.amount),
                "quantity": Decimal(1),
            }
        ]
    return wire.ConfirmRequest.model_validate(
        {
            "receipt": {
                "id": qr.document_key,
                "customer": {"customer_id": customer_id},
                "lines": lines,
                "created_at": receipt.time.replace(tzinfo=terminal.timezone),
            }
        }
    )


async def _accrue(
    deps: Deps, row: Any, qr: qr_text.FiscalQr, receipt: VerifiedReceipt
) -> tuple[int, int | None]:
    merchant_id = int(row["merchant_id"])
    terminal = await fiscal_terminal(deps, merchant_id, int(row["store_id"]))
    request = confirm_request(int(row["customer_id"]), qr, receipt, terminal)
    result = await checkout.confirm(deps, terminal, request, source=SOURCE)
    receipt_id = await deps.db.fetch_value(
        "SELECT id FROM receipts WHERE merchant_id = :m AND source = :src AND kind = 'sale' "
        "AND external_id = :e",
        {"m": merchant_id, "src": SOURCE, "e": qr.document_key},
    )
    accrued = int(result.accrued * 100)
    return accrued, None if receipt_id is None else int(receipt_id)
