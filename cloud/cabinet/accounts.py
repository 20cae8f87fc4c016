"""The cabinet's staff accounts: argon2 passwords, roles, sign-in with limits.

A login is unique across the service (the sign-in form asks for no merchant). A refused
password is a row of ``cabinet_sign_in_failures``; the limits count those rows over one
window per login and per address, so several workers share them. While a limit holds,
even the right password is refused: a guesser learns nothing from it.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from cloud.clock import to_epoch
from cloud.db.database import Row, is_unique_violation
from cloud.errors import BadRequest, Conflict, NotFound
from cloud.services.deps import Deps
from cloud.services.merchants import zone

ROLES = ("viewer", "manager", "owner")
"""Each role may do what the ones before it may."""
ROLE_NAMES = {"viewer": "наблюдатель", "manager": "менеджер", "owner": "владелец"}

LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9._@+\-]{2,99}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 200

_hasher = PasswordHasher()
# Verified when the login is unknown, so a missing account costs the same time as a
# wrong password and does not reveal which logins exist.
_DUMMY_HASH = _hasher.hash("not-a-password-of-anyone")


@dataclass(frozen=True, slots=True)
class StaffUser:
    id: int
    merchant_id: int
    merchant_name: str
    timezone: ZoneInfo
    login: str
    role: str
    stamp: str
    """Changes with the password: a session remembers it and dies with a reset."""

    def may(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


class TooManyAttempts(Exception):
    """A sign-in limit holds for this login or this address."""


def normalize_login(login: str) -> str:
    return login.strip().lower()


def check_login(login: str) -> str:
    login = normalize_login(login)
    if not LOGIN_RE.match(login):
        raise BadRequest(
            "invalid_login",
            "Логин: от 3 до 100 символов — латинские буквы, цифры и . _ @ + -",
        )
    return login


def check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise BadRequest(
            "invalid_password", f"Пароль: от {MIN_PASSWORD} до {MAX_PASSWORD} символов"
        )


def check_role(role: str) -> None:
    if role not in ROLES:
        raise BadRequest("unknown_role", "Роль: owner, manager или viewer")


def _stamp(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


_USER_SQL = (
    "SELECT u.id, u.merchant_id, u.login, u.role, u.password_hash, u.disabled_at, "
    "m.name AS merchant_name, m.timezone FROM cabinet_users u "
    "JOIN merchants m ON m.id = u.merchant_id WHERE m.status = 'active' "
)


def _user(r: Row) -> StaffUser:
    return StaffUser(
        id=int(r["id"]),
        merchant_id=int(r["merchant_id"]),
        merchant_name=str(r["merchant_name"]),
        timezone=zone(str(r["timezone"])),
        login=str(r["login"]),
        role=str(r["role"]),
        stamp=_stamp(str(r["password_hash"])),
    )


async def create_user(
    deps: Deps, merchant_id: int, login: str, password: str, role: str,
    created_by: str | None = None,
) -> int:  # fmt: skip
    login = check_login(login)
    check_password(password)
    check_role(role)
    if not await deps.db.fetch_value("SELECT id FROM merchants WHERE id = :m", {"m": merchant_id}):
        raise NotFound("merchant_not_found", f"Компания #{merchant_id} не найдена")
    password_hash = await asyncio.to_thread(_hasher.hash, password)
    try:
        async with deps.db.transaction() as tx:
            return await tx.insert(
                "INSERT INTO cabinet_users (merchant_id, login, password_hash, role, "
                "disabled_at, created_at, created_by) VALUES (:m, :login, :hash, :role, "
                "NULL, :now, :by) RETURNING id",
                {"m": merchant_id, "login": login, "hash": password_hash, "role": role,
                 "now": to_epoch(deps.clock()), "by": created_by},
            )  # fmt: skip
    except Exception as exc:
        if is_unique_violation(exc):
            raise Conflict("login_taken", f"Логин «{login}» уже занят") from None
        raise


async def user_by_login(deps: Deps, merchant_id: int, login: str) -> StaffUser | None:
    """The merchant's enabled account with this login, if any."""
    row = await deps.db.fetch_one(
        _USER_SQL + "AND u.merchant_id = :m AND u.login = :login AND u.disabled_at IS NULL",
        {"m": merchant_id, "login": login},
    )
    return None if row is None else _user(row)


async def current_user(deps: Deps, user_id: int, stamp: str) -> StaffUser | None:
    """The signed-in user of a session, or None when disabled, removed or re-passworded."""
    row = await deps.db.fetch_one(
        _USER_SQL + "AND u.id = :u AND u.disabled_at IS NULL", {"u": user_id}
    )
    if row is None:
        return None
    user = _user(row)
    return user if user.stamp == stamp else None


async def sign_in(deps: Deps, login: str, password: str, ip: str) -> StaffUser | None:
    """The user for a right password; None for a wrong one (recorded); TooManyAttempts
    while a limit holds."""
    settings = deps.settings
    login = normalize_login(login)[:100]
    ip = ip[:64]
    now = to_epoch(deps.clock())
    since = now - settings.cabinet_sign_in_window_seconds
    counts = await deps.db.fetch_one(
        "SELECT (SELECT COUNT(*) FROM cabinet_sign_in_failures WHERE login = :l "
        "AND created_at > :since) AS by_login, (SELECT COUNT(*) FROM "
        "cabinet_sign_in_failures WHERE ip = :ip AND created_at > :since) AS by_ip",
        {"l": login, "ip": ip, "since": since},
    )
    assert counts is not None
    if (
        int(counts["by_login"]) >= settings.cabinet_failures_per_login
        or int(counts["by_ip"]) >= settings.cabinet_failures_per_ip
    ):
        raise TooManyAttempts()
    row = await deps.db.fetch_one(
        _USER_SQL + "AND u.login = :l AND u.disabled_at IS NULL", {"l": login}
    )
    stored = _DUMMY_HASH if row is None else str(row["password_hash"])
    ok = await asyncio.to_thread(_verify, stored, password[:MAX_PASSWORD])
    async with deps.db.transaction() as tx:
        if row is None or not ok:
            await tx.execute(
                "INSERT INTO cabinet_sign_in_failures (login, ip, created_at) "
                "VALUES (:l, :ip, :now)",
                {"l": login, "ip": ip, "now": now},
            )
            # The window's past is no longer counted: keep the table small.
            await tx.execute(
                "DELETE FROM cabinet_sign_in_failures WHERE (login = :l OR ip = :ip) "
                "AND created_at <= :since",
                {"l": login, "ip": ip, "since": since},
            )
            return None
        await tx.execute("DELETE FROM cabinet_sign_in_failures WHERE login = :l", {"l": login})
    return _user(row)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True, slots=True)
class StaffRow:
    id: int
    login: str
    role: str
    disabled: bool
    created_at: int
    created_by: str | None


async def list_users(deps: Deps, merchant_id: int) -> list[StaffRow]:
    rows = await deps.db.fetch_all(
        "SELECT id, login, role, disabled_at, created_at, created_by FROM cabinet_users "
        "WHERE merchant_id = :m ORDER BY id",
        {"m": merchant_id},
    )
    return [
        StaffRow(int(r["id"]), str(r["login"]), str(r["role"]), r["disabled_at"] is not None,
                 int(r["created_at"]), r["created_by"])
        for r in rows
    ]  # fmt: skip


async def set_disabled(deps: Deps, merchant_id: int, user_id: int, disabled: bool) -> None:
    """Disable or enable a staff account of this merchant (a disabled one is signed out
    at its next request). The merchant's last enabled owner cannot be disabled."""
    async with deps.db.transaction() as tx:
        row = await tx.fetch_one(
            "SELECT role, disabled_at FROM cabinet_users WHERE merchant_id = :m AND id = :u",
            {"m": merchant_id, "u": user_id},
        )
        if row is None:
            raise NotFound("staff_not_found", "Сотрудник не найден")
        if disabled and row["role"] == "owner" and row["disabled_at"] is None:
            owners = await tx.fetch_value(
                "SELECT COUNT(*) FROM cabinet_users WHERE merchant_id = :m AND role = 'owner' "
                "AND disabled_at IS NULL",
                {"m": merchant_id},
            )
            if int(owners or 0) <= 1:
                raise Conflict("last_owner", "Нельзя отключить единственного владельца")
        await tx.execute(
            "UPDATE cabinet_users SET disabled_at = :at WHERE merchant_id = :m AND id = :u",
            {"at": to_epoch(deps.clock()) if disabled else None, "m": merchant_id, "u": user_id},
        )
