"""The operator's and merchant's administration commands of ``loyalty``: ``merchants
create``, ``plans set``, ``stores add``, ``terminals add`` and ``tokens revoke`` (the
same services as the operator and merchant APIs, the database's own access standing for
the credential).
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from cloud.db import migrate
from cloud.db.database import open_database
from cloud.errors import BadRequest, NotFound
from cloud.services import usage
from cloud.services.admin import operator, stores, terminals
from cloud.services.deps import Deps
from cloud.services.merchants import CHANNELS
from cloud.settings import Settings


async def with_db(settings: Settings, work: Callable[[Deps], Awaitable[str]]) -> str:
    """Run one administrative command on a migrated database (what the operator's and
    the merchant API do, with the database's own access standing for the credential)."""
    await migrate.upgrade_async(settings.database_url)
    db = await open_database(settings.database_url)
    try:
        return await work(Deps.build(settings, db))
    finally:
        await db.close()


async def merchant_exists(deps: Deps, merchant_id: int) -> None:
    if not await deps.db.fetch_value("SELECT id FROM merchants WHERE id = :m", {"m": merchant_id}):
        raise NotFound("merchant_not_found", f"Компания #{merchant_id} не найдена")


def admin_command(args: argparse.Namespace) -> Callable[[Deps], Awaitable[str]]:
    """The work of ``merchants create``, ``stores add``, ``terminals add`` and ``tokens
    revoke``; each returns what to print (a key or token exactly once)."""

    async def merchants_create(deps: Deps) -> str:
        created = await operator.onboard_merchant(deps.db, args.name, deps.clock(), args.timezone)
        return (
            f"Merchant #{created.merchant_id} «{args.name}» ({args.timezone})\n"
            f"Owner key (shown once, only its hash is kept): {created.owner_key}"
        )

    async def stores_add(deps: Deps) -> str:
        await merchant_exists(deps, args.merchant)
        store = await stores.add_store(
            deps.db, args.merchant, args.name, deps.clock(), args.timezone, args.address
        )
        return f"Store #{store.id} «{store.name}» ({store.timezone}) of merchant #{args.merchant}"

    async def terminals_add(deps: Deps) -> str:
        await merchant_exists(deps, args.merchant)
        terminal = await terminals.add_terminal(
            deps.db, args.merchant, args.store, args.name, deps.clock(), args.channel
        )
        token = await terminals.issue_token(deps.db, args.merchant, terminal.id, deps.clock())
        return (
            f"Terminal #{terminal.id} «{terminal.name}» ({terminal.channel}) in store "
            f"#{terminal.store_id}\nTerminal token (shown once, only its hash is kept): {token}"
        )

    async def tokens_revoke(deps: Deps) -> str:
        await merchant_exists(deps, args.merchant)
        revoked = await terminals.revoke(
            deps.db, args.merchant, deps.clock(), token=args.token, terminal_id=args.terminal
        )
        return f"Revoked {revoked} token(s)"

    async def plans_set(deps: Deps) -> str:
        budget = _budget(args.message_budget)
        plan = await usage.set_plan(
            deps.db, args.merchant, args.name, args.receipts, budget, deps.clock()
        )
        return (
            f"Merchant #{args.merchant}: plan «{plan.name}», {plan.included_receipts} receipts "
            f"and {args.message_budget} ₽ of messages a month"
        )

    return {
        "merchants": merchants_create,
        "plans": plans_set,
        "stores": stores_add,
        "terminals": terminals_add,
        "tokens": tokens_revoke,
    }[args.command]


def _budget(text: str) -> int:
    """Roubles as typed (a comma or a dot, two places at most) to kopecks, exactly."""
    try:
        value = Decimal(text.replace(",", "."))
        if not value.is_finite() or value.as_tuple().exponent < -2:  # type: ignore[operator]
            raise InvalidOperation
    except InvalidOperation:
        raise BadRequest(
            "invalid_plan", "Бюджет сообщений: рубли, не больше двух знаков после запятой"
        ) from None
    return int(value * 100)


def add_admin_commands(commands: Any) -> None:
    merchants_cmd = commands.add_parser("merchants", help="merchants (platform operator)")
    sub = merchants_cmd.add_subparsers(dest="action", required=True)
    create = sub.add_parser("create", help="create a merchant; prints its owner key once")
    create.add_argument("name")
    create.add_argument("--timezone", default="Europe/Moscow")
    plans_cmd = commands.add_parser("plans", help="a merchant's plan (platform operator)")
    sub = plans_cmd.add_subparsers(dest="action", required=True)
    plan = sub.add_parser("set", help="set the receipts and message budget included a month")
    plan.add_argument("--merchant", type=int, required=True)
    plan.add_argument("--name", required=True)
    plan.add_argument("--receipts", type=int, required=True, help="receipts included a month")
    plan.add_argument("--message-budget", required=True, help="roubles of messages a month")
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
