"""The lean database layer the service runs on: the same SQL on SQLite and PostgreSQL.

SQLAlchemy describes the schema and drives migrations; at run time the service talks to
the drivers directly, because the async ORM layers cost 2-4x per request on the checkout
hot path (``shared/performance-notes.md``). SQL is written once with ``:name``
placeholders; the PostgreSQL backend rewrites them to ``$n`` once per statement and
asyncpg prepares and caches each statement.

SQLite runs as an embedded single-process database: one writer connection serialised by
an asyncio lock (``BEGIN IMMEDIATE``), one reader connection, WAL, synchronous=NORMAL.
Its statements are executed in the event loop thread: each is a few microseconds of
indexed B-tree work, cheaper than the thread hop a threaded driver pays per statement.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import asyncpg

from cloud.errors import DatabaseUnavailable

Params = Mapping[str, Any]
Row = Mapping[str, Any]


class Executor(Protocol):
    """What a service needs from a connection or a transaction."""

    async def fetch_one(self, sql: str, params: Params | None = None) -> Row | None: ...
    async def fetch_all(self, sql: str, params: Params | None = None) -> Sequence[Row]: ...
    async def fetch_value(self, sql: str, params: Params | None = None) -> Any: ...
    async def execute(self, sql: str, params: Params | None = None) -> None: ...


class Transaction(Executor, Protocol):
    dialect: str

    async def insert(self, sql: str, params: Params | None = None) -> int:
        """Run an INSERT ... RETURNING id and give the id."""
        ...

    async def execute_many(self, sql: str, rows: Sequence[Params]) -> None: ...

    async def lock_customer(self, merchant_id: int, customer_id: int) -> Row | None:
        """Lock the customer's account row for this transaction and return it."""
        ...

    async def lock_receipt(self, merchant_id: int, receipt_id: int) -> None:
        """Lock a receipt row (refunds of a sale without a customer)."""
        ...


class Database(Executor, Protocol):
    dialect: str

    def transaction(self) -> Any:
        """``async with db.transaction() as tx``: one atomic unit of work."""
        ...

    async def close(self) -> None: ...


_LOCK_CUSTOMER = (
    "SELECT id, tier_code, lifetime_purchases, purchase_count, last_purchase_at "
    "FROM customers WHERE merchant_id = :merchant_id AND id = :customer_id"
)


# ---- SQLite ---------------------------------------------------------------------------


def _sqlite_connect(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("PRAGMA busy_timeout=5000")
    # Reads straight from a memory map and a larger page cache: the hot path's snapshot
    # query then costs no read() system calls once the customer tables are warm.
    connection.execute("PRAGMA mmap_size=268435456")
    connection.execute("PRAGMA cache_size=-32768")
    return connection


class _SqliteExecutor:
    dialect = "sqlite"

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    async def fetch_one(self, sql: str, params: Params | None = None) -> Row | None:
        row: Row | None = self._connection.execute(sql, params or {}).fetchone()
        return row

    async def fetch_all(self, sql: str, params: Params | None = None) -> Sequence[Row]:
        rows: Sequence[Row] = self._connection.execute(sql, params or {}).fetchall()
        return rows

    async def fetch_value(self, sql: str, params: Params | None = None) -> Any:
        row = self._connection.execute(sql, params or {}).fetchone()
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Params | None = None) -> None:
        self._connection.execute(sql, params or {})


class _SqliteTransaction(_SqliteExecutor):
    async def insert(self, sql: str, params: Params | None = None) -> int:
        row = self._connection.execute(sql, params or {}).fetchone()
        return int(row[0])

    async def execute_many(self, sql: str, rows: Sequence[Params]) -> None:
        self._connection.executemany(sql, rows)

    async def lock_customer(self, merchant_id: int, customer_id: int) -> Row | None:
        # The writer lock plus BEGIN IMMEDIATE already make this the only writer.
        return await self.fetch_one(
            _LOCK_CUSTOMER, {"merchant_id": merchant_id, "customer_id": customer_id}
        )

    async def lock_receipt(self, merchant_id: int, receipt_id: int) -> None:
        return None


class SqliteDatabase(_SqliteExecutor):
    # Commits between two WAL checkpoints. SQLite's own automatic checkpoint would run
    # inside a COMMIT, on the event loop, with an fsync: a stall of every request
    # (bench/RESULTS.md). A passive checkpoint on a worker thread never blocks writers.
    CHECKPOINT_EVERY = 200

    def __init__(self, path: str) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._writer = _sqlite_connect(path)
        self._writer.execute("PRAGMA wal_autocheckpoint=0")
        super().__init__(_sqlite_connect(path))
        self._checkpointer = _sqlite_connect(path)
        self._write_lock = asyncio.Lock()
        self._commits = 0
        self._checkpoint: asyncio.Future[None] | None = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_SqliteTransaction]:
        async with self._write_lock:
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteTransaction(self._writer)
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise
            else:
                self._writer.execute("COMMIT")
                self._after_commit()

    def _after_commit(self) -> None:
        self._commits += 1
        if self._commits < self.CHECKPOINT_EVERY:
            return
        if self._checkpoint is not None and not self._checkpoint.done():
            return
        self._commits = 0
        self._checkpoint = asyncio.get_running_loop().run_in_executor(None, self._run_checkpoint)

    def _run_checkpoint(self) -> None:
        self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)")

    async def close(self) -> None:
        if self._checkpoint is not None:
            await self._checkpoint
        self._connection.close()
        self._writer.close()
        self._checkpointer.close()


# ---- PostgreSQL -----------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=1024)
def _to_numbered(sql: str) -> tuple[str, tuple[str, ...]]:
    names: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _PLACEHOLDER.sub(replace, sql), tuple(names)


def _bind(sql: str, params: Params | None) -> tuple[str, list[Any]]:
    text, names = _to_numbered(sql)
    if not names:
        return text, []
    assert params is not None, f"statement needs parameters: {names}"
    return text, [params[name] for name in names]


class _PostgresExecutor:
    dialect = "postgresql"

    def __init__(self, connection: asyncpg.Connection | asyncpg.Pool) -> None:
        self._connection = connection

    async def fetch_one(self, sql: str, params: Params | None = None) -> Row | None:
        text, args = _bind(sql, params)
        row: Row | None = await self._connection.fetchrow(text, *args)
        return row

    async def fetch_all(self, sql: str, params: Params | None = None) -> Sequence[Row]:
        text, args = _bind(sql, params)
        rows: Sequence[Row] = await self._connection.fetch(text, *args)
        return rows

    async def fetch_value(self, sql: str, params: Params | None = None) -> Any:
        text, args = _bind(sql, params)
        return await self._connection.fetchval(text, *args)

    async def execute(self, sql: str, params: Params | None = None) -> None:
        text, args = _bind(sql, params)
        await self._connection.execute(text, *args)


class _PostgresTransaction(_PostgresExecutor):
    async def insert(self, sql: str, params: Params | None = None) -> int:
        return int(await self.fetch_value(sql, params))

    async def execute_many(self, sql: str, rows: Sequence[Params]) -> None:
        if not rows:
            return
        text, names = _to_numbered(sql)
        await self._connection.executemany(text, [[row[n] for n in names] for row in rows])

    async def lock_customer(self, merchant_id: int, customer_id: int) -> Row | None:
        return await self.fetch_one(
            _LOCK_CUSTOMER + " FOR UPDATE",
            {"merchant_id": merchant_id, "customer_id": customer_id},
        )

    async def lock_receipt(self, merchant_id: int, receipt_id: int) -> None:
        await self.execute(
            "SELECT id FROM receipts WHERE merchant_id = :m AND id = :r FOR UPDATE",
            {"m": merchant_id, "r": receipt_id},
        )


async def _keep_session(connection: asyncpg.Connection) -> None:
    """The pool's reset on release: nothing beyond asyncpg's own rollback of an open
    transaction. The default (advisory unlock, CLOSE ALL, UNLISTEN, RESET ALL) is one more
    round trip per pooled statement, and the service keeps no session state: no SET, no
    LISTEN, no session advisory locks, no cursors."""


_LOST = (
    OSError,  # refused, reset, unreachable
    asyncio.TimeoutError,  # connecting took longer than the pool's timeout
    asyncpg.PostgresConnectionError,  # 08xxx: the connection failed or is gone
    asyncpg.AdminShutdownError,  # 57P01: the server is shutting down
    asyncpg.CrashShutdownError,  # 57P02
    asyncpg.CannotConnectNowError,  # 57P03: the server is starting up
    asyncpg.TooManyConnectionsError,
)


def _lost(error: BaseException) -> bool:
    """The server is out of reach (as opposed to a statement it refused)."""
    if isinstance(error, asyncpg.InterfaceError):
        return "closed" in str(error)  # asyncpg's "connection is closed"
    return isinstance(error, _LOST)


class PostgresDatabase(_PostgresExecutor):
    """A pool of connections. Every failure to reach the server leaves as
    ``DatabaseUnavailable`` (a retryable 503 at every door): the one place where a
    restart of PostgreSQL is told apart from a bug. The pool replaces a dead connection
    on its next acquire, so the service recovers by itself once the server is back."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(pool)
        self._pool = pool

    async def fetch_one(self, sql: str, params: Params | None = None) -> Row | None:
        try:
            return await super().fetch_one(sql, params)
        except Exception as exc:
            if _lost(exc):
                raise DatabaseUnavailable() from exc
            raise

    async def fetch_all(self, sql: str, params: Params | None = None) -> Sequence[Row]:
        try:
            return await super().fetch_all(sql, params)
        except Exception as exc:
            if _lost(exc):
                raise DatabaseUnavailable() from exc
            raise

    async def fetch_value(self, sql: str, params: Params | None = None) -> Any:
        try:
            return await super().fetch_value(sql, params)
        except Exception as exc:
            if _lost(exc):
                raise DatabaseUnavailable() from exc
            raise

    async def execute(self, sql: str, params: Params | None = None) -> None:
        try:
            await super().execute(sql, params)
        except Exception as exc:
            if _lost(exc):
                raise DatabaseUnavailable() from exc
            raise

    @classmethod
    async def connect(cls, dsn: str, pool_size: int = 10) -> PostgresDatabase:
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=pool_size, reset=_keep_session)
        return cls(pool)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_PostgresTransaction]:
        # A connection lost inside the block surfaces here too (through the yield): the
        # server rolled the transaction back, or, lost during COMMIT, committed it whole;
        # either way the caller's repeat finds all of it or none (idempotent writes).
        connection: asyncpg.Connection | None = None
        try:
            async with self._pool.acquire() as connection, connection.transaction():
                yield _PostgresTransaction(connection)
        except Exception as exc:
            # An OSError of other code in the block (an HTTP call) is not ours to name.
            ours = not isinstance(exc, OSError) or connection is None or connection.is_closed()
            if ours and _lost(exc):
                raise DatabaseUnavailable() from exc
            raise

    async def close(self) -> None:
        await self._pool.close()


async def open_database(url: str, pool_size: int = 10) -> SqliteDatabase | PostgresDatabase:
    """Open the database an SQLAlchemy-style URL names (the one Alembic migrates)."""
    if url.startswith("sqlite"):
        return SqliteDatabase(url.split(":///", 1)[1])
    if url.startswith("postgresql"):
        dsn = "postgresql://" + url.split("://", 1)[1]
        return await PostgresDatabase.connect(dsn, pool_size)
    raise ValueError(f"unsupported database URL: {url}")


def is_unique_violation(error: BaseException) -> bool:
    return isinstance(error, sqlite3.IntegrityError | asyncpg.UniqueViolationError) and (
        not isinstance(error, sqlite3.IntegrityError) or "UNIQUE" in str(error)
    )


@asynccontextmanager
async def exclusive(url: str, key: int) -> AsyncIterator[None]:
    """Hold PostgreSQL's session advisory lock ``key`` for the block, on a connection of
    its own (the pool keeps no session state); other processes asking for the same key
    wait. SQLite: nothing to take (one machine, one writer at a time already)."""
    if not url.startswith("postgresql"):
        yield
        return
    connection = await asyncpg.connect("postgresql://" + url.split("://", 1)[1])
    try:
        await connection.execute("SELECT pg_advisory_lock($1)", key)
        yield
    finally:
        await connection.close()  # the session's end releases the lock
