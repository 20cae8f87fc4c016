"""Coupons on the wire: the merchant's campaigns (batches of codes) and what a quote or a
sale says about the codes the cashier entered."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, model_validator

from schemas.bounds import WireBool, WireDateTime
from schemas.checkout import CouponCode, WireModel
from schemas.program import Code

MAX_BATCH = 10_000
"""Codes per campaign: a printable batch, not a mass mailing."""
CODE_LENGTH = 12

Uses = Annotated[int, Field(ge=1, le=1_000_000)]

CouponState = Literal["active", "used", "revoked", "expired", "not_yet_valid"]


class CouponCampaignCreate(WireModel):
    """A batch of ``count`` codes unlocking the coupon rule ``rule`` of the live program.
    ``uses_per_code`` 1 is a single-use code, null a code usable any number of times;
    ``total_uses`` caps the whole campaign and ``uses_per_customer`` each customer (then
    the receipt must name a customer); ``requires_customer`` refuses a code on an
    anonymous receipt; ``valid_from`` / ``valid_until`` bound when a code works
    (``valid_until`` excluded); ``return_frees``: a fully returned receipt gives its codes
    back (usable again)."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    rule: Code
    count: Annotated[int, Field(ge=1, le=MAX_BATCH)]
    uses_per_code: Uses | None = 1
    total_uses: Uses | None = None
    uses_per_customer: Uses | None = None
    requires_customer: WireBool = False
    valid_from: WireDateTime | None = None
    valid_until: WireDateTime | None = None
    return_frees: WireBool = False

    @model_validator(mode="after")
    def _consistent(self) -> CouponCampaignCreate:
        if not self.name.strip() or not self.name.isprintable():
            raise ValueError("название: печатные символы, не одни пробелы")
        if self.uses_per_customer is not None and not self.requires_customer:
            raise ValueError(
                "ограничение на клиента (uses_per_customer) требует requires_customer: true"
            )
        if (
            self.valid_from is not None
            and self.valid_until is not None
            and self.valid_from >= self.valid_until
        ):
            raise ValueError("valid_from должно быть раньше valid_until")
        return self


class CouponRevoke(WireModel):
    """``codes``: only these codes of the campaign; absent: the whole campaign."""

    codes: Annotated[list[CouponCode], Field(min_length=1, max_length=MAX_BATCH)] | None = None


class CouponCampaignInfo(WireModel):
    id: int
    name: str
    rule: str
    count: int
    used: int
    """Redemptions not freed, over all codes."""
    uses_per_code: int | None
    total_uses: int | None
    uses_per_customer: int | None
    requires_customer: bool
    valid_from: datetime | None
    valid_until: datetime | None
    return_frees: bool
    revoked_at: datetime | None
    created_at: datetime


class CouponCampaignCreated(WireModel):
    campaign: CouponCampaignInfo
    codes: list[str]


class CouponCampaignList(WireModel):
    campaigns: list[CouponCampaignInfo]


class CouponInfo(WireModel):
    code: str
    state: CouponState
    used: int
    revoked_at: datetime | None


class CouponList(WireModel):
    campaign_id: int
    coupons: list[CouponInfo]


class CouponRevoked(WireModel):
    campaign_id: int
    revoked: int
    """Codes revoked by this call (already revoked ones are not counted)."""
