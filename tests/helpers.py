"""Test helpers that act the way a terminal would: over HTTP, with the SMS the customer
receives read back from the log provider."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, cast

from aiohttp.test_utils import TestClient

from cloud.notify import LogSmsProvider
from cloud.services.deps import Deps


def sms_code(deps: Deps, phone: str) -> str:
    """The code in the last SMS the customer's phone received."""
    text = cast(LogSmsProvider, deps.sms).last_to(phone)
    assert text is not None, f"no SMS was sent to {phone}"
    match = re.search(r"\b(\d{6})\b", text)
    assert match is not None
    return match.group(1)


async def register_over_api(client: TestClient, deps: Deps, phone: str, **extra: Any) -> Any:
    """Send a registration code, then register the customer with it; returns the body."""
    response = await client.post(
        "/api/v1/sms-codes", json={"phone": phone, "purpose": "registration"}
    )
    assert response.status == 200, await response.text()
    body = {
        "phone": phone,
        "sms_code": sms_code(deps, phone),
        "consent": {"personal_data": True, "messages": True},
        **extra,
    }
    response = await client.post("/api/v1/customers", json=body)
    assert response.status == 201, await response.text()
    return await response.json()


def money(value: Any) -> Decimal:
    """A JSON amount as the exact Decimal the terminal would read."""
    return Decimal(str(value))
