"""What the merchant's customer views share: page sizes, local times, the actor."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from cloud.errors import BadRequest
from cloud.services.customers import not_found
from cloud.services.merchants import MerchantContext, zone

MAX_PAGE = 100
CABINET_LABEL = "кабинет"
"""The label of actions done in the merchant cabinet (no API key: a staff login)."""
BIGINT_MAX = 2**63 - 1


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest("invalid_limit", f"Размер страницы должен быть от 1 до {MAX_PAGE}")


def check_customer_id(customer_id: int) -> None:
    if not 0 < customer_id <= BIGINT_MAX:
        raise not_found()


def local(seconds: int | None, tz: ZoneInfo) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(int(seconds), tz)


def local_in(seconds: int, store_zone: str | None, fallback: ZoneInfo) -> datetime:
    """An instant in the zone of the store it happened in, else the merchant's."""
    tz = fallback if store_zone is None else zone(store_zone)
    return datetime.fromtimestamp(int(seconds), tz)


def actor(merchant: MerchantContext, staff: str | None) -> str:
    """Who did it, as the history shows it: the staff member named in the request and
    the merchant key it came through (its label, else its number)."""
    return described_actor(staff, merchant.label, merchant.credential_id)


def described_actor(staff: str | None, label: str, credential_id: int | None) -> str:
    """``actor`` from a stored action row."""
    if credential_id is None and label == CABINET_LABEL:
        return f"{staff} (личный кабинет)" if staff else "личный кабинет"
    key = f"ключ API «{label}»" if label else f"ключ API №{credential_id}"
    return f"{staff} ({key})" if staff else key
