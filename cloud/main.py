"""Composition root and the ``loyalty`` command line.

``serve`` migrates the database, loads the demo merchant on first start (not in
production), prints how to call the service and runs it. This is the only module that
mounts the vendor adapters (``webhooks``, ``terminal_bridge``) once they exist.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from aiohttp import web

from cloud import customers_cli
from cloud.api.app import create_app
from cloud.api.keys import DEPS
from cloud.db import migrate
from cloud.db.database import open_database
from cloud.errors import DomainError, NotFound
from cloud.logging import configure_logging
from cloud.services import demo, jobs, programs
from cloud.services.admin import operator, stores, terminals
from cloud.services.deps import Deps
from cloud.services.merchants import CHANNELS
from cloud.settings import Settings
from webhooks.evotor.app import create_app as create_evotor_app

JOBS: dict[str, Callable[[Deps, date | None], Awaitable[jobs.JobReport]]] = {
    "expiry": jobs.run_expiry,
    "tiers": jobs.run_tiers,
    "holds": jobs.run_holds,
}


def mount_adapters(app: web.Application) -> web.Application:
    """Mount the vendor adapters on the service: the Evotor sub-application at
    ``/evotor`` (it reads the service's ``Deps`` from the parent application)."""
    app.add_subapp("/evotor", create_evotor_app(lambda request: request.config_dict[DEPS]))
    return app


def build_app(settings: Settings, **kwargs: Any) -> web.Application:
    """The service with every adapter mounted (``create_app`` arguments pass through)."""
    return mount_adapters(create_app(settings, **kwargs))


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


def serve(settings: Settings) -> None:
    loaded = asyncio.run(_prepare(settings))
    base = settings.public_url or f"http://{settings.host}:{settings.port}"
    print(f"Loyalty cloud is listening on {base}  (database: {settings.database_url})")
    print(f"OpenAPI document: {base}/api/v1/openapi.json")
    if loaded is not None:
        print(f"Demo terminal token: {loaded.tokens[0]}")
        print(f"Demo merchant API key (program versions): {loaded.merchant_key}")
        print("Try a calculation:")
        print(_curl(base, loaded.tokens[0]))
    sys.stdout.flush()
    web.run_app(
        build_app(settings),
        host=settings.host,
        port=settings.port,
        print=None,
        loop=_event_loop(),
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


async def _demo(settings: Settings, revoke: bool = False) -> None:
    await migrate.upgrade_async(settings.database_url)
    db = await open_database(settings.database_url)
    try:
        if revoke:
            revoked = await demo.revoke_public_credentials(Deps.build(settings, db))
            print(f"Revoked {revoked} public demo credential(s)")
            return
        loaded = await demo.load_demo(Deps.build(settings, db), refresh=True)
    finally:
        await db.close()
    print(
        f"Demo merchant #{loaded.merchant_id}: {loaded.customers} customers, "
        f"{loaded.receipts} receipts; terminal tokens: {', '.join(loaded.tokens)}"
    )


async def run_job(settings: Settings, job: str, run_date: date | None) -> jobs.JobReport:
    await migrate.upgrade_async(settings.database_url)
    db = await open_database(settings.database_url)
    try:
        deps = Deps.build(settings, db)
        return await JOBS[job](deps, run_date)
    finally:
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


async def _with_db(settings: Settings, work: Callable[[Deps], Awaitable[str]]) -> str:
    """Run one administrative command on a migrated database (what the operator's and
    the merchant API do, with the database's own access standing for the credential)."""
    await migrate.upgrade_async(settings.database_url)
    db = await open_database(settings.database_url)
    try:
        return await work(Deps.build(settings, db))
    finally:
        await db.close()


async def _merchant_exists(deps: Deps, merchant_id: int) -> None:
    if not await deps.db.fetch_value("SELECT id FROM merchants WHERE id = :m", {"m": merchant_id}):
        raise NotFound("merchant_not_found", f"Компания #{merchant_id} не найдена")


def _admin_command(args: argparse.Namespace) -> Callable[[Deps], Awaitable[str]]:
    """The work of ``merchants create``, ``stores add``, ``terminals add`` and ``tokens
    revoke``; each returns what to print (a key or token exactly once)."""

    async def merchants_create(deps: Deps) -> str:
        created = await operator.onboard_merchant(deps.db, args.name, deps.clock(), args.timezone)
        return (
            f"Merchant #{created.merchant_id} «{args.name}» ({args.timezone})\n"
            f"Owner key (shown once, only its hash is kept): {created.owner_key}"
        )

    async def stores_add(deps: Deps) -> str:
        await _merchant_exists(deps, args.merchant)
        store = await stores.add_store(
            deps.db, args.merchant, args.name, deps.clock(), args.timezone, args.address
        )
        return f"Store #{store.id} «{store.name}» ({store.timezone}) of merchant #{args.merchant}"

    async def terminals_add(deps: Deps) -> str:
        await _merchant_exists(deps, args.merchant)
        terminal = await terminals.add_terminal(
            deps.db, args.merchant, args.store, args.name, deps.clock(), args.channel
        )
        token = await terminals.issue_token(deps.db, args.merchant, terminal.id, deps.clock())
        return (
            f"Terminal #{terminal.id} «{terminal.name}» ({terminal.channel}) in store "
            f"#{terminal.store_id}\nTerminal token (shown once, only its hash is kept): {token}"
        )

    async def tokens_revoke(deps: Deps) -> str:
        await _merchant_exists(deps, args.merchant)
        revoked = await terminals.revoke(
            deps.db, args.merchant, deps.clock(), token=args.token, terminal_id=args.terminal
        )
        return f"Revoked {revoked} token(s)"

    return {
        "merchants": merchants_create,
        "stores": stores_add,
        "terminals": terminals_add,
        "tokens": tokens_revoke,
    }[args.command]


def _add_admin_commands(commands: Any) -> None:
    merchants_cmd = commands.add_parser("merchants", help="merchants (platform operator)")
    sub = merchants_cmd.add_subparsers(dest="action", required=True)
    create = sub.add_parser("create", help="create a merchant; prints its owner key once")
    create.add_argument("name")
    create.add_argument("--timezone", default="Europe/Moscow")
    stores_cmd = commands.add_parser("stores", help="a merchant's stores")
    sub = stores_cmd.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="add a store")
    add.add_argument("--merchant", type=int, required=True)
    add.add_argument("name")
    add.add_argument("--timezone", help="IANA zone (default: the merchant's)")
    add.add_argument("--address")
    terminals_cmd = commands.add_parser("terminals", help="a merchant's terminals")
    sub = terminals_cmd.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="add a terminal; prints its token once")
    add.add_argument("--merchant", type=int, required=True)
    add.add_argument("--store", type=int, required=True)
    add.add_argument("name")
    add.add_argument("--channel", default="native", choices=CHANNELS)
    tokens_cmd = commands.add_parser("tokens", help="terminal tokens")
    sub = tokens_cmd.add_subparsers(dest="action", required=True)
    revoke = sub.add_parser("revoke", help="revoke a token, or every token of a terminal")
    revoke.add_argument("--merchant", type=int, required=True)
    target = revoke.add_mutually_exclusive_group(required=True)
    target.add_argument("--token")
    target.add_argument("--terminal", type=int)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="loyalty", description="Loyalty cloud")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="migrate, load the demo, run the service")
    serve_cmd.add_argument("--host")
    serve_cmd.add_argument("--port", type=int)
    commands.add_parser("migrate", help="apply database migrations")
    demo_cmd = commands.add_parser("demo", help="load or refresh the demo merchant")
    demo_cmd.add_argument(
        "--revoke", action="store_true",
        help="revoke the demo's public tokens instead (before production uses this database)",
    )  # fmt: skip
    jobs = commands.add_parser("jobs", help="scheduled jobs")
    jobs_commands = jobs.add_subparsers(dest="job_command", required=True)
    run = jobs_commands.add_parser("run", help="run one job now")
    run.add_argument("job", choices=sorted(JOBS))
    run.add_argument(
        "--date",
        type=date.fromisoformat,
        help="run as of this local date (a missed earlier date of the schedule is caught up)",
    )
    programs_cmd = commands.add_parser("programs", help="program versions")
    programs_commands = programs_cmd.add_subparsers(dest="programs_command", required=True)
    load = programs_commands.add_parser("load", help="load a program document as a new version")
    load.add_argument("file", type=Path, help="e.g. fixtures/programs/05_vintage.json")
    load.add_argument("--merchant", type=int, required=True)
    load.add_argument("--activate", action="store_true", help="make it the live version")
    _add_admin_commands(commands)
    customers_cli.add_commands(commands)
    args = parser.parse_args(argv)

    overrides: dict[str, Any] = {}
    if getattr(args, "host", None):
        overrides["host"] = args.host
    if getattr(args, "port", None):
        overrides["port"] = args.port
    try:
        settings = Settings(**overrides)
    except ValueError as exc:
        parser.exit(2, f"loyalty: invalid settings: {exc}\n")
    configure_logging(settings.effective_log_format, settings.log_level)

    if args.command == "serve":
        try:
            serve(settings)
        except RefusedToStart as exc:
            parser.exit(2, f"loyalty: {exc}\n")
    elif args.command == "migrate":
        migrate.upgrade(settings.database_url)
        print("Database is at the latest migration")
    elif args.command == "demo":
        if settings.env == "production" and not args.revoke:
            parser.exit(
                2, "loyalty: the demo merchant (public tokens) is not loaded in production\n"
            )
        asyncio.run(_demo(settings, args.revoke))
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
    elif args.command in ("merchants", "stores", "terminals", "tokens"):
        try:
            print(asyncio.run(_with_db(settings, _admin_command(args))))
        except DomainError as exc:
            parser.exit(1, f"loyalty: {exc.message}\n")
    elif args.command == "customers":
        args.run(settings, args, parser)
    elif args.command == "jobs":
        report = asyncio.run(run_job(settings, args.job, args.date))
        print(
            f"{report.job}: {report.merchants} merchant(s) processed, "
            f"{report.skipped} already done for that date; {report.details}"
        )


if __name__ == "__main__":
    main()
