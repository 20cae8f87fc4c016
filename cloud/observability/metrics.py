"""What the service counts, for Prometheus (``prometheus-client``).

Requests: one histogram observation per request (channel, canonical route, method) and,
for a failed one, one count of its error code: the single API middleware calls
``observe_request``; the children of each label set are kept in a dictionary so the hot
path skips the library's label validation. Jobs: duration per run and the time of the
last success, from the scheduler (``timed_job``). Database pool: per process, set when
scraped (``set_pool``). The database's own state (outbox, holds) is read when scraped,
by ``cloud.observability.scrape``.

Several worker processes (``PROMETHEUS_MULTIPROC_DIR``): the library keeps each process's
values in memory-mapped files there and ``/metrics`` sums them (``MultiProcessCollector``).
The choice is made when a metric's value is created, so ``prepare_multiprocess`` must run
before the workers fork and before any request is served; ``process_exited`` forgets a
dead worker's gauges.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)

from cloud.clock import Clock, to_epoch

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUEST_SECONDS = Histogram(
    "loyalty_http_request_duration_seconds",
    "Time to answer a request, by channel (api, evotor, frontol, ...), canonical route and method",
    ("channel", "route", "method"),
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
ERRORS = Counter(
    "loyalty_http_errors",
    "Requests answered with an error, by channel, error code (``unknown`` where the "
    "answer carries none of ours) and HTTP status; adapters that answer a refusal with "
    "HTTP 200 (Frontol) are counted by their code",
    ("channel", "code", "status"),
)
JOB_SECONDS = Histogram(
    "loyalty_job_duration_seconds",
    "Time of one run of a scheduled job (one merchant's, or all merchants' for holds and "
    "fiscal claims), by job and outcome (ok, failed)",
    ("job", "outcome"),
    buckets=(0.01, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0),
)
JOB_LAST_SUCCESS = Gauge(
    "loyalty_job_last_success_timestamp_seconds",
    "When a run of the job last finished without an error (Unix time)",
    ("job",),
    multiprocess_mode="max",
)
DB_POOL = Gauge(
    "loyalty_db_pool_connections",
    "Database connections of the serving processes: size (open), in_use (checked out), "
    "max (the pool's limit); SQLite has one writer connection, in use while a write "
    "transaction runs",
    ("state",),
    multiprocess_mode="livesum",
)

ERROR_CODE = web.ResponseKey("loyalty_error_code", str)
"""Where a response names our error code for the metrics (``tag_error``): an adapter
answering a refusal in its vendor's shape, even with HTTP 200 (Frontol), still names it."""


def tag_error(response: web.StreamResponse, code: str) -> None:
    response[ERROR_CODE] = code


_requests: dict[tuple[str, str, str], Any] = {}
_errors: dict[tuple[str, str, int], Any] = {}


def observe_request(
    channel: str, route: str, method: str, seconds: float, status: int, code: str | None
) -> None:
    """Count one answered request (and its error, if it is one)."""
    key = (channel, route, method)
    child = _requests.get(key)
    if child is None:
        child = _requests[key] = REQUEST_SECONDS.labels(channel, route, method)
    child.observe(seconds)
    if code is None and status < 400:
        return
    error_key = (channel, code or "unknown", status)
    counter = _errors.get(error_key)
    if counter is None:
        counter = _errors[error_key] = ERRORS.labels(channel, code or "unknown", str(status))
    counter.inc()


@contextmanager
def timed_job(job: str, clock: Clock) -> Iterator[None]:
    """Time one run of ``job``; its success moves the last-success time to ``clock()``
    (the project's clock, so a test can freeze it). A cancelled run is not counted."""
    started = time.perf_counter()
    try:
        yield
    except Exception:
        JOB_SECONDS.labels(job, "failed").observe(time.perf_counter() - started)
        raise
    JOB_SECONDS.labels(job, "ok").observe(time.perf_counter() - started)
    JOB_LAST_SUCCESS.labels(job).set(to_epoch(clock()))


def set_pool(size: int, in_use: int, maximum: int) -> None:
    DB_POOL.labels("size").set(size)
    DB_POOL.labels("in_use").set(in_use)
    DB_POOL.labels("max").set(maximum)


def multiprocess_directory() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def prepare_multiprocess(directory: str | Path) -> None:
    """Switch this process (and the workers it forks next) to multi-process metrics in
    ``directory``, emptied first (the files of a previous run would be summed in).

    Call it in the parent before forking the workers, before any request is served; each
    worker then writes its own files, named by its pid."""
    path = Path(directory)
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(path)
    # prometheus-client chooses the kind of value at import time from this variable;
    # the metrics above were created before it was set, so switch the kind and drop any
    # label set created so far (their values would live in this process's memory only).
    values.ValueClass = values.MultiProcessValue()
    for metric in (REQUEST_SECONDS, ERRORS, JOB_SECONDS, JOB_LAST_SUCCESS, DB_POOL):
        metric.clear()
    _requests.clear()
    _errors.clear()


def exposition() -> bytes:
    """This process's metrics (with the library's own: CPU, memory, garbage collector),
    or in multi-process mode the sum of every worker's files."""
    directory = multiprocess_directory()
    if directory is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, directory)
    return generate_latest(registry)


def process_exited(pid: int) -> None:
    """A worker ended: drop its live gauges (the pool) from the sums. Its counters and
    histograms stay counted, as Prometheus expects of a counter."""
    directory = multiprocess_directory()
    if directory is not None:
        multiprocess.mark_process_dead(pid, directory)
