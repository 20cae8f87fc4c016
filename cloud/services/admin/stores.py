"""A merchant's stores: name, time zone (day-based rules run in it) and address."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cloud.errors import NotFound
from cloud.services.admin import clean_name
from cloud.services.merchants import Db, create_store, zone


@dataclass(frozen=True, slots=True)
class StoreInfo:
    id: int
    name: str
    timezone: str
    address: str | None
    evotor: bool
    """Synced from Evotor (its name follows Evotor's on the next sync)."""


_COLUMNS = "id, name, timezone, address, external_id"


def _info(row: Any) -> StoreInfo:
    return StoreInfo(
        int(row["id"]), row["name"], row["timezone"], row["address"],
        row["external_id"] is not None,
    )  # fmt: skip


async def list_stores(db: Db, merchant_id: int) -> list[StoreInfo]:
    rows = await db.fetch_all(
        f"SELECT {_COLUMNS} FROM stores WHERE merchant_id = :m ORDER BY id", {"m": merchant_id}
    )
    return [_info(row) for row in rows]


async def get_store(db: Db, merchant_id: int, store_id: int) -> StoreInfo:
    row = await db.fetch_one(
        f"SELECT {_COLUMNS} FROM stores WHERE id = :s AND merchant_id = :m",
        {"s": store_id, "m": merchant_id},
    )
    if row is None:
        raise NotFound("store_not_found", f"Магазин #{store_id} не найден")
    return _info(row)


async def add_store(
    db: Db, merchant_id: int, name: str, now: datetime, timezone: str | None = None,
    address: str | None = None,
) -> StoreInfo:  # fmt: skip
    """A store in the given zone, or the merchant's own when none is given."""
    store_id = await create_store(db, merchant_id, clean_name(name), now, timezone, address=address)
    return await get_store(db, merchant_id, store_id)


async def update_store(
    db: Db, merchant_id: int, store_id: int, *, name: str | None = None,
    timezone: str | None = None, address: str | None = None,
) -> StoreInfo:  # fmt: skip
    """Change what is given, keep the rest; only this merchant's store."""
    current = await get_store(db, merchant_id, store_id)
    if name is not None:
        name = clean_name(name)
    if timezone is not None:
        zone(timezone)
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE stores SET name = :name, timezone = :tz, address = :address "
            "WHERE id = :s AND merchant_id = :m",
            {"name": name if name is not None else current.name,
             "tz": timezone if timezone is not None else current.timezone,
             "address": address if address is not None else current.address,
             "s": store_id, "m": merchant_id},
        )  # fmt: skip
    return await get_store(db, merchant_id, store_id)
