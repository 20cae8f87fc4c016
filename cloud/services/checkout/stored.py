"""Stored answers: idempotency on (merchant, channel, receipt id) and the receipt's digest."""

from __future__ import annotations

from cloud.db.database import Executor
from cloud.errors import Conflict
from schemas import checkout as wire


def cashier_columns(cashier: wire.Cashier | None) -> dict[str, str | None]:
    """The receipt's ``cashier_id`` and ``cashier_name`` parameters (stripped)."""
    if cashier is None:
        return {"cashier_id": None, "cashier_name": None}
    return {
        "cashier_id": None if cashier.id is None else cashier.id.strip(),
        "cashier_name": None if cashier.name is None else cashier.name.strip(),
    }


async def refuse_if_closed(executor: Executor, merchant_id: int, source: str, rid: str) -> None:
    if await stored_response(executor, merchant_id, source, "sale", rid) is not None:
        raise Conflict("receipt_closed", "Чек уже закрыт: изменить его нельзя, только вернуть")


async def stored_with_digest(
    executor: Executor, merchant_id: int, source: str, kind: str, external_id: str
) -> tuple[str, str | None] | None:
    row = await executor.fetch_one(
        "SELECT response, digest FROM receipts WHERE merchant_id = :m AND source = :s "
        "AND kind = :k AND external_id = :e",
        {"m": merchant_id, "s": source, "k": kind, "e": external_id},
    )
    return None if row is None else (str(row["response"]), row["digest"])


def replay(stored: tuple[str, str | None], digest: str, kind: str, external_id: str) -> str:
    """The stored answer to a genuine retry; a different receipt under a used id is a
    conflict (rows from before digests were kept replay as before)."""
    response, stored_digest = stored
    if stored_digest is not None and stored_digest != digest:
        what = "Чек" if kind == "sale" else "Возврат"
        raise Conflict(
            "idempotency_conflict",
            f"{what} с номером «{external_id}» уже проведён с другим содержимым: "
            "номер использован повторно. Проверьте нумерацию на кассе",
        )
    return response


async def stored_response(
    executor: Executor, merchant_id: int, source: str, kind: str, external_id: str
) -> str | None:
    value = await executor.fetch_value(
        "SELECT response FROM receipts WHERE merchant_id = :m AND source = :s "
        "AND kind = :k AND external_id = :e",
        {"m": merchant_id, "s": source, "k": kind, "e": external_id},
    )
    return None if value is None else str(value)


class AlreadyStored(Exception):
    """Raised inside the transaction to roll back and answer with the stored result."""
