"""Migration 0009 on data: keys issued before roles are owners' keys, terminals synced
from Evotor are recorded as the Evotor channel, the rest (and every token) as native."""

from __future__ import annotations

import asyncio

from cloud.db import migrate
from cloud.db.database import open_database


async def test_existing_keys_become_owner_and_evotor_terminals_evotor(database_url: str) -> None:
    """Rows written at revision 0008 read, after upgrading, role 'owner' on the merchant
    key, channel 'evotor' on a terminal with a vendor id, 'native' on the others."""
    await asyncio.to_thread(migrate.downgrade, database_url, "0008")
    db = await open_database(database_url)
    try:
        async with db.transaction() as tx:
            m = await tx.insert(
                "INSERT INTO merchants (name, status, timezone, created_at) "
                "VALUES ('Старая', 'active', 'Europe/Moscow', 1) RETURNING id",
                {},
            )
            s = await tx.insert(
                "INSERT INTO stores (merchant_id, name, timezone, created_at) "
                "VALUES (:m, 'М', 'Europe/Moscow', 1) RETURNING id",
                {"m": m},
            )
            ids = []
            for name, ext in (("Касса", None), ("Смарт", "20180101-X")):
                t = await tx.insert(
                    "INSERT INTO terminals (merchant_id, store_id, name, external_id, "
                    "created_at) VALUES (:m, :s, :n, :e, 1) RETURNING id",
                    {"m": m, "s": s, "n": name, "e": ext},
                )
                ids.append(t)
            await tx.insert(
                "INSERT INTO terminal_credentials (merchant_id, terminal_id, token_hash, "
                "label, created_at) VALUES (:m, :t, 'h1', '', 1) RETURNING id",
                {"m": m, "t": ids[0]},
            )
            await tx.insert(
                "INSERT INTO merchant_credentials (merchant_id, token_hash, label, created_at) "
                "VALUES (:m, 'h2', '', 1) RETURNING id",
                {"m": m},
            )
    finally:
        await db.close()
    await migrate.upgrade_async(database_url)
    db = await open_database(database_url)
    try:
        assert await db.fetch_value("SELECT role FROM merchant_credentials") == "owner"
        rows = await db.fetch_all("SELECT name, channel FROM terminals ORDER BY id")
        assert [(r["name"], r["channel"]) for r in rows] == [
            ("Касса", "native"),
            ("Смарт", "evotor"),
        ]
        assert await db.fetch_value("SELECT channel FROM terminal_credentials") == "native"
    finally:
        await db.close()
