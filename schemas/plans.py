"""Wire models of the merchant's plan (operator API) and this month's usage against it
(merchant API)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from schemas.money import Amount, Money

PlanName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100,
                      pattern=r"^[^\x00-\x1f\x7f]*$"),
]  # fmt: skip


class PlanIn(BaseModel):
    """What the subscription includes each month; usage over it is shown, never blocked."""

    model_config = ConfigDict(extra="forbid")
    name: PlanName
    included_receipts: Annotated[int, Field(ge=0, le=1_000_000_000, strict=True)]
    message_budget: Amount = Field(description="рубли в месяц на сообщения клиентам")


class PlanOut(BaseModel):
    merchant_id: int
    name: str
    included_receipts: int
    message_budget: Money


class UsageOut(BaseModel):
    month: str = Field(description="календарный месяц в часовом поясе компании, ГГГГ-ММ")
    receipts: int = Field(description="чеков продажи за месяц (возвраты не считаются)")
    messages: int = Field(description="сообщений клиентам отправлено за месяц")
    message_cost: Money
    plan: PlanOut | None = Field(description="тариф; null — не назначен")
