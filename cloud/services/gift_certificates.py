"""Gift certificates: money the merchant owes the bearer, an account of its own.

A certificate is never a bonus: it has no lots, no customer, and a payment by it leaves
every bonus balance alone (``cloud.services.checkout.gift_payments`` spends it at the
till). Each certificate row keeps ``nominal = redeemed + remaining + expired + voided``
and the journal (``gift_certificate_entries``) sums to its ``remaining``.

Lifecycle: issued by the merchant (``issue``), either valid at once or as printed stock
that a till activates when it sells it (``sell``); spent in receipts (partially, or in
one receipt for ``single``, whose leftover lapses at once); given back by a return;
expired by the nightly job (``run_expiry``); voided by the merchant.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cloud.clock import from_epoch, to_epoch
from cloud.db.database import Executor, Row, Transaction
from cloud.engine.text import format_date, format_roubles
from cloud.errors import BadRequest, Conflict, NotFound, Unprocessable
from cloud.services.deps import Deps
from cloud.services.merchants import TerminalContext
from schemas import gift_certificates as wire
from schemas.money import to_kopecks, to_roubles

COLUMNS = (
    "id, number, batch, nominal, redemption, status, remaining, redeemed, expired, voided, "
    "valid_days, expires_at, activated_at, sold_receipt, created_at"
)

# The state a reader sees, as SQL over a row (``g``) and ``:now``: a certificate whose
# time ran out is EXPIRED before the job closes it.
STATE_SQL = {
    "NOT_ACTIVATED": "g.status = 'not_activated' AND (g.expires_at IS NULL OR g.expires_at > :now)",
    "CAN_BE_USED": "g.status = 'active' AND g.expires_at > :now",
    "USED": "g.status = 'used'",
    "EXPIRED": "(g.status = 'expired' OR (g.status IN ('active', 'not_activated') "
    "AND g.expires_at <= :now))",
    "VOIDED": "g.status = 'voided'",
}


@dataclass(frozen=True, slots=True)
class CertificateStatus:
    """What a till (or the МойСклад ``/giftcard`` endpoint) is told about a number."""

    id: int
    number: str
    state: str
    """``NOT_ACTIVATED``, ``CAN_BE_USED``, ``USED``, ``EXPIRED`` or ``VOIDED``."""
    nominal: int
    remaining: int
    """Kopecks that may be spent: 0 unless ``CAN_BE_USED``."""
    available: int
    """``remaining`` less what open receipts hold on it."""
    redemption: str
    expires_at: datetime | None
    """The first instant it is no longer valid (UTC); None for stock whose validity is
    counted from its sale."""


def state_of(row: Row, now: int) -> str:
    status = str(row["status"])
    expires = row["expires_at"]
    due = expires is not None and int(expires) <= now
    if status == "voided":
        return "VOIDED"
    if status == "used":
        return "USED"
    if status == "expired" or due:
        return "EXPIRED"
    return "NOT_ACTIVATED" if status == "not_activated" else "CAN_BE_USED"


async def held_on(executor: Executor, certificate_id: int, now: int, but: str | None = None) -> int:
    """What open receipts hold on the certificate (``but`` that receipt)."""
    return int(
        await executor.fetch_value(
            "SELECT COALESCE(SUM(amount), 0) FROM gift_certificate_holds WHERE certificate_id = :c "
            "AND status = 'active' AND expires_at > :now AND receipt_external_id <> :but",
            {"c": certificate_id, "now": now, "but": "" if but is None else but},
        )
    )


async def status(
    executor: Executor, merchant_id: int, number: str, now: int
) -> CertificateStatus | None:
    """The certificate ``number`` of ``merchant_id`` as of ``now`` (Unix seconds), or
    None when the merchant has no such certificate.

    Returns ``number``, ``id``, ``state`` (``CAN_BE_USED``, ``USED``, ``EXPIRED``, plus
    ``NOT_ACTIVATED`` for printed stock not sold yet and ``VOIDED``), ``nominal`` and
    ``remaining`` in kopecks (remaining is what may be spent: 0 unless ``CAN_BE_USED``),
    ``available`` (remaining less open receipts' holds), ``redemption`` (``partial`` or
    ``single``) and ``expires_at`` (UTC; the first instant it is no longer valid).
    Reads only; one merchant's number never finds another merchant's certificate."""
    row = await executor.fetch_one(
        f"SELECT {COLUMNS} FROM gift_certificates WHERE merchant_id = :m AND number = :n",
        {"m": merchant_id, "n": number.strip()},
    )
    if row is None:
        return None
    state = state_of(row, now)
    remaining = int(row["remaining"]) if state == "CAN_BE_USED" else 0
    held = await held_on(executor, int(row["id"]), now) if remaining else 0
    return CertificateStatus(
        id=int(row["id"]), number=str(row["number"]), state=state,
        nominal=int(row["nominal"]), remaining=remaining, available=max(remaining - held, 0),
        redemption=str(row["redemption"]), expires_at=from_epoch(row["expires_at"]),
    )  # fmt: skip


def state_message(found: CertificateStatus, tz: ZoneInfo) -> str:
    """The cashier's line about a certificate."""
    number = found.number
    if found.state == "CAN_BE_USED":
        until = ""
        if found.expires_at is not None:
            until = f", действует по {format_date(last_day(found.expires_at, tz))}"
        return f"Сертификат №{number}: доступно {format_roubles(found.available)} ₽{until}"
    return {
        "NOT_ACTIVATED": f"Сертификат №{number} не активирован: его ещё не продавали",
        "USED": f"Сертификат №{number} уже использован",
        "EXPIRED": f"Срок действия сертификата №{number} истёк",
        "VOIDED": f"Сертификат №{number} аннулирован",
    }[found.state]


def last_day(expires_at: datetime, tz: ZoneInfo) -> date:
    return expires_at.astimezone(tz).date() - timedelta(days=1)


def midnight_after(day: date, tz: ZoneInfo) -> int:
    """The instant a certificate valid through ``day`` (local) stops being valid."""
    return to_epoch(datetime.combine(day + timedelta(days=1), time(0), tz))


def not_found(number: str) -> NotFound:
    return NotFound("gift_certificate_not_found", f"Сертификат №{number} не найден")


def info(row: Row, now: int, tz: ZoneInfo) -> wire.GiftCertificateInfo:
    state = state_of(row, now)
    remaining, expired = int(row["remaining"]), int(row["expired"])
    if state == "EXPIRED" and row["status"] == "active":
        # Due but not yet closed by the job: shown as it will be.
        remaining, expired = 0, expired + remaining
    elif state == "EXPIRED" and row["status"] == "not_activated":
        remaining = 0  # stock never sold: nothing was owed, nothing lapses

    def at(value: object) -> datetime | None:
        moment = from_epoch(None if value is None else int(str(value)))
        return None if moment is None else moment.astimezone(tz)

    created = at(row["created_at"])
    assert created is not None
    return wire.GiftCertificateInfo(
        id=int(row["id"]), number=str(row["number"]), batch=row["batch"], state=state,
        nominal=to_roubles(int(row["nominal"])), remaining=to_roubles(remaining),
        redeemed=to_roubles(int(row["redeemed"])), expired=to_roubles(expired),
        voided=to_roubles(int(row["voided"])), redemption=row["redemption"],
        valid_days=row["valid_days"], expires_at=at(row["expires_at"]),
        activated_at=at(row["activated_at"]), created_at=created,
    )  # fmt: skip


# ---- the merchant ---------------------------------------------------------------------


async def issue(
    deps: Deps, merchant_id: int, tz: ZoneInfo, body: wire.GiftCertificateIssue
) -> wire.GiftCertificateIssued:
    """Issue the certificates of ``body`` in one transaction (all or none)."""
    now_dt = deps.clock()
    now = to_epoch(now_dt)
    today = now_dt.astimezone(tz).date()
    expires: int | None = None
    if body.valid_until is not None:
        if body.valid_until < today or body.valid_until > today + timedelta(days=3660):
            raise BadRequest(
                "invalid_gift_certificate_expiry",
                "Последний день действия сертификата: от сегодня до десяти лет вперёд",
            )
        expires = midnight_after(body.valid_until, tz)
    elif body.activated:
        assert body.valid_days is not None
        expires = midnight_after(today + timedelta(days=body.valid_days - 1), tz)
    nominal = to_kopecks(body.nominal)
    async with deps.db.transaction() as tx:
        numbers = list(body.numbers or [])
        if numbers:
            taken = await _taken(tx, merchant_id, numbers)
            if taken:
                raise Conflict(
                    "gift_certificate_exists",
                    f"Сертификаты уже выпущены: №{', №'.join(sorted(taken)[:5])}",
                )
        else:
            assert body.count is not None
            numbers = await _draw_numbers(tx, merchant_id, body.count)
        before = int(await tx.fetch_value("SELECT COALESCE(MAX(id), 0) FROM gift_certificates"))
        await tx.execute_many(
            "INSERT INTO gift_certificates (merchant_id, number, batch, nominal, redemption, "
            "status, remaining, redeemed, expired, voided, valid_days, expires_at, "
            "activated_at, created_at, updated_at) VALUES (:m, :n, :b, :nominal, :r, :s, "
            ":nominal, 0, 0, 0, :days, :exp, :act, :now, :now)",
            [
                {"m": merchant_id, "n": number, "b": body.batch, "nominal": nominal,
                 "r": body.redemption, "s": "active" if body.activated else "not_activated",
                 "days": body.valid_days, "exp": expires,
                 "act": now if body.activated else None, "now": now}
                for number in numbers
            ],
        )  # fmt: skip
        # The journal opens with the nominal, one statement for the whole batch.
        await tx.execute(
            "INSERT INTO gift_certificate_entries (merchant_id, certificate_id, kind, amount, "
            "receipt_id, key, created_at) SELECT g.merchant_id, g.id, 'issue', g.nominal, NULL, "
            "'issue:' || CAST(g.id AS TEXT), :now FROM gift_certificates g WHERE "
            "g.merchant_id = :m AND g.id > :before AND g.created_at = :now AND NOT EXISTS "
            "(SELECT 1 FROM gift_certificate_entries e WHERE e.certificate_id = g.id)",
            {"m": merchant_id, "before": before, "now": now},
        )
        rows = await tx.fetch_all(
            f"SELECT {COLUMNS} FROM gift_certificates g WHERE g.merchant_id = :m "
            "AND g.id > :before AND g.created_at = :now ORDER BY g.id",
            {"m": merchant_id, "before": before, "now": now},
        )
    wanted = set(numbers)
    return wire.GiftCertificateIssued(
        batch=body.batch,
        certificates=[info(row, now, tz) for row in rows if row["number"] in wanted],
    )


async def _taken(tx: Transaction, merchant_id: int, numbers: list[str]) -> set[str]:
    """Which of ``numbers`` the merchant has already (by the unique index, 500 a query)."""
    taken: set[str] = set()
    for start in range(0, len(numbers), 500):
        chunk = numbers[start : start + 500]
        params: dict[str, object] = {f"n{i}": number for i, number in enumerate(chunk)}
        marks = ", ".join(f":n{i}" for i in range(len(chunk)))
        rows = await tx.fetch_all(
            f"SELECT number FROM gift_certificates WHERE merchant_id = :m AND number IN ({marks})",
            {"m": merchant_id, **params},
        )
        taken.update(str(row["number"]) for row in rows)
    return taken


async def _draw_numbers(tx: Transaction, merchant_id: int, count: int) -> list[str]:
    """Random 16-digit numbers none of the merchant's certificates has (hard to guess:
    a bearer instrument's number is all a till asks for)."""
    drawn: set[str] = set()
    while len(drawn) < count:
        fresh = {f"{secrets.randbelow(9 * 10**15) + 10**15}" for _ in range(count - len(drawn))}
        fresh -= drawn
        drawn |= fresh - await _taken(tx, merchant_id, sorted(fresh))
    return sorted(drawn)


async def find(
    deps: Deps, merchant_id: int, certificate_id: int, tz: ZoneInfo
) -> wire.GiftCertificateInfo:
    row = await deps.db.fetch_one(
        f"SELECT {COLUMNS} FROM gift_certificates g WHERE g.merchant_id = :m AND g.id = :id",
        {"m": merchant_id, "id": certificate_id},
    )
    if row is None:
        raise not_found(str(certificate_id))
    return info(row, to_epoch(deps.clock()), tz)


async def listing(
    deps: Deps, merchant_id: int, tz: ZoneInfo, *, state: str | None, batch: str | None,
    number: str | None, limit: int, before: int | None,
) -> wire.GiftCertificateList:  # fmt: skip
    """The merchant's certificates, newest first, a page at a time."""
    now = to_epoch(deps.clock())
    where = ["g.merchant_id = :m"]
    if state is not None:
        where.append(STATE_SQL[state])
    if batch is not None:
        where.append("g.batch = :batch")
    if number is not None:
        where.append("g.number = :number")
    if before is not None:
        where.append("g.id < :before")
    rows = await deps.db.fetch_all(
        f"SELECT {COLUMNS} FROM gift_certificates g WHERE {' AND '.join(where)} "
        "ORDER BY g.id DESC LIMIT :limit",
        {"m": merchant_id, "now": now, "batch": batch, "number": number, "before": before,
         "limit": limit + 1},
    )  # fmt: skip
    page = rows[:limit]
    return wire.GiftCertificateList(
        certificates=[info(row, now, tz) for row in page],
        next=int(page[-1]["id"]) if len(rows) > limit else None,
    )


async def lock(
    tx: Transaction, merchant_id: int, where: str, params: dict[str, object]
) -> Row | None:
    """One certificate, locked for the rest of the transaction (``FOR UPDATE`` on
    PostgreSQL; SQLite's writer transaction is the lock)."""
    suffix = " FOR UPDATE" if tx.dialect == "postgresql" else ""
    return await tx.fetch_one(
        f"SELECT {COLUMNS} FROM gift_certificates g WHERE g.merchant_id = :m AND {where}{suffix}",
        {"m": merchant_id, **params},
    )


async def void(
    deps: Deps, merchant_id: int, certificate_id: int, tz: ZoneInfo
) -> wire.GiftCertificateInfo:
    """Void a certificate not yet used up: what remains stops being owed. A certificate
    an open receipt holds money on is refused (cancel that receipt first)."""
    now = to_epoch(deps.clock())
    async with deps.db.transaction() as tx:
        row = await lock(tx, merchant_id, "g.id = :id", {"id": certificate_id})
        if row is None:
            raise not_found(str(certificate_id))
        state = state_of(row, now)
        if state == "VOIDED":
            return info(row, now, tz)
        if state not in ("NOT_ACTIVATED", "CAN_BE_USED") or await held_on(tx, certificate_id, now):
            raise Conflict(
                "gift_certificate_not_voidable",
                "Аннулировать можно только действующий или непроданный сертификат, на котором "
                "нет резерва открытого чека",
            )
        await move(
            tx, merchant_id, row, "void", -int(row["remaining"]), None, f"void:{row['id']}", now
        )
        await tx.execute(
            "UPDATE gift_certificates SET voided = voided + remaining, remaining = 0, "
            "status = 'voided', updated_at = :now WHERE id = :id",
            {"id": certificate_id, "now": now},
        )
        row = await lock(tx, merchant_id, "g.id = :id", {"id": certificate_id})
    assert row is not None
    return info(row, now, tz)


async def move(
    tx: Transaction, merchant_id: int, row: Row, kind: str, amount: int, receipt_id: int | None,
    key: str, now: int,
) -> None:  # fmt: skip
    await tx.execute(
        "INSERT INTO gift_certificate_entries (merchant_id, certificate_id, kind, amount, "
        "receipt_id, key, created_at) VALUES (:m, :c, :k, :a, :r, :key, :now)",
        {"m": merchant_id, "c": row["id"], "k": kind, "a": amount, "r": receipt_id, "key": key,
         "now": now},
    )  # fmt: skip


# ---- the till's sale of printed stock ---------------------------------------------------


async def sell(
    deps: Deps, terminal: TerminalContext, body: wire.GiftCertificateSell
) -> wire.GiftCertificateStatus:
    """A till sold a printed certificate: it becomes valid (its ``valid_days`` counted
    from today). The sale itself is an advance payment on the till's own receipt, not a
    purchase: it goes through no checkout and earns no bonuses (they come when the
    certificate is spent). A repeat with the same receipt id answers the same."""
    now_dt = deps.clock()
    now = to_epoch(now_dt)
    tz = terminal.timezone
    async with deps.db.transaction() as tx:
        row = await lock(tx, terminal.merchant_id, "g.number = :n", {"n": body.number})
        if row is None:
            raise not_found(body.number)
        if str(row["status"]) != "not_activated":
            if row["sold_receipt"] != body.receipt_id:
                raise Conflict(
                    "gift_certificate_already_sold",
                    f"Сертификат №{body.number} уже продан или выдан: продать его ещё раз нельзя",
                )
        else:
            if state_of(row, now) == "EXPIRED":
                raise expired(body.number)
            expires = row["expires_at"]
            if expires is None:
                days = int(row["valid_days"])
                expires = midnight_after(
                    now_dt.astimezone(tz).date() + timedelta(days=days - 1), tz
                )
            await move(
                tx, terminal.merchant_id, row, "activate", 0, None, f"activate:{row['id']}", now
            )
            await tx.execute(
                "UPDATE gift_certificates SET status = 'active', activated_at = :now, "
                "expires_at = :exp, sold_receipt = :r, sold_terminal_id = :t, updated_at = :now "
                "WHERE id = :id",
                {"now": now, "exp": expires, "r": body.receipt_id, "t": terminal.terminal_id,
                 "id": row["id"]},
            )  # fmt: skip
        found = await status(tx, terminal.merchant_id, body.number, now)
    assert found is not None
    return till_status(found, tz)


def expired(number: str) -> Unprocessable:
    return Unprocessable("gift_certificate_expired", f"Срок действия сертификата №{number} истёк")


def till_status(found: CertificateStatus, tz: ZoneInfo) -> wire.GiftCertificateStatus:
    return wire.GiftCertificateStatus(
        number=found.number, state=found.state,
        nominal=to_roubles(found.nominal), remaining=to_roubles(found.remaining),
        available=to_roubles(found.available), redemption=found.redemption,
        expires_at=None if found.expires_at is None else found.expires_at.astimezone(tz),
        message=state_message(found, tz),
    )  # fmt: skip
