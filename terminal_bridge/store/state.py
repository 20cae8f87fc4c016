"""The bridge's own SQLite file: the outbox of record calls, the calls the cloud refused
for good, and the cached program and customer snapshot.

The outbox is the promise the bridge makes to a till ("accepted, bonuses later"), so an
item is committed with ``synchronous=FULL`` before the till is answered: a power cut or
a kill after the answer loses nothing. Rows are replayed in ``seq`` (arrival) order.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from terminal_bridge.channel import CachedCustomer

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL, method TEXT NOT NULL,
    path TEXT NOT NULL, headers TEXT NOT NULL, body BLOB NOT NULL, key TEXT NOT NULL,
    received_at REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT
);
CREATE INDEX IF NOT EXISTS ix_outbox_key ON outbox (key);
CREATE TABLE IF NOT EXISTS rejected (
    seq INTEGER PRIMARY KEY, channel TEXT NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL,
    headers TEXT NOT NULL, body BLOB NOT NULL, key TEXT NOT NULL, received_at REAL NOT NULL,
    status INTEGER NOT NULL, response BLOB NOT NULL, rejected_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS customers (
    id INTEGER PRIMARY KEY, tier TEXT, tier_name TEXT, blocked INTEGER NOT NULL,
    generation INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS customer_keys (
    hash TEXT PRIMARY KEY, customer_id INTEGER NOT NULL, generation INTEGER NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class OutboxItem:
    seq: int
    channel: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    key: str
    received_at: float
    attempts: int


class BridgeState:
    """One connection, used from the event loop's thread only."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    # ---- outbox -----------------------------------------------------------------------

    def enqueue(
        self, channel: str, method: str, path: str, headers: dict[str, str], body: bytes,
        key: str, now: float | None = None,
    ) -> bool:  # fmt: skip
        """Keep a record call; False when a call with this key already waits (a till's
        retry of the same call: the cloud would record it once anyway)."""
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            if self._db.execute("SELECT 1 FROM outbox WHERE key = ?", (key,)).fetchone():
                return False
            self._db.execute(
                "INSERT INTO outbox (channel, method, path, headers, body, key, received_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (channel, method, path, json.dumps(headers), body, key,
                 time.time() if now is None else now),
            )  # fmt: skip
        return True

    def head(self) -> OutboxItem | None:
        items = self.run(1, 0)
        return items[0] if items else None

    def run(self, limit: int, max_bytes: int) -> list[OutboxItem]:
        """The oldest items, up to ``limit`` of them and ``max_bytes`` of bodies (the
        first is taken whatever its size)."""
        rows = self._db.execute(
            "SELECT seq, channel, method, path, headers, body, key, received_at, attempts "
            "FROM outbox ORDER BY seq LIMIT ?",
            (limit,),
        ).fetchall()
        items: list[OutboxItem] = []
        size = 0
        for seq, channel, method, path, headers, body, key, received_at, attempts in rows:
            size += len(body)
            if items and size > max_bytes:
                break
            items.append(OutboxItem(
                seq, channel, method, path, json.loads(headers), bytes(body), key,
                received_at, attempts,
            ))  # fmt: skip
        return items

    def delivered_many(self, seqs: list[int]) -> None:
        if not seqs:
            return
        # Without an fsync of its own: a delivery mark lost to a power cut only means the
        # item is sent once more, which the cloud answers from its record (same bytes,
        # same key). The outbox's promises (enqueue) stay FULL.
        self._db.execute("PRAGMA synchronous=NORMAL")
        try:
            with self._db:
                self._db.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in seqs])
        finally:
            self._db.execute("PRAGMA synchronous=FULL")

    def failed(self, seq: int, error: str) -> None:
        with self._db:
            self._db.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE seq = ?",
                (error[:500], seq),
            )

    def reject(self, item: OutboxItem, status: int, response: bytes) -> None:
        """The cloud refused the call for good: kept aside, never dropped silently."""
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(
                "INSERT INTO rejected (seq, channel, method, path, headers, body, key, "
                "received_at, status, response, rejected_at) SELECT seq, channel, method, "
                "path, headers, body, key, received_at, ?, ?, ? FROM outbox WHERE seq = ?",
                (status, response[:10_000], time.time(), item.seq),
            )
            self._db.execute("DELETE FROM outbox WHERE seq = ?", (item.seq,))

    def depth(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def oldest(self) -> float | None:
        row = self._db.execute("SELECT MIN(received_at) FROM outbox").fetchone()
        return None if row[0] is None else float(row[0])

    def rejected_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM rejected").fetchone()[0])

    def rejected(self) -> list[tuple[int, str, int, bytes]]:
        return [
            (int(seq), str(key), int(status), bytes(response))
            for seq, key, status, response in self._db.execute(
                "SELECT seq, key, status, response FROM rejected ORDER BY seq"
            )
        ]

    # ---- cached program and snapshot --------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, values: dict[str, str]) -> None:
        with self._db:
            self._db.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                list(values.items()),
            )

    def store_page(
        self, generation: int, customers: list[tuple[int, str | None, str | None, bool]],
        keys: list[tuple[str, int]],
    ) -> None:  # fmt: skip
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT INTO customers (id, tier, tier_name, blocked, generation) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET tier = excluded.tier, "
                "tier_name = excluded.tier_name, blocked = excluded.blocked, "
                "generation = excluded.generation",
                [(cid, tier, name, int(blocked), generation)
                 for cid, tier, name, blocked in customers],
            )  # fmt: skip
            self._db.executemany(
                "INSERT INTO customer_keys (hash, customer_id, generation) VALUES (?, ?, ?) "
                "ON CONFLICT (hash) DO UPDATE SET customer_id = excluded.customer_id, "
                "generation = excluded.generation",
                [(digest, cid, generation) for digest, cid in keys],
            )

    def finish_sync(self, generation: int) -> None:
        """A full pass is done: what it did not see is gone from the cloud."""
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM customers WHERE generation <> ?", (generation,))
            self._db.execute("DELETE FROM customer_keys WHERE generation <> ?", (generation,))
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES ('snapshot_generation', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(generation),),
            )

    def customer_by_hash(self, digest: str) -> CachedCustomer | None:
        row = self._db.execute(
            "SELECT c.id, c.tier, c.tier_name, c.blocked FROM customer_keys k "
            "JOIN customers c ON c.id = k.customer_id WHERE k.hash = ?",
            (digest,),
        ).fetchone()
        return None if row is None else CachedCustomer(row[0], row[1], row[2], bool(row[3]))

    def customer_by_id(self, customer_id: int) -> CachedCustomer | None:
        row = self._db.execute(
            "SELECT id, tier, tier_name, blocked FROM customers WHERE id = ?", (customer_id,)
        ).fetchone()
        return None if row is None else CachedCustomer(row[0], row[1], row[2], bool(row[3]))

    def customer_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM customers").fetchone()[0])
