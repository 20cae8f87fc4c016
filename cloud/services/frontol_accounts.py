"""Frontol Priority API tenants: one organization per merchant, its access key, and the
store and till a request names.

Frontol signs every request with ``FrontolAuth md5(access key + raw body)``: the key
itself must be kept, so it is stored encrypted with the merchant bound as associated data
(like a Telegram bot token) and shown once when issued or rotated. The organization id is
ours (``frontol_organizations.organization``, unique), so it names exactly one merchant;
it is also part of the base address the merchant types into Frontol, which lets the
signature be checked on the raw body before anything in it is parsed.

A request's ``businessUnit`` is our store with that ``external_id`` and its ``workPlace``
a ``frontol`` terminal of that store with that ``external_id``; both are created on
first sight (as Evotor's sync creates what Evotor reports), in the merchant's time zone,
so a new till works without set-up and the merchant renames or re-zones them later.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import datetime

from cloud.clock import to_epoch
from cloud.errors import PaymentRequired, Unauthorized
from cloud.services import merchants
from cloud.services.deps import Deps
from cloud.services.merchants import Liveness, TerminalContext, zone

CHANNEL = "frontol"
SCHEME = "FrontolAuth"


@dataclass(frozen=True, slots=True)
class Link:
    organization: str
    access_key: str | None
    """Only right after issuing or rotating: it is never shown again."""
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Organization:
    merchant_id: int
    organization: str
    status: str
    timezone: str


def bad_signature() -> Unauthorized:
    return Unauthorized("frontol_bad_signature", "Неверная подпись запроса FrontolAuth")


def _new_organization() -> str:
    return f"org-{secrets.token_hex(8)}"


async def issue_key(deps: Deps, merchant_id: int) -> Link:
    """Issue the merchant's access key, or replace it (the old key stops working at once;
    the organization id stays, so only the key is retyped at the tills)."""
    key = secrets.token_urlsafe(32)
    now = deps.clock()
    epoch = to_epoch(now)
    async with deps.db.transaction() as tx:
        row = await tx.fetch_one(
            "SELECT organization, created_at FROM frontol_organizations WHERE merchant_id = :m",
            {"m": merchant_id},
        )
        params = {"m": merchant_id, "k": deps.cipher.encrypt(merchant_id, key), "now": epoch}
        if row is None:
            organization, created = _new_organization(), epoch
            await tx.execute(
                "INSERT INTO frontol_organizations (merchant_id, organization, key_enc, "
                "created_at, updated_at) VALUES (:m, :o, :k, :now, :now)",
                {**params, "o": organization},
            )
        else:
            organization, created = str(row["organization"]), int(row["created_at"])
            await tx.execute(
                "UPDATE frontol_organizations SET key_enc = :k, updated_at = :now "
                "WHERE merchant_id = :m",
                params,
            )
    return Link(organization, key, datetime.fromtimestamp(created, now.tzinfo), now)


async def link_of(deps: Deps, merchant_id: int) -> Link | None:
    row = await deps.db.fetch_one(
        "SELECT organization, created_at, updated_at FROM frontol_organizations "
        "WHERE merchant_id = :m",
        {"m": merchant_id},
    )
    if row is None:
        return None
    tz = deps.clock().tzinfo
    return Link(
        str(row["organization"]), None,
        datetime.fromtimestamp(int(row["created_at"]), tz),
        datetime.fromtimestamp(int(row["updated_at"]), tz),
    )  # fmt: skip


def signature(key: str, body: bytes) -> str:
    """What Frontol puts after ``FrontolAuth``: md5 of the key's bytes and the body's."""
    return hashlib.md5(key.encode() + body, usedforsecurity=False).hexdigest()


def _signed(key: str, body: bytes, header: str | None) -> bool:
    scheme, _, presented = (header or "").strip().partition(" ")
    expected = signature(key, body).encode()
    return scheme == SCHEME and hmac.compare_digest(expected, presented.strip().lower().encode())


def _suspended() -> PaymentRequired:
    return PaymentRequired("merchant_suspended", "Обслуживание программы лояльности приостановлено")


@dataclass(frozen=True, slots=True)
class Remembered:
    """An organization as last read, with its key: ``key_enc`` (the stored ciphertext,
    a fresh nonce at every rotation) tells whether it is still the key."""

    org: Organization
    key: str
    key_enc: bytes


class StaleKey(Exception):
    """The remembered key was rotated since: authenticate afresh."""


# A remembered till proves itself inside the request's first read (``Liveness``): its
# organization still has the key the body was checked against, and the till and its
# store still exist (the store's zone). NULL otherwise: authenticate afresh.
TILL_ZONE_SQL = (
    "(SELECT s.timezone FROM frontol_organizations o "
    "JOIN terminals t ON t.id = :frontol_till AND t.merchant_id = o.merchant_id "
    "JOIN stores s ON s.id = t.store_id AND s.merchant_id = o.merchant_id "
    "WHERE o.merchant_id = m.id AND o.organization = :frontol_org AND o.key_enc = :frontol_key)"
)


class Keys:
    """Organizations' keys and tills remembered in process. The raw body is checked
    against the remembered key before it is parsed; a body that fails is checked against
    the database's key, so a rotation is picked up at once. A request costs one read of
    its till (``terminal_for``, which also proves the key current), except a ``deferred``
    one: its remembered till carries a ``Liveness`` that the request's own first read
    (the price's snapshot) proves, so a calculate costs no read of its own."""

    MAX_REMEMBERED = 10_000

    def __init__(self) -> None:
        self._by_org: dict[str, Remembered] = {}
        self._tills: dict[tuple[str, str, str], TerminalContext] = {}

    async def terminal(
        self, deps: Deps, remembered: Remembered, business_unit: str, work_place: str, *,
        deferred: bool = False,
    ) -> TerminalContext:  # fmt: skip
        """The till of the request (``terminal_for``); ``deferred``: a remembered one whose
        liveness the caller's first read proves (``StaleCredential`` from that read asks
        for the request again without deferral)."""
        place = (remembered.org.organization, business_unit, work_place)
        if deferred:
            till = self._tills.get(place)
            if till is not None and till.credential is not None:
                if till.credential.params["frontol_key"] == remembered.key_enc:
                    return till
        context = await terminal_for(deps, remembered, business_unit, work_place)
        if len(self._tills) >= self.MAX_REMEMBERED:
            self._tills.clear()
        proof = Liveness(
            TILL_ZONE_SQL,
            {"frontol_org": place[0], "frontol_key": remembered.key_enc,
             "frontol_till": context.terminal_id},
        )  # fmt: skip
        self._tills[place] = replace(context, credential=proof)
        return context

    async def authenticate(
        self, deps: Deps, organization: str, body: bytes, header: str | None, *,
        fresh: bool = False,
    ) -> Remembered:  # fmt: skip
        remembered = None if fresh else self._by_org.get(organization)
        if remembered is not None and _signed(remembered.key, body, header):
            return remembered
        remembered = await authenticate(deps, organization, body, header)
        if len(self._by_org) >= self.MAX_REMEMBERED:
            self._by_org.clear()
        self._by_org[organization] = remembered
        return remembered


async def authenticate(
    deps: Deps, organization: str, body: bytes, header: str | None
) -> Remembered:
    """The organization whose key signed exactly these bytes, compared in constant time;
    an unknown organization is refused like a wrong signature (nothing to probe)."""
    row = await deps.db.fetch_one(
        "SELECT o.merchant_id, o.key_enc, m.status, m.timezone FROM frontol_organizations o "
        "JOIN merchants m ON m.id = o.merchant_id WHERE o.organization = :o",
        {"o": organization},
    )
    if row is None:
        raise bad_signature()
    merchant_id = int(row["merchant_id"])
    key_enc = bytes(row["key_enc"])
    key = deps.cipher.decrypt(merchant_id, key_enc)
    if not _signed(key, body, header):
        raise bad_signature()
    if row["status"] != "active":
        raise _suspended()
    org = Organization(merchant_id, organization, str(row["status"]), str(row["timezone"]))
    return Remembered(org, key, key_enc)


# One read: the organization's current key and status, the store and the till (a LEFT
# JOIN each, so a store or till not seen yet still returns the organization).
_PLACE_SQL = (
    "SELECT o.key_enc, m.status, s.id AS store_id, s.timezone, t.id AS terminal_id "
    "FROM frontol_organizations o JOIN merchants m ON m.id = o.merchant_id "
    "LEFT JOIN stores s ON s.merchant_id = o.merchant_id AND s.external_id = :bu "
    "LEFT JOIN terminals t ON t.store_id = s.id AND t.merchant_id = o.merchant_id "
    "AND t.channel = 'frontol' AND t.external_id = :wp "
    "WHERE o.merchant_id = :m AND o.organization = :o "
    "ORDER BY s.id, t.id LIMIT 1"
)


async def terminal_for(
    deps: Deps, remembered: Remembered, business_unit: str, work_place: str
) -> TerminalContext:
    """The till of ``workPlace`` in the store of ``businessUnit``, created on first sight.
    ``StaleKey`` when the organization's key is no longer the one that was checked."""
    org = remembered.org
    params = {"m": org.merchant_id, "o": org.organization, "bu": business_unit,
              "wp": work_place}  # fmt: skip
    row = await deps.db.fetch_one(_PLACE_SQL, params)
    if row is None or bytes(row["key_enc"]) != remembered.key_enc:
        raise StaleKey()
    if row["status"] != "active":
        raise _suspended()
    if row["terminal_id"] is None:
        now = deps.clock()
        if row["store_id"] is None:
            store_id = await merchants.create_store(
                deps.db, org.merchant_id, f"Frontol: {business_unit}"[:200], now,
                external_id=business_unit,
            )  # fmt: skip
        else:
            store_id = int(row["store_id"])
        await merchants.create_terminal(
            deps.db, org.merchant_id, store_id, f"Frontol: {work_place}"[:200], now,
            external_id=work_place, channel=CHANNEL,
        )  # fmt: skip
        row = await deps.db.fetch_one(_PLACE_SQL, params)
        assert row is not None and row["terminal_id"] is not None
    return TerminalContext(
        merchant_id=org.merchant_id,
        store_id=int(row["store_id"]),
        terminal_id=int(row["terminal_id"]),
        timezone=zone(str(row["timezone"])),
        merchant_status=str(row["status"]),
    )
