"""Модулькасса shapes <-> the canonical checkout models, and the till's arithmetic.

- The till takes, per impact, a final unit price and charges ``round_half_up(price x
  quantity)``. A line's target total (amount - our discount - its share of the bonus
  payment: there is no tender in this hook, so bonuses are price reductions) is reached
  by ``cloud.services.unit_prices``: one price, else the line split in two impacts -- piece
  goods (``PCS``) by whole units, weight goods to the thousandth. The SDK forbids
  splitting weight goods with modifiers: they (and a fractional ``PCS`` line, which the
  till should never send) get the one unit price whose total is the nearest at or above
  the target, a kopeck or two less discount, never more.
- A closed check's positions carry the price after our discount. Each is recorded at
  what it charged (``amount``, else ``price x quantity``) plus its share of the bonus
  payment held for the receipt, and at the full price ``charged + discountAmount``: so
  the payment is recorded once and the confirm discounts nothing again (``settle``).
- A sale's and a return's lines are keyed by product and charged unit price, so a return
  check finds the sale's line (a split part included) with no index.
"""

from __future__ import annotations

import hashlib
from decimal import ROUND_CEILING, Decimal

from cloud.engine import distribute
from cloud.engine.text import format_roubles
from cloud.services.unit_prices import Part, split, unit_at_least
from schemas import checkout as wire
from schemas import modulkassa as mk
from schemas.money import line_amount, to_kopecks, to_roubles

OFFLINE_NOTICE = "Нет связи с сервером лояльности: бонусы будут начислены позже"


def _short(value: str, limit: int = 128) -> str:
    """An id that fits our columns: itself, or a digest of it when longer."""
    if len(value) <= limit:
        return value
    return "h:" + hashlib.sha256(value.encode()).hexdigest()


def customer_ref(phone: str | None, card: str | None) -> wire.CustomerRef | None:
    phone = (phone or "").strip() or None
    card = (card or "").strip() or None
    if phone is None and card is None:
        return None
    return wire.CustomerRef(phone=phone, card=card)


def quote_receipt(body: mk.LoyaltyRequest) -> wire.Receipt:
    return wire.Receipt(
        id=body.id,
        customer=customer_ref(body.customerPhone, body.customerCard),
        lines=[
            wire.ReceiptLine(
                id=_short(p.id), name=p.name[:256], sku=(p.inventCode or p.barcode or None),
                price=p.price, quantity=p.quantity,
            )
            for p in body.positions
        ],
    )  # fmt: skip


def splittable(position: mk.LoyaltyPosition) -> bool:
    """Whether the SDK lets the line be split (piece goods by whole units only)."""
    if position.measure == "PCS":
        return position.quantity == position.quantity.to_integral_value()
    return not position.modifiers


def position_parts(position: mk.LoyaltyPosition, target: int) -> list[Part]:
    """The position's impacts (quantity, unit kopecks) for a line total of ``target``."""
    price = to_kopecks(position.price)
    quantity = position.quantity
    target = max(0, min(target, line_amount(price, quantity)))
    if not splittable(position):
        return [Part(quantity, unit_at_least(price, quantity, target))]
    return split(price, quantity, target)


def impacts(
    body: mk.LoyaltyRequest, lines: list[wire.QuoteLine]
) -> tuple[list[mk.LoyaltyPositionImpact], int]:
    """Each position's impacts for its quoted target, and the reduction they give in
    kopecks (the quoted discount and bonus payment, less what an unsplittable line
    could not take)."""
    by_id = {line.id: line for line in lines}
    out: list[mk.LoyaltyPositionImpact] = []
    given = 0
    for i, position in enumerate(body.positions):
        line = by_id[_short(position.id)]
        amount = to_kopecks(line.amount)
        target = amount - to_kopecks(line.discount) - to_kopecks(line.redeem)
        parts = position_parts(position, target)
        for k, part in enumerate(parts):
            out.append(
                mk.LoyaltyPositionImpact(
                    id=f"{i + 1}-{k + 1}", positionId=position.id,
                    price=to_roubles(part.unit), quantity=part.quantity,
                )
            )  # fmt: skip
        given += amount - sum(line_amount(part.unit, part.quantity) for part in parts)
    return out, given


def unchanged(body: mk.LoyaltyRequest) -> list[mk.LoyaltyPositionImpact]:
    """Impacts that keep every price (the offline answer: no discount promised)."""
    return [
        mk.LoyaltyPositionImpact(
            id=f"{i + 1}-1", positionId=p.id, price=p.price, quantity=p.quantity
        )
        for i, p in enumerate(body.positions)
    ]


def printable(
    discount: int, spent: int, accrual: int, balance: int | None, notes: list[str]
) -> list[str]:
    lines = list(notes)
    if discount > 0:
        lines.append(f"Скидка по программе лояльности: {format_roubles(discount)} ₽")
    if spent > 0:
        lines.append(f"Оплачено бонусами: {format_roubles(spent)}")
    if accrual > 0:
        lines.append(f"Будет начислено бонусов: {format_roubles(accrual)}")
    if balance is not None:
        lines.append(f"Баланс бонусов: {format_roubles(balance)}")
    return lines


# ---- events -> canonical --------------------------------------------------------------------


def receipt_id(event: mk.CheckEvent) -> str:
    """The receipt's id with us: the ``data`` our loyalty-request answered (the
    LoyaltyRequest id), else the check's own id (a check never sent to loyalty)."""
    return event.loyaltyData or event.checkId


def _charged(p: mk.InventPosition) -> int:
    if p.amount is not None:
        return to_kopecks(p.amount)
    return line_amount(to_kopecks(p.price), p.quantity)


def line_key(p: mk.InventPosition) -> str:
    product = p.inventCode or p.barcode or p.name
    return _short(f"{product}@{p.price:.2f}")


def _grouped(positions: list[mk.InventPosition]) -> dict[str, list[mk.InventPosition]]:
    groups: dict[str, list[mk.InventPosition]] = {}
    for p in positions:
        groups.setdefault(line_key(p), []).append(p)
    return groups


def sale_receipt(event: mk.CheckEvent, spent: Decimal) -> wire.Receipt:
    """The closed check as the ledger records it: each line at what it charged plus
    its share of the bonus payment (in proportion to the discount under each line; by
    what each charged when the check gives no discounts), at the full price."""
    groups = list(_grouped(event.check.inventPositions).items())
    charged = [sum(_charged(p) for p in group) for _, group in groups]
    under = [sum(to_kopecks(p.discountAmount or Decimal(0)) for p in group) for _, group in groups]
    paid = to_kopecks(spent)
    weights = under if sum(under) >= paid else charged
    shares = distribute(min(paid, sum(weights)), weights, weights) if paid else [0] * len(groups)
    lines = []
    for i, (key, group) in enumerate(groups):
        first = group[0]
        quantity = sum((p.quantity for p in group), Decimal(0))
        amount = charged[i] + shares[i]
        full = max(charged[i] + under[i], amount)
        unit = int((Decimal(full) / quantity).to_integral_value(rounding=ROUND_CEILING))
        lines.append(
            wire.ReceiptLine(
                id=key, name=first.name[:256], sku=first.inventCode or first.barcode or None,
                price=to_roubles(unit), quantity=quantity, amount=to_roubles(amount),
            )
        )  # fmt: skip
    return wire.Receipt(
        id=receipt_id(event),
        customer=customer_ref(event.customerPhone, event.customerCard),
        lines=lines,
        created_at=event.check.dateTime,
    )


def cashier(check: mk.Check) -> wire.Cashier | None:
    name = (check.employee or "").strip()[:200] or None
    ident = (check.employeeId or "").strip()[:64] or None
    if name is None and ident is None:
        return None
    try:
        return wire.Cashier(id=ident, name=name)
    except ValueError:  # a name the cabinet could not show: the sale stands without it
        return None


def refund_request(event: mk.CheckEvent, sale: str) -> wire.RefundRequest:
    lines = [
        wire.RefundLine(id=key, quantity=sum((p.quantity for p in group), Decimal(0)))
        for key, group in _grouped(event.check.inventPositions).items()
    ]
    return wire.RefundRequest(
        id=_short("return:" + event.checkId), receipt_id=sale, lines=lines,
        created_at=event.check.dateTime, cashier=cashier(event.check),
    )  # fmt: skip
