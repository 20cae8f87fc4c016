"""МойСклад shapes <-> the canonical checkout models, and the till's arithmetic.

- The till takes, per position, a unit price after discount (``discountedPrice``, two
  places) and "changes nothing and applies no other discount" after us; it charges
  ``round_half_up(discountedPrice x quantity)`` per position. A line's target total
  (amount - our discount - its share of the bonus payment) is reproduced exactly: by one
  unit price when one exists, else by **splitting the position in two** (the reference
  allows it): integral quantities into ``r`` units at ``u + 1`` kopecks and the rest at
  ``u``; a fractional quantity into its whole units and the fraction. Serial numbers are
  divided so each part carries as many as its quantity.
- Bonuses spent are part of ``discountedPrice`` (the till has no other place for them);
  ``paidByBonusPoints`` says how much of the discount they are.
- A sale's and a return's lines are keyed by assortment id and discounted price, so a
  return finds the sale's line (a split part included) without any index.
"""

from __future__ import annotations

from datetime import UTC
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from cloud.engine import distribute
from cloud.errors import BadRequest
from cloud.services import moysklad_accounts as accounts
from cloud.services import unit_prices
from cloud.services.gift_certificates import CertificateStatus
from cloud.services.unit_prices import Part
from schemas import checkout as wire
from schemas import moysklad as ms
from schemas.money import line_amount, to_kopecks, to_roubles

_ONE = Decimal(1)
_HUNDRED = Decimal(100)
_CENT = Decimal("0.01")


def split(price: int, quantity: Decimal, target: int) -> list[Part]:
    """The position's parts at unit prices the till reproduces (``unit_prices.split``)."""
    try:
        return unit_prices.split(price, quantity, target)
    except unit_prices.Unreachable:  # pragma: no cover - the hypothesis test finds none
        raise BadRequest(
            "moysklad_price_unreachable", "Не удалось подобрать цену позиции со скидкой"
        ) from None


def percent(price: int, unit: int) -> Decimal:
    if price <= 0:
        return Decimal(0)
    value = (Decimal(price - unit) * _HUNDRED / Decimal(price)).quantize(_CENT, ROUND_HALF_UP)
    return min(max(value, Decimal(0)), _HUNDRED)


def till_total(positions: list[ms.PositionOut]) -> int:
    """What the till charges: each position's discounted price x quantity, half-up."""
    return sum(line_amount(to_kopecks(p.discountedPrice), p.quantity) for p in positions)


# ---- requests -> canonical ------------------------------------------------------------------


def customer_ref(agent: ms.Agent | None) -> wire.CustomerRef | None:
    if agent is None:
        return None
    phone = (agent.phone or "").strip() or None
    card = (agent.discountCardNumber or "").strip() or None
    if phone is not None and len(phone) < 5:
        phone = None
    if phone is None and card is None:
        return None
    return wire.CustomerRef(phone=phone, card=card)


def quote_receipt(body: ms.RecalcRequest) -> wire.Receipt:
    return wire.Receipt(
        id="moysklad-recalc",
        lines=[
            wire.ReceiptLine(
                id=str(i), sku=p.assortment.meta.entity_id, price=p.price, quantity=p.quantity
            )
            for i, p in enumerate(body.positions)
        ],
    )


def line_key(position: ms.SoldPosition) -> str:
    unit = position.discountedPrice if position.discountedPrice is not None else position.price
    return f"{position.assortment.meta.entity_id}@{unit:.2f}"


def _grouped(positions: list[ms.SoldPosition]) -> dict[str, list[ms.SoldPosition]]:
    groups: dict[str, list[ms.SoldPosition]] = {}
    for p in positions:
        groups.setdefault(line_key(p), []).append(p)
    return groups


def sale_id(body: ms.RetailDemand | ms.RetailSalesReturn, kind: str) -> str:
    """The document's MoySklad id, else its number in its store (the examples send an
    empty ``meta``)."""
    own = body.meta.entity_id if body.meta is not None else ""
    if own:
        return own
    if not (body.name or "").strip():
        raise BadRequest(
            "moysklad_document_id_required",
            f"Не указан идентификатор ({kind}.meta.id) или номер (name) документа",
        )
    return f"{body.retailStore.meta.entity_id}:{body.name.strip()}"[:128]  # type: ignore[union-attr]


def sale_receipt(body: ms.RetailDemand, receipt_id: str, spent: Decimal) -> wire.Receipt:
    """The closed receipt as the ledger records it: each line's amount is what the till
    charged for it plus its share of the bonus payment (which the till folded into
    ``discountedPrice``), so the payment is recorded as one and our discount as the rest.
    The shares follow each line's room below its full price."""
    groups = list(_grouped(body.positions).items())
    gross, charged = [], []
    for _, group in groups:
        gross.append(sum(line_amount(to_kopecks(p.price), p.quantity) for p in group))
        charged.append(
            sum(
                line_amount(to_kopecks(p.discountedPrice if p.discountedPrice is not None
                                       else p.price), p.quantity)
                for p in group
            )
        )  # fmt: skip
    room = [max(g - c, 0) for g, c in zip(gross, charged, strict=True)]
    folded = min(to_kopecks(spent), sum(room))
    shares = distribute(folded, room, room) if folded else [0] * len(groups)
    lines = []
    for i, (key, group) in enumerate(groups):
        first = group[0]
        lines.append(
            wire.ReceiptLine(
                id=key, sku=first.assortment.meta.entity_id, price=first.price,
                quantity=sum((p.quantity for p in group), Decimal(0)),
                amount=to_roubles(min(charged[i] + shares[i], gross[i])),
            )
        )  # fmt: skip
    return wire.Receipt(id=receipt_id, lines=lines)


def priced_receipt(body: ms.RetailDemand, receipt_id: str) -> wire.Receipt:
    """The sale as the recalc priced it (a split position whole again, full prices): what
    a bonus payment is reserved against, so the most the recalc allowed is allowed."""
    quantities: dict[tuple[str, Decimal], Decimal] = {}
    for p in body.positions:
        key = (p.assortment.meta.entity_id, p.price)
        quantities[key] = quantities.get(key, Decimal(0)) + p.quantity
    return wire.Receipt(
        id=receipt_id,
        lines=[
            wire.ReceiptLine(id=f"{sku}@{price:.2f}", sku=sku, price=price, quantity=quantity)
            for (sku, price), quantity in quantities.items()
        ],
    )


def refund_request(body: ms.RetailSalesReturn, refund_id: str, sale: str) -> wire.RefundRequest:
    lines = [
        wire.RefundLine(id=key, quantity=sum((p.quantity for p in group), Decimal(0)))
        for key, group in _grouped(body.positions).items()
    ]
    return wire.RefundRequest(id=refund_id, receipt_id=sale, lines=lines)


# ---- answers --------------------------------------------------------------------------------


def _dump(model: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = model.model_dump(exclude_none=True)
    return dumped


def positions_out(body: ms.RecalcRequest, quote: wire.Quote) -> list[ms.PositionOut]:
    out = []
    for i, p in enumerate(body.positions):
        line = quote.lines[i]
        price = to_kopecks(p.price)
        amount = line_amount(price, p.quantity)
        target = amount - to_kopecks(line.discount) - to_kopecks(line.redeem)
        parts = split(price, p.quantity, max(0, min(target, amount)))
        serials = [_dump(s) for s in p.sn] if p.sn is not None else None
        taken = 0
        for part in parts:
            sn = None
            if serials is not None:
                count = min(int(part.quantity), len(serials) - taken)
                if part is parts[-1]:
                    count = len(serials) - taken
                sn = serials[taken : taken + count]
                taken += count
            out.append(
                ms.PositionOut(
                    assortment=_dump(p.assortment), quantity=part.quantity, price=p.price,
                    discountPercent=percent(price, part.unit),
                    discountedPrice=to_roubles(part.unit), sn=sn,
                    pack=_dump(p.pack) if p.pack is not None else None,
                )
            )  # fmt: skip
    return out


def agent_out(agent: ms.Agent | None, counterparty: str | None) -> dict[str, Any] | None:
    if agent is None:
        return None
    dumped = _dump(agent)
    if counterparty is not None and not dumped.get("meta", {}).get("id"):
        dumped["meta"] = {"href": dumped.get("meta", {}).get("href", ""), "id": counterparty}
    return dumped


_GIFT_STATES = {"USED": "REDEEMED", "EXPIRED": "EXPIRED"}


def giftcard_out(found: CertificateStatus) -> ms.GiftCardOut:
    """Our certificate as МойСклад's till reads it: an unspent one ``CAN_BE_USED``, a
    spent-in-part one ``PARTIALLY_REDEEMED``, printed stock not sold or a voided one
    ``INVALID``; what may still pay is what no open receipt holds."""
    if found.state == "CAN_BE_USED":
        status = "CAN_BE_USED" if found.remaining == found.nominal else "PARTIALLY_REDEEMED"
    else:
        status = _GIFT_STATES.get(found.state, "INVALID")
    paying = status in ("CAN_BE_USED", "PARTIALLY_REDEEMED")
    expires = found.expires_at
    until = None if expires is None else expires.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return ms.GiftCardOut(
        name=found.number, id=accounts.giftcard_id(found.id), status=status,
        expireDate=until, currentBalance=found.available if paying else None,
        initialBalance=found.nominal,
    )  # fmt: skip


def gift_payments(body: ms.RetailDemand) -> list[wire.GiftCertificatePayment]:
    """The sale's gift cards as certificate payments (kopecks to roubles)."""
    payments = []
    for card in body.giftCards or []:
        if card.paymentSum != card.paymentSum.to_integral_value():
            raise BadRequest(
                "moysklad_gift_sum", "Сумма оплаты сертификатом (paymentSum) указывается в копейках"
            )
        if card.paymentSum > 0:
            payments.append(
                wire.GiftCertificatePayment(number=card.name.strip(), amount=card.paymentSum / 100)
            )
    return payments
