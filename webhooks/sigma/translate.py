"""SIGMA hook bodies <-> the canonical checkout models (``schemas.checkout``). Nothing
here decides anything about bonuses: it renames fields."""

from __future__ import annotations

import re

from schemas import checkout as wire
from schemas import sigma as sg

_DIGITS = re.compile(r"[0-9]{6,20}")


def card_from_qr(text: str) -> wire.CustomerRef:
    """Our card's QR code holds the card number (or, for a customer without a virtual
    card, the phone in +7 form: ``cloud/telegram/views.card``). A URL or a prefixed text
    is reduced to its longest run of digits."""
    text = text.strip()
    if text.startswith("+"):
        return wire.CustomerRef(phone=text)
    runs = _DIGITS.findall(text)
    return wire.CustomerRef(card=max(runs, key=len) if runs else text)


def customer_ref(customer: sg.Customer | None) -> wire.CustomerRef | None:
    if customer is None:
        return None
    if customer.qr is not None:
        return card_from_qr(customer.qr)
    if customer.card is not None:
        return wire.CustomerRef(card=customer.card)
    return wire.CustomerRef(phone=customer.phone)


def receipt(
    receipt_id: str, customer: sg.Customer | None, lines: list[sg.Line],
    created_at: object = None,
) -> wire.Receipt:  # fmt: skip
    return wire.Receipt.model_validate({
        "id": receipt_id,
        "customer": customer_ref(customer),
        "lines": [
            wire.ReceiptLine(
                id=line.id, name=line.name, sku=line.sku, category=line.category,
                price=line.price, quantity=line.quantity, amount=line.amount,
                minimum_price=line.minimum_price,
            )
            for line in lines
        ],
        "created_at": created_at,
    })  # fmt: skip


def cashier(value: sg.Cashier | None) -> wire.Cashier | None:
    if value is None or (value.id is None and value.name is None):
        return None
    return wire.Cashier(id=value.id, name=value.name)


def _customer(summary: wire.CustomerSummary | None) -> sg.CustomerOut | None:
    if summary is None:
        return None
    return sg.CustomerOut(
        id=summary.id, tier=summary.tier, tier_name=summary.tier_name, balance=summary.balance
    )


def quote_response(event: str, quote: wire.Quote, customer_found: bool) -> sg.QuoteResponse:
    return sg.QuoteResponse(
        event=event, receipt_id=quote.receipt_id, program_version=quote.program_version,
        customer=_customer(quote.customer), customer_found=customer_found,
        lines=[
            sg.QuoteLine(
                id=line.id, amount=line.amount, discount=line.discount,
                amount_after_discount=line.amount_after_discount,
                unit_price_after_discount=line.unit_price_after_discount,
                bonus_payment_max=line.max_redeem, bonus_payment=line.redeem,
                accrual=line.accrual,
            )
            for line in quote.lines
        ],
        amount=quote.amount, discount=quote.discount,
        amount_after_discount=quote.amount_after_discount,
        bonuses_spendable=quote.max_redeem, bonus_payment=quote.redeem, accrual=quote.accrual,
        messages=quote.messages, slip=quote.slip,
    )  # fmt: skip


def hold_response(held: wire.HoldResult) -> sg.HoldResponse:
    return sg.HoldResponse(
        event="bonus.hold", receipt_id=held.receipt_id, hold_id=str(held.hold_id),
        amount=held.amount, expires_at=held.expires_at, balance=held.balance,
        lines=[sg.HoldLine(id=line.id, bonus_payment=line.redeem) for line in held.lines],
        slip=held.slip,
    )  # fmt: skip


def release_response(event: str, result: wire.CancelResult) -> sg.ReleaseResponse:
    shown = f"{result.released:.2f}".replace(".", ",")
    slip = [f"Отмена оплаты бонусами: {shown}"] if result.released else []
    return sg.ReleaseResponse(
        event=event, receipt_id=result.receipt_id, released=result.released, slip=slip
    )


def closed_response(receipt_id: str, result: wire.ConfirmResult) -> sg.ClosedResponse:
    return sg.ClosedResponse(
        event="receipt.closed", receipt_id=receipt_id, status=result.status,
        customer=_customer(result.customer), amount=result.amount,
        bonus_paid=result.redeemed, accrued=result.accrued,
        accrual_available_from=result.accrual_available_from,
        messages=result.messages, slip=result.slip,
    )  # fmt: skip


def refund_request(body: sg.ReceiptRefundedRequest) -> wire.RefundRequest:
    return wire.RefundRequest.model_validate({
        "id": body.refund_id,
        "receipt_id": body.receipt_id,
        "lines": None if body.lines is None else [
            wire.RefundLine(id=line.id, quantity=line.quantity) for line in body.lines
        ],
        "created_at": body.created_at,
        "cashier": cashier(body.cashier),
    })  # fmt: skip


def refunded_response(result: wire.RefundResult) -> sg.RefundedResponse:
    return sg.RefundedResponse(
        event="receipt.refunded", refund_id=result.refund_id, receipt_id=result.receipt_id,
        lines=[
            sg.RefundedLine(
                id=line.id, quantity=line.quantity, returned_bonuses=line.returned_bonuses,
                reversed_accrual=line.reversed_accrual,
            )
            for line in result.lines
        ],
        returned_bonuses=result.returned_bonuses, reversed_accrual=result.reversed_accrual,
        unrecovered_accrual=result.unrecovered_accrual, balance=result.balance,
        messages=result.messages,
    )  # fmt: skip
