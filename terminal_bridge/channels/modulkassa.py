"""The Модулькасса channel as the store-side bridge sees it (``BridgeChannel``): pure
functions over the bytes our plugin sends, no database and no network.

- ``POST /modulkassa/v1/loyalty-request`` is a ``quote``: offline the bridge prices it
  itself and the answer keeps every price (impacts with the prices asked: no discount is
  promised that the cloud might not honour), says in ``printableData`` that the answer is
  offline and what the sale is expected to earn; a spend asked for is not made, and the
  answer says so.
- ``POST /modulkassa/v1/events`` is a ``record`` kept in the outbox and replayed byte for
  byte; its key is what the cloud de-duplicates on: ``sale:<receipt id>`` (the
  ``loyaltyData``, else the ``checkId``), ``return:<checkId>``, ``cancel:<receipt id>``.
- ``POST /modulkassa/v1/sms-code`` is ``online_only``; the document is ``passthrough``.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from cloud.validation import describe_validation_error
from cloud.web_json import dumps
from schemas import checkout as wire
from schemas import modulkassa as mk
from schemas.money import to_kopecks, to_roubles
from terminal_bridge.channel import CachedCustomer, Call, OfflineQuote
from terminal_bridge.modulkassa import translate

PREFIX = "/modulkassa"
OFFLINE_NOTICE = translate.OFFLINE_NOTICE
NO_SPEND = "Списание бонусов без связи с сервером недоступно: чек без списания"
INVALID = "Некорректная структура запроса"


def _load(body: bytes) -> Any:
    try:
        return json.loads(body, parse_float=Decimal)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"{INVALID}: некорректный JSON") from exc


def _parse(model: type[Any], body: bytes) -> Any:
    value = _load(body)
    if not isinstance(value, dict):
        raise ValueError(f"{INVALID}: ожидается JSON-объект")
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        detail = describe_validation_error(exc).removeprefix("Ошибка в данных: ")
        raise ValueError(f"{INVALID}: {detail}"[:500]) from exc


def _route(path: str) -> str:
    return path.removeprefix(PREFIX + "/v1/").rstrip("/")


class ModulKassaChannel:
    name = "modulkassa"
    prefix = PREFIX

    def classify(self, method: str, path: str, body: bytes) -> Call:
        route = _route(path)
        if method == "POST" and route == "loyalty-request":
            return Call("quote")
        if method == "POST" and route == "events":
            try:
                event = _parse(mk.CheckEvent, body)
            except ValueError:
                # Unreadable: the cloud would refuse it too; offline it is refused here.
                return Call("online_only")
            if not _recordable(event):
                # The cloud refuses these (no sale named, a correction check): the till
                # hears it now rather than an "accepted" the replay would contradict.
                return Call("online_only")
            return Call("record", key=record_key(event))
        if method == "POST" and route == "sms-code":
            return Call("online_only")
        return Call("passthrough")

    def quote_request(self, body: bytes) -> wire.CalculateRequest:
        request = _parse(mk.LoyaltyRequest, body)
        try:
            return wire.CalculateRequest(receipt=translate.quote_receipt(request))
        except ValidationError as exc:
            detail = describe_validation_error(exc).removeprefix("Ошибка в данных: ")
            raise ValueError(f"{INVALID}: {detail}"[:500]) from exc

    def render_quote(self, body: bytes, quote: OfflineQuote) -> tuple[int, bytes]:
        request: mk.LoyaltyRequest = _parse(mk.LoyaltyRequest, body)
        notes = [OFFLINE_NOTICE]
        asked = request.customerPhone is not None or request.customerCard is not None
        if asked and not quote.customer_found:
            notes.append("Клиент не найден в данных магазина: бонусы не начисляются")
        if request.spendBonuses:
            notes.append(NO_SPEND)
        accrual = to_kopecks(quote.accrual) if quote.customer is not None else 0
        printed = translate.printable(0, 0, accrual, None, notes)
        answer = mk.LoyaltyResult(
            impacts=translate.unchanged(request), data=request.id,
            printableData="\n".join(printed),
            details=mk.LoyaltyDetails(
                receiptId=request.id, offline=True,
                customerFound=quote.customer_found if asked else None,
                discount=Decimal(0), spent=Decimal(0),
                accrual=to_roubles(accrual),
                messages=[*notes, *(m for m in quote.messages if m != OFFLINE_NOTICE)],
            ),
        )  # fmt: skip
        return 200, dumps(answer.model_dump(exclude_none=True))

    def render_recorded(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        event: mk.CheckEvent = _parse(mk.CheckEvent, body)
        receipt = translate.receipt_id(event)
        if event.event == "CHECK_CANCELLED":
            answer = self._accepted(event, receipt, "cancel", "Отмена чека будет учтена позже")
        elif event.check.docType == "RETURN":
            answer = self._accepted(
                event, event.saleId or "", "return", "Возврат будет учтён позже"
            )
        else:
            answer = self._accepted(event, receipt, "sale", OFFLINE_NOTICE)
        return 200, dumps(answer.model_dump(exclude_none=True))

    @staticmethod
    def _accepted(event: mk.CheckEvent, receipt: str, operation: Any, said: str) -> mk.EventResult:
        return mk.EventResult(
            event=event.event, checkId=event.checkId, receiptId=receipt, operation=operation,
            offline=True, messages=[said],
        )  # fmt: skip

    def render_lookup(
        self, body: bytes, query: dict[str, str], customer: CachedCustomer | None
    ) -> tuple[int, bytes]:
        return self.render_error(404, "not_found", "Адрес не найден")

    def lookup_key(self, body: bytes, query: dict[str, str]) -> wire.CustomerRef | None:
        return None

    def render_error(self, status: int, code: str, message: str) -> tuple[int, bytes]:
        return status, dumps({"code": code, "message": message})


def _recordable(event: mk.CheckEvent) -> bool:
    if event.event == "CHECK_CANCELLED":
        return True
    if event.check.docType == "RETURN":
        return event.saleId is not None
    return event.check.docType == "SALE"


def record_key(event: mk.CheckEvent) -> str:
    """What the cloud de-duplicates the event on."""
    if event.event == "CHECK_CANCELLED":
        return "cancel:" + translate.receipt_id(event)
    if event.check.docType == "RETURN":
        return "return:" + event.checkId
    return "sale:" + translate.receipt_id(event)


CHANNEL = ModulKassaChannel()
