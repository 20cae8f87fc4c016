"""Fiscal QR claims on the wire: the merchant's settings and fiscal drives (merchant
key)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.bounds import BigId
from schemas.money import Money

Inn = Annotated[
    str,
    Field(pattern=r"^(\d{10}|\d{12})$", description="ИНН организации (10 цифр) или ИП (12 цифр)"),
]
Fn = Annotated[
    str, Field(pattern=r"^\d{16}$", description="заводской номер фискального накопителя, 16 цифр")
]


def inn_valid(inn: str) -> bool:
    """The INN's check digits (10 digits: one, 12 digits: two)."""
    digits = [int(c) for c in inn]

    def check(weights: tuple[int, ...]) -> int:
        return sum(w * d for w, d in zip(weights, digits, strict=False)) % 11 % 10

    if len(digits) == 10:
        return check((2, 4, 10, 3, 5, 9, 4, 6, 8)) == digits[9]
    if len(digits) == 12:
        return (
            check((7, 2, 4, 10, 3, 5, 9, 4, 6, 8)) == digits[10]
            and check((3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)) == digits[11]
        )
    return False


class FiscalSettingsSet(BaseModel):
    """``master_token``: the FNS partner master token; omitted on a later change, the
    stored one is kept (it is never shown again)."""

    model_config = ConfigDict(extra="forbid")

    inn: Inn
    provider: Literal["fns"] = "fns"
    master_token: Annotated[str, Field(min_length=8, max_length=500)] | None = None
    claim_window_days: Annotated[
        int, Field(ge=1, le=90, description=("сколько дней после покупки чек можно предъявить"))
    ] = 14

    @field_validator("inn")
    @classmethod
    def _check_digits(cls, value: str) -> str:
        if not inn_valid(value):
            raise ValueError("неверные контрольные цифры ИНН")
        return value

    @field_validator("master_token")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value is not None and (not value.isprintable() or value.strip() != value):
            raise ValueError("токен: печатные символы без пробелов по краям")
        return value


class FiscalSettingsInfo(BaseModel):
    inn: str
    provider: str
    credentials_set: bool = Field(description="мастер-токен сохранён (сам он не выдаётся)")
    claim_window_days: int


class FiscalDriveAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store_id: BigId
    fn: Fn


class FiscalDriveInfo(BaseModel):
    id: int
    store_id: int
    fn: str
    created_at: int


class FiscalDriveList(BaseModel):
    drives: list[FiscalDriveInfo]


class FiscalDriveRemoved(BaseModel):
    removed: bool


class FiscalClaimInfo(BaseModel):
    id: int
    customer_id: int
    store_id: int
    fn: str
    fd: int
    amount: Money = Field(description="сумма чека, рубли")
    receipt_time: str
    channel: str
    status: Literal["pending", "accrued", "refused"]
    reason: str | None
    accrued: Money | None = Field(description="начислено бонусов, рубли")
    created_at: int


class FiscalClaimList(BaseModel):
    claims: list[FiscalClaimInfo]
