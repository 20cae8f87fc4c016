"""Customers: registration, look-up by phone or card, profile and bonus history.

Personal data (phone, name, email, birthday, card numbers) is stored only as AES-GCM
ciphertext; every look-up goes through the ``cards`` table by a keyed blind index. The
phone is itself a card (kind ``phone``, index kind ``phone``); physical and virtual
cards share the index kind ``card``, so a scanned QR and a plastic barcode are found
the same way.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import date

from cloud import engine
from cloud.clock import to_epoch
from cloud.db.database import Executor, Transaction, is_unique_violation
from cloud.errors import BadRequest, Conflict, NotFound
from cloud.ledger.balance import Balance, read_balance
from cloud.ledger.lots import accrue
from cloud.phones import normalize_card, normalize_phone
from cloud.services import referrals
from cloud.services.deps import Deps
from cloud.services.merchants import zone
from cloud.services.programs import LoadedProgram
from cloud.services.sms_codes import consume_code, verify_code
from schemas.customers import RegisterCustomer
from schemas.money import to_kopecks

CHANNELS = frozenset({"terminal", "api", "self_service", "cabinet", "import"})
TILL_CHANNELS = frozenset({"terminal", "api"})
"""Registration by a cashier at the till: under a ``physical_card`` program it hands the
plastic card out, so the card's number is required there (and only there: a customer
who registers on their own gets the virtual card and a plastic one later at the till)."""
NO_PLASTIC_CARD_MESSAGE = (
    "У клиента нет пластиковой карты: выдайте карту и привяжите её к телефону клиента"
)
MAX_HISTORY_PAGE = 100
_VIRTUAL_PREFIX = "2"  # EAN-13 prefixes 20-29 are reserved for in-store numbering
_BIGINT_MAX = 2**63 - 1


@dataclass(frozen=True, slots=True)
class CardRecord:
    id: int
    kind: str
    number: str
    """Decrypted: E.164 for the phone card, the normalised number otherwise."""


@dataclass(frozen=True, slots=True)
class CustomerProfileData:
    """A decrypted profile. Instants are Unix seconds, amounts kopecks."""

    id: int
    phone: str
    name: str | None
    email: str | None
    birthday: date | None
    tier_code: str | None
    tier_name: str | None
    balance: Balance
    purchase_count: int
    lifetime_purchases: int
    last_purchase_at: int | None
    consent_personal_data_at: int | None
    consent_messages_at: int | None
    registration_channel: str
    registered_store_id: int | None
    created_at: int
    cards: list[CardRecord]
    referral_code: str = ""
    referrer_id: int | None = None
    gender: str | None = None
    acquisition_channel: str | None = None
    campaign: str | None = None
    consent_messages_version: str | None = None
    consent_personal_data_version: str | None = None
    children: list[tuple[str | None, date]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CustomerSummaryData:
    id: int
    name: str | None
    tier_code: str | None
    tier_name: str | None
    available: int
    referral_code: str = ""
    messages: tuple[str, ...] = ()
    """What the till shows the cashier (a physical_card program's missing plastic card)."""


@dataclass(frozen=True, slots=True)
class HistoryRow:
    id: int
    kind: str
    amount: int
    created_at: int
    receipt_external_id: str | None
    """The sale's receipt id, also on the entries of a refund of it."""
    refund_external_id: str | None = None
    """The refund's own id on the entries of a refund."""


@dataclass(frozen=True, slots=True)
class HistoryPage:
    entries: list[HistoryRow]
    next_before: int | None
    """Pass as ``before_id`` for the next (older) page; ``None`` on the last page."""


def not_found() -> NotFound:
    return NotFound("customer_not_found", "Клиент не найден")


def _customer_exists() -> Conflict:
    return Conflict("customer_exists", "Клиент с таким номером телефона уже зарегистрирован")


def _card_taken() -> Conflict:
    return Conflict("card_taken", "Эта карта уже привязана к другому клиенту")


def _physical_card_required() -> BadRequest:
    return BadRequest(
        "physical_card_required",
        "В программе с пластиковыми картами на кассе клиента регистрируют с картой: "
        "отсканируйте или введите номер выдаваемой карты",
    )


def needs_plastic_card(program: LoadedProgram | None) -> bool:
    return program is not None and program.program.card == "physical_card"


def mask_phone(e164: str) -> str:
    """``+79991234567`` -> ``+7999***4567``: enough for the cashier to confirm it."""
    if len(e164) <= 8:
        return e164[:2] + "***" + e164[-2:]
    return e164[:5] + "***" + e164[-4:]


def _ean13(body12: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)


def new_virtual_number() -> str:
    """A random 13-digit number with a valid EAN-13 check digit, so any scanner reads
    its barcode; the QR code carries the same digits."""
    body = _VIRTUAL_PREFIX + "".join(str(secrets.randbelow(10)) for _ in range(11))
    return _ean13(body)


async def live_program(deps: Deps, merchant_id: int, executor: Executor | None = None) -> (
    LoadedProgram | None
):  # fmt: skip
    version_id = await (executor or deps.db).fetch_value(
        "SELECT active_program_version_id FROM merchants WHERE id = :m", {"m": merchant_id}
    )
    if version_id is None:
        return None
    return await deps.programs.get(int(version_id), executor)


def _tier_name(program: LoadedProgram | None, code: str | None) -> str | None:
    if program is None or code is None:
        return None
    tier = program.program.tier(code)
    return tier.name if tier is not None else None


# ---- registration ----------------------------------------------------------------------


async def register_customer(
    deps: Deps,
    merchant_id: int,
    data: RegisterCustomer,
    *,
    store_id: int | None,
    channel: str,
    sms_code: str | None,
    verified_code_id: int | None = None,
    phone_proven: bool = False,
) -> int:
    """Register a customer and return their id.

    Unless ``channel == "import"`` the customer must prove the phone with a
    ``registration`` SMS code; the code is used up in the same transaction that creates
    the customer, so a refused registration (a taken card, say) leaves it usable.
    ``verified_code_id`` is a code the caller already checked with ``verify_code(...,
    consume=False)`` for this phone (the self-registration pages check it one page before
    the profile, which may take longer to fill than the code lives): it is only used up.
    ``phone_proven``: the phone was proven another way and needs no code (the Telegram
    bot accepts only the user's own contact, a number Telegram itself verified)."""
    if channel not in CHANNELS:
        raise BadRequest("invalid_channel", f"Неизвестный канал регистрации «{channel}»")
    e164 = normalize_phone(data.phone)
    phone_index = deps.index.of(merchant_id, "phone", e164)
    if not data.consent.personal_data:
        raise BadRequest(
            "consent_required", "Нужно согласие клиента на обработку персональных данных"
        )
    card_number = normalize_card(data.card) if data.card is not None else None
    card_index = deps.index.of(merchant_id, "card", card_number) if card_number else None
    if card_number is None and channel in TILL_CHANNELS:
        if needs_plastic_card(await live_program(deps, merchant_id)):
            raise _physical_card_required()

    # Checked before the code so a refused registration does not cost the customer an
    # SMS attempt; checked again (by the unique constraints) when writing.
    await _ensure_free(deps.db, merchant_id, phone_index, card_index)
    referrer_id = None
    if data.referrer is not None:
        # The referrer exists before the newcomer, so the graph cannot have a cycle.
        referrer_id = await referrals.resolve_referrer(
            deps, deps.db, merchant_id, phone=data.referrer.phone, card=data.referrer.card,
            code=data.referrer.code, own_phone=e164, own_card=card_number,
        )  # fmt: skip

    code_id: int | None = verified_code_id
    if channel != "import" and code_id is None and not phone_proven:
        if not sms_code:
            raise BadRequest("sms_code_required", "Для регистрации нужен код из SMS")
        code_id = await verify_code(
            deps, merchant_id, e164, "registration", sms_code, consume=False
        )

    now = to_epoch(deps.clock())
    cipher = deps.cipher
    try:
        async with deps.db.transaction() as tx:
            if code_id is not None:
                await consume_code(tx, merchant_id, code_id, now)
            await _ensure_free(tx, merchant_id, phone_index, card_index)
            program = await live_program(deps, merchant_id, tx)
            tier_code = None
            if program is not None and program.program.tier_assignment == "registration":
                tier_code = program.program.tiers[0].code
            customer_id = await tx.insert(
                "INSERT INTO customers (merchant_id, phone_index, phone_enc, name_enc, "
                "email_enc, birthday_enc, birthday_md, tier_code, lifetime_purchases, "
                "purchase_count, last_purchase_at, registration_channel, registered_store_id, "
                "consent_messages_at, consent_personal_data_at, created_at, referrer_id, "
                "gender, acquisition_channel, campaign, consent_messages_version, "
                "consent_personal_data_version) "
                "VALUES (:m, :phone_index, :phone, :name, :email, :birthday, :birthday_md, "
                ":tier, 0, 0, NULL, :channel, :store, :consent_messages, :consent_pd, :now, "
                ":referrer, :gender, :acquisition, :campaign, :messages_version, :pd_version) "
                "RETURNING id",
                {
                    "m": merchant_id,
                    "phone_index": phone_index,
                    "phone": cipher.encrypt(merchant_id, e164),
                    "name": cipher.encrypt_optional(merchant_id, data.name),
                    "email": cipher.encrypt_optional(
                        merchant_id, data.email.strip().lower() if data.email else None
                    ),
                    "birthday": cipher.encrypt_optional(
                        merchant_id, data.birthday.isoformat() if data.birthday else None
                    ),
                    # Month and day in clear for the birthday job's index (no year).
                    "birthday_md": (
                        data.birthday.month * 100 + data.birthday.day if data.birthday else None
                    ),
                    "tier": tier_code,
                    "channel": channel,
                    "store": store_id,
                    "consent_messages": now if data.consent.messages else None,
                    "consent_pd": now,
                    "now": now,
                    "referrer": referrer_id,
                    "gender": data.gender,
                    "acquisition": data.acquisition_channel,
                    "campaign": data.campaign,
                    "messages_version": data.consent.messages_version
                    if data.consent.messages
                    else None,
                    "pd_version": data.consent.personal_data_version,
                },
            )
            if data.children:
                await tx.execute_many(
                    "INSERT INTO customer_children (merchant_id, customer_id, name_enc, "
                    "birthday_enc, birthday_md, created_at) "
                    "VALUES (:m, :c, :name, :birthday, :md, :now)",
                    [
                        {"m": merchant_id, "c": customer_id,
                         "name": cipher.encrypt_optional(merchant_id, child.name),
                         "birthday": cipher.encrypt(merchant_id, child.birthday.isoformat()),
                         "md": child.birthday.month * 100 + child.birthday.day, "now": now}
                        for child in data.children
                    ],
                )  # fmt: skip
            await _insert_card(tx, deps, merchant_id, customer_id, "phone", phone_index, e164, now)
            if card_number is not None and card_index is not None:
                await _insert_card(
                    tx, deps, merchant_id, customer_id, "physical", card_index, card_number, now
                )
            await _insert_virtual_card(tx, deps, merchant_id, customer_id, now)
            if program is not None:
                await _gifts(
                    tx, deps, merchant_id, customer_id, program, channel, store_id,
                    referred=referrer_id is not None,
                )  # fmt: skip
            if tier_code is not None:
                await tx.insert(
                    "INSERT INTO tier_changes (merchant_id, customer_id, from_tier, to_tier, "
                    "reason, receipt_id, created_at) "
                    "VALUES (:m, :c, NULL, :tier, 'registration', NULL, :now) RETURNING id",
                    {"m": merchant_id, "c": customer_id, "tier": tier_code, "now": now},
                )
    except Exception as exc:
        # A concurrent registration won the race between our check and our insert.
        if not is_unique_violation(exc):
            raise
        await _ensure_free(deps.db, merchant_id, phone_index, card_index)
        raise _customer_exists() from exc
    return customer_id


async def _gifts(
    tx: Transaction,
    deps: Deps,
    merchant_id: int,
    customer_id: int,
    program: LoadedProgram,
    channel: str,
    store_id: int | None,
    *,
    referred: bool,
) -> None:
    """The program's welcome bonuses and, for a newcomer who named a referrer, the
    referral rule's starting bonus, credited with the registration. An imported base
    brings its own balances, so imports get neither; the welcome gift on
    self-registration only when the program says so."""
    gift = program.program.gifts.welcome
    if channel == "import":
        return
    referral = program.program.gifts.referral
    welcome = gift is not None and (channel != "self_service" or gift.on_self_registration)
    starting = referred and referral is not None and referral.referee_bonus is not None
    if not welcome and not starting:
        return
    timezone = await tx.fetch_value(
        "SELECT COALESCE(s.timezone, m.timezone) FROM merchants m "
        "LEFT JOIN stores s ON s.id = :s AND s.merchant_id = m.id WHERE m.id = :m",
        {"m": merchant_id, "s": store_id},
    )
    now = deps.clock()
    if starting:
        await referrals.referee_bonus(
            tx, merchant_id, customer_id, program.program, now, zone(str(timezone))
        )
    if gift is None or not welcome:
        return
    lifetime = gift.valid_days if gift.valid_days is not None else program.program.lifetime_days
    available_from, expires_at = engine.lot_dates(
        now, zone(str(timezone)), gift.activation_delay_days, lifetime
    )
    await accrue(
        tx, merchant_id=merchant_id, customer_id=customer_id, kind="welcome",
        amount=to_kopecks(gift.amount), available_from=to_epoch(available_from),
        expires_at=None if expires_at is None else to_epoch(expires_at), receipt_id=None,
        key=f"welcome:{customer_id}", now=to_epoch(now),
    )  # fmt: skip
    if gift.sms:
        # Rendered and sent by the outbox worker after the commit; only to a customer
        # who consented to messages.
        await tx.execute(
            "INSERT INTO notifications (merchant_id, customer_id, channel, recipient_enc, "
            "body, status, cost, created_at, sent_at, kind, params) SELECT c.merchant_id, "
            "c.id, 'sms', c.phone_enc, '', 'pending', 0, CAST(:now AS BIGINT), NULL, "
            "'welcome_gift', CAST(:params AS TEXT) FROM customers c WHERE c.id = :c "
            "AND c.merchant_id = :m AND c.consent_messages_at IS NOT NULL",
            {"m": merchant_id, "c": customer_id, "now": to_epoch(now),
             "params": json.dumps({"amount": to_kopecks(gift.amount)})},
        )  # fmt: skip


async def _ensure_free(
    executor: Executor, merchant_id: int, phone_index: str, card_index: str | None
) -> None:
    if await executor.fetch_value(
        "SELECT id FROM customers WHERE merchant_id = :m AND phone_index = :p",
        {"m": merchant_id, "p": phone_index},
    ):
        raise _customer_exists()
    if card_index is not None and await executor.fetch_value(
        "SELECT id FROM cards WHERE merchant_id = :m AND lookup_index = :i",
        {"m": merchant_id, "i": card_index},
    ):
        raise _card_taken()


async def _insert_card(
    tx: Executor, deps: Deps, merchant_id: int, customer_id: int, kind: str,
    lookup_index: str, number: str, now: int,
) -> int:  # fmt: skip
    card_id = await tx.fetch_value(
        "INSERT INTO cards (merchant_id, customer_id, kind, lookup_index, number_enc, "
        "created_at) VALUES (:m, :c, :kind, :i, :number, :now) RETURNING id",
        {"m": merchant_id, "c": customer_id, "kind": kind, "i": lookup_index,
         "number": deps.cipher.encrypt(merchant_id, number), "now": now},
    )  # fmt: skip
    return int(card_id)


async def _insert_virtual_card(
    tx: Executor, deps: Deps, merchant_id: int, customer_id: int, now: int
) -> None:
    # A collision is one in 10^11 per existing card; look before inserting because a
    # failed INSERT would abort the whole PostgreSQL transaction.
    for _ in range(5):
        number = new_virtual_number()
        index = deps.index.of(merchant_id, "card", number)
        taken = await tx.fetch_value(
            "SELECT id FROM cards WHERE merchant_id = :m AND lookup_index = :i",
            {"m": merchant_id, "i": index},
        )
        if taken is None:
            await _insert_card(tx, deps, merchant_id, customer_id, "virtual", index, number, now)
            return
    raise RuntimeError("could not draw a free virtual card number")


# ---- look-up ---------------------------------------------------------------------------


async def find_customer(
    deps: Deps,
    merchant_id: int,
    *,
    phone: str | None = None,
    card: str | None = None,
    customer_id: int | None = None,
) -> int | None:
    """The id of the merchant's customer with this phone, card number or id."""
    if customer_id is not None:
        if not 0 < customer_id <= _BIGINT_MAX:
            return None
        found = await deps.db.fetch_value(
            "SELECT id FROM customers WHERE merchant_id = :m AND id = :id",
            {"m": merchant_id, "id": customer_id},
        )
        return None if found is None else int(found)
    if phone is not None:
        lookup = deps.index.of(merchant_id, "phone", normalize_phone(phone))
    elif card is not None:
        lookup = deps.index.of(merchant_id, "card", normalize_card(card))
    else:
        raise BadRequest(
            "customer_ref_required", "Укажите телефон, номер карты или идентификатор клиента"
        )
    found = await deps.db.fetch_value(
        "SELECT customer_id FROM cards WHERE merchant_id = :m AND lookup_index = :i",
        {"m": merchant_id, "i": lookup},
    )
    return None if found is None else int(found)


async def attach_card(
    deps: Deps, merchant_id: int, customer_id: int, number: str
) -> tuple[CardRecord, bool]:
    """Bind a physical card; returns the card and whether it was new. Binding a card the
    customer already has is a no-op, so a terminal may retry."""
    normalised = normalize_card(number)
    lookup = deps.index.of(merchant_id, "card", normalised)
    now = to_epoch(deps.clock())
    try:
        async with deps.db.transaction() as tx:
            owner = await tx.fetch_value(
                "SELECT id FROM customers WHERE merchant_id = :m AND id = :c",
                {"m": merchant_id, "c": customer_id},
            )
            if owner is None:
                raise not_found()
            existing = await tx.fetch_one(
                "SELECT id, customer_id, kind FROM cards "
                "WHERE merchant_id = :m AND lookup_index = :i",
                {"m": merchant_id, "i": lookup},
            )
            if existing is not None:
                if int(existing["customer_id"]) != customer_id:
                    raise _card_taken()
                return CardRecord(int(existing["id"]), str(existing["kind"]), normalised), False
            card_id = await _insert_card(
                tx, deps, merchant_id, customer_id, "physical", lookup, normalised, now
            )
    except Exception as exc:
        if is_unique_violation(exc):
            raise _card_taken() from exc
        raise
    return CardRecord(card_id, "physical", normalised), True


# ---- reading ---------------------------------------------------------------------------

_PROFILE_SQL = (
    "SELECT id, phone_enc, name_enc, email_enc, birthday_enc, tier_code, lifetime_purchases, "
    "purchase_count, last_purchase_at, registration_channel, registered_store_id, "
    "consent_messages_at, consent_personal_data_at, created_at, referrer_id, gender, "
    "acquisition_channel, campaign, consent_messages_version, consent_personal_data_version "
    "FROM customers WHERE merchant_id = :m AND id = :c"
)


async def customer_profile(deps: Deps, merchant_id: int, customer_id: int) -> CustomerProfileData:
    """The decrypted profile with tier, balance and purchase statistics."""
    if not 0 < customer_id <= _BIGINT_MAX:
        raise not_found()
    db = deps.db
    row = await db.fetch_one(_PROFILE_SQL, {"m": merchant_id, "c": customer_id})
    if row is None:
        raise not_found()
    card_rows = await db.fetch_all(
        "SELECT id, kind, number_enc FROM cards WHERE merchant_id = :m AND customer_id = :c "
        "ORDER BY id",
        {"m": merchant_id, "c": customer_id},
    )
    child_rows = await db.fetch_all(
        "SELECT name_enc, birthday_enc FROM customer_children WHERE merchant_id = :m "
        "AND customer_id = :c ORDER BY id",
        {"m": merchant_id, "c": customer_id},
    )
    balance = await read_balance(db, customer_id, to_epoch(deps.clock()))
    program = await live_program(deps, merchant_id)
    cipher = deps.cipher
    birthday = cipher.decrypt_optional(merchant_id, row["birthday_enc"])
    return CustomerProfileData(
        id=int(row["id"]),
        phone=cipher.decrypt(merchant_id, bytes(row["phone_enc"])),
        name=cipher.decrypt_optional(merchant_id, row["name_enc"]),
        email=cipher.decrypt_optional(merchant_id, row["email_enc"]),
        birthday=date.fromisoformat(birthday) if birthday else None,
        tier_code=row["tier_code"],
        tier_name=_tier_name(program, row["tier_code"]),
        balance=balance,
        purchase_count=int(row["purchase_count"]),
        lifetime_purchases=int(row["lifetime_purchases"]),
        last_purchase_at=row["last_purchase_at"],
        consent_personal_data_at=row["consent_personal_data_at"],
        consent_messages_at=row["consent_messages_at"],
        registration_channel=str(row["registration_channel"]),
        registered_store_id=row["registered_store_id"],
        created_at=int(row["created_at"]),
        cards=[
            CardRecord(
                int(card["id"]),
                str(card["kind"]),
                cipher.decrypt(merchant_id, bytes(card["number_enc"])),
            )
            for card in card_rows
        ],
        referral_code=referrals.referral_code(deps, merchant_id, int(row["id"])),
        referrer_id=row["referrer_id"],
        gender=row["gender"],
        acquisition_channel=row["acquisition_channel"],
        campaign=row["campaign"],
        consent_messages_version=row["consent_messages_version"],
        consent_personal_data_version=row["consent_personal_data_version"],
        children=[
            (
                cipher.decrypt_optional(merchant_id, child["name_enc"]),
                date.fromisoformat(cipher.decrypt(merchant_id, bytes(child["birthday_enc"]))),
            )
            for child in child_rows
        ],
    )


async def customer_summary(deps: Deps, merchant_id: int, customer_id: int) -> CustomerSummaryData:
    """The little a terminal shows after a look-up: name, tier, spendable bonuses."""
    row = await deps.db.fetch_one(
        "SELECT id, name_enc, tier_code FROM customers WHERE merchant_id = :m AND id = :c",
        {"m": merchant_id, "c": customer_id},
    )
    if row is None:
        raise not_found()
    balance = await read_balance(deps.db, customer_id, to_epoch(deps.clock()))
    program = await live_program(deps, merchant_id)
    messages: tuple[str, ...] = ()
    if needs_plastic_card(program) and not await deps.db.fetch_value(
        "SELECT COUNT(*) FROM cards WHERE merchant_id = :m AND customer_id = :c "
        "AND kind = 'physical'",
        {"m": merchant_id, "c": customer_id},
    ):
        messages = (NO_PLASTIC_CARD_MESSAGE,)
    return CustomerSummaryData(
        id=int(row["id"]),
        name=deps.cipher.decrypt_optional(merchant_id, row["name_enc"]),
        tier_code=row["tier_code"],
        tier_name=_tier_name(program, row["tier_code"]),
        available=balance.available,
        referral_code=referrals.referral_code(deps, merchant_id, int(row["id"])),
        messages=messages,
    )


async def customer_history(
    deps: Deps,
    merchant_id: int,
    customer_id: int,
    limit: int = 20,
    before_id: int | None = None,
) -> HistoryPage:
    """Ledger entries, newest first, ``limit`` per page; ``before_id`` is the cursor."""
    if not 1 <= limit <= MAX_HISTORY_PAGE:
        raise BadRequest("invalid_limit", f"Размер страницы должен быть от 1 до {MAX_HISTORY_PAGE}")
    if await find_customer(deps, merchant_id, customer_id=customer_id) is None:
        raise not_found()
    cursor = "" if before_id is None else "AND e.id < :before "
    rows = await deps.db.fetch_all(
        "SELECT e.id, e.kind, e.amount, e.created_at, r.kind AS receipt_kind, "
        "r.external_id, o.external_id AS sale_external_id "
        "FROM ledger_entries e "
        "LEFT JOIN receipts r ON r.id = e.receipt_id AND r.merchant_id = e.merchant_id "
        "LEFT JOIN receipts o ON o.id = r.original_receipt_id AND o.merchant_id = r.merchant_id "
        "WHERE e.merchant_id = :m AND e.customer_id = :c " + cursor +
        "ORDER BY e.id DESC LIMIT :limit",
        {"m": merchant_id, "c": customer_id, "limit": limit + 1,
         **({} if before_id is None else {"before": before_id})},
    )  # fmt: skip
    entries = [
        HistoryRow(
            id=int(row["id"]),
            kind=str(row["kind"]),
            amount=int(row["amount"]),
            created_at=int(row["created_at"]),
            # A refund's entries name the sale they return (its receipt id) and the
            # refund separately.
            receipt_external_id=row["sale_external_id"]
            if row["receipt_kind"] == "refund"
            else row["external_id"],
            refund_external_id=row["external_id"] if row["receipt_kind"] == "refund" else None,
        )
        for row in rows[:limit]
    ]
    more = len(rows) > limit
    return HistoryPage(entries=entries, next_before=entries[-1].id if more else None)
