"""Customers' feedback on their purchases, as the merchant sees it (merchant API key).

Amounts are roubles with two places; instants are ISO-8601 in the merchant's zone;
dates ``YYYY-MM-DD`` are the merchant's local dates (a feedback's date is the day it was
given). NPS on the 1–5 scale: 5 is a promoter, 4 passive, 1–3 a detractor; NPS is
(promoters − detractors) / responses × 100, rounded to one place.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.money import Money


class WireModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FeedbackRow(WireModel):
    id: int
    receipt_id: str = Field(description="the sale's id as the till sent it")
    customer_id: int
    store_id: int | None
    store: str | None = Field(description="the store's name")
    terminal_id: int | None
    terminal: str | None = Field(description="the till's name")
    cashier: str | None = Field(
        description="the receipt's cashier: the name the till sent, else its id; null when "
        "the till named none"
    )
    cashier_id: str | None = Field(default=None, description="the till's id of the cashier")
    amount: Money = Field(description="the purchase amount")
    purchased_at: datetime
    date: date
    created_at: datetime
    rating: int = Field(ge=1, le=5)
    comment: str | None
    bonus: Money | None = Field(description="the review gift granted for it, if any")
    reply: str | None
    replied_at: datetime | None


class FeedbackList(WireModel):
    feedback: list[FeedbackRow]
    next: int | None = Field(description="pass as ?before= for the next (older) page")


class ReplyRequest(WireModel):
    text: Annotated[str, Field(min_length=1, max_length=500)]

    @field_validator("text")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("Текст ответа пустой")
        return value


class ReplyResult(WireModel):
    id: int
    reply: str
    replied_at: datetime
    queued: bool = Field(description="a message to the customer was queued in the outbox")


class NpsRow(WireModel):
    store_id: int | None = Field(description="null in the total over every store")
    store: str | None
    responses: int
    promoters: int = Field(description="ratings of 5")
    passives: int = Field(description="ratings of 4")
    detractors: int = Field(description="ratings of 1 to 3")
    nps: Decimal | None = Field(description="-100..100, one place; null without responses")


class NpsReport(WireModel):
    date_from: date | None
    date_to: date | None
    stores: list[NpsRow]
    total: NpsRow
