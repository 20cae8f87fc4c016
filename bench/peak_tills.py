"""One sale per channel, in each vendor's own protocol (``bench/peak.py`` runs them):
quote, a bonus payment sometimes, close, a return sometimes. Payload shapes follow
``fixtures/<vendor>/``; the lines are a random 2..6 of ``bench/receipt.json``."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from checkout import BENCH  # type: ignore[import-not-found]  # bench/checkout.py

from cloud.services.frontol_accounts import signature

LINES: list[dict[str, Any]] = json.loads((BENCH / "receipt.json").read_text(), parse_float=Decimal)
BONUS = Decimal("10.00")
MOSCOW = timezone(timedelta(hours=3))
CENT = Decimal("0.01")
CLOSE_TRIES = 4
OFFLINE = "Нет связи с сервером лояльности"

Sale = Callable[[Any, Any, random.Random, int], Awaitable[None]]


async def _closing(load: Any, till: Any, step: str, path: str, body: Any, headers: Any,
                   check: Callable[[Any], str | None], method: str = "POST") -> Any:  # fmt: skip
    """The call that records the sale: a till not told it succeeded sends the same one
    again (up to ``CLOSE_TRIES``, two seconds apart), as cashiers do; each failure counts
    as an error, and the database check then shows whether a sale was lost or doubled."""
    for attempt in range(CLOSE_TRIES):
        if attempt:
            await asyncio.sleep(2.0)  # past the bridge's 3 s offline spell
        answer = await load.call(till, step, path, body, headers, check, method)
        if answer is not None:
            return answer
    return None


def _lines(rng: random.Random) -> list[dict[str, Any]]:
    return rng.sample(LINES, rng.randint(2, 6))


def _amount(line: dict[str, Any]) -> Decimal:
    return (line["price"] * line["quantity"]).quantize(CENT)


def _status(*wanted: str) -> Callable[[Any], str | None]:
    def check(answer: Any) -> str | None:
        return None if answer.get("status") in wanted else f"status {answer.get('status')}"

    return check


# ---- native API (and the same calls through the store's bridge) ---------------------------


async def native(load: Any, till: Any, rng: random.Random, n: int) -> None:
    rid = f"{load.prefix}-{till.terminal_id}-{n}"
    pays = rng.random() < load.args.bonus_share
    receipt = {"id": rid, "customer": {"phone": load.customer(rng, pays)}, "lines": _lines(rng)}
    auth = {"Authorization": f"Bearer {till.token}"}
    quote = await load.call(till, "calculate", "/api/v1/checkout/calculate",
                            {"receipt": receipt}, auth)  # fmt: skip
    if quote is None:
        return
    redeemed = Decimal(0)
    # A quote the bridge priced itself (the cloud too slow or away) offers no bonus
    # payment: the till does not try one.
    if pays and OFFLINE not in json.dumps(quote, ensure_ascii=False):
        held = await load.call(till, "hold", "/api/v1/checkout/hold",
                               {"receipt": receipt, "amount": BONUS}, auth)  # fmt: skip
        if held is None:
            return
        redeemed = BONUS
    done = await _closing(load, till, "confirm", "/api/v1/checkout/confirm",
                           {"receipt": receipt, "redeemed": redeemed}, auth,
                           _status("confirmed", "queued"))  # fmt: skip
    if done is None:
        return
    load.sold[till.terminal_id] += 1
    load.sales[till.channel] += 1
    if done["status"] == "queued":  # the bridge kept it for the cloud: replayed later
        load.offline[till.channel] += 1
    if rng.random() < load.args.return_share:
        back = {"id": f"{rid}-r", "receipt_id": rid}
        if await load.call(till, "return", "/api/v1/checkout/refund", back, auth) is not None:
            load.refunded[till.terminal_id] += 1
            load.returns[till.channel] += 1


# ---- Frontol Priority API -----------------------------------------------------------------


def _frontol_ok(answer: Any) -> str | None:
    return None if answer.get("code", 0) == 0 else f"Frontol code {answer.get('code')}: " \
        f"{answer.get('error')}"  # fmt: skip


async def frontol(load: Any, till: Any, rng: random.Random, n: int) -> None:
    chain = load.chain
    path = f"/frontol/v1/{chain.frontol_org}/document"

    def sign(raw: bytes) -> dict[str, str]:
        return {"Authorization": f"FrontolAuth {signature(chain.frontol_key, raw)}"}

    pays = rng.random() < load.args.bonus_share
    uid = str(uuid.uuid4())
    positions = [
        {"index": i, "id": line["sku"], "text": line["name"], "price": line["price"],
         "quantity": line["quantity"], "minimumPrice": 0, "totalAmount": _amount(line)}
        for i, line in enumerate(_lines(rng), 1)
    ]  # fmt: skip
    document = {
        "type": "receipt", "businessUnit": till.store, "workPlace": till.device,
        "dateTime": datetime.now(MOSCOW).strftime("%Y-%m-%dT%H:%M:%S.%f%z"),
        "cashier": {"code": 1, "name": "Кассир"},
        "client": {"mobilePhone": load.customer(rng, pays)}, "uid": uid, "number": n,
        "shift": 1, "positions": positions,
    }  # fmt: skip
    if await load.call(till, "calculate", path, {**document, "action": "calculate"}, sign,
                       _frontol_ok) is None:  # fmt: skip
        return
    total = sum((p["totalAmount"] for p in positions), Decimal(0))
    payments = [{"type": "cash", "mode": "fiscal", "amount": total}]
    if pays:
        bonus = {"type": "bonus", "mode": "nonFiscal", "amount": BONUS}
        if await load.call(till, "payByBonus", path,
                           {**document, "action": "payByBonus", "payment": bonus}, sign,
                           _frontol_ok) is None:  # fmt: skip
            return
        payments = [bonus, {"type": "cash", "mode": "fiscal", "amount": total - BONUS}]
    if await _closing(load, till, "confirm", path,
                      {**document, "action": "confirm", "payments": payments}, sign,
                      _frontol_ok) is None:  # fmt: skip
        return
    load.sold[till.terminal_id] += 1
    load.sales[till.channel] += 1
    if rng.random() < load.args.return_share:
        line = positions[0]
        refund = {**document, "action": "confirm", "type": "refundReceipt",
                  "uid": str(uuid.uuid4()), "referenceUid": uid, "number": n,
                  "positions": [{**line, "referenceIndex": line["index"]}],
                  "payments": [{"type": "cash", "mode": "fiscal",
                                "amount": line["totalAmount"]}]}  # fmt: skip
        if await load.call(till, "return", path, refund, sign, _frontol_ok) is not None:
            load.refunded[till.terminal_id] += 1
            load.returns[till.channel] += 1


# ---- SIGMA receipt hooks --------------------------------------------------------------------


async def sigma(load: Any, till: Any, rng: random.Random, n: int) -> None:
    rid = f"{load.prefix}-{till.terminal_id}-{n}"
    pays = rng.random() < load.args.bonus_share
    customer = {"phone": load.customer(rng, pays)}
    lines = _lines(rng)
    auth = {"Authorization": f"Bearer {till.token}"}
    hook = "/sigma/v1/hooks/"
    opened = {"event": "receipt.opened", "receipt_id": rid, "customer": customer, "lines": lines}
    if await load.call(till, "opened", hook + "receipt.opened", opened, auth) is None:
        return
    if pays:
        hold = {**opened, "event": "bonus.hold", "amount": BONUS}
        if await load.call(till, "hold", hook + "bonus.hold", hold, auth) is None:
            return
    closed = {"event": "receipt.closed", "receipt_id": rid, "customer": customer,
              "lines": [{**line, "amount": _amount(line)} for line in lines],
              "number": n, "cashier": {"id": "1", "name": "Кассир"}}  # fmt: skip
    if await _closing(load, till, "closed", hook + "receipt.closed", closed, auth,
                      _status("confirmed")) is None:  # fmt: skip
        return
    load.sold[till.terminal_id] += 1
    load.sales[till.channel] += 1
    if rng.random() < load.args.return_share:
        back = {"event": "receipt.refunded", "refund_id": f"{rid}-r", "receipt_id": rid,
                "lines": [{"id": lines[0]["id"], "quantity": lines[0]["quantity"]}]}  # fmt: skip
        if await load.call(till, "refunded", hook + "receipt.refunded", back, auth) is not None:
            load.refunded[till.terminal_id] += 1
            load.returns[till.channel] += 1


# ---- Evotor: terminal hooks, documents --------------------------------------------------------


def _evotor_headers(load: Any, till: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {load.chain.evotor_token}",
            "X-Evotor-Device-UUID": till.device, "X-Evotor-Store-Uuid": till.store,
            "X-Evotor-User-Id": load.chain.evotor_user}  # fmt: skip


def _document(load: Any, till: Any, kind: str, doc_id: str, number: int,
              positions: list[dict[str, Any]], **body: Any) -> dict[str, Any]:  # fmt: skip
    """A V2 document as ``fixtures/evotor/documents/sell_v2.json`` has it."""
    rows = []
    for i, p in enumerate(positions, 1):
        result = p.get("resultSum", (p["price"] * p["quantity"]).quantize(CENT))
        rows.append({"uuid": p["uuid"], "id": i, "product_id": p["productUuid"],
                     "code": p["productCode"], "product_name": p["name"],
                     "product_type": "NORMAL", "measure_name": p["measureName"],
                     "quantity": p["quantity"], "initial_quantity": p["quantity"],
                     "price": p["price"], "sum": (p["price"] * p["quantity"]).quantize(CENT),
                     "result_price": p["price"], "result_sum": result,
                     "tax": {"type": "NO_VAT", "sum": 0, "result_sum": 0},
                     "position_discount": None, "doc_distributed_discount": None,
                     "extra_keys": [], "sub_positions": []})  # fmt: skip
    total = sum((Decimal(str(r["result_sum"])) for r in rows), Decimal(0))
    return {
        "type": kind, "id": doc_id, "extras": body.pop("extras", {}), "number": number,
        "close_date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        "time_zone_offset": 10800000, "device_id": till.device, "store_id": till.store,
        "user_id": load.chain.evotor_user, "version": "V2",
        "body": {"positions": rows, "doc_discounts": [],
                 "payments": [{"id": str(uuid.uuid4()), "sum": total, "type": "ELECTRON",
                               "app_info": {"app_id": None, "name": "Банковская карта"}}],
                 "sum": sum((Decimal(str(r["sum"])) for r in rows), Decimal(0)),
                 "result_sum": total, **body},
    }  # fmt: skip


def _positions(rng: random.Random) -> list[dict[str, Any]]:
    return [{"uuid": str(uuid.uuid4()), "productUuid": str(uuid.uuid4()),
             "productCode": line["sku"], "name": line["name"], "measureName": "шт",
             "price": line["price"], "quantity": line["quantity"]}
            for line in _lines(rng)]  # fmt: skip


async def _payback(load: Any, till: Any, rng: random.Random, base: str, number: int,
                   positions: list[dict[str, Any]]) -> None:  # fmt: skip
    if rng.random() >= load.args.return_share:
        return
    back = [{**positions[0], "uuid": str(uuid.uuid4())}]
    document = _document(load, till, "PAYBACK", str(uuid.uuid4()), number, back,
                         base_document_id=base, base_document_number=number)  # fmt: skip
    headers = _evotor_headers(load, till)
    if await load.call(till, "return", "/evotor/api/v2/documents", document, headers,
                       _result("refunded"), "PUT") is not None:  # fmt: skip
        load.refunded[till.terminal_id] += 1
        load.returns[till.channel] += 1


def _result(*wanted: str) -> Callable[[Any], str | None]:
    def check(answer: Any) -> str | None:
        got = [r.get("status") for r in answer.get("results", [])]
        return None if len(got) == 1 and got[0] in wanted else f"document results {answer}"

    return check


async def evotor(load: Any, till: Any, rng: random.Random, n: int) -> None:
    receipt, document_id = str(uuid.uuid4()), str(uuid.uuid4())
    pays = rng.random() < load.args.bonus_share
    customer = {"phone": load.customer(rng, pays)}
    positions = _positions(rng)
    headers = _evotor_headers(load, till)
    hooks = "/evotor/terminal/v1/receipts/"
    opened = {"receiptUuid": receipt, "customer": customer, "positions": positions}
    quote = await load.call(till, "calculate", hooks + "calculate", opened, headers)
    if quote is None:
        return
    paid = Decimal(0)
    if pays:
        if await load.call(till, "bonus-payment", hooks + "bonus-payment",
                           {**opened, "sum": BONUS}, headers) is None:  # fmt: skip
            return
        paid = BONUS
    quoted = {q["uuid"]: q for q in quote["positions"]}
    final = [{**p, "priceWithDiscountPosition": quoted[p["uuid"]]["priceWithDiscountPosition"],
              "resultSum": quoted[p["uuid"]]["resultSum"]} for p in positions]  # fmt: skip
    close = {**opened, "positions": final, "bonusPayment": paid, "documentId": document_id,
             "number": n}  # fmt: skip
    if await _closing(load, till, "close", hooks + "close", close, headers,
                      _status("confirmed")) is None:  # fmt: skip
        return
    load.sold[till.terminal_id] += 1
    load.sales[till.channel] += 1
    # Evotor's cloud sends the SELL document of the same sale: it must change nothing.
    sell = _document(load, till, "SELL", document_id, n, final,
                     extras={"receiptUuid": receipt}, customer_phone=customer["phone"])  # fmt: skip
    if await load.call(till, "document", "/evotor/api/v2/documents", sell, headers,
                       _result("duplicate"), "PUT") is None:  # fmt: skip
        return
    await _payback(load, till, rng, document_id, n, final)


async def evotor_documents(load: Any, till: Any, rng: random.Random, n: int) -> None:
    document_id = str(uuid.uuid4())
    positions = _positions(rng)
    sell = _document(load, till, "SELL", document_id, n, positions,
                     customer_phone=load.customer(rng, False))  # fmt: skip
    if await _closing(load, till, "sell", "/evotor/api/v2/documents", sell,
                      _evotor_headers(load, till), _result("confirmed", "duplicate"),
                      "PUT") is None:  # fmt: skip
        return
    load.sold[till.terminal_id] += 1
    load.sales[till.channel] += 1
    await _payback(load, till, rng, document_id, n, positions)


PROTOCOLS: dict[str, Sale] = {
    "native": native, "bridge": native, "frontol": frontol, "sigma": sigma,
    "evotor": evotor, "evotor-docs": evotor_documents,
}  # fmt: skip
