"""1C bodies <-> the canonical checkout models (``schemas.checkout``). Renames fields and
moves times between 1C's local wall clock and instants; decides nothing about bonuses."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from schemas import checkout as wire
from schemas import onec

STATUS_RECORDED = "confirmed"


def instant(value: datetime | None, zone: ZoneInfo) -> datetime | None:
    """1C's local date-time (no offset) as an instant of the store's zone; a value with
    an offset is kept as it is."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=zone)


def local(value: datetime | None, zone: ZoneInfo) -> datetime | None:
    """An instant as the store's wall clock, without an offset (what 1C reads)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value
    return value.astimezone(zone).replace(tzinfo=None)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time())


def shown(amount: Decimal) -> str:
    return f"{amount:.2f}".replace(".", ",")


def phone_digits(masked: str) -> str:
    return masked.removeprefix("+")


def customer_ref(body: onec._Customer) -> wire.CustomerRef | None:
    if body.phone is not None:
        return wire.CustomerRef(phone=body.phone)
    if body.card is not None:
        return wire.CustomerRef(card=body.card)
    return None


def receipt(
    receipt_id: str, body: onec._Customer, lines: list[onec.Line], created_at: datetime | None
) -> wire.Receipt:
    return wire.Receipt(
        id=receipt_id,
        customer=customer_ref(body),
        lines=[
            wire.ReceiptLine(
                id=line.id, name=line.name, sku=line.sku, category=line.category,
                price=line.price, quantity=line.quantity, amount=line.amount,
            )
            for line in lines
        ],
        created_at=created_at,
    )  # fmt: skip


def cashier(name: str | None) -> wire.Cashier | None:
    return None if name is None or not name.strip() else wire.Cashier(name=name.strip())


def calc_answer(quote: wire.Quote, customer_found: bool) -> onec.CalcAnswer:
    customer = None
    if quote.customer is not None:
        customer = onec.QuoteCustomer(
            customerId=quote.customer.id, tier=quote.customer.tier,
            tierName=quote.customer.tier_name, balance=quote.customer.balance,
        )  # fmt: skip
    return onec.CalcAnswer(
        receiptId=quote.receipt_id, offline=False, customerFound=customer_found,
        customer=customer,
        lines=[
            onec.CalcLine(
                id=line.id, amount=line.amount, discount=line.discount,
                amountAfterDiscount=line.amount_after_discount, maxRedeem=line.max_redeem,
                redeem=line.redeem, accrual=line.accrual,
            )
            for line in quote.lines
        ],
        amount=quote.amount, discount=quote.discount,
        amountAfterDiscount=quote.amount_after_discount, maxRedeem=quote.max_redeem,
        redeem=quote.redeem, accrual=quote.accrual, messages=quote.messages,
    )  # fmt: skip


def hold_answer(held: wire.HoldResult, zone: ZoneInfo) -> onec.HoldAnswer:
    expires = local(held.expires_at, zone)
    assert expires is not None
    return onec.HoldAnswer(
        receiptId=held.receipt_id, holdId=str(held.hold_id), amount=held.amount,
        expiresAt=expires, balance=held.balance,
        lines=[onec.HoldLine(id=line.id, redeem=line.redeem) for line in held.lines],
        messages=[f"Зарезервировано бонусов: {shown(held.amount)}"],
    )  # fmt: skip


def confirm_answer(result: wire.ConfirmResult, zone: ZoneInfo) -> onec.ConfirmAnswer:
    return onec.ConfirmAnswer(
        receiptId=result.receipt_id, status=result.status, amount=result.amount,
        redeemed=result.redeemed, accrued=result.accrued,
        accrualAvailableFrom=local(result.accrual_available_from, zone),
        balance=None if result.customer is None else result.customer.balance,
        messages=result.messages,
    )  # fmt: skip


def cancel_answer(result: wire.CancelResult) -> onec.CancelAnswer:
    return onec.CancelAnswer(receiptId=result.receipt_id, status="cancelled",
                             released=result.released)  # fmt: skip


def refund_request(body: onec.ReturnRequest, zone: ZoneInfo) -> wire.RefundRequest:
    return wire.RefundRequest(
        id=body.returnId, receipt_id=body.receiptId,
        lines=None if body.lines is None else [
            wire.RefundLine(id=line.id, quantity=line.quantity) for line in body.lines
        ],
        created_at=instant(body.returnDate, zone), cashier=cashier(body.cashier),
    )  # fmt: skip


def return_answer(result: wire.RefundResult) -> onec.ReturnAnswer:
    return onec.ReturnAnswer(
        returnId=result.refund_id, receiptId=result.receipt_id, status="returned",
        lines=[
            onec.ReturnAnswerLine(
                id=line.id, quantity=line.quantity, returnedBonuses=line.returned_bonuses,
                reversedAccrual=line.reversed_accrual,
            )
            for line in result.lines
        ],
        returnedBonuses=result.returned_bonuses, reversedAccrual=result.reversed_accrual,
        balance=result.balance, messages=result.messages,
    )  # fmt: skip
