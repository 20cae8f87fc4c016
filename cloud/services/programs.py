"""Program versions: create, activate, and the in-process cache the hot path reads.

A version's document never changes once stored, so the parsed program is cached by
version id forever; the hot path never re-validates a document.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from cloud.clock import to_epoch
from cloud.db.database import Executor, PostgresDatabase, SqliteDatabase
from cloud.engine import CompiledProgram, compile_program
from cloud.errors import BadRequest, NotFound
from cloud.validation import describe_validation_error
from schemas.program import Program


@dataclass(frozen=True, slots=True)
class LoadedProgram:
    id: int
    version: int
    program: Program
    compiled: CompiledProgram
    """The engine's integer form of the program, built once per version."""


class ProgramCache:
    def __init__(self, db: SqliteDatabase | PostgresDatabase) -> None:
        self._db = db
        self._by_id: dict[int, LoadedProgram] = {}
        self._last_active: dict[int, LoadedProgram] = {}

    def last_active(self, merchant_id: int) -> LoadedProgram | None:
        """The version this merchant's receipts were last priced with: a hint for
        building the snapshot query, never trusted for pricing."""
        return self._last_active.get(merchant_id)

    def remember_active(self, merchant_id: int, program: LoadedProgram) -> None:
        self._last_active[merchant_id] = program

    async def get(self, version_id: int, executor: Executor | None = None) -> LoadedProgram:
        loaded = self._by_id.get(version_id)
        if loaded is None:
            row = await (executor or self._db).fetch_one(
                "SELECT id, version, document FROM program_versions WHERE id = :id",
                {"id": version_id},
            )
            if row is None:
                raise NotFound("program_not_found", "Программа лояльности не найдена")
            program = Program.model_validate_json(row["document"])
            loaded = LoadedProgram(
                id=row["id"],
                version=row["version"],
                program=program,
                compiled=compile_program(program),
            )
            self._by_id[version_id] = loaded
        return loaded


def parse_program(document: Any) -> Program:
    """Validate a program document; errors name the field, in Russian."""
    try:
        if isinstance(document, Program):
            return document
        if isinstance(document, str | bytes):
            return Program.model_validate_json(document)
        return Program.model_validate(document)
    except ValidationError as exc:
        raise BadRequest("invalid_program", describe_validation_error(exc)) from exc


async def create_version(
    db: SqliteDatabase | PostgresDatabase, merchant_id: int, document: Any, now: datetime
) -> LoadedProgram:
    program = parse_program(document)
    async with db.transaction() as tx:
        latest = await tx.fetch_value(
            "SELECT MAX(version) FROM program_versions WHERE merchant_id = :m",
            {"m": merchant_id},
        )
        version = (latest or 0) + 1
        version_id = await tx.insert(
            "INSERT INTO program_versions (merchant_id, version, document, status, created_at) "
            "VALUES (:m, :v, :doc, 'draft', :now) RETURNING id",
            {
                "m": merchant_id,
                "v": version,
                "doc": program.model_dump_json(),
                "now": to_epoch(now),
            },
        )
    return LoadedProgram(
        id=version_id, version=version, program=program, compiled=compile_program(program)
    )


async def activate_version(
    db: SqliteDatabase | PostgresDatabase, merchant_id: int, version: int, now: datetime
) -> int:
    async with db.transaction() as tx:
        row = await tx.fetch_one(
            "SELECT id FROM program_versions WHERE merchant_id = :m AND version = :v",
            {"m": merchant_id, "v": version},
        )
        if row is None:
            raise NotFound("program_not_found", f"Версия программы {version} не найдена")
        await tx.execute(
            "UPDATE program_versions SET status = 'archived' "
            "WHERE merchant_id = :m AND status = 'active'",
            {"m": merchant_id},
        )
        await tx.execute(
            "UPDATE program_versions SET status = 'active', activated_at = :now WHERE id = :id",
            {"id": row["id"], "now": to_epoch(now)},
        )
        await tx.execute(
            "UPDATE merchants SET active_program_version_id = :id WHERE id = :m",
            {"id": row["id"], "m": merchant_id},
        )
        await tx.execute(
            "INSERT INTO program_activations (merchant_id, version_id, activated_at) "
            "VALUES (:m, :id, :now)",
            {"m": merchant_id, "id": row["id"], "now": to_epoch(now)},
        )
        return int(row["id"])


async def version_live_at(executor: Executor, merchant_id: int, moment: int) -> int | None:
    """The id of the version that was live at ``moment`` (epoch seconds); ``None`` when
    none was live yet."""
    value = await executor.fetch_value(
        "SELECT version_id FROM program_activations WHERE merchant_id = :m "
        "AND activated_at <= :t ORDER BY activated_at DESC, id DESC LIMIT 1",
        {"m": merchant_id, "t": moment},
    )
    return None if value is None else int(value)


async def publish(
    db: SqliteDatabase | PostgresDatabase, merchant_id: int, document: Any, now: datetime
) -> LoadedProgram:
    """Create a version and make it the live one."""
    loaded = await create_version(db, merchant_id, document, now)
    await activate_version(db, merchant_id, loaded.version, now)
    return loaded


@dataclass(frozen=True, slots=True)
class VersionInfo:
    id: int
    version: int
    status: str
    created_at: int
    activated_at: int | None


async def list_versions(
    db: SqliteDatabase | PostgresDatabase, merchant_id: int
) -> list[VersionInfo]:
    rows = await db.fetch_all(
        "SELECT id, version, status, created_at, activated_at FROM program_versions "
        "WHERE merchant_id = :m ORDER BY version DESC",
        {"m": merchant_id},
    )
    return [VersionInfo(**dict(row)) for row in rows]


async def get_version(
    deps_programs: ProgramCache,
    db: SqliteDatabase | PostgresDatabase,
    merchant_id: int,
    version: int,
) -> tuple[VersionInfo, LoadedProgram]:
    """A version of this merchant's program (never another merchant's)."""
    row = await db.fetch_one(
        "SELECT id, version, status, created_at, activated_at FROM program_versions "
        "WHERE merchant_id = :m AND version = :v",
        {"m": merchant_id, "v": version},
    )
    if row is None:
        raise NotFound("program_not_found", f"Версия программы {version} не найдена")
    return VersionInfo(**dict(row)), await deps_programs.get(int(row["id"]))
