"""The relational model (SQLAlchemy 2 declarative), the source of the Alembic migrations.

Conventions, chosen so the hot path can use the drivers directly with the same SQL on
SQLite and PostgreSQL:
- every row carries ``merchant_id`` and every query filters by it;
- amounts are BIGINT kopecks, quantities BIGINT thousandths (``*_milli``);
- instants are BIGINT Unix seconds in UTC (``*_at``); local days are derived with the
  store's time zone in code, never by the database;
- JSON documents are TEXT (one encoding on both databases);
- personal data is AES-GCM ciphertext (``*_enc``), found through keyed blind indexes.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets BIGINT identity.
Id = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _pk() -> Mapped[int]:
    return mapped_column(Id, primary_key=True, autoincrement=True)


def _tenant_customer() -> ForeignKeyConstraint:
    """The row's customer *of the row's merchant* (``customer_id``, ``merchant_id``): one
    foreign key where a customer key and a merchant key were two (migration 0031). It
    also holds what the two did not: that the merchant is the customer's. On PostgreSQL
    every foreign key is a query per inserted row, about a third of the cost of each
    row the jobs write (bench/RESULTS.md); a deleted merchant's rows still go with its
    customers."""
    return ForeignKeyConstraint(
        ["customer_id", "merchant_id"], ["customers.id", "customers.merchant_id"],
        ondelete="CASCADE",
    )  # fmt: skip


def _merchant() -> Mapped[int]:
    return mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), nullable=False)


class Merchant(Base):
    __tablename__ = "merchants"
    id: Mapped[int] = _pk()
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="active")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Moscow")
    active_program_version_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    running_experiment_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    """The A/B test whose variants price this merchant's customers (None: none runs)."""


class Store(Base):
    __tablename__ = "stores"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    address: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (Index("ix_stores_merchant", "merchant_id"),)


class Terminal(Base):
    __tablename__ = "terminals"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # native / 1c / sigma / modulkassa / frontol / moysklad / evotor (cloud.services.admin.CHANNELS)
    channel: Mapped[str] = mapped_column(String(16), server_default="native")
    created_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (Index("ix_terminals_merchant_store", "merchant_id", "store_id"),)


class TerminalCredential(Base):
    """A token we issued to a terminal, for every channel (the channel recorded, so a
    new channel adds a kind, not a table); only its SHA-256 is stored."""

    __tablename__ = "terminal_credentials"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    channel: Mapped[str] = mapped_column(String(16), server_default="native")
    created_at: Mapped[int] = mapped_column(BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class TerminalSigningSecret(Base):
    """A terminal's secret for HMAC-signed hooks (SIGMA). Unlike tokens it is kept
    encrypted (the merchant bound), because the server must recompute the signature;
    ``expires_at`` set: a rotated-out secret that still works until then."""

    __tablename__ = "terminal_signing_secrets"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id", ondelete="CASCADE"))
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    __table_args__ = (Index("ix_terminal_signing_secrets_terminal", "merchant_id", "terminal_id"),)


class SignedRequest(Base):
    """A signature already accepted, kept for the replay window: the same signed request
    sent again is refused, not applied twice."""

    __tablename__ = "signed_requests"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id", ondelete="CASCADE"))
    signature: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (
        UniqueConstraint("terminal_id", "signature"),
        Index("ix_signed_requests_seen", "seen_at"),
    )


class ProgramVersion(Base):
    __tablename__ = "program_versions"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    version: Mapped[int] = mapped_column(Integer)
    document: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[int] = mapped_column(BigInteger)
    activated_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    __table_args__ = (UniqueConstraint("merchant_id", "version"),)


class ProgramActivation(Base):
    """Each time a version went live (a late sale is priced by the one live then)."""

    __tablename__ = "program_activations"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    version_id: Mapped[int] = mapped_column(ForeignKey("program_versions.id", ondelete="CASCADE"))
    activated_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (Index("ix_program_activations_merchant_time", "merchant_id", "activated_at"),)


class Customer(Base):
    """The loyalty member; its row is also the account that balance changes lock.

    On PostgreSQL the table keeps 10 % of each page free (``fillfactor = 90``, migration
    0018) so the frequent updates of unindexed columns (a sale's purchase sums, the tier
    job's tier) stay on the page and skip the indexes."""

    __tablename__ = "customers"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    phone_index: Mapped[str] = mapped_column(String(64))
    phone_enc: Mapped[bytes] = mapped_column(LargeBinary)
    name_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    email_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    birthday_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    tier_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lifetime_purchases: Mapped[int] = mapped_column(BigInteger, default=0)
    purchase_count: Mapped[int] = mapped_column(Integer, default=0)
    last_purchase_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    registration_channel: Mapped[str] = mapped_column(String(32))
    registered_store_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    consent_messages_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    consent_personal_data_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    blocked_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    """Set while the merchant has blocked the card: it neither accrues nor spends (the
    reason and who did it are in ``customer_actions``)."""
    referrer_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    """The customer who invited this one, set at registration only: the referrer
    existed before, so the graph is a forest (no cycles) and referral locks always go
    from a buyer up to their referrers."""
    gender: Mapped[str | None] = mapped_column(String(8), nullable=True)
    acquisition_channel: Mapped[str | None] = mapped_column(String(32), nullable=True)
    """Where the customer came from (a store, a social network, the website...)."""
    campaign: Mapped[str | None] = mapped_column(String(64), nullable=True)
    consent_messages_version: Mapped[str | None] = mapped_column(String(32), nullable=True)
    consent_personal_data_version: Mapped[str | None] = mapped_column(String(32), nullable=True)
    birthday_md: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """Month and day of the birthday as ``MMDD`` (no year: the birthday itself stays
    encrypted), so the birthday job finds a day's customers by index."""
    telegram_chat_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    """The customer's chat with the merchant's bot, once linked: messages go there (free)
    rather than by SMS."""
    messages_opt_out_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    """Set when the customer said «СТОП»: no message but one-time codes reaches them."""
    birth_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """The birthday's year in clear, so a mailing segment by age is one comparison
    (``birth_year * 10000 + birthday_md``); filled by ``segments.index_fields``."""
    __table_args__ = (
        UniqueConstraint("merchant_id", "phone_index"),
        # On PostgreSQL these three hold only the customers with the value (migration
        # 0031): an update that cannot stay on its page (the tier job moving most
        # customers at once) inserts no entry for the many without one.
        Index(
            "ix_customers_referrer",
            "merchant_id",
            "referrer_id",
            postgresql_where=text("referrer_id IS NOT NULL"),
        ),
        Index(
            "ix_customers_birthday",
            "merchant_id",
            "birthday_md",
            postgresql_where=text("birthday_md IS NOT NULL"),
        ),
        Index(
            "ix_customers_telegram",
            "merchant_id",
            "telegram_chat_id",
            postgresql_where=text("telegram_chat_id IS NOT NULL"),
        ),
        # The parent key of the ledger's foreign keys (``_tenant_customer``).
        Index("uq_customers_id_merchant", "id", "merchant_id", unique=True),
        # The reports' customers registered in a period (migration 0038).
        Index("ix_customers_merchant_created", "merchant_id", "created_at"),
    )


class CustomerChild(Base):
    """A child of a customer, for birthday greetings (name and birthday encrypted)."""

    __tablename__ = "customer_children"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    name_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    birthday_enc: Mapped[bytes] = mapped_column(LargeBinary)
    birthday_md: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """``MMDD`` of the birthday (no year), so the birthday job finds a day's children."""
    created_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (
        Index("ix_customer_children_customer", "merchant_id", "customer_id"),
        Index("ix_customer_children_birthday", "merchant_id", "birthday_md"),
    )


class ReferralReward(Base):
    """One level's reward from a referee's sale: the rate it was priced at and the base,
    so a refund recomputes the reward on what is left of the sale and takes back the
    difference from the lot."""

    __tablename__ = "referral_rewards"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    receipt_id: Mapped[int] = mapped_column(Id)
    """The referee's sale."""
    recipient_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    level: Mapped[int] = mapped_column(Integer)
    rate: Mapped[str] = mapped_column(String(24))
    """``percent:<p>`` or ``per:<roubles>`` (one bonus per N roubles)."""
    base: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    lot_id: Mapped[int] = mapped_column(Id)
    created_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (
        UniqueConstraint("merchant_id", "receipt_id", "level"),
        Index("ix_referral_rewards_recipient", "merchant_id", "recipient_id"),
    )


class Card(Base):
    """A way to find a customer: the phone itself, a physical card or a virtual card."""

    __tablename__ = "cards"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    lookup_index: Mapped[str] = mapped_column(String(64))
    number_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[int] = mapped_column(BigInteger)
    number_value: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    """The number as an integer, for mailing segments by card-number range (a merchant
    hands out plastic cards in numbered batches); -1 when the number is not all digits
    or too long. Filled by ``segments.index_fields``."""
    __table_args__ = (
        UniqueConstraint("merchant_id", "lookup_index"),
        Index("ix_cards_customer", "customer_id"),
        Index("ix_cards_number_value", "merchant_id", "number_value"),
    )


class TierChange(Base):
    __tablename__ = "tier_changes"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = mapped_column(Id)
    customer_id: Mapped[int] = mapped_column(Id)
    from_tier: Mapped[str | None] = mapped_column(String(64), nullable=True)
    to_tier: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(200))
    receipt_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    notified_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    """When the ``tier_notices`` job handled the change (announced or not); NULL until
    then. Per row, not an id watermark: a change committed late with a lower id than one
    already handled is still found."""
    __table_args__ = (
        _tenant_customer(),
        Index("ix_tier_changes_customer", "customer_id"),
        Index("ix_tier_changes_notice", "merchant_id", "notified_at"),
    )


class Receipt(Base):
    """A confirmed sale or refund, with the program version that priced it and the
    response we gave, so a repeat of the same call returns the same body."""

    __tablename__ = "receipts"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    store_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    terminal_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    customer_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    source: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    original_receipt_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    program_version_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    discount: Mapped[int] = mapped_column(BigInteger)
    redeemed: Mapped[int] = mapped_column(BigInteger)
    accrued: Mapped[int] = mapped_column(BigInteger)
    local_date: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[int] = mapped_column(BigInteger)
    response: Mapped[str] = mapped_column(Text)
    digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """What the receipt is (cloud.services.receipt_digest): the same id with another
    digest is a different receipt, not a retry. NULL on rows from before it existed."""
    cashier_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """The till's id of the cashier (an Evotor employee uuid, a 1C user code); not part
    of the digest: a retry from another cashier is the same receipt."""
    cashier_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    __table_args__ = (
        UniqueConstraint("merchant_id", "source", "kind", "external_id"),
        # A customer's receipts in time order, covering a sale's previous one and the
        # sales after a message (migration 0042).
        Index(
            "ix_receipts_customer",
            "merchant_id",
            "customer_id",
            "created_at",
            "kind",
            "amount",
            "id",
            "local_date",
        ),
        # A merchant's receipts of a period in time order (the what-if replay, 0037).
        Index("ix_receipts_merchant_created", "merchant_id", "created_at"),
        # The reports' receipts of a period of local days, covering what they sum
        # (migration 0038).
        Index(
            "ix_receipts_merchant_date",
            "merchant_id",
            "local_date",
            "customer_id",
            "kind",
            "created_at",
            "amount",
            "discount",
            "redeemed",
            "accrued",
        ),
        # A sale's refunds (migration 0038): refunds only, on both databases.
        Index(
            "ix_receipts_original",
            "merchant_id",
            "original_receipt_id",
            postgresql_where=text("original_receipt_id IS NOT NULL"),
            sqlite_where=text("original_receipt_id IS NOT NULL"),
        ),
    )


class ReceiptLine(Base):
    __tablename__ = "receipt_lines"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    line_id: Mapped[str] = mapped_column(String(128))
    sku: Mapped[str | None] = mapped_column(String(128), nullable=True)
    name: Mapped[str] = mapped_column(String(256))
    category: Mapped[str | None] = mapped_column(String(64), nullable=True)
    price: Mapped[int] = mapped_column(BigInteger)
    quantity_milli: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    discount: Mapped[int] = mapped_column(BigInteger)
    redeemed: Mapped[int] = mapped_column(BigInteger)
    accrual: Mapped[int] = mapped_column(BigInteger)
    returned_quantity_milli: Mapped[int] = mapped_column(BigInteger, default=0)
    returned_redeemed: Mapped[int] = mapped_column(BigInteger, default=0)
    reversed_accrual: Mapped[int] = mapped_column(BigInteger, default=0)
    __table_args__ = (Index("ix_receipt_lines_receipt", "receipt_id"),)


_LIVE = text("remaining > 0")


class BonusLot(Base):
    """One accrual of bonuses; ``remaining`` is what is left of it."""

    __tablename__ = "bonus_lots"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = mapped_column(Id)
    customer_id: Mapped[int] = mapped_column(Id)
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    available_from: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    receipt_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (
        _tenant_customer(),
        Index("ix_bonus_lots_customer", "customer_id", "remaining"),
        # The expiry job's search for lapsed lots of a merchant, and the activation
        # notices' for lots becoming spendable on a day. On PostgreSQL both hold live lots
        # only (migration 0031): an expiry or a spend down to zero inserts no entry into
        # them (SQLite deletes the old entry instead, which costs it more than it saves).
        Index("ix_bonus_lots_expiry", "merchant_id", "expires_at", postgresql_where=_LIVE),
        Index("ix_bonus_lots_available", "merchant_id", "available_from", postgresql_where=_LIVE),
    )


class LedgerEntry(Base):
    """Signed journal row per movement of bonuses; the journal sums to the lots'
    remainders. Holds are not movements: they live in ``holds``."""

    __tablename__ = "ledger_entries"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = mapped_column(Id)
    customer_id: Mapped[int] = mapped_column(Id)
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    lot_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    receipt_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (
        _tenant_customer(),
        UniqueConstraint("merchant_id", "idempotency_key"),
        Index("ix_ledger_entries_customer", "customer_id", "id"),
    )


class RedemptionAllocation(Base):
    """Which lots one redemption consumed, so a refund gives them back to the same lots."""

    __tablename__ = "redemption_allocations"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.id", ondelete="CASCADE"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("bonus_lots.id", ondelete="CASCADE"))
    amount: Mapped[int] = mapped_column(BigInteger)
    returned: Mapped[int] = mapped_column(BigInteger, default=0)
    __table_args__ = (Index("ix_redemption_allocations_receipt", "receipt_id"),)


class Hold(Base):
    """Bonuses reserved for an open receipt until ``expires_at``."""

    __tablename__ = "holds"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(32))
    receipt_external_id: Mapped[str] = mapped_column(String(128))
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger)
    program_version_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    """The version that priced the held receipt; its confirm is priced by it too."""
    __table_args__ = (
        Index("ix_holds_customer_status", "customer_id", "status"),
        Index("ix_holds_receipt", "merchant_id", "source", "receipt_external_id"),
        # The hold-expiry job's search for holds whose time ran out.
        Index("ix_holds_status_expires", "status", "expires_at"),
    )


class IdempotencyRecord(Base):
    """The stored answer to an API call made with an idempotency key."""

    __tablename__ = "idempotency_records"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    scope: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[str] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (UniqueConstraint("merchant_id", "scope", "key"),)


class SmsCode(Base):
    __tablename__ = "sms_codes"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    phone_index: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[int] = mapped_column(BigInteger)
    attempts_left: Mapped[int] = mapped_column(Integer)
    consumed_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    terminal_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    """The till that asked for the code (None for a merchant-level caller): codes are
    rate-limited per till and per merchant, not only per phone."""
    __table_args__ = (
        Index("ix_sms_codes_phone", "merchant_id", "phone_index", "purpose"),
        Index("ix_sms_codes_merchant_created", "merchant_id", "created_at"),
        Index("ix_sms_codes_terminal_created", "merchant_id", "terminal_id", "created_at"),
    )


class Notification(Base):
    """Outbox of messages to customers, drained by a provider; the cost is kept for
    reports that weigh SMS spend against revenue."""

    __tablename__ = "notifications"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    customer_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    channel: Mapped[str] = mapped_column(String(16))
    recipient_enc: Mapped[bytes] = mapped_column(LargeBinary)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    cost: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[int] = mapped_column(BigInteger)
    sent_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    kind: Mapped[str | None] = mapped_column(String(32), nullable=True)
    """What the message is about (``birthday_gift``, ``expiry_warning``...): the worker
    renders ``body`` from it and ``params`` when ``body`` is empty."""
    params: Mapped[str | None] = mapped_column(Text, nullable=True)
    """JSON object the template of ``kind`` is rendered with when ``body`` is empty."""
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[int] = mapped_column(BigInteger, server_default="0")
    """When a ``pending`` row is due (backoff, quiet hours); for a ``claimed`` row, when
    the worker's lease ends and another worker may take it."""
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    provider: Mapped[str | None] = mapped_column(String(16), nullable=True)
    provider_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """The gateway's id of the message: its delivery callbacks name it."""
    mailing_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    __table_args__ = (
        Index("ix_notifications_status", "status", "id"),
        Index("ix_notifications_due", "status", "next_attempt_at"),
        Index("ix_notifications_provider_id", "provider", "provider_id"),
        Index("ix_notifications_mailing", "merchant_id", "mailing_id"),
        # The reports' messages of a kind sent in a period (migration 0038).
        Index("ix_notifications_kind", "merchant_id", "kind", "created_at"),
        Index("ix_notifications_customer", "merchant_id", "customer_id", "id"),
    )


class Mailing(Base):
    """A message sent to a segment of the merchant's customers; its rows in
    ``notifications`` are the participants."""

    __tablename__ = "mailings"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    text: Mapped[str] = mapped_column(Text)
    segment: Mapped[str] = mapped_column(Text)
    attribution_days: Mapped[int] = mapped_column(Integer)
    participants: Mapped[int] = mapped_column(Integer)
    estimated_cost: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (Index("ix_mailings_merchant", "merchant_id", "id"),)


class Feedback(Base):
    """A customer's rating of one purchase through the link sent after it: one per
    receipt; the merchant's reply goes to the customer through the outbox."""

    __tablename__ = "feedback"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    store_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    local_date: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[int] = mapped_column(BigInteger)
    lot_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    reply: Mapped[str | None] = mapped_column(Text, nullable=True)
    replied_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    __table_args__ = (
        UniqueConstraint("receipt_id"),
        Index("ix_feedback_merchant_date", "merchant_id", "local_date"),
    )


class MessageTemplate(Base):
    """A merchant's own text for a kind of message (the defaults are in code)."""

    __tablename__ = "message_templates"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    kind: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (UniqueConstraint("merchant_id", "kind"),)


class JobRun(Base):
    """One run of a scheduled job for one merchant and local date; the unique key makes
    a second run of the same job on the same date a no-op, from any worker."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("merchant_id", "job", "run_date"),)
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    job: Mapped[str] = mapped_column(String(32))
    run_date: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(16))
    result: Mapped[str] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(BigInteger)
    finished_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class JobLock(Base):
    """One row per merchant and job, locked (``FOR UPDATE SKIP LOCKED``) by the worker
    running that job for that merchant, so another worker skips it instead of waiting."""

    __tablename__ = "job_locks"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    job: Mapped[str] = mapped_column(String(32))
    __table_args__ = (UniqueConstraint("merchant_id", "job"),)


class JobEvent(Base):
    """What a lifecycle job did for one customer, once: a birthday gift of a year, an
    expiry warning of a date, a reminder of an offer. The unique key makes a repeated
    run (or a racing worker) do nothing twice; ``lot_id`` is the gift's lot."""

    __tablename__ = "job_events"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    event_key: Mapped[str] = mapped_column(String(64))
    lot_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (
        UniqueConstraint("merchant_id", "kind", "customer_id", "event_key"),
        Index("ix_job_events_created", "merchant_id", "kind", "created_at"),
    )


class Reanimation(Base):
    """A reanimation gift: the customer, the rule, and the absence it answered (the last
    purchase before it), so the report can tell who came back and what they spent."""

    __tablename__ = "reanimations"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = mapped_column(Id)
    customer_id: Mapped[int] = mapped_column(Id)
    rule_code: Mapped[str] = mapped_column(String(64))
    last_purchase_at: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    lot_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    run_date: Mapped[str] = mapped_column(String(10))
    granted_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (
        _tenant_customer(),
        UniqueConstraint("merchant_id", "customer_id", "last_purchase_at"),
        Index("ix_reanimations_granted", "merchant_id", "granted_at"),
    )


# ---- Evotor (webhooks/evotor) ----------------------------------------------------------


class EvotorAccount(Base):
    """A merchant installed from the Evotor market: the Evotor user it belongs to, the user
    token we issued (SHA-256 to authenticate; AES-GCM ciphertext so a repeated
    ``/user/create`` answers the same token), the Evotor cloud token (ciphertext) and the
    state of the Evotor subscription."""

    __tablename__ = "evotor_accounts"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), unique=True
    )
    evotor_user_id: Mapped[str] = mapped_column(String(32), unique=True)
    user_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_token_enc: Mapped[bytes] = mapped_column(LargeBinary)
    origin: Mapped[str] = mapped_column(String(16))
    cloud_token_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    cloud_token_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    subscription_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    subscription_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    plan_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    device_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    suspended_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    installed_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    uninstalled_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    synced_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)


class EvotorSubscriptionEvent(Base):
    """A billing event; applied strictly in ``sequence_number`` order per subscription
    (``pending`` until its predecessors arrive), once."""

    __tablename__ = "evotor_subscription_events"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    subscription_id: Mapped[str] = mapped_column(String(64))
    sequence_number: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    state_after: Mapped[str | None] = mapped_column(String(32), nullable=True)
    received_at: Mapped[int] = mapped_column(BigInteger)
    applied_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    __table_args__ = (UniqueConstraint("merchant_id", "subscription_id", "sequence_number"),)


class EvotorInstallationEvent(Base):
    """``ApplicationInstalled``/``Uninstalled``, deduplicated by the event id. It may come
    before the account exists, so ``merchant_id`` is filled in when the user is linked."""

    __tablename__ = "evotor_installation_events"
    id: Mapped[int] = _pk()
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    evotor_user_id: Mapped[str] = mapped_column(String(32))
    merchant_id: Mapped[int | None] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), nullable=True
    )
    type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (Index("ix_evotor_installation_events_user", "evotor_user_id"),)


class Cashier(Base):
    """An employee of the merchant as the vendor knows them (Evotor employees)."""

    __tablename__ = "cashiers"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    store_id: Mapped[int | None] = mapped_column(
        ForeignKey("stores.id", ondelete="SET NULL"), nullable=True
    )
    external_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(300))
    role: Mapped[str | None] = mapped_column(String(32), nullable=True)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    store_external_ids: Mapped[str] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (UniqueConstraint("merchant_id", "external_id"),)


class ReceiptSession(Base):
    """What a terminal channel's calls learnt about one of its receipts: the terminal's
    own receipt id (our idempotency key of the sale), the fiscal document id once seen,
    the customer, the bonuses held and the state; one table for every channel."""

    __tablename__ = "receipt_sessions"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    store_external_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    document_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    terminal_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    customer_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    positions_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    held: Mapped[int] = mapped_column(BigInteger, default=0)
    hold_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    state: Mapped[str] = mapped_column(String(16))
    program_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    unsettled: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    """Kopecks of the bonus payment the fiscal document reports that could not be
    debited (the sale is recorded all the same; the merchant sees the rest here)."""
    unsettled_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    total: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    """What the close reported as charged, to recognise its document later."""
    closed_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    number: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (
        UniqueConstraint(
            "merchant_id", "channel", "external_id", name="uq_receipt_sessions_external"
        ),
        UniqueConstraint(
            "merchant_id",
            "channel",
            "document_id",
            "store_external_id",
            name="uq_receipt_sessions_document",
        ),
        Index("ix_receipt_sessions_positions", "merchant_id", "channel", "positions_key"),
    )


class EvotorDocument(Base):
    """Every Evotor document we could not apply at once: a return waiting for its sale
    (``pending``, replayed when the sale arrives), or one we could not read
    (``rejected``), kept whole so nothing the till reported is lost."""

    __tablename__ = "evotor_documents"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    store_external_id: Mapped[str] = mapped_column(String(128))
    document_id: Mapped[str] = mapped_column(String(128))
    base_document_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(256), nullable=True)
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (
        UniqueConstraint(
            "merchant_id", "store_external_id", "document_id", name="uq_evotor_documents_doc"
        ),
        Index("ix_evotor_documents_base", "merchant_id", "base_document_id"),
    )


class EvotorProduct(Base):
    """A product or product group of an Evotor store (the Evotor cloud is the master);
    a group's category comes from ``evotor_group_categories`` or its name."""

    __tablename__ = "evotor_products"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    store_external_id: Mapped[str] = mapped_column(String(128))
    uuid: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(256))
    is_group: Mapped[int] = mapped_column(Integer, default=0)
    parent_uuid: Mapped[str | None] = mapped_column(String(128), nullable=True)
    product_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (
        UniqueConstraint("merchant_id", "store_external_id", "uuid", name="uq_evotor_products"),
        Index("ix_evotor_products_uuid", "merchant_id", "uuid"),
    )


class EvotorGroupCategory(Base):
    """The merchant's explicit mapping of an Evotor product group to a program category."""

    __tablename__ = "evotor_group_categories"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    group_uuid: Mapped[str] = mapped_column(String(128))
    category: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (
        UniqueConstraint("merchant_id", "group_uuid", name="uq_evotor_group_categories"),
    )


class ProductCatalogueEntry(Base):
    """The merchant's uploaded catalogue: a product code (as a till sends it in a line's
    ``sku``) or a code prefix (``code`` ending in ``*``) and the program category its
    lines get, for channels whose lines carry no category (Frontol, SIGMA, ...). Ids
    follow the uploaded file's order."""

    __tablename__ = "product_catalogue"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    code: Mapped[str] = mapped_column(String(128))
    category: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (UniqueConstraint("merchant_id", "code", name="uq_product_catalogue_code"),)


# Vendor ids of stores and terminals are looked up on every Evotor call.
Index("ix_stores_merchant_external", Store.merchant_id, Store.external_id)
Index("ix_terminals_merchant_external", Terminal.merchant_id, Terminal.external_id)


class MerchantCredential(Base):
    """A merchant-level API key (programs, stores, terminals); only its SHA-256 is
    stored. ``role``: owner (everything) or manager (no merchant keys)."""

    __tablename__ = "merchant_credentials"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16), server_default="owner")
    created_at: Mapped[int] = mapped_column(BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class CustomerAction(Base):
    """What the merchant's staff did to a customer by hand: block, unblock, a manual
    credit or debit. Holds the reason and who did it (the merchant key and a free-text
    staff name); an adjustment keeps its idempotency key, the request's digest and the
    answer, written in the same transaction as its journal entries
    (``adjust:<id>`` / ``adjust:<id>:<lot>``)."""

    __tablename__ = "customer_actions"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reason: Mapped[str] = mapped_column(String(500))
    staff: Mapped[str | None] = mapped_column(String(200), nullable=True)
    credential_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    credential_label: Mapped[str] = mapped_column(String(100))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    request_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    response: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (
        UniqueConstraint("merchant_id", "idempotency_key"),
        Index("ix_customer_actions_customer", "merchant_id", "customer_id", "id"),
    )


class CustomerImport(Base):
    """One imported customer base file: its SHA-256 (a re-upload of the same file
    answers this result and changes nothing), its row count, the merchant key that
    uploaded it and the report. Journal entries of its lots are ``import:<id>:<lot>``."""

    __tablename__ = "customer_imports"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    digest: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    credential_label: Mapped[str] = mapped_column(String(100))
    result: Mapped[str] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (UniqueConstraint("merchant_id", "digest"),)


class TelegramBot(Base):
    """A merchant's own Telegram bot (its brand, its customers): the token encrypted with
    the merchant bound, the bot's numeric id names its webhook address."""

    __tablename__ = "telegram_bots"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    bot_id: Mapped[int] = mapped_column(BigInteger)
    username: Mapped[str] = mapped_column(String(64))
    token_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (UniqueConstraint("merchant_id"), UniqueConstraint("bot_id"))


class FrontolOrganization(Base):
    """A merchant's Frontol Priority API link: the organization id the tills send (ours,
    so it names one merchant) and the access key they sign with, encrypted with the
    merchant bound (the signature is md5(key + body): the key itself must be kept)."""

    __tablename__ = "frontol_organizations"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    organization: Mapped[str] = mapped_column(String(64))
    key_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (UniqueConstraint("merchant_id"), UniqueConstraint("organization"))


class TelegramUpdate(Base):
    """An update a bot received, kept a few days so a redelivered one is handled once."""

    __tablename__ = "telegram_updates"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    bot_id: Mapped[int] = mapped_column(BigInteger)
    update_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger)
    """When the update was (last) taken up for handling."""
    handled_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    """Set once handled: a record without it is an attempt that died midway."""
    __table_args__ = (
        UniqueConstraint("bot_id", "update_id"),
        Index("ix_telegram_updates_created", "bot_id", "created_at"),
    )


class TelegramChat(Base):
    """Where a chat with a merchant's bot stands in a dialogue (registration consents,
    a feedback): the state, the shared phone (encrypted) and the step's data as JSON."""

    __tablename__ = "telegram_chats"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    chat_id: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(32))
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    data: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (UniqueConstraint("merchant_id", "chat_id"),)


class FiscalSettings(Base):
    """A merchant's fiscal QR claims: its INN (a verified receipt's ``userInn`` must be
    it), the verification provider and its credentials (encrypted, merchant bound), and
    how many days after the purchase a receipt may be claimed."""

    __tablename__ = "fiscal_settings"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    inn: Mapped[str] = mapped_column(String(12))
    provider: Mapped[str] = mapped_column(String(16))
    credentials_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    claim_window_days: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (UniqueConstraint("merchant_id"),)


class FiscalDrive(Base):
    """A fiscal drive (``fn``) of a store's cash register: one store in the whole
    service, so a receipt's ``fn`` names its merchant and store."""

    __tablename__ = "fiscal_drives"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    fn: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (
        UniqueConstraint("fn"),
        Index("ix_fiscal_drives_merchant", "merchant_id", "store_id"),
    )


class FiscalClaim(Base):
    """A customer's claim of a fiscal receipt by its QR code: one per fiscal document
    (fn, fd, fp) in the whole service. ``pending`` until the provider has verified it
    (retried by the ``fiscal_claims`` job from ``next_attempt_at``; ``lease_until``
    keeps two workers off one claim), then ``accrued`` (``receipt_id``) or ``refused``
    (``reason``). ``receipt_time`` is the QR's local time, ISO without zone."""

    __tablename__ = "fiscal_claims"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    fn: Mapped[str] = mapped_column(String(16))
    fd: Mapped[int] = mapped_column(BigInteger)
    fp: Mapped[str] = mapped_column(String(10))
    operation: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
    receipt_time: Mapped[str] = mapped_column(String(19))
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[int] = mapped_column(BigInteger)
    lease_until: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    receipt_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    accrued: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (
        UniqueConstraint("fn", "fd", "fp"),
        Index("ix_fiscal_claims_due", "status", "next_attempt_at"),
        Index("ix_fiscal_claims_customer", "merchant_id", "customer_id", "id"),
    )


class MoyskladInstallation(Base):
    """A МойСклад solution installation: its ``Lognex-Discount-API-Auth-Token`` (hashed)."""

    __tablename__ = "moysklad_installations"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    token_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    __table_args__ = (
        UniqueConstraint("token_hash"),
        Index("ix_moysklad_installations_merchant", "merchant_id", "id"),
    )


class MoyskladCounterparty(Base):
    """МойСклад's own counterparty id of one of our customers."""

    __tablename__ = "moysklad_counterparties"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    ms_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    created_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (UniqueConstraint("merchant_id", "ms_id"),)


class MoyskladCode(Base):
    """The code last handed to a МойСклад till for a phone and purpose (encrypted): the
    till checks it itself; the registration or the spend then uses it up."""

    __tablename__ = "moysklad_codes"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    phone_index: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(16))
    code_enc: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (UniqueConstraint("merchant_id", "phone_index", "purpose"),)


class GiftCertificate(Base):
    """A gift certificate: money the merchant owes its bearer, an account of its own
    (never bonuses). ``status``: ``not_activated`` (pre-printed, not sold yet),
    ``active``, ``used``, ``expired``, ``voided``. Always ``nominal = redeemed +
    remaining + expired + voided``; ``expired`` also takes what a single-redemption
    certificate left unspent. ``expires_at`` is set at issue (a last day) or at
    activation (``valid_days``)."""

    __tablename__ = "gift_certificates"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    number: Mapped[str] = mapped_column(String(64))
    batch: Mapped[str | None] = mapped_column(String(64), nullable=True)
    nominal: Mapped[int] = mapped_column(BigInteger)
    redemption: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    remaining: Mapped[int] = mapped_column(BigInteger)
    redeemed: Mapped[int] = mapped_column(BigInteger)
    expired: Mapped[int] = mapped_column(BigInteger)
    voided: Mapped[int] = mapped_column(BigInteger)
    valid_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    expires_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    activated_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    sold_receipt: Mapped[str | None] = mapped_column(String(128), nullable=True)
    sold_terminal_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (
        UniqueConstraint("merchant_id", "number"),
        Index("ix_gift_certificates_status", "merchant_id", "status", "expires_at"),
        Index("ix_gift_certificates_batch", "merchant_id", "batch"),
    )


class GiftCertificateEntry(Base):
    """The certificates' journal: one signed movement of ``remaining`` (``issue``,
    ``redeem``, ``forfeit``, ``return``, ``expire``, ``void``; ``activate`` moves
    nothing), unique per merchant and key so a replay writes nothing twice."""

    __tablename__ = "gift_certificate_entries"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    certificate_id: Mapped[int] = mapped_column(
        ForeignKey("gift_certificates.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    receipt_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (
        UniqueConstraint("merchant_id", "key"),
        Index("ix_gift_certificate_entries_certificate", "certificate_id", "id"),
        Index("ix_gift_certificate_entries_receipt", "merchant_id", "receipt_id"),
    )


class GiftCertificateHold(Base):
    """Certificate money reserved for an open receipt until ``expires_at`` (as bonus
    holds are): ``active``, then ``consumed`` by its confirm or ``released``."""

    __tablename__ = "gift_certificate_holds"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    certificate_id: Mapped[int] = mapped_column(
        ForeignKey("gift_certificates.id", ondelete="CASCADE")
    )
    source: Mapped[str] = mapped_column(String(32))
    receipt_external_id: Mapped[str] = mapped_column(String(128))
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (
        Index("ix_gift_certificate_holds_certificate", "certificate_id", "status"),
        Index("ix_gift_certificate_holds_receipt", "merchant_id", "source", "receipt_external_id"),
    )


class CouponCampaign(Base):
    """A batch of coupon codes unlocking the program's coupon rule ``rule_code``.
    ``uses_per_code`` 1 is single-use, NULL unlimited; ``total_uses`` caps the campaign
    and ``uses_per_customer`` each customer (NULL: no cap); ``used`` counts the
    redemptions not freed (the row every redemption locks). ``return_frees``: a returned
    receipt gives its codes back. Validity bounds are instants (epoch seconds)."""

    __tablename__ = "coupon_campaigns"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    name: Mapped[str] = mapped_column(String(200))
    rule_code: Mapped[str] = mapped_column(String(64))
    uses_per_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    total_uses: Mapped[int | None] = mapped_column(Integer, nullable=True)
    uses_per_customer: Mapped[int | None] = mapped_column(Integer, nullable=True)
    requires_customer: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    valid_until: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    return_frees: Mapped[int] = mapped_column(Integer)
    used: Mapped[int] = mapped_column(Integer)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (Index("ix_coupon_campaigns_merchant", "merchant_id", "id"),)


class Coupon(Base):
    """One code of a campaign; ``used`` counts its redemptions not freed."""

    __tablename__ = "coupons"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    campaign_id: Mapped[int] = mapped_column(ForeignKey("coupon_campaigns.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(32))
    used: Mapped[int] = mapped_column(Integer)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (
        UniqueConstraint("merchant_id", "code"),
        Index("ix_coupons_campaign", "campaign_id", "id"),
    )


class CouponRedemption(Base):
    """A code used by a confirmed sale, written in the sale's transaction; ``freed_at``
    and ``refund_receipt_id`` once a return gave the code back."""

    __tablename__ = "coupon_redemptions"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    campaign_id: Mapped[int] = mapped_column(Id)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id", ondelete="CASCADE"))
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.id", ondelete="CASCADE"))
    customer_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    freed_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    refund_receipt_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    __table_args__ = (
        UniqueConstraint("coupon_id", "receipt_id"),
        Index("ix_coupon_redemptions_receipt", "receipt_id"),
        Index("ix_coupon_redemptions_customer", "campaign_id", "customer_id"),
    )


class CabinetUser(Base):
    """A person who signs in to the merchant cabinet (migration 0036)."""

    __tablename__ = "cabinet_users"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    login: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    disabled_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    __table_args__ = (Index("ix_cabinet_users_merchant", "merchant_id", "id"),)


class CabinetSignInFailure(Base):
    """A refused cabinet password: the sign-in limits count these (every worker alike)."""

    __tablename__ = "cabinet_sign_in_failures"
    id: Mapped[int] = _pk()
    login: Mapped[str] = mapped_column(String(100))
    ip: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (
        Index("ix_cabinet_sign_in_failures_login", "login", "created_at"),
        Index("ix_cabinet_sign_in_failures_ip", "ip", "created_at"),
    )


class WhatIfRun(Base):
    """A what-if replay of a draft program over the merchant's recent receipts: its
    progress and, when done, its figures (JSON), so any worker can show it (0037)."""

    __tablename__ = "whatif_runs"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    draft_version_id: Mapped[int] = mapped_column(Id)
    live_version_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    days: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    total: Mapped[int] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer)
    result: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[int] = mapped_column(BigInteger)
    heartbeat_at: Mapped[int] = mapped_column(BigInteger)
    finished_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    __table_args__ = (Index("ix_whatif_runs_merchant", "merchant_id", "id"),)


class Experiment(Base):
    """An A/B test: customers split by a hash of (experiment, customer) between the live
    version (A) and a version with one parameter changed (B); immutable but for the
    status, the stop and the winner applied."""

    __tablename__ = "experiments"
    id: Mapped[int] = _pk()
    merchant_id: Mapped[int] = _merchant()
    name: Mapped[str] = mapped_column(String(200))
    parameter: Mapped[str] = mapped_column(String(32))
    tier_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    value: Mapped[str] = mapped_column(String(32))
    control_version_id: Mapped[int] = mapped_column(Id)
    variant_version_id: Mapped[int] = mapped_column(Id)
    share_b: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[int] = mapped_column(BigInteger)
    stopped_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    winner: Mapped[str | None] = mapped_column(String(1), nullable=True)
    applied_version_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    __table_args__ = (Index("ix_experiments_merchant", "merchant_id", "id"),)


# SQLite would otherwise reuse the id of a deleted last row; ids are cache keys (program
# versions) and appear in other systems' records, so they are never reused.
for _table in Base.metadata.tables.values():
    _table.dialect_kwargs["sqlite_autoincrement"] = True


class BridgeHealth(Base):
    """The last heartbeat of a store bridge (a terminal of channel ``bridge``): what the
    merchant sees of a store server that may be holding receipts it could not send."""

    __tablename__ = "bridge_health"
    terminal_id: Mapped[int] = mapped_column(
        ForeignKey("terminals.id", ondelete="CASCADE"), primary_key=True
    )
    merchant_id: Mapped[int] = _merchant()
    last_contact_at: Mapped[int] = mapped_column(BigInteger)
    outbox_depth: Mapped[int] = mapped_column(Integer)
    oldest_unsent_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    rejected_count: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(64))
    __table_args__ = (Index("ix_bridge_health_merchant", "merchant_id"),)


class MerchantPlan(Base):
    """What the merchant's subscription includes each month: receipts and a message
    budget (kopecks), set by the operator; usage is shown against it, never enforced."""

    __tablename__ = "merchant_plans"
    merchant_id: Mapped[int] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(100))
    included_receipts: Mapped[int] = mapped_column(BigInteger)
    message_budget: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class AnalyticsMonth(Base):
    """A merchant's closed month as the reports count it (``cloud.services.analytics.
    rollup``), written by the ``analytics`` job; amounts in kopecks, gaps in seconds."""

    __tablename__ = "analytics_months"
    merchant_id: Mapped[int] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    sales: Mapped[int] = mapped_column(BigInteger)
    buyers: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    refunds: Mapped[int] = mapped_column(BigInteger)
    discount: Mapped[int] = mapped_column(BigInteger)
    redeemed: Mapped[int] = mapped_column(BigInteger)
    accrued: Mapped[int] = mapped_column(BigInteger)
    repeats: Mapped[int] = mapped_column(BigInteger)
    seconds: Mapped[int] = mapped_column(BigInteger)
    lost: Mapped[int] = mapped_column(BigInteger)
    active: Mapped[int] = mapped_column(BigInteger)


class AnalyticsState(Base):
    """How far the ``analytics`` job got for a merchant: its months from ``since`` (the
    first with a receipt) to the day ``through`` counted every receipt up to
    ``receipt_id``, in the month bounds of ``timezone``."""

    __tablename__ = "analytics_state"
    merchant_id: Mapped[int] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), primary_key=True
    )
    receipt_id: Mapped[int] = mapped_column(BigInteger)
    since: Mapped[str] = mapped_column(String(7))
    through: Mapped[str] = mapped_column(String(10))
    recent_from: Mapped[str] = mapped_column(String(10))
    """The first day of the cabinet's default period (the last 12 months) when the job
    ran: ``analytics_customers.recent_*`` count from it."""
    timezone: Mapped[str] = mapped_column(String(64))
    rolled_at: Mapped[int] = mapped_column(BigInteger)


class AnalyticsCustomer(Base):
    """A customer's sales up to ``analytics_state.through`` (all, and those from its
    ``recent_from``), written by the ``analytics`` job; amounts in kopecks."""

    __tablename__ = "analytics_customers"
    merchant_id: Mapped[int] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(Id, primary_key=True)
    sales: Mapped[int] = mapped_column(BigInteger)
    revenue: Mapped[int] = mapped_column(BigInteger)
    first_at: Mapped[int] = mapped_column(BigInteger)
    last_at: Mapped[int] = mapped_column(BigInteger)
    recent_sales: Mapped[int] = mapped_column(BigInteger)
    recent_revenue: Mapped[int] = mapped_column(BigInteger)
