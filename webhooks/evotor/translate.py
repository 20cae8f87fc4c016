"""Evotor shapes <-> the canonical checkout protocol and the sync records.

No I/O: pure functions from ``schemas.evotor`` models to ``schemas.checkout`` models and
``cloud.services`` records, and back. Money arrives as exact decimals and is rounded
half-up to kopecks here, once; quantities to three places.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from cloud.clock import to_epoch
from cloud.services.evotor_accounts import (
    DeviceRecord,
    EmployeeRecord,
    StoreRecord,
    full_name,
    offset_seconds,
)
from cloud.services.evotor_receipts import PaybackDocument, PaybackLine, SellDocument
from schemas import checkout as wire
from schemas import evotor as ev
from schemas.money import line_amount, to_kopecks, to_roubles

CENT = Decimal("0.01")
MILLI = Decimal("0.001")
FREE_PRICE_PRODUCT = "390067bf-e8d3-4fcc-8c30-fbfd77a0a70d"
"""``product_id`` Evotor gives every free-price item: not a product identity."""
_EAN = re.compile(r"\d{8,19}")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def quantity(value: Decimal) -> Decimal:
    return abs(value).quantize(MILLI, rounding=ROUND_HALF_UP)


def parse_instant(text: str | None) -> datetime | None:
    """``2024-12-05T04:47:15.000+0000`` (UTC) -> an aware datetime; junk -> ``None``."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def epoch_of(text: str | None) -> int | None:
    moment = parse_instant(text)
    return None if moment is None else to_epoch(moment)


# ---- terminal hooks -----------------------------------------------------------------------


def card_from_qr(text: str) -> str:
    """The QR code of our virtual card carries its number; a URL or a prefixed text is
    reduced to its longest run of digits."""
    runs = _EAN.findall(text)
    return max(runs, key=len) if runs else text.strip()


def customer_ref(customer: ev.HookCustomer | None) -> wire.CustomerRef | None:
    if customer is None:
        return None
    if customer.card is not None:
        return wire.CustomerRef(card=customer.card)
    if customer.qr is not None:
        return wire.CustomerRef(card=card_from_qr(customer.qr))
    return wire.CustomerRef(phone=customer.phone)


def _sku(product_uuid: str | None, code: str | None) -> str | None:
    if product_uuid and product_uuid != FREE_PRICE_PRODUCT:
        return product_uuid[:128]
    return code[:128] if code else None


def hook_receipt(request: ev.CalculateHookRequest | ev.BonusPaymentRequest) -> wire.Receipt:
    """An open receipt: line amounts are price x quantity (our discount comes next)."""
    return wire.Receipt(
        id=request.receiptUuid,
        customer=customer_ref(request.customer),
        lines=[
            wire.ReceiptLine(
                id=p.uuid, name=p.name, sku=_sku(p.productUuid, p.productCode),
                price=p.price, quantity=p.quantity,
            )
            for p in request.positions
        ],
        created_at=request.createdAt,
    )  # fmt: skip


def closed_receipt(request: ev.ReceiptClosedRequest) -> wire.Receipt:
    """A closed receipt: each line is what the terminal charged for it — ``resultSum``,
    else ``priceWithDiscountPosition x quantity`` (half-up), else ``price x quantity``."""
    lines = []
    for p in request.positions:
        if p.resultSum is not None:
            amount = p.resultSum
        elif p.priceWithDiscountPosition is not None:
            amount = to_roubles(line_amount(to_kopecks(p.priceWithDiscountPosition), p.quantity))
        else:
            amount = None
        lines.append(
            wire.ReceiptLine(
                id=p.uuid, name=p.name, sku=_sku(p.productUuid, p.productCode),
                price=p.price, quantity=p.quantity, amount=amount,
            )
        )  # fmt: skip
    return wire.Receipt(
        id=request.receiptUuid,
        customer=customer_ref(request.customer),
        lines=lines,
        created_at=request.createdAt,
    )


def quote_response(
    request: ev.CalculateHookRequest, quote: wire.Quote, customer_found: bool
) -> ev.CalculateHookResponse:
    """Per-position unit prices the terminal sets as ``priceWithDiscountPosition``. Every
    figure is recomputed the terminal's way (unit price x quantity, half-up), so the
    total we answer is exactly what the terminal will show."""
    positions = []
    by_id = {line.id: line for line in quote.lines}
    for p in request.positions:
        line = by_id[p.uuid]
        unit = line.unit_price_after_discount
        if unit is None:
            unit = p.price  # a line no unit price reproduces keeps its price
        amount = line_amount(to_kopecks(p.price), p.quantity)
        result = line_amount(to_kopecks(unit), p.quantity)
        positions.append(
            ev.QuotedPosition(
                uuid=p.uuid, price=p.price, quantity=p.quantity,
                priceWithDiscountPosition=unit, discount=to_roubles(amount - result),
                resultSum=to_roubles(result), maxBonusPayment=line.max_redeem,
                accrual=line.accrual,
            )
        )  # fmt: skip
    total = sum((to_kopecks(p.resultSum) for p in positions), 0)
    whole = sum((to_kopecks(p.resultSum) + to_kopecks(p.discount) for p in positions), 0)
    customer = quote.customer
    return ev.CalculateHookResponse(
        receiptUuid=request.receiptUuid,
        customer=None
        if customer is None
        else ev.HookCustomerInfo(
            id=customer.id,
            tier=customer.tier,
            tierName=customer.tier_name,
            balance=customer.balance,
        ),
        customerFound=customer_found,
        positions=positions,
        positionUuidToDiscountMap={p.uuid: p.discount for p in positions},
        sum=to_roubles(whole),
        discount=to_roubles(whole - total),
        total=to_roubles(total),
        maxBonusPayment=quote.max_redeem,
        accrual=quote.accrual,
        messages=quote.messages
        + ([] if customer_found else ["Клиент не найден: чек рассчитан без карты"]),
        slip=quote.slip,
        extra=_extra(request.receiptUuid, customer.id if customer else None),
    )


def _extra(receipt_uuid: str, customer_id: int | None) -> dict[str, str]:
    extra = {"receiptUuid": receipt_uuid}
    if customer_id is not None:
        extra["customerId"] = str(customer_id)
    return extra


def payment_response(receipt_uuid: str, held: wire.HoldResult) -> ev.BonusPaymentResponse:
    rrn = str(held.hold_id)
    return ev.BonusPaymentResponse(
        receiptUuid=receipt_uuid,
        rrn=rrn,
        sum=held.amount,
        slip=[*held.slip, f"Операция № {rrn}"],
        paymentInfo=f"Оплата бонусами, операция {rrn}",
        balance=held.balance,
        expiresAt=held.expires_at,
    )


def closed_response(receipt_uuid: str, result: wire.ConfirmResult) -> ev.ReceiptClosedResponse:
    return ev.ReceiptClosedResponse(
        receiptUuid=receipt_uuid,
        status=result.status,
        redeemed=result.redeemed,
        accrued=result.accrued,
        balance=None if result.customer is None else result.customer.balance,
        messages=result.messages,
        slip=result.slip,
    )


# ---- documents ----------------------------------------------------------------------------


def _hint(extras: dict[str, Any] | None, name: str, app_id: str | None) -> str | None:
    """A value our app put into the receipt's extras: ``{appUuid: {name: ...}}`` as the
    SDK types say, or flat ``{name: ...}`` (the layout is not documented)."""
    if not extras:
        return None
    scopes: list[Any] = []
    if app_id and isinstance(extras.get(app_id), dict):
        scopes.append(extras[app_id])
    scopes.append(extras)
    scopes.extend(v for v in extras.values() if isinstance(v, dict))
    for scope in scopes:
        value = scope.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)
    return None


def _customer_id_hint(extras: dict[str, Any] | None, app_id: str | None) -> int | None:
    value = _hint(extras, "customerId", app_id)
    return int(value) if value is not None and value.isdigit() and len(value) < 19 else None


def _v2_lines(document_id: str, positions: list[ev.DocumentPosition]) -> list[wire.ReceiptLine]:
    lines = []
    for index, p in enumerate(positions):
        qty = quantity(p.quantity)
        if qty <= 0:
            continue
        price = money(abs(p.price))
        charged = p.result_sum if p.result_sum is not None else p.sum
        amount = money(abs(charged)) if charged is not None else None
        lines.append(
            wire.ReceiptLine(
                id=(p.uuid or f"{document_id}:{index}")[:128],
                name=(p.product_name or "")[:256], sku=_sku(p.product_id, p.code),
                price=price, quantity=qty, amount=amount,
            )
        )  # fmt: skip
    return lines


def _our_payments(payments: list[ev.DocumentPayment], app_id: str | None) -> Decimal | None:
    """What our payment system took, by the app id of the payment; ``None`` when we
    cannot tell (no app id configured)."""
    if not app_id:
        return None
    total = Decimal(0)
    for payment in payments:
        if payment.app_info is None or payment.app_info.app_id != app_id:
            continue
        if payment.parts:
            total += sum((part.part_sum - part.change for part in payment.parts), Decimal(0))
        else:
            total += payment.sum
    return money(total)


def sell_document(document: ev.Document, body: ev.DocumentBody, app_id: str | None) -> SellDocument:
    return SellDocument(
        document_id=document.id,
        store_external_id=document.store_id,
        receipt_uuid_hint=_hint(document.extras, "receiptUuid", app_id),
        customer_id_hint=_customer_id_hint(document.extras, app_id),
        customer_phone=body.customer_phone or None,
        lines=_v2_lines(document.id, body.positions),
        bonus_paid=_our_payments(body.payments, app_id),
        closed_at=parse_instant(document.close_date),
    )


def payback_document(document: ev.Document, body: ev.DocumentBody) -> PaybackDocument:
    return PaybackDocument(
        document_id=document.id,
        store_external_id=document.store_id,
        base_document_id=body.base_document_id,
        lines=[
            PaybackLine(
                uuid=p.uuid, sku=_sku(p.product_id, p.code), name=p.product_name or "",
                price=to_kopecks(money(abs(p.price))), quantity=quantity(p.quantity),
            )
            for p in body.positions
            if quantity(p.quantity) > 0
        ],
        closed_at=parse_instant(document.close_date),
    )  # fmt: skip


def _v1_positions(document: ev.V1Document) -> list[tuple[int, ev.V1Transaction]]:
    return [
        (index, t) for index, t in enumerate(document.transactions)
        if t.type == "REGISTER_POSITION" and t.price is not None and t.quantity is not None
    ]  # fmt: skip


def _v1_line_id(document: ev.V1Document, index: int, t: ev.V1Transaction) -> str:
    return (t.uuid or f"{document.uuid}:{t.id if t.id is not None else index}")[:128]


def v1_sell_document(document: ev.V1Document, store_external_id: str | None) -> SellDocument:
    lines = []
    for index, t in _v1_positions(document):
        assert t.price is not None and t.quantity is not None
        qty = quantity(t.quantity)
        if qty <= 0:
            continue
        charged = t.resultSum if t.resultSum is not None else t.sum
        lines.append(
            wire.ReceiptLine(
                id=_v1_line_id(document, index, t), name=(t.commodityName or "")[:256],
                sku=_sku(t.commodityUuid, t.commodityCode), price=money(abs(t.price)),
                quantity=qty, amount=None if charged is None else money(abs(charged)),
            )
        )  # fmt: skip
    phone = next((t.clientPhone for t in document.transactions if t.clientPhone), None)
    return SellDocument(
        document_id=document.uuid,
        store_external_id=store_external_id or document.storeUuid,
        receipt_uuid_hint=_hint(document.extras, "receiptUuid", None),
        customer_id_hint=_customer_id_hint(document.extras, None),
        customer_phone=phone,
        lines=lines,
        bonus_paid=None,
        closed_at=parse_instant(document.closeDate),
    )


def v1_payback_document(document: ev.V1Document, store_external_id: str | None) -> PaybackDocument:
    base = next((t.baseDocumentUUID for t in document.transactions if t.baseDocumentUUID), None)
    lines = []
    for _, t in _v1_positions(document):
        assert t.price is not None and t.quantity is not None
        if quantity(t.quantity) > 0:
            lines.append(
                PaybackLine(
                    uuid=t.uuid, sku=_sku(t.commodityUuid, t.commodityCode),
                    name=t.commodityName or "", price=to_kopecks(money(abs(t.price))),
                    quantity=quantity(t.quantity),
                )
            )  # fmt: skip
    return PaybackDocument(
        document_id=document.uuid,
        store_external_id=store_external_id or document.storeUuid,
        base_document_id=base,
        lines=lines,
        closed_at=parse_instant(document.closeDate),
    )


# ---- entities -----------------------------------------------------------------------------


def store_record(store: ev.StoreNotification | ev.CloudStore) -> StoreRecord:
    external_id = store.uuid if isinstance(store, ev.StoreNotification) else store.id
    return StoreRecord(external_id=external_id, name=store.name)


def device_record(device: ev.DeviceNotification | ev.CloudDevice) -> DeviceRecord:
    if isinstance(device, ev.DeviceNotification):
        return DeviceRecord(
            device.uuid, device.name, device.storeUuid, offset_seconds(device.timezoneOffset)
        )
    return DeviceRecord(
        device.id, device.name, device.store_id, offset_seconds(device.timezone_offset)
    )


def employee_record(employee: ev.EmployeeNotification | ev.CloudEmployee) -> EmployeeRecord:
    if isinstance(employee, ev.EmployeeNotification):
        return EmployeeRecord(
            external_id=employee.uuid,
            name=full_name(employee.lastName, employee.name, employee.patronymicName),
            role=employee.role,
            phone=employee.phone,
            store_external_ids=tuple(employee.stores),
        )
    return EmployeeRecord(
        external_id=employee.id,
        name=full_name(employee.last_name, employee.name, employee.patronymic_name),
        role=employee.role,
        phone=None if employee.phone is None else str(employee.phone),
        store_external_ids=tuple(employee.stores),
    )
