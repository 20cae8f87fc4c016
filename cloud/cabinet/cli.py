"""``loyalty cabinet add-user --merchant ID --login L --role owner``: the first owner of a
merchant's cabinet (who then adds the rest of the staff from the staff page). The
password comes from a prompt, or from standard input with ``--password-stdin``."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from typing import Any

from cloud.cabinet import accounts
from cloud.db import migrate
from cloud.db.database import open_database
from cloud.errors import BadRequest, DomainError
from cloud.services.deps import Deps
from cloud.settings import Settings


def add_commands(commands: Any) -> None:
    cabinet = commands.add_parser("cabinet", help="the merchant cabinet's staff accounts")
    sub = cabinet.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add-user", help="add a staff account (the first owner, usually)")
    add.add_argument("--merchant", type=int, required=True)
    add.add_argument("--login", required=True)
    add.add_argument("--role", choices=accounts.ROLES, default="owner")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    cabinet.set_defaults(run=run)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Пароль: ")
    if getpass.getpass("Пароль ещё раз: ") != first:
        raise BadRequest("password_mismatch", "Пароли не совпали")
    return first


async def _add(settings: Settings, args: argparse.Namespace, password: str) -> int:
    await migrate.upgrade_async(settings.database_url)
    db = await open_database(settings.database_url)
    try:
        return await accounts.create_user(
            Deps.build(settings, db), args.merchant, args.login, password, args.role
        )
    finally:
        await db.close()


def run(settings: Settings, args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    try:
        password = _password(args.password_stdin)
        user_id = asyncio.run(_add(settings, args, password))
    except DomainError as exc:
        parser.exit(1, f"loyalty: {exc.message}\n")
    login = accounts.normalize_login(args.login)
    print(
        f"Merchant #{args.merchant}: cabinet user #{user_id} «{login}» ({args.role}); "
        "sign in at /cabinet/login"
    )
