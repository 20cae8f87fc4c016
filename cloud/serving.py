"""Running the service: one process, or N worker processes on one port (PostgreSQL).

``loyalty serve --workers N`` (``LOYALTY_WORKERS``): the parent migrates and loads the
demo once (``cloud.main.serve``), then starts N processes (``multiprocessing`` spawn),
each running the whole aiohttp application on the same address with ``SO_REUSEPORT``:
the kernel spreads new connections over the workers' sockets. Each worker has its own
database pool of ``LOYALTY_PG_POOL_SIZE`` connections, so PostgreSQL sees up to
N × pool size connections. The scheduler and the outbox worker run in worker 0 only
(both are safe to run twice, but N copies would only compete for the same rows).

The parent forwards SIGTERM / SIGINT to every worker once; each then stops accepting,
finishes its in-flight requests (at most ``LOYALTY_SHUTDOWN_TIMEOUT_SECONDS``) and
exits. A worker that dies on its own stops the others and the parent exits with status
1: the process manager (systemd, Docker's restart policy, Kubernetes) restarts the
service as a whole, rather than the parent hiding a crash loop behind restarts.

SQLite stays one process by design: its single writer is serialised inside the process
(``cloud.db.database.SqliteDatabase``), and N processes would fight over the file lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import cast

from aiohttp import web

from cloud.logging import configure_logging
from cloud.settings import Settings

WORKER_HEADER = "X-Loyalty-Worker"
"""Set on every answer when N > 1: which worker answered (0..N-1), for operators
reading a trace and for the tests."""

PROMETHEUS_DIR = "PROMETHEUS_MULTIPROC_DIR"

BuildApp = Callable[[Settings], web.Application]


class WorkersRefused(Exception):
    """``--workers N`` the configuration cannot run; the message says why."""


def check_workers(settings: Settings) -> None:
    if settings.workers > 1 and settings.is_sqlite:
        raise WorkersRefused(
            f"--workers {settings.workers} needs PostgreSQL: SQLite runs in one process by "
            "design (its single writer is serialised inside the process); use --workers 1 "
            "or LOYALTY_DATABASE_URL=postgresql+asyncpg://…"
        )


def run_one(settings: Settings, build: BuildApp, *, reuse_port: bool = False) -> None:
    """Run the application in this process until SIGTERM / SIGINT, then shut down
    gracefully: stop accepting, let in-flight requests finish (bounded), close."""
    web.run_app(
        build(settings),
        host=settings.host,
        port=settings.port,
        print=None,
        # The structlog request line (cloud.api.middleware) is the access log: aiohttp's
        # own would write the query string, and ``?phone=`` carries a customer's phone.
        access_log=None,
        loop=_event_loop(),
        reuse_port=reuse_port or None,
        shutdown_timeout=settings.shutdown_timeout_seconds,
        # Read deadlines: aiohttp's keep-alive timer also closes a connection whose
        # headers never complete; the body has its own (cloud.web_json.read_body); after
        # an answer, an unread body is drained for at most lingering_time.
        keepalive_timeout=30,
        lingering_time=2,
    )


def _event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is installed (Linux, macOS): a cheaper loop for the same code."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


# ---- the workers ------------------------------------------------------------------------


def worker_settings(settings: Settings, index: int) -> Settings:
    """Worker 0 keeps the background tasks; the others only answer requests."""
    if index == 0:
        return settings
    return settings.model_copy(update={"scheduler_in_serve": False, "outbox_worker": False})


def _worker_main(settings: Settings, index: int) -> None:
    # Own session: a terminal's Ctrl-C reaches the parent only, which forwards one
    # SIGTERM; a second signal during aiohttp's shutdown would abort it halfway.
    os.setsid()
    configure_logging(settings.effective_log_format, settings.log_level)
    from cloud.main import service_app  # the composition root imports this module

    parent = os.getppid()

    async def stamp(request: web.Request, response: web.StreamResponse) -> None:
        response.headers[WORKER_HEADER] = str(index)

    async def orphan_watch(app: web.Application) -> AsyncIterator[None]:
        # A worker whose parent was killed (SIGKILL, OOM) stops itself gracefully
        # rather than keep serving unsupervised.
        async def watch() -> None:
            while True:
                await asyncio.sleep(1.0)
                if os.getppid() != parent:
                    os.kill(os.getpid(), signal.SIGTERM)
                    return

        task = asyncio.create_task(watch())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def build(worker: Settings) -> web.Application:
        app = service_app(worker)
        app.on_response_prepare.append(stamp)
        app.cleanup_ctx.append(orphan_watch)
        return app

    run_one(worker_settings(settings, index), build, reuse_port=True)


def supervise(settings: Settings) -> int:
    """Start ``settings.workers`` processes and wait; the exit status of the service."""
    own_prometheus_dir = PROMETHEUS_DIR not in os.environ
    if own_prometheus_dir:
        # prometheus-client's multiprocess mode wants a fresh directory per start,
        # shared by the workers (set before they start: they read it on import).
        os.environ[PROMETHEUS_DIR] = tempfile.mkdtemp(prefix="loyalty-metrics-")
    context = multiprocessing.get_context("spawn")
    workers: list[BaseProcess] = []
    stopping = False

    signalled: set[int] = set()

    def forward() -> None:
        for worker in workers:
            if worker.pid is not None and worker.pid not in signalled and worker.is_alive():
                signalled.add(worker.pid)  # once: a second one would cut its shutdown short
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGTERM)

    def stop_all(signum: int = signal.SIGTERM, frame: FrameType | None = None) -> None:
        nonlocal stopping
        stopping = True
        forward()

    previous = {sig: signal.signal(sig, stop_all) for sig in (signal.SIGTERM, signal.SIGINT)}
    status = 0
    try:
        for index in range(settings.workers):
            process = context.Process(
                target=_worker_main, args=(settings, index), name=f"loyalty-worker-{index}"
            )
            process.start()
            workers.append(process)
        if stopping:
            forward()  # a signal came while the workers were starting
        running = {worker.sentinel: worker for worker in workers}
        while running and not stopping:
            for sentinel in wait(list(running), timeout=1.0):
                died = running.pop(cast(int, sentinel))
                if not stopping:
                    print(
                        f"loyalty: worker {died.name} (pid {died.pid}) exited with status "
                        f"{died.exitcode}; stopping the others",
                        file=sys.stderr,
                    )
                    status = 1
                    stop_all()
        # Every worker finishes its in-flight requests, then it is killed.
        deadline = time.monotonic() + settings.shutdown_timeout_seconds + 10
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
            if worker.is_alive():
                worker.kill()
                worker.join()
            if worker.exitcode not in (0, -signal.SIGTERM):
                status = status or 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if own_prometheus_dir:
            shutil.rmtree(os.environ.pop(PROMETHEUS_DIR), ignore_errors=True)
    return status
