"""The 1C channel at the store-side bridge (``terminal_bridge.channel.BridgeChannel``):
pure functions over the bytes the ``ЛояльностьОблако`` module sends to ``/1c/v1/...``.

Offline the bridge prices a calc itself (accrual only: no discount, nothing spendable),
keeps a confirm, a cancel and a return in its outbox, answers a customer lookup from its
snapshot (tier, no balance) and refuses a hold, an SMS code and a registration, all in
the 1C API's own shapes (``schemas.onec``) so the module needs no offline branch of its
own: ``offline: true`` and the cashier's message tell the story.

A record call's key is what the cloud de-duplicates it on, named by kind so a sale, its
cancel and a return never share one: ``confirm:<receiptId>`` (the sale's idempotency key
in ``checkout``), ``cancel:<receiptId>`` (``run_idempotent`` scope ``1c.cancel``),
``return:<returnId>`` (the refund's own id). A record body the cloud would refuse gets
no key: ``render_recorded`` answers it 400 and nothing invalid enters the outbox.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from schemas import checkout as wire
from schemas import onec
from terminal_bridge.channel import BridgeChannel, CachedCustomer, Call, OfflineQuote
from terminal_bridge.onec.translate import customer_ref, receipt

PREFIX = "/1c"
BASE = PREFIX + "/v1"
BOM = b"\xef\xbb\xbf"
OFFLINE = "Нет связи с сервером лояльности: бонусы будут начислены позже"
OFFLINE_RECORDED = "Нет связи с сервером лояльности: операция сохранена и будет передана позже"
ONLINE_ONLY = (
    "Нет связи с сервером лояльности: оплата бонусами, коды из SMS и регистрация "
    "клиентов недоступны до восстановления связи"
)
ZERO = Decimal(0)
ModelT = TypeVar("ModelT", bound=BaseModel)

_QUOTE = {"/receipts/calc"}
_RECORD = {
    "/receipts/confirm": "confirm",
    "/receipts/cancel": "cancel",
    "/receipts/return": "return",
}
_RECORD_MODELS: dict[str, type[onec.ConfirmRequest | onec.CancelRequest | onec.ReturnRequest]] = {
    "confirm": onec.ConfirmRequest, "cancel": onec.CancelRequest, "return": onec.ReturnRequest,
}  # fmt: skip
_LOOKUP = {"/customers/lookup"}
_ONLINE_ONLY = {"/receipts/hold", "/sms-codes", "/customers/register"}


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))
    raise TypeError(type(value).__name__)


def _json(status: int, body: BaseModel | dict[str, Any]) -> tuple[int, bytes]:
    value = body.model_dump(mode="python") if isinstance(body, BaseModel) else body
    return status, orjson.dumps(value, default=_default)


def _object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body.removeprefix(BOM), parse_float=Decimal)
    except (ValueError, RecursionError):
        raise ValueError("Некорректный JSON в теле запроса") from None
    if not isinstance(value, dict):
        raise ValueError("Ожидается JSON-объект")
    return value


def _parse(model: type[ModelT], body: bytes) -> ModelT:
    try:
        return model.model_validate(_object(body))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "тело запроса"
        raise ValueError(f"Ошибка в данных: {where}") from None


def _route(path: str) -> str:
    path = path.split("?", 1)[0].rstrip("/")
    return path.removeprefix(BASE) if path.startswith(BASE + "/") else ""


class OnecChannel:
    name = "1c"
    prefix = PREFIX

    def classify(self, method: str, path: str, body: bytes) -> Call:
        route = _route(path)
        if method.upper() != "POST" or not route:
            return Call("passthrough")
        if route in _QUOTE:
            return Call("quote")
        if route in _LOOKUP:
            return Call("lookup")
        if route in _ONLINE_ONLY:
            return Call("online_only")
        kind = _RECORD.get(route)
        if kind is None:
            return Call("passthrough")
        # A body the cloud would refuse is not kept: no key (``render_recorded`` answers
        # it 400), so only a valid call ever enters the outbox.
        try:
            parsed = _parse(_RECORD_MODELS[kind], body)
        except ValueError:
            return Call("record")
        key = parsed.returnId if isinstance(parsed, onec.ReturnRequest) else parsed.receiptId
        return Call("record", key=f"{kind}:{key}")

    def quote_request(self, body: bytes) -> wire.CalculateRequest:
        calc = _parse(onec.CalcRequest, body)
        try:
            return wire.CalculateRequest(receipt=receipt(calc.receiptId, calc, calc.lines, None))
        except ValidationError as exc:
            raise ValueError(f"Ошибка в чеке: {exc.errors()[0]['msg']}") from None

    def render_quote(self, body: bytes, quote: OfflineQuote) -> tuple[int, bytes]:
        lines = [
            onec.CalcLine(
                id=line.id, amount=line.amount, discount=ZERO, amountAfterDiscount=line.amount,
                maxRedeem=ZERO, redeem=ZERO, accrual=line.accrual,
            )
            for line in quote.lines
        ]  # fmt: skip
        amount = sum((line.amount for line in quote.lines), ZERO)
        customer = None
        if quote.customer is not None:
            customer = onec.QuoteCustomer(
                customerId=quote.customer.customer_id, tier=quote.customer.tier,
                tierName=quote.customer.tier_name, balance=None,
            )  # fmt: skip
        answer = onec.CalcAnswer(
            receiptId=quote.receipt.id, offline=True, customerFound=quote.customer_found,
            customer=customer, lines=lines, amount=amount, discount=ZERO,
            amountAfterDiscount=amount, maxRedeem=ZERO, redeem=ZERO, accrual=quote.accrual,
            messages=quote.messages or [OFFLINE],
        )  # fmt: skip
        return _json(200, answer)

    def render_recorded(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        route = _route(path)
        try:
            if route == "/receipts/confirm":
                sale = _parse(onec.ConfirmRequest, body)
                charged = receipt(sale.receiptId, sale, sale.lines, None)
                amount = sum(
                    (line.amount if line.amount is not None else line.price * line.quantity
                     for line in charged.lines), ZERO,
                )  # fmt: skip
                return _json(200, onec.ConfirmAnswer(
                    receiptId=sale.receiptId, status="accepted", amount=amount.quantize(
                        Decimal("0.01")), redeemed=sale.redeemed or ZERO, accrued=ZERO,
                    accrualAvailableFrom=None, balance=None, messages=[OFFLINE],
                ))  # fmt: skip
            if route == "/receipts/cancel":
                cancel = _parse(onec.CancelRequest, body)
                return _json(200, onec.CancelAnswer(
                    receiptId=cancel.receiptId, status="accepted", released=ZERO))  # fmt: skip
            if route == "/receipts/return":
                back = _parse(onec.ReturnRequest, body)
                return _json(200, onec.ReturnAnswer(
                    returnId=back.returnId, receiptId=back.receiptId, status="accepted",
                    lines=[onec.ReturnAnswerLine(id=line.id, quantity=line.quantity,
                                                 returnedBonuses=ZERO, reversedAccrual=ZERO)
                           for line in back.lines or []],
                    returnedBonuses=ZERO, reversedAccrual=ZERO, balance=None,
                    messages=[OFFLINE_RECORDED],
                ))  # fmt: skip
        except ValueError as exc:
            return self.render_error(400, "validation_error", str(exc))
        return self.render_error(404, "unknown_path", "Нет такого адреса в API для 1С")

    def lookup_key(self, body: bytes, query: dict[str, str]) -> wire.CustomerRef | None:
        try:
            return customer_ref(_parse(onec.CustomerLookupRequest, body))
        except (ValueError, ValidationError):
            return None

    def render_lookup(
        self, body: bytes, query: dict[str, str], customer: CachedCustomer | None
    ) -> tuple[int, bytes]:
        ref = self.lookup_key(body, query)
        if customer is None or ref is None:
            return self.render_error(
                404, "customer_not_found",
                "Клиент не найден в данных кассы, а связи с сервером лояльности нет",
            )  # fmt: skip
        messages = [f"Уровень: {customer.tier_name}"] if customer.tier_name else []
        if customer.blocked:
            messages.append("Клиент заблокирован: бонусы не начисляются")
        messages.append(OFFLINE)
        phone = ref.phone or ""
        digits = "".join(ch for ch in phone if ch.isdigit())
        answer = onec.CustomerAnswer(
            customerId=customer.customer_id, name=None,
            phone=f"{digits[:4]}***{digits[-4:]}" if len(digits) >= 8 else "",
            card=ref.card, tier=customer.tier, tierName=customer.tier_name, balance=None,
            pending=None, expiring=[], messages=messages, offline=True,
        )  # fmt: skip
        return _json(200, answer)

    def render_error(self, status: int, code: str, message: str) -> tuple[int, bytes]:
        return _json(status, {"code": code, "message": message})


CHANNEL: BridgeChannel = OnecChannel()
