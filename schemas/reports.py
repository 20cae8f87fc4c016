"""Reports a merchant reads (merchant API key). Amounts are roubles with two places;
instants are ISO-8601 in the merchant's zone."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from schemas.money import Money


class WireModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReanimationRule(WireModel):
    rule: str = Field(description="the rule's code in the program")
    gifted: int = Field(description="customers who got the rule's gift")
    returned: int = Field(description="of them, customers who bought after the gift")
    gifts: Money = Field(description="bonuses granted by the rule")
    messages_cost: Money = Field(description="what the gift messages cost")
    sales: int = Field(description="the returned customers' sales after the gift")
    revenue: Money = Field(description="those sales net of their returns")


class ReanimatedCustomer(WireModel):
    id: int = Field(description="the gift's id (the page cursor)")
    customer_id: int
    rule: str
    granted_at: datetime
    gift: Money
    last_purchase_before: datetime = Field(description="the purchase the absence began at")
    returned_at: datetime | None = Field(description="the first sale after the gift")
    sales: int
    revenue: Money = Field(description="net of returns")


class ReanimationReport(WireModel):
    """Sales count for a gift from its moment until the same customer's next
    reanimation gift, so a customer gifted twice is not counted twice."""

    rules: list[ReanimationRule]
    customers: list[ReanimatedCustomer] = Field(description="newest gifts first")
    next: int | None = Field(description="pass as ?before= for the next (older) page")
