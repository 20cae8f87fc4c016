"""The document webhooks: V2 documents (snake_case, or camelCase as ``document2``),
legacy V1 arrays, and the simplified receipt of ``POST /api/v2/receipts``.

Each document of a batch is applied on its own, and the answer is always 200 with one
result per document, so Evotor never re-sends what is done:

- a SELL is recorded whatever happens to its bonus payment (``confirmed`` or
  ``unsettled``, see ``cloud.services.evotor_receipts.confirm_document``);
- a PAYBACK whose sale has not arrived is kept (``pending``) and applied when it does;
- a document we cannot read or apply is kept whole as ``rejected`` and logged (a re-send
  cannot fix it); only a failure of our own (the database) answers 500, and then the
  documents already applied are duplicates on the re-send.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import structlog
from aiohttp import web
from pydantic import ValidationError

from cloud.engine.types import EngineError
from cloud.errors import DomainError, PaymentRequired
from cloud.services import evotor_accounts, evotor_documents, evotor_paybacks, evotor_receipts
from cloud.services.deps import Deps
from cloud.services.evotor_accounts import Account
from cloud.web_json import json_response
from schemas import evotor as ev
from webhooks.evotor import translate
from webhooks.evotor.auth import require_user
from webhooks.evotor.body import loads_exact, read_exact
from webhooks.evotor.errors import INCORRECT, EvotorFailure

log = structlog.get_logger("loyalty.evotor")

LOYALTY_TYPES = ("SELL", "PAYBACK")


class Rejected(Exception):
    """A document that can never be applied as it is."""


def is_v1(raw: dict[str, Any]) -> bool:
    """V1 carries ``transactions``, V2 a ``body``; the version field decides the rest."""
    if "transactions" in raw:
        return True
    if "body" in raw:
        return False
    return raw.get("version") == "V1"


def _payload(raw: Any) -> str:
    """The document as kept: any JSON value (numbers of any size; an exact decimal is
    kept as its text, which the document models read back as the same number)."""
    return json.dumps(raw, ensure_ascii=False, default=str)


def _items(data: Any) -> list[Any]:
    return data if isinstance(data, list) else [data]


def _text(value: Any) -> str | None:
    return value[:128] if isinstance(value, str) and value else None


def _identity(raw: Any) -> tuple[str, str | None, str]:
    """Document id, store and type of a document, however broken, for the record."""
    if isinstance(raw, dict):
        doc_id = _text(raw.get("id")) or _text(raw.get("uuid"))
        store = _text(raw.get("store_id")) or _text(raw.get("storeId")) or _text(
            raw.get("storeUuid")
        )  # fmt: skip
        kind = _text(raw.get("type")) or "UNKNOWN"
    else:
        doc_id, store, kind = None, None, "UNKNOWN"
    if doc_id is None:
        doc_id = "sha256:" + hashlib.sha256(_payload(raw).encode()).hexdigest()[:56]
    return doc_id, store, kind


def _ack(results: list[ev.DocumentResult]) -> web.Response:
    return json_response(ev.DocumentsAck(results=results).model_dump(exclude_none=True))


async def documents(request: web.Request, deps: Deps) -> web.Response:
    account = await require_user(request, deps)
    store_hint = request.match_info.get("store_uuid")
    results = [
        await apply(deps, account, raw, store_hint) for raw in _items(await read_exact(request))
    ]
    return _ack(results)


async def receipts(request: web.Request, deps: Deps) -> web.Response:
    """``POST /api/v2/receipts``: one receipt event or several."""
    account = await require_user(request, deps)
    results = []
    for raw in _items(await read_exact(request)):
        results.append(await _guarded(deps, account, raw, None, _receipt_event))
    return _ack(results)


async def apply(
    deps: Deps, account: Account, raw: Any, store_hint: str | None
) -> ev.DocumentResult:
    return await _guarded(deps, account, raw, store_hint, _document)


async def _guarded(
    deps: Deps, account: Account, raw: Any, store_hint: str | None, handler: Any
) -> ev.DocumentResult:
    try:
        if not isinstance(raw, dict):
            raise Rejected("not_an_object")
        return await handler(deps, account, raw, store_hint)
    except PaymentRequired:
        raise
    except (DomainError, EvotorFailure) as exc:
        if exc.status >= 500:
            raise
        code = exc.code if isinstance(exc, DomainError) else str(exc.item.reason)
        return await _reject(deps, account, raw, store_hint, code, str(exc))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return await _reject(deps, account, raw, store_hint, "invalid", f"{where}: {first['msg']}")
    except (Rejected, EngineError, ValueError, ArithmeticError) as exc:
        return await _reject(deps, account, raw, store_hint, type(exc).__name__, str(exc))


async def _reject(
    deps: Deps, account: Account, raw: Any, store_hint: str | None, code: str, detail: str
) -> ev.DocumentResult:
    doc_id, store, kind = _identity(raw)
    store = store or store_hint
    reason = f"{code}: {detail}"[:256]
    await evotor_documents.keep(
        deps, account.merchant_id, store_external_id=store, document_id=doc_id,
        base_document_id=None, status="rejected", reason=reason, payload=_payload(raw),
    )  # fmt: skip
    log.warning("evotor_document_rejected", merchant=account.merchant_id, document=doc_id,
                type=kind, store=store, reason=reason)  # fmt: skip
    return ev.DocumentResult(id=doc_id, type=kind, status="rejected", reason=code[:64])


async def _document(
    deps: Deps, account: Account, raw: dict[str, Any], store_hint: str | None
) -> ev.DocumentResult:
    app_id = deps.settings.evotor_app_id
    if is_v1(raw):
        v1 = ev.V1Document.model_validate(raw)
        kind, doc_id = v1.type, v1.uuid
        if kind not in LOYALTY_TYPES:
            return ev.DocumentResult(id=doc_id, type=kind, status="ignored")
        store, device, offset = store_hint or v1.storeUuid, v1.deviceUuid, None
        closed = translate.epoch_of(v1.closeDate)
        sell = translate.v1_sell_document(v1, store) if kind == "SELL" else None
        payback = translate.v1_payback_document(v1, store) if kind == "PAYBACK" else None
    else:
        v2 = ev.Document.model_validate(raw)
        kind, doc_id = v2.type, v2.id
        if kind not in LOYALTY_TYPES:
            return ev.DocumentResult(id=doc_id, type=kind, status="ignored")
        if v2.user_id and v2.user_id != account.evotor_user_id:
            raise EvotorFailure(400, ev.EvotorErrorItem(
                code=INCORRECT, reason="incorrect", subject="user_id", value=v2.user_id,
                message="Документ другого пользователя Эвотор",
            ))  # fmt: skip
        body = ev.DocumentBody.model_validate(v2.body or {})
        if v2.store_id is None and store_hint is not None:
            v2 = v2.model_copy(update={"store_id": store_hint})
        store, device = v2.store_id, v2.device_id
        offset = None if v2.time_zone_offset is None else v2.time_zone_offset // 1000
        closed = translate.epoch_of(v2.close_date)
        sell = translate.sell_document(v2, body, app_id) if kind == "SELL" else None
        payback = translate.payback_document(v2, body) if kind == "PAYBACK" else None
    evotor_accounts.ensure_serving(account, closed)
    terminal = await evotor_accounts.terminal_for_document(deps, account, store, device, offset)
    if sell is not None:
        if not sell.lines:
            return ev.DocumentResult(id=doc_id, type=kind, status="ignored", reason="no_lines")
        outcome = await evotor_receipts.confirm_document(deps, terminal, sell)
        await replay_pending(deps, account, doc_id)
        return ev.DocumentResult(
            id=doc_id, type=kind, status=outcome.status,
            reason=outcome.reason,
        )  # fmt: skip
    assert payback is not None
    refunded = await evotor_paybacks.refund_document(deps, terminal, payback)
    if refunded.status == "pending":
        await evotor_documents.keep(
            deps, account.merchant_id, store_external_id=store, document_id=doc_id,
            base_document_id=payback.base_document_id, status="pending",
            reason=refunded.reason, payload=_payload(raw),
        )  # fmt: skip
    return ev.DocumentResult(
        id=doc_id, type=kind, status=refunded.status,
        reason=refunded.reason,
    )  # fmt: skip


async def replay_pending(deps: Deps, account: Account, sale_document_id: str) -> None:
    """Apply the returns that arrived before the sale ``sale_document_id``."""
    for kept in await evotor_documents.pending_for(deps, account.merchant_id, sale_document_id):
        result = await apply(
            deps, account, loads_exact(kept.payload), kept.store_external_id or None
        )
        if result.status != "pending":
            await evotor_documents.set_status(deps, kept.id, result.status, result.reason)
            log.info("evotor_pending_payback_applied", merchant=account.merchant_id,
                     document=kept.document_id, status=result.status)  # fmt: skip


async def _receipt_event(
    deps: Deps, account: Account, raw: dict[str, Any], _store_hint: str | None
) -> ev.DocumentResult:
    event = ev.ReceiptEvent.model_validate(raw)
    data = event.data
    kind = data.type or "SELL"
    if event.userId and event.userId != account.evotor_user_id:
        raise Rejected("Чек другого пользователя Эвотор")
    if data.infoCheck:
        return ev.DocumentResult(id=data.id, type=kind, status="ignored", reason="info_check")
    if kind != "SELL":
        # A simplified return names no sale to return against.
        return ev.DocumentResult(id=data.id, type=kind, status="ignored", reason="not_a_sale")
    sell = translate.receipt_sell_document(data, deps.settings.evotor_app_id)
    closed = translate.epoch_of(data.dateTime)
    evotor_accounts.ensure_serving(account, closed)
    terminal = await evotor_accounts.terminal_for_document(
        deps, account, data.storeId, data.deviceId, None
    )
    if not sell.lines:
        return ev.DocumentResult(id=data.id, type=kind, status="ignored", reason="no_lines")
    outcome = await evotor_receipts.confirm_document(deps, terminal, sell)
    await replay_pending(deps, account, data.id)
    return ev.DocumentResult(
        id=data.id, type=kind, status=outcome.status,
        reason=outcome.reason,
    )  # fmt: skip
