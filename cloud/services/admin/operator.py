"""The platform operator: a Bearer token from settings that creates merchants."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime

from cloud.errors import Forbidden, Unauthorized
from cloud.services.admin import clean_name
from cloud.services.merchants import Db, create_merchant, issue_merchant_key, zone
from cloud.settings import Settings


def authenticate_operator(settings: Settings, token: str) -> None:
    """Accept the operator token or refuse: with no token configured the operator API
    is off (403, saying how to turn it on), never open."""
    expected = settings.operator_token
    if not expected:
        raise Forbidden(
            "operator_disabled",
            "API оператора платформы выключен: задайте LOYALTY_OPERATOR_TOKEN",
        )
    # Constant-time comparison: the token is the platform's master key.
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise Unauthorized("invalid_token", "Неверный токен оператора платформы")


@dataclass(frozen=True, slots=True)
class NewMerchant:
    merchant_id: int
    owner_key: str
    """Shown once: only its hash is stored."""


async def onboard_merchant(db: Db, name: str, now: datetime, timezone: str) -> NewMerchant:
    """A new merchant and its owner's key (no stores yet: the owner adds them)."""
    zone(timezone)
    merchant_id = await create_merchant(db, clean_name(name), now, timezone)
    key = await issue_merchant_key(db, merchant_id, now, label="owner", role="owner")
    return NewMerchant(merchant_id, key)
