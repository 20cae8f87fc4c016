"""Frontol shapes <-> the canonical checkout models, and nothing else.

- ``uid`` may come braced and upper-case (a Windows GUID): ``{3F1C…}`` and ``3f1c…`` are
  one receipt.
- A line's id is its ``index`` (what the answers and refunds refer back to); the
  product code ``id`` goes to ``sku``, where the merchant's catalogue finds its category
  (``fr.Position`` reads them so: a position is a canonical line).
- ``totalAmount`` is what the till charges for the line; ``minimumPrice`` the unit floor.
- The bonus payment of a ``confirm`` is the payment of ``type: "bonus"``, or a
  ``nonFiscal`` one with no type (sources disagree); no ``payments`` at all means "what
  was held".
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cloud.engine import format_roubles
from cloud.errors import BadRequest
from cloud.services import checkout
from schemas import checkout as wire
from schemas import frontol as fr
from schemas.money import to_kopecks, to_roubles

NAME_LENGTH = 256
"""What a canonical line's name holds (Frontol's ``text`` may be longer)."""


def normalise_uid(uid: str) -> str:
    return uid.strip().removeprefix("{").removesuffix("}").strip().lower()


def customer_ref(client: fr.Client | None) -> wire.CustomerRef | None:
    if client is None or (client.card is None and client.mobilePhone is None):
        return None
    return wire.CustomerRef(phone=client.mobilePhone, card=client.card)


def cashier(body: fr.Envelope) -> wire.Cashier | None:
    given = body.cashier
    if given is None:
        return None
    code = (given.code or "").strip() or None
    name = (given.name or given.text or "").strip() or None
    if code is None and name is None:
        return None
    return wire.Cashier(id=code, name=name)


def _no_lines() -> BadRequest:
    return BadRequest("frontol_no_positions", "В чеке нет позиций")


def coupons(body: fr.DocumentRequest) -> list[str]:
    """The receipt's coupons and its lines', each once, at most ten."""
    named = list(body.coupons or ())
    for p in body.positions:
        if p.coupons:
            named.extend(p.coupons)
    if not named:
        return named
    return list(dict.fromkeys(code.strip() for code in named if code.strip()))[:10]


def receipt(body: fr.DocumentRequest) -> wire.Receipt:
    if not body.positions:
        raise _no_lines()
    # The positions are canonical lines already (``fr.Position``); only a name longer
    # than the canonical line keeps is cut. The receipt still checks its lines together
    # (ids unique, count).
    lines: list[wire.ReceiptLine] = [
        p if len(p.name) <= NAME_LENGTH else p.model_copy(update={"name": p.name[:NAME_LENGTH]})
        for p in body.positions
    ]
    return wire.Receipt(
        id=normalise_uid(body.uid),
        customer=customer_ref(body.client),
        coupons=coupons(body),
        lines=lines,
        created_at=body.dateTime,
    )


def bonus_paid(body: fr.DocumentRequest) -> Decimal | None:
    if body.payments is None:
        return None
    return sum(
        (
            p.amount
            for p in body.payments
            if p.type == "bonus" or (p.type is None and p.mode == "nonFiscal")
        ),
        Decimal(0),
    )


def refund(body: fr.DocumentRequest) -> wire.RefundRequest:
    if body.referenceUid is None:
        raise BadRequest("frontol_reference_required", "Не указан чек продажи (referenceUid)")
    if not body.positions:
        raise _no_lines()
    lines = []
    for p in body.positions:
        if p.referenceIndex is None:
            raise BadRequest(
                "frontol_reference_required",
                f"Позиция {p.index}: не указана позиция чека продажи (referenceIndex)",
            )
        lines.append(wire.RefundLine(id=str(p.referenceIndex), quantity=p.quantity))
    return wire.RefundRequest(
        id=normalise_uid(body.uid), receipt_id=normalise_uid(body.referenceUid), lines=lines,
        created_at=body.dateTime, cashier=cashier(body),
    )  # fmt: skip


# ---- answers ------------------------------------------------------------------------------


def info(lines: list[str]) -> list[fr.InfoLine] | None:
    return [fr.InfoLine(text=text) for text in lines] or None


def slip(lines: list[str]) -> list[list[fr.PrintBlock]] | None:
    return [[fr.PrintBlock(type="text", text=text) for text in lines]] if lines else None


NOT_FOUND = "Клиент не найден"


def quote_answer(priced: checkout.PricedReceipt, customer_found: bool) -> dict[str, Any]:
    """The JSON of an ``fr.Answer`` to a calculate, built as JSON: a calculate is the hot
    path, and answer models validated only to be dumped again cost as much as the price's
    own rendering (bench/frontol.py). From the engine's figures, not the full wire quote:
    the answer needs a few of them. ``tests/webhooks/frontol/test_answers.py`` holds it to
    the model the OpenAPI document describes."""
    quote = priced.quote
    messages = checkout.quote_texts(priced, quote.messages)
    answer: dict[str, Any] = {"code": 0}
    if priced.snapshot.customer is not None:
        answer["client"] = {"availableAmount": to_roubles(quote.max_redeem)}
    elif not customer_found:
        messages.insert(0, NOT_FOUND)
    answer["document"] = {
        "positions": [
            {"index": int(line.id), "discountAmount": to_roubles(line.discount)}
            for line in quote.lines
            if line.discount > 0
        ]
    }
    if messages:
        answer["cashierInformation"] = [{"text": text} for text in messages]
    slip_lines = checkout.quote_texts(priced, quote.slip)
    if slip_lines:
        answer["printingInformation"] = [[{"type": "text", "text": text} for text in slip_lines]]
    return answer


def hold_answer(held: wire.HoldResult) -> fr.Answer:
    positions = [
        fr.PositionOut(index=int(line.id), paidAmount=line.redeem)
        for line in held.lines
        if line.redeem > 0
    ]
    return fr.Answer(
        document=fr.DocumentOut(positions=positions),
        cashierInformation=info(
            [
                f"Оплата бонусами: {format_roubles(to_kopecks(held.amount))}",
                f"Остаток бонусов: {format_roubles(to_kopecks(held.balance))}",
            ]
        ),
        printingInformation=slip(held.slip),
    )


def release_answer(result: wire.CancelResult) -> fr.Answer:
    text = (
        f"Оплата бонусами отменена: {format_roubles(to_kopecks(result.released))} возвращено"
        if result.released > 0
        else "Оплата бонусами отменена"
    )
    return fr.Answer(cashierInformation=info([text]))


def confirm_answer(result: wire.ConfirmResult) -> fr.Answer:
    return fr.Answer(
        cashierInformation=info(result.messages), printingInformation=slip(result.slip)
    )


def refund_answer(result: wire.RefundResult) -> fr.Answer:
    lines = list(result.messages)
    if result.returned_bonuses > 0:
        lines.append(f"Возвращено бонусов: {format_roubles(to_kopecks(result.returned_bonuses))}")
    if result.reversed_accrual > 0:
        lines.append(f"Списано начисленных: {format_roubles(to_kopecks(result.reversed_accrual))}")
    return fr.Answer(cashierInformation=info(lines), printingInformation=slip(lines))
