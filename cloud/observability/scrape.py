"""``GET /metrics``: the Prometheus exposition of the process (or of every worker, in
multi-process mode), plus what the database holds, read when scraped.

Open like ``/health`` unless ``LOYALTY_METRICS_TOKEN`` is set; then only
``Authorization: Bearer <token>`` is answered (401 ``metrics_unauthorized`` otherwise).

The database's figures cost one statement per scrape, cached for ``CACHE_SECONDS`` so a
few Prometheus servers (or a dashboard refreshing) do not multiply it: outbox depth,
messages due and the age of the oldest due one (through ``ix_notifications_due``), and
the active holds (``ix_holds_status_expires``). A database that does not answer within
``TIMEOUT_SECONDS`` leaves those out and sets ``loyalty_metrics_database_up`` to 0: the
rest of the page is still served.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from cloud.api.keys import DEPS
from cloud.api.middleware import error_body
from cloud.clock import to_epoch
from cloud.db.database import PostgresDatabase, SqliteDatabase
from cloud.observability import metrics

log = structlog.get_logger("loyalty.metrics")

PATH = "/metrics"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The classic text format every Prometheus reads (the names here are plain ASCII)."""
CACHE_SECONDS = 5.0
TIMEOUT_SECONDS = 2.0
POOL_SAMPLE_SECONDS = 5.0

# Due: pending (or a claim whose lease ran out) whose time has come; its wait starts when
# it became due (a retry's or the quiet hours' end), else when it was queued.
_SNAPSHOT_SQL = (
    "SELECT (SELECT COUNT(*) FROM holds WHERE status = 'active') AS holds, "
    "COUNT(*) AS depth, "
    "COALESCE(SUM(CASE WHEN next_attempt_at <= :now THEN 1 ELSE 0 END), 0) AS due, "
    "MIN(CASE WHEN next_attempt_at <= :now THEN CASE WHEN next_attempt_at > created_at "
    "THEN next_attempt_at ELSE created_at END END) AS oldest "
    "FROM notifications WHERE status IN ('pending', 'claimed')"
)


@dataclass
class Snapshot:
    up: bool
    holds: int = 0
    depth: int = 0
    due: int = 0
    oldest_age: float = 0.0


class _Cache:
    def __init__(self) -> None:
        self.snapshot: Snapshot | None = None
        self.taken = 0.0


CACHE = web.AppKey("metrics_cache", _Cache)


async def _read_snapshot(db: SqliteDatabase | PostgresDatabase, now: int) -> Snapshot:
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):
            row = await db.fetch_one(_SNAPSHOT_SQL, {"now": now})
    except Exception as exc:  # a database outage must not take the other metrics with it
        log.warning("metrics_database_unavailable", error=type(exc).__name__)
        return Snapshot(up=False)
    assert row is not None
    oldest = row["oldest"]
    return Snapshot(
        up=True,
        holds=int(row["holds"]),
        depth=int(row["depth"]),
        due=int(row["due"]),
        oldest_age=float(max(0, now - int(oldest))) if oldest is not None else 0.0,
    )


def sample_pool(db: SqliteDatabase | PostgresDatabase) -> None:
    """This process's pool into ``loyalty_db_pool_connections``."""
    if isinstance(db, PostgresDatabase):
        pool = db._pool
        size = pool.get_size()
        metrics.set_pool(size, size - pool.get_idle_size(), pool.get_max_size())
    else:
        metrics.set_pool(1, int(db._write_lock.locked()), 1)


class _SnapshotCollector(Collector):
    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        s = self.snapshot
        yield GaugeMetricFamily(
            "loyalty_metrics_database_up",
            "1 when the database answered this scrape's query in time",
            value=int(s.up),
        )
        if not s.up:
            return
        for name, text, value in (
            ("loyalty_outbox_depth", "Messages waiting in the outbox (pending or claimed)",
             s.depth),
            ("loyalty_outbox_due", "Outbox messages whose time to be sent has come", s.due),
            ("loyalty_outbox_oldest_due_age_seconds",
             "How long the oldest due outbox message has waited (0: none due)", s.oldest_age),
            ("loyalty_holds_active", "Bonus holds open (status active)", s.holds),
        ):  # fmt: skip
            yield GaugeMetricFamily(name, text, value=value)


def _authorized(request: web.Request, token: str) -> bool:
    offered = request.headers.get("Authorization", "").encode()
    return hmac.compare_digest(offered, f"Bearer {token}".encode())


def exposition(snapshot: Snapshot) -> bytes:
    """The page: the processes' metrics, then the database's figures."""
    own = CollectorRegistry()
    own.register(_SnapshotCollector(snapshot))
    return metrics.exposition() + generate_latest(own)


async def scrape(request: web.Request) -> web.Response:
    """Prometheus text exposition (version 0.0.4)."""
    deps = request.app[DEPS]
    token = deps.settings.metrics_token
    if token and not _authorized(request, token):
        response = error_body(
            "metrics_unauthorized", "Нужен заголовок Authorization: Bearer <токен метрик>", 401
        )
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    cache = request.app[CACHE]
    if cache.snapshot is None or time.monotonic() - cache.taken > CACHE_SECONDS:
        cache.snapshot = await _read_snapshot(deps.db, to_epoch(deps.clock()))
        cache.taken = time.monotonic()
    sample_pool(deps.db)
    return web.Response(body=exposition(cache.snapshot), headers={"Content-Type": CONTENT_TYPE})


async def _pool_sampler(app: web.Application) -> AsyncIterator[None]:
    """In multi-process mode each worker writes its own pool figures every few seconds,
    whichever worker a scrape reaches; one process needs none (the scrape reads it)."""
    task = None
    if metrics.multiprocess_directory() is not None:

        async def sample() -> None:
            while True:
                sample_pool(app[DEPS].db)
                await asyncio.sleep(POOL_SAMPLE_SECONDS)

        task = asyncio.create_task(sample())
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def setup(app: web.Application) -> None:
    app[CACHE] = _Cache()
    app.router.add_get(PATH, scrape)
    app.cleanup_ctx.append(_pool_sampler)
