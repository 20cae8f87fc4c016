"""Wire models of administration: the operator API (merchants) and the merchant API
(stores, terminals, tokens, merchant keys, the Evotor link)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from schemas.bounds import BigId

# No control characters: PostgreSQL refuses NUL in text, and names are printed on
# receipts and reports.
_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=_PRINTABLE),
]
Zone = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=_PRINTABLE)
]
Address = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=500, pattern=_PRINTABLE)
]
Label = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100, pattern=_PRINTABLE)]
Channel = Literal["native", "1c", "sigma", "modulkassa", "frontol", "moysklad", "bridge"]
TerminalChannel = Literal[
    "native",
    "1c",
    "sigma",
    "modulkassa",
    "frontol",
    "moysklad",
    "bridge",
    "evotor",
    "fiscal_qr",
    "cabinet",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MerchantCreate(_In):
    name: Name
    timezone: Zone = "Europe/Moscow"


class MerchantCreated(BaseModel):
    merchant_id: int
    owner_key: str = Field(description="the owner's merchant key, shown once")


class StoreCreate(_In):
    name: Name
    timezone: Zone | None = Field(None, description="IANA zone; the merchant's by default")
    address: Address | None = None


class StoreUpdate(_In):
    name: Name | None = None
    timezone: Zone | None = None
    address: Address | None = None


class StoreOut(BaseModel):
    id: int
    name: str
    timezone: str
    address: str | None
    evotor: bool = Field(description="synced from Evotor")


class StoreList(BaseModel):
    stores: list[StoreOut]


class TerminalCreate(_In):
    store_id: BigId
    name: Name
    channel: Channel = "native"


class TerminalOut(BaseModel):
    id: int
    store_id: int
    name: str
    channel: TerminalChannel
    live_tokens: int
    read_only: bool = Field(
        description="Evotor terminals (managed by the Evotor sync) and each store's virtual "
        "fiscal_qr terminal of receipts claimed by QR code: no token is issued for them"
    )


class TerminalList(BaseModel):
    terminals: list[TerminalOut]


class TokenCreate(_In):
    label: Label = ""


class TokenIssued(BaseModel):
    terminal_id: int
    channel: str
    token: str = Field(description="shown once: only its hash is stored")


class TokenRevoke(_In):
    token: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    terminal_id: BigId | None = Field(None, description="revoke every live token of it")


class TokensRevoked(BaseModel):
    revoked: int


class SigningSecretIssued(BaseModel):
    terminal_id: int
    secret: str = Field(description="shown once: the key of X-Sigma-Signature (HMAC-SHA256)")
    previous_valid_until: datetime | None = Field(
        description="the secrets it replaced still sign until then (24 h); null: none"
    )


class SigningSecretsRevoked(BaseModel):
    revoked: int


class KeyCreate(_In):
    role: Literal["owner", "manager"] = "manager"
    label: Label = ""


class KeyIssued(BaseModel):
    key: str = Field(description="shown once: only its hash is stored")
    role: str


class KeyOut(BaseModel):
    id: int
    role: str
    label: str
    created_at: datetime
    revoked_at: datetime | None


class KeyList(BaseModel):
    keys: list[KeyOut]


class KeyRevoked(BaseModel):
    id: int
    revoked: bool


class EvotorLinkOut(BaseModel):
    linked: bool
    evotor_user_id: str | None
    status: str | None
    subscription_status: str | None
    installed_at: datetime | None
    synced_at: datetime | None
