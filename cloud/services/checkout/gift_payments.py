"""Gift certificates as a means of payment in the checkout: hold, spend at confirm, give
back on a return.

A certificate pays money, not bonuses: it touches no lot and no bonus hold, and the
receipt's bonuses accrue as the program says on what was paid in money, certificate
included (a certificate is a means of payment, like cash). What a receipt may take from
certificates is its total after discounts less its bonus payment.

Every movement runs in the caller's transaction with the certificates locked (``FOR
UPDATE`` on PostgreSQL, in number order, after the customer's lock where there is one;
SQLite's writer transaction is the lock): two tills spending one certificate at once
are one after the other, and the second sees what the first left.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from cloud.clock import to_epoch
from cloud.db.database import Row, Transaction
from cloud.engine.text import format_roubles
from cloud.errors import Unprocessable
from cloud.ledger.holds import active_hold
from cloud.services import gift_certificates as certificates
from cloud.services.checkout import snapshot as snapshots
from cloud.services.checkout.calculation import price
from cloud.services.checkout.render import local_time
from cloud.services.checkout.stored import refuse_if_closed
from cloud.services.deps import Deps
from cloud.services.merchants import TerminalContext
from schemas import checkout as wire
from schemas.money import to_kopecks, to_roubles


async def lock_all(
    tx: Transaction, merchant_id: int, payments: Sequence[wire.GiftCertificatePayment], now: int
) -> list[tuple[Row, int]]:
    """The certificates paid with, locked in number order and each checked usable;
    with the amount each is to pay."""
    locked = []
    for payment in sorted(payments, key=lambda p: p.number):
        row = await certificates.lock(tx, merchant_id, "g.number = :n", {"n": payment.number})
        if row is None:
            raise certificates.not_found(payment.number)
        _refuse_unusable(row, now)
        locked.append((row, to_kopecks(payment.amount)))
    return locked


def _refuse_unusable(row: Row, now: int) -> None:
    number = str(row["number"])
    state = certificates.state_of(row, now)
    if state == "CAN_BE_USED":
        return
    if state == "EXPIRED":
        raise certificates.expired(number)
    code, message = {
        "NOT_ACTIVATED": ("gift_certificate_not_activated",
                          f"Сертификат №{number} не активирован: его ещё не продавали"),
        "USED": ("gift_certificate_used", f"Сертификат №{number} уже использован"),
        "VOIDED": ("gift_certificate_voided", f"Сертификат №{number} аннулирован"),
    }[state]  # fmt: skip
    raise Unprocessable(code, message)


def _refuse_over_receipt(payments: Sequence[wire.GiftCertificatePayment], limit: int) -> None:
    if sum(to_kopecks(p.amount) for p in payments) > limit:
        raise Unprocessable(
            "gift_certificate_exceeds_receipt",
            f"Сертификатами можно оплатить не больше {format_roubles(max(limit, 0))} ₽: "
            "это сумма чека после скидок и бонусов",
        )


async def _refuse_over_available(
    tx: Transaction, row: Row, amount: int, receipt_external_id: str, now: int
) -> int:
    """What remains on the certificate for this receipt (others' holds excluded)."""
    held = await certificates.held_on(tx, int(row["id"]), now, but=receipt_external_id)
    available = int(row["remaining"]) - held
    if amount > available:
        raise Unprocessable(
            "gift_certificate_insufficient",
            f"На сертификате №{row['number']} доступно {format_roubles(max(available, 0))} ₽",
        )
    return available


async def release(
    tx: Transaction, merchant_id: int, source: str, receipt_external_id: str, status: str
) -> None:
    """End the receipt's certificate holds (``released`` or ``consumed``)."""
    await tx.execute(
        "UPDATE gift_certificate_holds SET status = :status WHERE merchant_id = :m "
        "AND source = :s AND receipt_external_id = :r AND status = 'active'",
        {"m": merchant_id, "s": source, "r": receipt_external_id, "status": status},
    )


async def hold(
    deps: Deps,
    terminal: TerminalContext,
    request: wire.GiftCertificateHoldRequest,
    source: str = "api",
) -> wire.GiftCertificateHoldResult:
    """Reserve certificate money for the open receipt until the hold's time runs out;
    ``confirm`` spends it. Replaces the receipt's earlier certificate hold."""
    receipt = request.receipt
    now_dt = deps.clock()
    now = to_epoch(now_dt)
    await refuse_if_closed(deps.db, terminal.merchant_id, source, receipt.id)
    expires = now_dt + timedelta(seconds=deps.settings.hold_ttl_seconds)
    async with deps.db.transaction() as tx:
        await refuse_if_closed(tx, terminal.merchant_id, source, receipt.id)
        snapshot = await snapshots.read_snapshot(deps, tx, terminal, receipt, source, now)
        bonus_hold = await active_hold(tx, terminal.merchant_id, source, receipt.id, now)
        redeem = Decimal(0) if bonus_hold is None else to_roubles(bonus_hold.amount)
        quote = price(snapshot, receipt, now_dt, terminal, redeem, False)
        _refuse_over_receipt(request.gift_certificates, quote.amount_after_discount - quote.redeem)
        await release(tx, terminal.merchant_id, source, receipt.id, "released")
        applied = []
        for row, amount in await lock_all(tx, terminal.merchant_id, request.gift_certificates, now):
            available = await _refuse_over_available(tx, row, amount, receipt.id, now)
            await tx.insert(
                "INSERT INTO gift_certificate_holds (merchant_id, certificate_id, source, "
                "receipt_external_id, amount, status, expires_at, created_at) VALUES (:m, :c, "
                ":s, :r, :a, 'active', :exp, :now) RETURNING id",
                {"m": terminal.merchant_id, "c": row["id"], "s": source, "r": receipt.id,
                 "a": amount, "exp": to_epoch(expires), "now": now},
            )  # fmt: skip
            left = 0 if row["redemption"] == "single" else available - amount
            applied.append(_applied(row, amount, left))
    return wire.GiftCertificateHoldResult(
        receipt_id=receipt.id,
        gift_certificates=applied,
        expires_at=local_time(expires, terminal.timezone),
        slip=[_slip_line(item) for item in applied],
    )


def _applied(row: Row, amount: int, left: int) -> wire.GiftCertificateApplied:
    return wire.GiftCertificateApplied(
        number=str(row["number"]), amount=to_roubles(amount), remaining=to_roubles(left)
    )


def _slip_line(item: wire.GiftCertificateApplied) -> str:
    return (
        f"Оплачено сертификатом №{item.number}: {format_roubles(to_kopecks(item.amount))} ₽, "
        f"остаток {format_roubles(to_kopecks(item.remaining))} ₽"
    )


async def spend(
    tx: Transaction, merchant_id: int, source: str, receipt_external_id: str, receipt_id: int,
    payments: Sequence[wire.GiftCertificatePayment], limit: int, now: int,
) -> tuple[list[wire.GiftCertificateApplied], list[str]]:  # fmt: skip
    """Spend the confirm's certificate payments on the stored sale ``receipt_id``
    (consuming the receipt's certificate holds); ``limit`` is the receipt's total after
    discounts and bonuses. Returns what each paid and the slip's lines."""
    if not payments:
        await release(tx, merchant_id, source, receipt_external_id, "released")
        return [], []
    _refuse_over_receipt(payments, limit)
    applied = []
    for row, amount in await lock_all(tx, merchant_id, payments, now):
        await _refuse_over_available(tx, row, amount, receipt_external_id, now)
        remaining = int(row["remaining"]) - amount
        # A single-redemption certificate serves one receipt: its leftover lapses now.
        forfeit = remaining if row["redemption"] == "single" else 0
        key = f"{receipt_id}:{row['id']}"
        await certificates.move(
            tx, merchant_id, row, "redeem", -amount, receipt_id, "redeem:" + key, now
        )
        if forfeit:
            await certificates.move(
                tx, merchant_id, row, "forfeit", -forfeit, receipt_id, "forfeit:" + key, now
            )
        await tx.execute(
            "UPDATE gift_certificates SET remaining = :left, redeemed = redeemed + :a, "
            "expired = expired + :f, status = CASE WHEN CAST(:left AS BIGINT) = 0 "
            "THEN 'used' ELSE status END, updated_at = :now WHERE id = :id",
            {"left": remaining - forfeit, "a": amount, "f": forfeit, "now": now, "id": row["id"]},
        )  # fmt: skip
        applied.append(_applied(row, amount, remaining - forfeit))
    await release(tx, merchant_id, source, receipt_external_id, "consumed")
    return applied, [_slip_line(item) for item in applied]


def _share(total: int, part: int, whole: int) -> int:
    value = Decimal(total) * part / whole
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


async def give_back(
    tx: Transaction, merchant_id: int, sale_id: int, refund_id: int, returned_now: int, now: int
) -> tuple[list[wire.GiftCertificateReturned], list[str]]:
    """A return of ``returned_now`` kopecks of the sale puts back on each certificate
    that paid it its share (pro rata of the sale's total, counted on the cumulative
    returned amount so a series of returns gives back exactly what was paid). A
    certificate expired or voided since gets nothing back: the cashier settles that
    share otherwise. Runs in the refund's transaction."""
    paid = await tx.fetch_all(
        "SELECT e.certificate_id, -e.amount AS paid FROM gift_certificate_entries e "
        "JOIN gift_certificates g ON g.id = e.certificate_id WHERE e.merchant_id = :m "
        "AND e.receipt_id = :r AND e.kind = 'redeem' ORDER BY g.number",  # the lock order
        {"m": merchant_id, "r": sale_id},
    )
    if not paid:
        return [], []
    row = await tx.fetch_one(
        "SELECT s.amount AS total, (SELECT COALESCE(SUM(f.amount), 0) FROM receipts f WHERE "
        "f.merchant_id = :m AND f.kind = 'refund' AND f.original_receipt_id = s.id "
        "AND f.id <> :refund) AS before FROM receipts s WHERE s.merchant_id = :m AND s.id = :r",
        {"m": merchant_id, "r": sale_id, "refund": refund_id},
    )
    assert row is not None
    total, before = int(row["total"]), int(row["before"])
    results, messages = [], []
    for entry in paid:
        amount = int(entry["paid"])
        give = _share(amount, before + returned_now, total) - _share(amount, before, total)
        cert = await certificates.lock(
            tx, merchant_id, "g.id = :id", {"id": entry["certificate_id"]}
        )
        if give <= 0 or cert is None:
            continue
        number = str(cert["number"])
        if certificates.state_of(cert, now) in ("EXPIRED", "VOIDED"):
            results.append(wire.GiftCertificateReturned(
                number=number, returned=Decimal(0), not_returned=to_roubles(give)))  # fmt: skip
            messages.append(
                f"Сертификат №{number} истёк или аннулирован: {format_roubles(give)} ₽ на него "
                "не возвращены, верните их покупателю иначе"
            )
            continue
        await certificates.move(
            tx,
            merchant_id,
            cert,
            "return",
            give,
            refund_id,
            f"return:{refund_id}:{cert['id']}",
            now,
        )
        await tx.execute(
            "UPDATE gift_certificates SET remaining = remaining + :g, redeemed = redeemed - :g, "
            "status = 'active', updated_at = :now WHERE id = :id",
            {"g": give, "now": now, "id": cert["id"]},
        )
        results.append(wire.GiftCertificateReturned(
            number=number, returned=to_roubles(give), not_returned=Decimal(0)))  # fmt: skip
        messages.append(f"На сертификат №{number} возвращено {format_roubles(give)} ₽")
    return results, messages
