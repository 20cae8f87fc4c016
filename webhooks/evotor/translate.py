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

import structlog

from cloud.clock import to_epoch
from cloud.engine.distribution import distribute
from cloud.services.evotor_accounts import (
    DeviceRecord,
    EmployeeRecord,
    StoreRecord,
    full_name,
    offset_seconds,
)
from cloud.services.evotor_catalogue import ProductRecord
from cloud.services.evotor_paybacks import PaybackDocument, PaybackLine
from cloud.services.evotor_receipts import SellDocument
from schemas import checkout as wire
from schemas import evotor as ev
from schemas.money import line_amount, to_kopecks, to_roubles

CENT = Decimal("0.01")
MILLI = Decimal("0.001")
FREE_PRICE_PRODUCT = "390067bf-e8d3-4fcc-8c30-fbfd77a0a70d"
"""``product_id`` Evotor gives every free-price item: not a product identity."""
_EAN = re.compile(r"\d{8,19}")

log = structlog.get_logger("loyalty.evotor")


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
        coupons=request.coupons,
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
        coupons=request.coupons,
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
        coupons=quote.coupons,
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
        coupons=result.coupons,
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


def document_number(value: int | str | None) -> int | None:
    if isinstance(value, int) and 0 <= value < 2**62:
        return value
    if isinstance(value, str) and value.isdigit() and len(value) < 18:
        return int(value)
    return None


_MAX_COUPONS = 10


def _coupon_codes(values: list[int | str | None]) -> tuple[str, ...]:
    """The distinct coupon codes named (in order; a V1 number as its digits)."""
    codes: dict[str, None] = {}
    for value in values:
        if isinstance(value, bool) or value is None:
            continue
        text = str(value).strip()
        if text and len(text) <= 64:
            codes[text] = None
    return tuple(codes)[:_MAX_COUPONS]


def _v2_coupons(body: ev.DocumentBody) -> tuple[str, ...]:
    discounts = [d for p in body.positions for d in (p.position_discount,
                                                     p.doc_distributed_discount)]  # fmt: skip
    discounts.extend(body.doc_discounts or [])
    return _coupon_codes([d.coupon for d in discounts if d is not None])


def sell_document(document: ev.Document, body: ev.DocumentBody, app_id: str | None) -> SellDocument:
    return SellDocument(
        number=document_number(document.number),
        document_id=document.id,
        store_external_id=document.store_id,
        receipt_uuid_hint=_hint(document.extras, "receiptUuid", app_id),
        customer_id_hint=_customer_id_hint(document.extras, app_id),
        customer_phone=body.customer_phone or None,
        lines=_v2_lines(document.id, body.positions),
        bonus_paid=_our_payments(body.payments, app_id),
        closed_at=parse_instant(document.close_date),
        employee_id=document.close_user_id,
        coupons=_v2_coupons(body),
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
        employee_id=document.close_user_id,
    )  # fmt: skip


def _v1_positions(document: ev.V1Document) -> list[tuple[int, ev.V1Transaction]]:
    return [
        (index, t) for index, t in enumerate(document.transactions)
        if t.type == "REGISTER_POSITION" and t.price is not None and t.quantity is not None
    ]  # fmt: skip


def _v1_line_id(document: ev.V1Document, index: int, t: ev.V1Transaction) -> str:
    return (t.uuid or f"{document.uuid}:{t.id if t.id is not None else index}")[:128]


def _kopecks(value: Decimal) -> int:
    return to_kopecks(money(abs(value)))


def _v1_charged(document: ev.V1Document) -> list[tuple[int, ev.V1Transaction, int, int]]:
    """Each sold position with what it charged: ``(index, transaction, full, paid)``
    in kopecks. ``DISCOUNT_POSITION`` and ``DISCOUNT_DOCUMENT_POSITION`` that follow a
    position take their sums off it (unless its ``resultSum`` already did); a
    ``DISCOUNT_DOCUMENT`` with no per-position split is spread over the positions. When
    the payments disagree with the result, the payments win (they are what the till
    took) and the disagreement is logged: Evotor's own sample contradicts itself."""
    rows: list[list[Any]] = []
    discounts: list[int] = []
    document_discount, split_seen, paid, has_payments = 0, False, 0, False
    for index, t in enumerate(document.transactions):
        if t.type == "REGISTER_POSITION" and t.price is not None and t.quantity is not None:
            qty = quantity(t.quantity)
            full = _kopecks(t.sum) if t.sum is not None else line_amount(_kopecks(t.price), qty)
            result = _kopecks(t.resultSum) if t.resultSum is not None else full
            rows.append([index, t, full, result])
            discounts.append(0)
        elif t.type == "DISCOUNT_POSITION" and rows and t.discountSum is not None:
            discounts[-1] += _kopecks(t.discountSum)
        elif t.type == "DISCOUNT_DOCUMENT_POSITION" and rows:
            if t.discountPositionSum is not None:
                discounts[-1] += _kopecks(t.discountPositionSum)
                split_seen = True
        elif t.type == "DISCOUNT_DOCUMENT" and t.discountSum is not None:
            document_discount += _kopecks(t.discountSum)
        elif t.type == "PAYMENT" and t.sum is not None:
            paid += to_kopecks(money(t.sum))  # a negative payment is change given back
            has_payments = True
    amounts = [max(0, min(row[3], row[2] - off)) for row, off in zip(rows, discounts, strict=True)]
    if document_discount and not split_seen and rows:
        off = distribute(min(document_discount, sum(amounts)), amounts, amounts)
        amounts = [a - o for a, o in zip(amounts, off, strict=True)]
    total = sum(amounts)
    if has_payments and rows and paid != total:
        log.warning(
            "evotor_v1_totals_disagree", document=document.uuid,
            positions_after_discounts=str(to_roubles(total)), payments=str(to_roubles(paid)),
        )  # fmt: skip
        fulls = [row[2] for row in rows]
        if 0 <= paid < total:
            off = distribute(total - paid, amounts, amounts)
            amounts = [a - o for a, o in zip(amounts, off, strict=True)]
        elif paid > total:
            room = [f - a for f, a in zip(fulls, amounts, strict=True)]
            extra = distribute(min(paid - total, sum(room)), room, room)
            amounts = [a + e for a, e in zip(amounts, extra, strict=True)]
    return [(row[0], row[1], row[2], amount) for row, amount in zip(rows, amounts, strict=True)]


def v1_sell_document(document: ev.V1Document, store_external_id: str | None) -> SellDocument:
    lines = []
    for index, t, _full, paid in _v1_charged(document):
        assert t.price is not None and t.quantity is not None
        qty = quantity(t.quantity)
        if qty <= 0:
            continue
        lines.append(
            wire.ReceiptLine(
                id=_v1_line_id(document, index, t), name=(t.commodityName or "")[:256],
                sku=_sku(t.commodityUuid, t.commodityCode), price=money(abs(t.price)),
                quantity=qty, amount=to_roubles(paid),
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
        number=document_number(document.number),
        coupons=_coupon_codes([t.couponNumber for t in document.transactions]),
    )


def receipt_sell_document(data: ev.ReceiptData, app_id: str | None) -> SellDocument:
    """The simplified receipt (``POST /api/v2/receipts``). ``sumPrice`` is read as the
    line total before ``discount`` when it equals price x quantity, else as already
    discounted (the definition does not say which)."""
    lines = []
    for index, item in enumerate(data.items):
        qty = quantity(item.quantity)
        if qty <= 0:
            continue
        price = money(abs(item.price))
        full = line_amount(to_kopecks(price), qty)
        discount = _kopecks(item.discount) if item.discount is not None else 0
        if item.sumPrice is None:
            charged = full - discount
        else:
            given = _kopecks(item.sumPrice)
            charged = given - discount if given == full else given
        lines.append(
            wire.ReceiptLine(
                id=f"{data.id}:{index}"[:128], name=(item.name or "")[:256],
                sku=_sku(item.id, None), price=price, quantity=qty,
                amount=to_roubles(max(0, min(charged, full))),
            )
        )  # fmt: skip
    return SellDocument(
        document_id=data.id,
        store_external_id=data.storeId,
        receipt_uuid_hint=_hint(data.extras, "receiptUuid", app_id),
        customer_id_hint=_customer_id_hint(data.extras, app_id),
        customer_phone=None,
        lines=lines,
        bonus_paid=None,
        closed_at=parse_instant(data.dateTime),
        number=None,
        employee_id=data.employeeId,
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


def product_record(
    store_external_id: str, product: ev.ProductNotification | ev.CloudProduct,
    is_group: bool | None = None,
) -> ProductRecord:  # fmt: skip
    if isinstance(product, ev.ProductNotification):
        return ProductRecord(
            store_external_id, product.uuid, product.name, product.group, product.parentUuid,
            product.type,
        )  # fmt: skip
    group = is_group if is_group is not None else bool(product.group)
    return ProductRecord(
        store_external_id, product.id, product.name, group, product.parent_id, product.type
    )
