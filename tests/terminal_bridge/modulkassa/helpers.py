"""What our plugin sends, built from a few facts (positions, impacts, the check)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from schemas.money import line_amount, to_kopecks, to_roubles

Body = dict[str, Any]


def position(pid: str, price: str, quantity: str, measure: str = "PCS", **extra: Any) -> Body:
    return {
        "id": pid, "inventCode": f"code-{pid}", "barcode": "", "name": f"Товар {pid}",
        "type": "INVENTORY", "measure": measure, "price": Decimal(price),
        "quantity": Decimal(quantity), "modifiers": [], **extra,
    }  # fmt: skip


def loyalty(receipt: str, *positions: Body, **extra: Any) -> Body:
    return {"id": receipt, "retailPointId": "rp-1", "userId": "u-1",
            "positions": list(positions), **extra}  # fmt: skip


def check_from(request: Body, answer: Body, check_id: str, **extra: Any) -> Body:
    """The CHECK_CLOSED event of a check closed with the answer's impacts, each a
    position at its final price (``amount``, ``discountAmount`` as Модулькасса fills them)."""
    by_id = {p["id"]: p for p in request["positions"]}
    positions = []
    for impact in answer["impacts"]:
        p = by_id[impact["positionId"]]
        price, quantity = Decimal(str(impact["price"])), Decimal(str(impact["quantity"]))
        full = line_amount(to_kopecks(Decimal(str(p["price"]))), quantity)
        paid = line_amount(to_kopecks(price), quantity)
        positions.append({
            "inventCode": p["inventCode"], "name": p["name"], "price": price,
            "quantity": quantity, "vatTag": "TAG_1105", "measure": p["measure"],
            "amount": to_roubles(paid), "discountAmount": to_roubles(full - paid),
        })  # fmt: skip
    return closed(check_id, positions, loyaltyData=answer["data"], **extra)


def closed(check_id: str, positions: list[Body], doc: str = "SALE", **extra: Any) -> Body:
    when = extra.pop("dateTime", "2026-11-20T11:00:00+03:00")
    return {
        "event": "CHECK_CLOSED", "checkId": check_id,
        "check": {"id": check_id, "docType": doc, "inventPositions": positions,
                  "moneyPositions": [], "taxMode": "SIMPLIFIED", "dateTime": when,
                  "employee": "Иванова Мария"},
        **extra,
    }  # fmt: skip


def item(code: str, price: str, quantity: str, **extra: Any) -> Body:
    return {
        "inventCode": code, "name": f"Товар {code}", "price": Decimal(price),
        "quantity": Decimal(quantity), "vatTag": "TAG_1105", "measure": "PCS", **extra,
    }  # fmt: skip


def cancelled(check_id: str, positions: list[Body], **extra: Any) -> Body:
    body = closed(check_id, positions, **extra)
    return {**body, "event": "CHECK_CANCELLED"}
