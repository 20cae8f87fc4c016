"""Composition root and the ``loyalty`` command line.

``serve`` migrates the database, loads the demo merchant on first start (not in
production), prints how to call the service and runs it. This is the only module that
mounts the vendor adapters (``webhooks``, ``terminal_bridge``) once they exist.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import socket
import sys
from collections.abc import AsyncIterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from aiohttp import web

from cloud import admin_cli, customers_cli, envfile, serving
from cloud.api.app import create_app
from cloud.api.keys import DEPS, SETTINGS
from cloud.cabinet import cli as cabinet_cli
from cloud.db import migrate
from cloud.db.database import exclusive, open_database
from cloud.errors import DomainError, NotFound
from cloud.logging import configure_logging
from cloud.messages import outbox
from cloud.messages.setup import close_providers
from cloud.services import (
    demo,
    jobs,
    programs,
    scheduler,
)
from cloud.services.deps import Deps
from cloud.settings import Settings
from cloud.telegram import cli as telegram_cli
from terminal_bridge.modulkassa.app import create_app as create_modulkassa_app
from terminal_bridge.onec.app import create_app as create_onec_app
from webhooks.evotor.app import create_app as create_evotor_app
from webhooks.frontol.app import create_app as create_frontol_app
from webhooks.moysklad.app import create_app as create_moysklad_app
from webhooks.sigma.app import create_app as create_sigma_app

JOBS = scheduler.JOBS


def mount_adapters(app: web.Application) -> web.Application:
    """Mount the vendor adapters on the service: the Evotor sub-application at
    ``/evotor``, the Frontol one at ``/frontol``, the SIGMA hooks at ``/sigma`` and МойСклад's
    Loyalty API at ``/moysklad`` (each
    reads the service's ``Deps`` from the parent application)."""
    app.add_subapp("/evotor", create_evotor_app(lambda request: request.config_dict[DEPS]))
    app.add_subapp("/frontol", create_frontol_app(lambda request: request.config_dict[DEPS]))
    app.add_subapp("/sigma", create_sigma_app(lambda request: request.config_dict[DEPS]))
    app.add_subapp("/moysklad", create_moysklad_app(lambda request: request.config_dict[DEPS]))
    app.add_subapp("/modulkassa", create_modulkassa_app(lambda request: request.config_dict[DEPS]))
    app.add_subapp("/1c", create_onec_app(lambda request: request.config_dict[DEPS]))
    return app


def build_app(settings: Settings, **kwargs: Any) -> web.Application:
    """The service with every adapter mounted (``create_app`` arguments pass through),
    and the job scheduler as a background task unless ``scheduler_in_serve`` is off."""
    app = mount_adapters(create_app(settings, **kwargs))
    if settings.scheduler_in_serve:
        app.cleanup_ctx.append(_scheduler_ctx)
    return app


async def _scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    """Run the scheduler beside the service (after the database context opened it)."""
    task = asyncio.create_task(
        scheduler.run_forever(app[DEPS], app[SETTINGS].scheduler_interval_seconds)
    )
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def run_scheduler(settings: Settings, ticks: int | None = None) -> None:
    """``loyalty scheduler``: migrate, then tick until stopped (``ticks`` for tests)."""
    await migrate.upgrade_async(settings.database_url)
    db = await open_database(settings.database_url, settings.pg_pool_size)
    try:
        deps = Deps.build(settings, db)
        if ticks is None:
            await scheduler.run_forever(deps, settings.scheduler_interval_seconds)
        for _ in range(ticks or 0):
            await scheduler.tick(deps)
    finally:
        await db.close()


async def outbox_worker_ctx(app: web.Application) -> AsyncIterator[None]:
    """Drains the outbox in the background while the service runs
    (``LOYALTY_OUTBOX_WORKER=false`` leaves it to ``loyalty outbox drain``)."""
    stop = asyncio.Event()
    task = asyncio.create_task(outbox.run_worker(app[DEPS], stop))
    yield
    stop.set()
    await task


def _curl(base: str, token: str) -> str:
    body = (
        '{"receipt": {"id": "try-1", "customer": {"phone": "+7 900 100-00-01"}, '
        '"lines": [{"id": "1", "name": "Жидкость 30 мл", "price": 450.00, "quantity": 2}, '
        '{"id": "2", "name": "Кальян классический", "price": 1200.00, "quantity": 1}]}}'
    )
    return (
        f"curl -s -X POST {base}/api/v1/checkout/calculate \\\n"
        f"  -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' \\\n"
        f"  -d '{body}'"
    )


class RefusedToStart(Exception):
    """The configuration would expose a public secret; the message names what to set."""


_REVOKE_DEMO = "revoke them with `loyalty demo --revoke`"


def check_exposure(settings: Settings, live_demo: Sequence[str] = ()) -> None:
    """Refuse to serve with a public credential where it can be used: in production
    ever (the built-in keys are refused by ``Settings`` itself), in development on an
    address other machines reach.

    Only what a caller over the network could use counts in development: the Evotor
    app token and the demo's tokens; the data and index keys are useless without the
    database."""
    if settings.env == "production":
        if live_demo:
            raise RefusedToStart(
                "production refuses to start: the database holds the public demo "
                f"credentials ({', '.join(live_demo)}); {_REVOKE_DEMO}"
            )
        return
    if settings.listens_on_loopback:
        return
    exposed = [
        name
        for name in settings.public_secrets_in_use
        if name in ("LOYALTY_EVOTOR_APP_TOKEN", "LOYALTY_OPERATOR_TOKEN")
    ]
    if settings.load_demo:
        exposed.append("LOYALTY_LOAD_DEMO=true (public demo tokens)")
    if live_demo:
        exposed.append(f"the demo credentials in the database ({', '.join(live_demo)}; "
                       f"{_REVOKE_DEMO})")  # fmt: skip
    if exposed:
        raise RefusedToStart(
            f"development listens on 127.0.0.1 only while public credentials are live; "
            f"LOYALTY_HOST={settings.host} would expose: {'; '.join(exposed)}. "
            "Set LOYALTY_EVOTOR_APP_TOKEN and LOYALTY_LOAD_DEMO=false, or leave LOYALTY_HOST unset"
        )


async def _prepare(settings: Settings) -> demo.DemoMerchant | None:
    check_exposure(settings)
    await migrate.upgrade_async(settings.database_url)
    db = await open_database(settings.database_url, settings.pg_pool_size)
    try:
        deps = Deps.build(settings, db)
        loaded = None
        if settings.load_demo and settings.env != "production":
            loaded = await demo.load_demo(deps)
        check_exposure(settings, await demo.live_public_credentials(deps))
    finally:
        await db.close()
    return loaded


class PortInUse(Exception):
    """Another process listens on the address; the message says how to pick a port."""


def check_port(settings: Settings) -> None:
    """Bind the address once before announcing it (as aiohttp will: SO_REUSEADDR), so a
    taken port is a one-line answer, not a traceback after "is listening"."""
    family = socket.AF_INET6 if ":" in settings.host.strip("[]") else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((settings.host.strip("[]"), settings.port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise PortInUse(
                f"port {settings.port} on {settings.host} is already in use (another "
                f"`loyalty serve`?); choose another: `./dev serve --port {settings.port + 1}` "
                f"or LOYALTY_PORT={settings.port + 1}"
            ) from exc


def service_app(settings: Settings) -> web.Application:
    """What ``loyalty serve`` runs in each process: the service, its adapters and the
    background tasks the settings leave on."""
    app = build_app(settings)
    if settings.outbox_worker:
        app.cleanup_ctx.append(outbox_worker_ctx)
    return app


def serve(settings: Settings) -> int:
    serving.check_workers(settings)
    check_port(settings)
    loaded = asyncio.run(_prepare(settings))
    base = settings.public_url or f"http://{settings.host}:{settings.port}"
    workers = f", {settings.workers} workers" if settings.workers > 1 else ""
    print(f"Loyalty cloud is listening on {base}  (database: {settings.database_url}{workers})")
    print(f"OpenAPI document: {base}/api/v1/openapi.json")
    if loaded is not None:
        print(f"Demo terminal token: {loaded.tokens[0]}")
        print(f"Demo merchant API key (program versions): {loaded.merchant_key}")
        print("Try a calculation:")
        print(_curl(base, loaded.tokens[0]))
    sys.stdout.flush()
    if settings.workers > 1:
        return serving.supervise(settings)
    serving.run_one(settings, service_app)
    return 0


DEMO_LOCK = 0x6C6F79616C7479 + 1
"""The advisory lock key of loading the demo (the migrations' key + 1)."""


async def _demo(settings: Settings, revoke: bool = False, if_absent: bool = False) -> None:
    """Load (or refresh) the demo merchant. In production its key and tokens are fresh
    random ones printed once, never the published ones; ``if_absent`` leaves a loaded
    demo alone (an entry point that runs on every container start)."""
    await migrate.upgrade_async(settings.database_url)
    db = await open_database(settings.database_url)
    fresh = settings.env == "production"
    try:
        if revoke:
            revoked = await demo.revoke_public_credentials(Deps.build(settings, db))
            print(f"Revoked {revoked} public demo credential(s)")
            return
        # Replicas started together with LOYALTY_DEMO=1 load it once: the second finds it.
        async with exclusive(settings.database_url, DEMO_LOCK):
            loaded = await demo.load_demo(
                Deps.build(settings, db), refresh=not if_absent, fresh_tokens=fresh
            )
    finally:
        await db.close()
    if if_absent and loaded.customers == 0:
        print(f"Demo merchant #{loaded.merchant_id} is already loaded")
        return
    print(
        f"Demo merchant #{loaded.merchant_id}: {loaded.customers} customers, "
        f"{loaded.receipts} receipts; terminal tokens: {', '.join(loaded.tokens)}"
    )
    if fresh:
        print(f"Demo merchant key (shown once, only its hash is kept): {loaded.merchant_key}")


async def run_job(
    settings: Settings, job: str, run_date: date | None, merchant_id: int | None = None
) -> jobs.JobReport:
    await migrate.upgrade_async(settings.database_url)
    db = await open_database(settings.database_url)
    try:
        deps = Deps.build(settings, db)
        return await JOBS[job](deps, run_date, merchant_id)
    finally:
        await db.close()


async def drain_outbox(settings: Settings, once: bool) -> outbox.DrainReport:
    """``loyalty outbox drain``: everything due now (``--once``), or keep draining."""
    await migrate.upgrade_async(settings.database_url)
    db = await open_database(settings.database_url)
    deps = Deps.build(settings, db)
    try:
        if once:
            return await outbox.drain(deps)
        await outbox.run_worker(deps, asyncio.Event())
        return outbox.DrainReport()
    finally:
        await close_providers(deps.sms, deps.email, deps.telegram)
        await db.close()


async def load_program(
    settings: Settings, merchant_id: int, document: str, activate: bool
) -> programs.LoadedProgram:
    await migrate.upgrade_async(settings.database_url)
    db = await open_database(settings.database_url)
    try:
        deps = Deps.build(settings, db)
        if not await db.fetch_value("SELECT id FROM merchants WHERE id = :m", {"m": merchant_id}):
            raise NotFound("merchant_not_found", f"Компания #{merchant_id} не найдена")
        loaded = await programs.create_version(db, merchant_id, document, deps.clock())
        if activate:
            await programs.activate_version(db, merchant_id, loaded.version, deps.clock())
        return loaded
    finally:
        await db.close()


def _add_bridge_commands(commands: Any) -> None:
    bridge_cmd = commands.add_parser("bridge", help="the store-side bridge (tills, offline)")
    bridge_sub = bridge_cmd.add_subparsers(dest="bridge_command", required=True)
    run = bridge_sub.add_parser("serve", help="answer the store's tills, forward to the cloud")
    run.add_argument("--cloud", required=True, help="the cloud's address, e.g. https://…")
    run.add_argument("--token", required=True, help="the token of the store's bridge terminal")
    run.add_argument("--listen", default="0.0.0.0:8780", help="HOST:PORT for the tills")
    run.add_argument("--data", type=Path, default=Path("bridge-data"), help="outbox and cache")
    run.add_argument("--sync-interval", type=float, default=60.0, help="snapshot sync, seconds")
    run.add_argument("--heartbeat-interval", type=float, default=30.0, help="seconds")
    run.add_argument("--log-format", choices=("json", "console"), default="json")


def _run_bridge(args: argparse.Namespace) -> None:
    from terminal_bridge.store.server import serve as serve_bridge

    configure_logging(args.log_format)
    serve_bridge(
        args.cloud, args.token, args.listen, args.data,
        sync_interval=args.sync_interval, heartbeat_interval=args.heartbeat_interval,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="loyalty", description="Loyalty cloud")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="migrate, load the demo, run the service")
    serve_cmd.add_argument("--host")
    serve_cmd.add_argument("--port", type=int)
    serve_cmd.add_argument(
        "--workers", type=int, help="processes on one port (PostgreSQL only; LOYALTY_WORKERS)"
    )
    commands.add_parser("migrate", help="apply database migrations")
    demo_cmd = commands.add_parser("demo", help="load or refresh the demo merchant")
    demo_cmd.add_argument(
        "--revoke", action="store_true",
        help="revoke the demo's public tokens instead (before production uses this database)",
    )  # fmt: skip
    demo_cmd.add_argument(
        "--if-absent", action="store_true", help="do nothing when the demo merchant exists"
    )
    secrets_cmd = commands.add_parser("secrets", help="secrets of a deployment")
    secrets_sub = secrets_cmd.add_subparsers(dest="secrets_command", required=True)
    generate = secrets_sub.add_parser(
        "generate", help="write an .env with a fresh value for every secret (mode 0600)"
    )
    generate.add_argument("--output", type=Path, default=Path(".env"))
    generate.add_argument("--force", action="store_true", help="replace an existing file")
    jobs = commands.add_parser("jobs", help="scheduled jobs")
    jobs_commands = jobs.add_subparsers(dest="job_command", required=True)
    run = jobs_commands.add_parser("run", help="run one job now")
    run.add_argument("job", choices=sorted(JOBS))
    run.add_argument(
        "--date",
        type=date.fromisoformat,
        help="run as of this local date (a missed earlier date of the schedule is caught up)",
    )
    run.add_argument("--merchant", type=int, help="only this merchant (default: every one)")
    commands.add_parser(
        "scheduler", help="run every job at each merchant's local time, until stopped"
    )
    outbox_cmd = commands.add_parser("outbox", help="messages to customers")
    outbox_commands = outbox_cmd.add_subparsers(dest="outbox_command", required=True)
    drain_cmd = outbox_commands.add_parser("drain", help="send the messages that are due")
    drain_cmd.add_argument(
        "--once", action="store_true", help="send what is due now and exit (default: keep going)"
    )
    programs_cmd = commands.add_parser("programs", help="program versions")
    programs_commands = programs_cmd.add_subparsers(dest="programs_command", required=True)
    load = programs_commands.add_parser("load", help="load a program document as a new version")
    load.add_argument("file", type=Path, help="e.g. fixtures/programs/05_vintage.json")
    load.add_argument("--merchant", type=int, required=True)
    load.add_argument("--activate", action="store_true", help="make it the live version")
    _add_bridge_commands(commands)
    admin_cli.add_admin_commands(commands)
    customers_cli.add_commands(commands)
    telegram_cli.add_commands(commands)
    cabinet_cli.add_commands(commands)
    args = parser.parse_args(argv)
    if args.command == "secrets":
        # Before the settings: production's settings refuse to load until this has run.
        try:
            envfile.write(args.output, force=args.force)
        except envfile.EnvFileExists as exc:
            parser.exit(1, f"loyalty: {exc}\n")
        print(f"Wrote {args.output} (mode 0600): every secret fresh; keep it and back it up")
        return
    if args.command == "bridge":
        # A store server: no cloud settings, database or keys of the cloud's own.
        _run_bridge(args)
        return

    overrides: dict[str, Any] = {}
    if getattr(args, "host", None):
        overrides["host"] = args.host
    if getattr(args, "port", None):
        overrides["port"] = args.port
    if getattr(args, "workers", None) is not None:
        overrides["workers"] = args.workers
    try:
        settings = Settings(**overrides)
    except ValueError as exc:
        parser.exit(2, f"loyalty: invalid settings: {exc}\n")
    configure_logging(settings.effective_log_format, settings.log_level)

    if args.command == "serve":
        try:
            status = serve(settings)
        except (RefusedToStart, PortInUse, serving.WorkersRefused) as exc:
            parser.exit(2, f"loyalty: {exc}\n")
        if status:
            sys.exit(status)
    elif args.command == "migrate":
        migrate.upgrade(settings.database_url)
        print("Database is at the latest migration")
    elif args.command == "demo":
        asyncio.run(_demo(settings, args.revoke, args.if_absent))
    elif args.command == "programs":
        try:
            loaded = asyncio.run(
                load_program(settings, args.merchant, args.file.read_text(), args.activate)
            )
        except DomainError as exc:
            parser.exit(1, f"loyalty: {exc.message}\n")
        state = "active" if args.activate else "draft"
        print(
            f"Merchant #{args.merchant}: version {loaded.version} ({state}) «{loaded.program.name}»"
        )
    elif args.command in ("merchants", "plans", "stores", "terminals", "tokens"):
        try:
            print(asyncio.run(admin_cli.with_db(settings, admin_cli.admin_command(args))))
        except DomainError as exc:
            parser.exit(1, f"loyalty: {exc.message}\n")
    elif args.command == "scheduler":
        print(f"Scheduler: every {settings.scheduler_interval_seconds:g} s (Ctrl-C stops)")
        sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run_scheduler(settings))
    elif args.command == "outbox":
        drained = asyncio.run(drain_outbox(settings, args.once))
        print(
            f"outbox: {drained.sent} sent ({drained.cost / 100:.2f} ₽), {drained.retried} to "
            f"retry, {drained.deferred} waiting for quiet hours to end, {drained.failed} failed, "
            f"{drained.skipped} skipped (opt-out or blocked)"
        )
    elif args.command in ("customers", "telegram", "cabinet"):
        args.run(settings, args, parser)
    elif args.command == "jobs":
        report = asyncio.run(run_job(settings, args.job, args.date, args.merchant))
        print(
            f"{report.job}: {report.merchants} merchant(s) processed, "
            f"{report.skipped} already done for that date; {report.details}"
        )


if __name__ == "__main__":
    main()
