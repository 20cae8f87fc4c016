"""The write-ready form of a parsed file: blind indexes and ciphertexts computed once,
off the event loop (a 100 000-row file is a few hundred thousand AES and HMAC calls)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from cloud.clock import to_epoch
from cloud.crypto import BlindIndex, PersonalDataCipher
from cloud.engine.lifecycle import local_midnight
from cloud.engine.tiers import tier_after_purchase
from cloud.services.customers import _ean13
from cloud.services.customers_io.validate import Entry
from cloud.services.programs import LoadedProgram


@dataclass(slots=True)
class Prepared:
    entry: Entry
    phone_index: str
    card_index: str | None
    params: dict[str, object]
    """The customer row's columns (merchant, indexes, ciphertexts, dates)."""
    card_enc: bytes | None
    virtual_number: str
    virtual_index: str
    virtual_enc: bytes
    lots: list[tuple[int, int | None]]
    """``(kopecks, expires_at)`` per lot: it lapses at the local midnight after its date."""


def draw_virtual_number() -> str:
    """A virtual card number as ``cloud.services.customers.new_virtual_number`` draws it
    (prefix 2, EAN-13), in one random draw instead of eleven."""
    return _ean13("2" + f"{secrets.randbelow(10**11):011d}")


def _lapse(last_day: date | None, tz: ZoneInfo) -> int | None:
    """A lot valid through ``last_day`` lapses at the local midnight that ends it."""
    return None if last_day is None else _day_start(last_day + timedelta(days=1), tz)


def _day_start(day: date | None, tz: ZoneInfo) -> int | None:
    return None if day is None else to_epoch(local_midnight(day, tz))


def computed_tier(program: LoadedProgram | None, lifetime: int) -> str | None:
    """The tier a customer with these lifetime purchases holds under the live program: as
    if the purchases were one past purchase (the entry tier, or higher by the lifetime
    thresholds); with none, the entry tier only where the program gives it at
    registration."""
    if program is None:
        return None
    if lifetime > 0:
        return tier_after_purchase(program.compiled, None, lifetime)
    if program.program.tier_assignment == "registration":
        return program.program.tiers[0].code
    return None


def prepare(
    entries: list[Entry],
    merchant_id: int,
    cipher: PersonalDataCipher,
    index: BlindIndex,
    tz: ZoneInfo,
    program: LoadedProgram | None,
) -> list[Prepared]:
    prepared: list[Prepared] = []
    # A file repeats a few dates (expiry, consent) across thousands of rows: each local
    # midnight is computed once.
    lapses: dict[date | None, int | None] = {}
    starts: dict[date | None, int | None] = {}

    def lapse(day: date | None) -> int | None:
        if day not in lapses:
            lapses[day] = _lapse(day, tz)
        return lapses[day]

    def start(day: date | None) -> int | None:
        if day not in starts:
            starts[day] = _day_start(day, tz)
        return starts[day]

    for entry in entries:
        fields = entry.fields
        card = fields.get("card")
        birthday = fields.get("birthday")
        lifetime = int(fields.get("lifetime_purchases") or 0)
        email = fields.get("email")
        name = fields.get("name")
        virtual = draw_virtual_number()
        params: dict[str, object] = {
            "m": merchant_id,
            "pi": index.of(merchant_id, "phone", entry.phone),
            "phone": cipher.encrypt(merchant_id, entry.phone),
            "name": None if name is None else cipher.encrypt(merchant_id, name),
            "email": None if email is None else cipher.encrypt(merchant_id, email),
            "birthday": None if birthday is None else cipher.encrypt(
                merchant_id, birthday.isoformat()),
            "tier": fields.get("tier") or computed_tier(program, lifetime),
            "explicit_tier": fields.get("tier"),
            "lp": lifetime,
            "cm": start(fields.get("consent_messages")),
            "cpd": start(fields.get("consent_personal_data")),
        }  # fmt: skip
        prepared.append(
            Prepared(
                entry=entry,
                phone_index=str(params["pi"]),
                card_index=None if card is None else index.of(merchant_id, "card", card),
                params=params,
                card_enc=None if card is None else cipher.encrypt(merchant_id, card),
                virtual_number=virtual,
                virtual_index=index.of(merchant_id, "card", virtual),
                virtual_enc=cipher.encrypt(merchant_id, virtual),
                lots=[(lot.amount, lapse(lot.expires_on)) for lot in entry.lots],
            )
        )
    return prepared
