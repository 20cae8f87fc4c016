"""МойСклад's Loyalty API 1.0 on the wire (``shared/contracts/moysklad.md``; the published
reference is github.com/moysklad/api-loyalty-1.0-doc, its examples are
``fixtures/moysklad/``).

Requests are lenient where the reference is loose (fields we do not use are ignored,
``agent`` may be ``{}`` or ``{"href", "id"}`` on a return) and exact where money is
concerned: amounts and quantities are JSON numbers or numeric strings read as
``Decimal`` from their text (the body reader never makes a float), two places for money
and three for quantities. Answers are the reference's shapes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

from schemas.frontol import Money, Quantity
from schemas.money import MAX_AMOUNT

Text = Annotated[str, Field(max_length=256)]
EntityId = Annotated[str, Field(max_length=64)]
Href = Annotated[str, Field(max_length=1000)]


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Meta(_In):
    href: Href = ""
    id: EntityId = ""

    @property
    def entity_id(self) -> str:
        """The id, or the last segment of ``href`` when only the href is given."""
        return self.id.strip() or self.href.rstrip("/").rsplit("/", 1)[-1].strip()


class Ref(_In):
    meta: Meta
    name: Text | None = None


class StoreRef(_In):
    meta: Meta
    name: Text | None = None

    @model_validator(mode="after")
    def _has_id(self) -> StoreRef:
        if not self.meta.entity_id:
            raise ValueError("не указан идентификатор точки продаж (retailStore.meta.id)")
        return self


def _agent(value: Any) -> Any:
    # A return's agent is {} or {"href", "id"} (the reference's changelog, 19-04-2021).
    if value == {} or value == []:
        return None
    if isinstance(value, dict) and "meta" not in value and ("id" in value or "href" in value):
        return {**value, "meta": {"href": value.get("href", ""), "id": value.get("id", "")}}
    return value


class Person(_In):
    """A counterparty's details as the till sends them."""

    name: Text | None = None
    discountCardNumber: Annotated[str, Field(max_length=64)] | None = None
    phone: Annotated[str, Field(max_length=64)] | None = None
    email: Text | None = None
    legalFirstName: Text | None = None
    legalMiddleName: Text | None = None
    legalLastName: Text | None = None
    birthDate: Annotated[str, Field(max_length=32)] | None = None
    sex: Literal["MALE", "FEMALE"] | None = None


class Agent(Person):
    meta: Meta | None = None


AgentIn = Annotated[Agent | None, BeforeValidator(_agent)]


class AssortmentMeta(Meta):
    idType: Literal["native", "sync"] | None = None
    type: Annotated[str, Field(max_length=64)] | None = None


class Assortment(_In):
    meta: AssortmentMeta
    syncId: EntityId | None = None

    @model_validator(mode="after")
    def _has_id(self) -> Assortment:
        if not self.meta.entity_id:
            raise ValueError("не указан идентификатор товара (assortment.meta.id)")
        return self


class SerialNumber(BaseModel):
    model_config = ConfigDict(extra="allow")
    meta: Meta
    name: Text | None = None


class Pack(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: EntityId
    name: Text
    quantity: Decimal
    barcode: Text | None = None


class Position(_In):
    assortment: Assortment
    quantity: Quantity
    price: Money
    sn: Annotated[list[SerialNumber], Field(max_length=1000)] | None = None
    pack: Pack | None = None

    @model_validator(mode="after")
    def _within_bound(self) -> Position:
        if self.price * self.quantity > MAX_AMOUNT:
            raise ValueError("цена × количество больше 99 999 999,99 ₽")
        return self


Positions = Annotated[list[Position], Field(min_length=1, max_length=250)]


class BonusRequest(_In):
    transactionType: Literal["EARNING", "SPENDING"] = "EARNING"


class RecalcRequest(_In):
    retailStore: StoreRef
    agent: AgentIn = None
    positions: Positions
    bonusProgram: BonusRequest | None = None
    preferredBonusToSpend: Money | None = None


class SoldPosition(Position):
    discountPercent: Annotated[Decimal, Field(ge=0, le=100)] | None = None
    discountedPrice: Money | None = None


class SaleBonus(_In):
    bonusValueToSpend: Money | None = None
    bonusValueToEarn: Money | None = None


class GiftCardPayment(_In):
    """A gift certificate paying part of the sale: ``name`` is its number, ``paymentSum``
    the kopecks it paid (the reference's unit for gift cards; a whole number)."""

    id: EntityId
    name: Text
    paymentSum: Money


class RetailDemand(_In):
    retailStore: StoreRef
    name: Annotated[str, Field(max_length=64)] | None = None
    moment: Annotated[str, Field(max_length=32)] | None = None
    meta: Meta | None = None
    agent: AgentIn = None
    positions: Annotated[list[SoldPosition], Field(min_length=1, max_length=500)]
    bonusProgram: SaleBonus | None = None
    cashSum: Money | None = None
    noCashSum: Money | None = None
    giftCards: Annotated[list[GiftCardPayment], Field(max_length=20)] | None = None


class DemandRef(_In):
    meta: Meta


class RetailSalesReturn(_In):
    retailStore: StoreRef
    name: Annotated[str, Field(max_length=64)] | None = None
    moment: Annotated[str, Field(max_length=32)] | None = None
    meta: Meta | None = None
    demand: DemandRef | None = None
    agent: AgentIn = None
    positions: Annotated[list[SoldPosition], Field(min_length=1, max_length=500)]
    cashSum: Money | None = None
    noCashSum: Money | None = None


class CounterpartyIn(Person):
    """``POST /counterparty``, ``/counterparty/detail`` and ``/counterparty/verify``."""

    retailStore: StoreRef
    meta: Meta | None = None
    syncId: EntityId | None = None
    statusCheck: Literal["UNCHECKED", "CHECKED", "IGNORE"] | None = None


class DemandVerifyRequest(_In):
    retailStore: StoreRef
    counterpartyId: Annotated[str, Field(min_length=1, max_length=64)]
    phone: Annotated[str, Field(max_length=64)] | None = None


# ---- answers --------------------------------------------------------------------------------


Number = Annotated[Decimal, WithJsonSchema({"type": "number"})]
"""An amount or quantity we answer: a JSON number with its places, never via a float."""


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CounterpartyRow(_Out):
    id: str
    """Our id of the customer (a GUID); the till sends it back as ``agent.meta.id``."""
    msId: str | None = None
    name: str
    discountCardNumber: str | None = None
    phone: str | None = None
    email: str | None = None
    birthDate: str | None = None
    sex: Literal["MALE", "FEMALE"] | None = None


class SearchResponse(_Out):
    rows: list[CounterpartyRow]


class BalanceBlock(_Out):
    agentBonusBalance: Number


class DetailResponse(_Out):
    bonusProgram: BalanceBlock


class VerifyResponse(_Out):
    verificationCode: str
    timeForRepeat: int
    messageForCashier: str = Field(max_length=140)


class PositionOut(_Out):
    assortment: dict[str, Any]
    quantity: Number
    price: Number
    discountPercent: Number
    discountedPrice: Number
    sn: list[dict[str, Any]] | None = None
    pack: dict[str, Any] | None = None


class BonusOut(_Out):
    transactionType: Literal["EARNING", "SPENDING"]
    agentBonusBalance: Number | None = None
    bonusValueToSpend: Number
    bonusValueToEarn: Number
    agentBonusBalanceAfter: Number | None = None
    paidByBonusPoints: Number
    receiptExtraInfo: str | None = None


class RecalcResponse(_Out):
    agent: dict[str, Any] | None = None
    positions: list[PositionOut]
    bonusProgram: BonusOut
    needVerification: bool


class ErrorItem(_Out):
    error: str
    parameter: str | None = None
    code: int
    error_message: str


class ErrorResponse(_Out):
    """The reference's ``errors`` array, plus our ``code`` and ``message`` (every other
    door of the service answers those two)."""

    errors: list[ErrorItem]
    code: str
    message: str


class InstallationOut(_Out):
    id: int
    label: str | None
    token: str | None = Field(
        default=None, description="shown once, when issued: type it into the solution"
    )
    created_at: str
    revoked_at: str | None = None


class InstallationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class InstallationList(_Out):
    installations: list[InstallationOut]


class GiftCardOut(_Out):
    """``GET /giftcard``: a certificate by its number. Balances are kopecks (integers),
    ``expireDate`` is UTC ``YYYY-MM-DD HH:MM:SS``; ``currentBalance`` is given while the
    certificate may pay (``CAN_BE_USED``, ``PARTIALLY_REDEEMED``)."""

    name: str
    id: str
    status: Literal["CAN_BE_USED", "PARTIALLY_REDEEMED", "EXPIRED", "REDEEMED", "INVALID"]
    expireDate: str | None = None
    currentBalance: int | None = None
    initialBalance: int
