"""Messages on the wire (merchant key): mailings to a segment and message templates.

Amounts are roubles with two places; a segment's ranges are inclusive, either end may be
left out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

from schemas.customers import Gender
from schemas.money import Amount, Money

Name = Annotated[str, Field(min_length=1, max_length=64)]


class WireModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _ordered(model: Any) -> Any:
    if model.min is not None and model.max is not None and model.min > model.max:
        raise ValueError("min больше max")
    return model


class MoneyRange(WireModel):
    min: Amount | None = None
    max: Amount | None = None
    _check = model_validator(mode="after")(_ordered)


class CountRange(WireModel):
    min: StrictInt | None = Field(None, ge=0, le=1_000_000)
    max: StrictInt | None = Field(None, ge=0, le=1_000_000)
    _check = model_validator(mode="after")(_ordered)


class AgeRange(WireModel):
    min: StrictInt | None = Field(None, ge=0, le=150)
    max: StrictInt | None = Field(None, ge=0, le=150)
    _check = model_validator(mode="after")(_ordered)


class CardRange(WireModel):
    """Card numbers of up to 18 digits, compared as integers (leading zeros ignored)."""

    min: StrictInt | None = Field(None, ge=0, le=999_999_999_999_999_999)
    max: StrictInt | None = Field(None, ge=0, le=999_999_999_999_999_999)
    _check = model_validator(mode="after")(_ordered)


class Segment(WireModel):
    """Who receives a mailing: customers of the merchant matching every given field,
    who consented to messages and did not opt out, with an unblocked card."""

    tiers: list[Name] | None = Field(None, min_length=1, max_length=50,
                                     description="коды уровней")  # fmt: skip
    registration_channels: list[Name] | None = Field(
        None, min_length=1, max_length=20, description="каналы регистрации (native, evotor…)"
    )
    average_receipt: MoneyRange | None = None
    revenue: MoneyRange | None = Field(None, description="сумма покупок за всё время")
    purchase_count: CountRange | None = None
    balance: MoneyRange | None = Field(None, description="доступные бонусы сейчас")
    days_without_purchase: CountRange | None = Field(
        None, description="дней с последней покупки (без покупок — с регистрации)"
    )
    age: AgeRange | None = Field(
        None, description="полных лет на сегодня (клиенты без даты рождения не входят)"
    )
    gender: Gender | None = Field(None, description="пол, указанный при регистрации")
    card_numbers: CardRange | None = Field(
        None,
        description="номер любой карты клиента (пластиковой или виртуальной) как число",
    )


def _text(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("пустой текст")
    if "\x00" in value:
        raise ValueError("символ NUL недопустим")
    return value


class MailingRequest(WireModel):
    segment: Segment
    text: str = Field(min_length=1, max_length=1000)
    channel: Literal["sms", "email"] = Field(
        "sms", description="sms: клиентам с привязанным Telegram — в Telegram (бесплатно)"
    )
    attribution_days: StrictInt | None = Field(
        None, ge=1, le=90, description="окно учёта покупок после отправки, дней"
    )
    _text = field_validator("text")(_text)


class MailingPreview(WireModel):
    participants: int
    by_telegram: int
    parts: int = Field(description="частей SMS в одном сообщении")
    estimated_cost: Money


class MailingCreated(WireModel):
    id: int
    participants: int
    estimated_cost: Money
    created_at: datetime


class MailingResults(WireModel):
    id: int
    text: str
    created_at: datetime
    attribution_days: int
    participants: int = Field(
        description="получатели, которым сообщение отправлено (без отказавшихся, "
        "заблокированных, ошибок и ещё не отправленных)"
    )
    queued: int = Field(description="поставлено в очередь при создании рассылки")
    sent: int = Field(description="приняты провайдером (в т. ч. доставленные)")
    delivered: int = Field(description="доставка подтверждена оператором")
    pending: int
    failed: int
    skipped: int = Field(description="отказались от сообщений или карта заблокирована")
    cost: Money = Field(description="стоимость отправленных сообщений")
    buyers: int = Field(description="получатели, купившие в окне учёта")
    sales: int = Field(description="покупки получателей в окне учёта (с возвращёнными)")
    returned: Money = Field(description="возвраты по этим покупкам, когда бы они ни были")
    revenue: Money = Field(description="выручка этих покупок за вычетом возвратов")


class TemplateInfo(WireModel):
    kind: str
    body: str
    default: str
    custom: bool
    variables: list[str]


class TemplateList(WireModel):
    templates: list[TemplateInfo]


class TemplateRequest(WireModel):
    kind: str = Field(min_length=1, max_length=32, description="вид сообщения, см. GET")
    body: str = Field(min_length=1, max_length=1000)
    _text = field_validator("body")(_text)
