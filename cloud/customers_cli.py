"""``loyalty customers import FILE --merchant ID [--dry-run]`` and ``loyalty customers
export --merchant ID -o FILE``: the same import and export as the merchant API, with the
database's own access standing for the merchant key, and progress on stderr."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from cloud.db import migrate
from cloud.db.database import open_database
from cloud.errors import DomainError
from cloud.services import customers_io
from cloud.services.customers_io.reader import detect_format
from cloud.services.deps import Deps
from cloud.settings import Settings

_WORDS = {"read": "строк прочитано", "written": "клиентов записано",
          "exported": "клиентов выгружено"}  # fmt: skip


def _progress(stage: str, count: int) -> None:
    print(f"  {_WORDS.get(stage, stage)}: {count}", file=sys.stderr, flush=True)


def add_commands(commands: Any) -> None:
    """The ``customers`` command and its ``import`` / ``export`` actions."""
    customers = commands.add_parser("customers", help="import or export a customer base")
    sub = customers.add_subparsers(dest="action", required=True)
    load = sub.add_parser("import", help="import a base from .xlsx or .csv (fixtures/import/)")
    load.add_argument("file", type=Path)
    load.add_argument("--merchant", type=int, required=True)
    load.add_argument("--dry-run", action="store_true", help="check only, change nothing")
    dump = sub.add_parser("export", help="export the base to .xlsx")
    dump.add_argument("--merchant", type=int, required=True)
    dump.add_argument("-o", "--output", type=Path, required=True)
    customers.set_defaults(run=run)


def _report(result: customers_io.ImportResult) -> str:
    lines = [
        f"{result.status}: {result.rows} row(s); new customers {result.customers_new}, "
        f"merged {result.customers_merged}; {result.lots} lot(s), "
        f"{result.bonuses // 100}.{result.bonuses % 100:02d} bonuses"
    ]
    for error in result.errors:
        lines.append(f"  строка {error.row}, «{error.column}»: {error.message}")
    if result.errors_total > len(result.errors):
        lines.append(f"  … и ещё {result.errors_total - len(result.errors)}")
    return "\n".join(lines)


async def _import(settings: Settings, args: argparse.Namespace) -> customers_io.ImportResult:
    data = args.file.read_bytes()
    kind = "xlsx" if args.file.suffix.lower() == ".xlsx" else detect_format(data)
    await migrate.upgrade_async(settings.database_url)
    db = await open_database(settings.database_url)
    try:
        return await customers_io.import_base(
            Deps.build(settings, db), args.merchant, data, kind, dry_run=args.dry_run,
            label="командная строка", progress=_progress,
        )  # fmt: skip
    finally:
        await db.close()


async def _export(settings: Settings, args: argparse.Namespace) -> int:
    await migrate.upgrade_async(settings.database_url)
    db = await open_database(settings.database_url)
    try:
        with args.output.open("wb") as target:
            return await customers_io.export_base(
                Deps.build(settings, db), args.merchant, target, progress=_progress
            )
    finally:
        await db.close()


def run(settings: Settings, args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    try:
        if args.action == "import":
            result = asyncio.run(_import(settings, args))
            print(_report(result))
            if result.status == "rejected" or (result.status == "dry_run" and result.errors_total):
                parser.exit(1)
        else:
            written = asyncio.run(_export(settings, args))
            print(f"Exported {written} customer(s) to {args.output}")
    except DomainError as exc:
        parser.exit(1, f"loyalty: {exc.message}\n")
    except OSError as exc:
        parser.exit(1, f"loyalty: {exc}\n")
