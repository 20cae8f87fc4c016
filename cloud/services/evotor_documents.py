"""Evotor documents kept whole: a return that arrived before its sale (``pending``,
replayed when the sale is recorded) and a document we could not read or apply
(``rejected``). Evotor does not re-send what it got a 200 for, so nothing it reported
is dropped: either it is applied, or it waits here, visible to the merchant."""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from cloud.clock import to_epoch
from cloud.db.database import Row, is_unique_violation
from cloud.services.deps import Deps

log = structlog.get_logger("loyalty.evotor")


@dataclass(frozen=True, slots=True)
class KeptDocument:
    id: int
    document_id: str
    store_external_id: str
    status: str
    reason: str | None
    payload: str


async def keep(
    deps: Deps, merchant_id: int, *, store_external_id: str | None, document_id: str,
    base_document_id: str | None, status: str, reason: str | None, payload: str,
) -> None:  # fmt: skip
    """Insert or update the kept document (one row per store + document id)."""
    now = to_epoch(deps.clock())
    params = {
        "m": merchant_id, "s": (store_external_id or "")[:128], "d": document_id[:128],
        "b": None if base_document_id is None else base_document_id[:128],
        "st": status, "r": None if reason is None else reason[:256], "p": payload, "now": now,
    }  # fmt: skip
    for attempt in range(2):
        try:
            async with deps.db.transaction() as tx:
                seen = await tx.fetch_value(
                    "SELECT id FROM evotor_documents WHERE merchant_id = :m "
                    "AND store_external_id = :s AND document_id = :d",
                    params,
                )
                if seen is None:
                    await tx.insert(
                        "INSERT INTO evotor_documents (merchant_id, store_external_id, "
                        "document_id, base_document_id, status, reason, payload, created_at, "
                        "updated_at) VALUES (:m, :s, :d, :b, :st, :r, :p, :now, :now) "
                        "RETURNING id",
                        params,
                    )
                else:
                    await tx.execute(
                        "UPDATE evotor_documents SET status = :st, reason = :r, payload = :p, "
                        "base_document_id = :b, updated_at = :now WHERE id = :id",
                        {**params, "id": seen},
                    )
            return
        except Exception as exc:
            if attempt or not is_unique_violation(exc):
                raise


async def set_status(deps: Deps, kept_id: int, status: str, reason: str | None = None) -> None:
    async with deps.db.transaction() as tx:
        await tx.execute(
            "UPDATE evotor_documents SET status = :st, reason = :r, updated_at = :now "
            "WHERE id = :id",
            {"st": status, "r": reason, "now": to_epoch(deps.clock()), "id": kept_id},
        )


async def pending_for(deps: Deps, merchant_id: int, base_document_id: str) -> list[KeptDocument]:
    """Returns waiting for the sale ``base_document_id``, oldest first."""
    rows = await deps.db.fetch_all(
        "SELECT id, document_id, store_external_id, status, reason, payload "
        "FROM evotor_documents WHERE merchant_id = :m AND base_document_id = :b "
        "AND status = 'pending' ORDER BY id",
        {"m": merchant_id, "b": base_document_id},
    )
    return [_kept(row) for row in rows]


async def find(deps: Deps, merchant_id: int, document_id: str) -> list[KeptDocument]:
    rows = await deps.db.fetch_all(
        "SELECT id, document_id, store_external_id, status, reason, payload "
        "FROM evotor_documents WHERE merchant_id = :m AND document_id = :d ORDER BY id",
        {"m": merchant_id, "d": document_id},
    )
    return [_kept(row) for row in rows]


def _kept(row: Row) -> KeptDocument:
    return KeptDocument(
        id=int(row["id"]), document_id=str(row["document_id"]),
        store_external_id=str(row["store_external_id"]), status=str(row["status"]),
        reason=row["reason"], payload=str(row["payload"]),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class UnsettledSale:
    receipt_uuid: str
    document_id: str | None
    store_external_id: str | None
    customer_id: int | None
    unsettled: int
    reason: str | None
    updated_at: int


async def attention(
    deps: Deps, merchant_id: int, limit: int = 200
) -> tuple[list[KeptDocument], list[UnsettledSale]]:
    """What the merchant should look at: documents waiting or rejected, and sales whose
    bonus payment was not fully debited; newest first."""
    kept = await deps.db.fetch_all(
        "SELECT id, document_id, store_external_id, status, reason, payload "
        "FROM evotor_documents WHERE merchant_id = :m AND status IN ('pending', 'rejected') "
        "ORDER BY id DESC LIMIT :n",
        {"m": merchant_id, "n": limit},
    )
    sales = await deps.db.fetch_all(
        "SELECT external_id AS receipt_uuid, document_id, store_external_id, customer_id, "
        "unsettled, unsettled_reason, updated_at FROM receipt_sessions WHERE merchant_id = :m "
        "AND channel = 'evotor' AND state = 'unsettled' ORDER BY id DESC LIMIT :n",
        {"m": merchant_id, "n": limit},
    )
    return [_kept(row) for row in kept], [
        UnsettledSale(
            receipt_uuid=str(r["receipt_uuid"]),
            document_id=r["document_id"],
            store_external_id=r["store_external_id"],
            customer_id=None if r["customer_id"] is None else int(r["customer_id"]),
            unsettled=int(r["unsettled"]),
            reason=r["unsettled_reason"],
            updated_at=int(r["updated_at"]),
        )
        for r in sales
    ]
