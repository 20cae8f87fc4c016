"""Gift certificates on the wire: the merchant's issue, list, void and liability report
(merchant key), and the till's status check, sale and payment (terminal token).

A certificate is money the merchant owes its bearer, never bonuses. Amounts are roubles
with two places; instants ISO-8601 in the merchant's zone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.bounds import WireBool, WireDate
from schemas.checkout import CertificateNumber
from schemas.money import Money, PositiveAmount

BatchLabel = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_.-]+$")]
State = Literal["NOT_ACTIVATED", "CAN_BE_USED", "USED", "EXPIRED", "VOIDED"]
STATES: tuple[str, ...] = ("NOT_ACTIVATED", "CAN_BE_USED", "USED", "EXPIRED", "VOIDED")
MAX_BATCH = 1000


class WireModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GiftCertificateIssue(WireModel):
    """Issue one certificate or a batch. Numbers: ``numbers`` (pre-printed, as listed)
    or ``count`` (we draw random 16-digit numbers). Validity: ``valid_until`` (the
    last day it may be spent, the merchant's local date) or ``valid_days`` (counted
    from activation). ``redemption``: ``partial`` (spent over several receipts) or
    ``single`` (one receipt; what it leaves unspent lapses). ``activated``: false for
    stock a till will sell (``POST /api/v1/gift-certificates/sell`` activates it),
    true for a certificate valid at once (sold or given by the office)."""

    numbers: (
        Annotated[list[CertificateNumber], Field(min_length=1, max_length=MAX_BATCH)] | None
    ) = None
    count: Annotated[int, Field(ge=1, le=MAX_BATCH)] | None = None
    nominal: PositiveAmount
    valid_until: WireDate | None = None
    valid_days: Annotated[int, Field(ge=1, le=3660)] | None = None
    redemption: Literal["partial", "single"] = "partial"
    activated: WireBool = True
    batch: BatchLabel | None = None

    @model_validator(mode="after")
    def _one_of_each(self) -> GiftCertificateIssue:
        if (self.numbers is None) == (self.count is None):
            raise ValueError("укажите либо numbers (номера), либо count (сколько выпустить)")
        if (self.valid_until is None) == (self.valid_days is None):
            raise ValueError("укажите либо valid_until (последний день), либо valid_days")
        if self.numbers is not None and len(set(self.numbers)) != len(self.numbers):
            raise ValueError("номера сертификатов в выпуске повторяются")
        return self


class GiftCertificateInfo(WireModel):
    id: int
    number: str
    batch: str | None
    state: State
    nominal: Money
    remaining: Money = Field(description="what may still be spent (0 once used, expired, voided)")
    redeemed: Money = Field(description="spent in receipts, net of returns")
    expired: Money = Field(description="lapsed unspent (expiry, or a single-redemption leftover)")
    voided: Money
    redemption: Literal["partial", "single"]
    valid_days: int | None
    expires_at: datetime | None = Field(description="the first instant it is no longer valid")
    activated_at: datetime | None
    created_at: datetime


class GiftCertificateIssued(WireModel):
    batch: str | None
    certificates: list[GiftCertificateInfo]


class GiftCertificateList(WireModel):
    certificates: list[GiftCertificateInfo] = Field(description="newest first")
    next: int | None = Field(description="pass as ?before= for the next (older) page")


class GiftCertificateLiability(WireModel):
    """What the merchant owes on certificates as of ``as_of``: ``outstanding`` is the
    sum of what remains on activated, unexpired, unvoided certificates."""

    as_of: datetime
    outstanding: Money
    outstanding_count: int
    issued: Money = Field(description="nominal of every activated certificate")
    issued_count: int
    redeemed: Money
    expired: Money = Field(description="lapsed unspent, including those due but not yet closed")
    voided: Money
    held: Money = Field(description="part of outstanding reserved by open receipts")
    not_activated_count: int = Field(description="printed stock not sold yet (owes nothing)")
    not_activated_nominal: Money


# ---- the till -------------------------------------------------------------------------


class GiftCertificateStatus(WireModel):
    number: str
    state: State
    nominal: Money
    remaining: Money
    available: Money = Field(description="remaining less what open receipts hold")
    redemption: Literal["partial", "single"]
    expires_at: datetime | None
    message: str = Field(description="для кассира")


class GiftCertificateSell(WireModel):
    """The till sold a pre-printed certificate: ``receipt_id`` is the sale's receipt id
    on the till (a repeat with the same one answers the same)."""

    number: CertificateNumber
    receipt_id: Annotated[str, Field(min_length=1, max_length=128)]
