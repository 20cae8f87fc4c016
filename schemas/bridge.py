"""The store bridge's own API with the cloud (``/bridge/v1/...``, a ``bridge`` terminal's
token) and the merchant's view of its bridges (``/api/v1/merchant/bridges``).

A store server keeps a snapshot of the merchant's customers to price receipts while the
cloud is away. It holds no phone or card number in clear: the cloud sends keyed hashes
(``keyed_hash``) under a key of that bridge alone, and the bridge hashes what a till
sends the same way to find the customer.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from schemas.bounds import WireDateTime
from schemas.checkout import WireModel


def keyed_hash(key: bytes, kind: str, normalised: str) -> str:
    """HMAC-SHA256 of a normalised phone (``kind`` ``phone``) or card number (``card``)
    under a bridge's lookup key; the cloud and the bridge compute it alike."""
    return hmac.new(key, f"{kind}:{normalised}".encode(), hashlib.sha256).hexdigest()


class BridgeProgram(WireModel):
    """The merchant's active program as a bridge prices with it offline."""

    version: int = Field(description="номер версии программы")
    program_version_id: int
    timezone: str = Field(description="часовой пояс магазина бриджа")
    document: dict[str, Any] = Field(description="документ программы (как в /api/v1/programs)")
    lookup_key: str = Field(
        description="ключ (base64) хешей телефонов и карт в снимке клиентов; свой у каждого бриджа"
    )


class SnapshotCustomer(WireModel):
    id: int
    tier: str | None
    tier_name: str | None
    blocked: bool
    keys: list[str] = Field(
        description="HMAC-SHA256 (hex) «phone:<номер E.164>» и «card:<номер карты>» "
        "ключом lookup_key"
    )


class CustomerPage(WireModel):
    customers: list[SnapshotCustomer]
    next_after: int | None = Field(
        description="передайте как after за следующей страницей; null — страниц больше нет"
    )


class Heartbeat(WireModel):
    """What the bridge reports of its outbox: receipts it holds for the cloud."""

    outbox_depth: Annotated[int, Field(ge=0, le=2_000_000_000)]
    oldest_unsent_at: WireDateTime | None = None
    rejected_count: Annotated[int, Field(ge=0, le=2_000_000_000)] = 0
    version: Annotated[str, Field(min_length=1, max_length=64)]


class HeartbeatAck(WireModel):
    received_at: datetime


class BridgeStatus(WireModel):
    terminal_id: int
    store_id: int
    name: str
    last_contact_at: datetime | None
    outbox_depth: int | None
    oldest_unsent_at: datetime | None
    rejected_count: int | None
    version: str | None
    stale: bool = Field(
        description="бридж не выходил на связь дольше 5 минут (или ещё ни разу): его "
        "очередь чеков может расти незаметно"
    )


class BridgeList(WireModel):
    bridges: list[BridgeStatus]


REPLAY_MAX_ITEMS = 100
"""Outbox items per ``/bridge/v1/replay`` call: at a few ms each, a call stays well
inside the bridge's replay timeout."""

BASE64 = "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
ReplayMethod = Annotated[str, Field(pattern="^(POST|PUT|PATCH|DELETE)$")]


class ReplayItem(WireModel):
    """One queued till call, byte for byte as the till sent it to the bridge."""

    method: ReplayMethod
    path: Annotated[
        str, Field(min_length=2, max_length=2000, pattern="^/", description="путь с query")
    ]
    headers: dict[
        Annotated[str, Field(min_length=1, max_length=100)],
        Annotated[str, Field(max_length=4000)],
    ] = Field(
        max_length=10,
        description="заголовки вызова кассы (Authorization, Content-Type, Idempotency-Key)",
    )
    body: Annotated[str, Field(pattern=BASE64, max_length=2_000_000)] = Field(
        description="тело вызова кассы, base64"
    )


class ReplayBatch(WireModel):
    """A run of the bridge's outbox, in arrival order."""

    items: list[ReplayItem] = Field(min_length=1, max_length=REPLAY_MAX_ITEMS)


class ReplayResult(WireModel):
    status: int = Field(description="HTTP-статус, который получила бы касса")
    content_type: str | None
    body: str = Field(description="ответ кассе, base64")


class ReplayAnswer(WireModel):
    """One answer per item, in order, up to and including the first that was not a
    success: the items after it were not applied and are sent again."""

    results: list[ReplayResult]
