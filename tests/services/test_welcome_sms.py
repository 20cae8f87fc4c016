"""The welcome gift's ``sms`` (default true) is honoured: registration queues a
``welcome_gift`` message to a customer who consented to messages, none otherwise."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from cloud.clock import ManualClock
from cloud.messages.templates import render
from cloud.services.deps import Deps
from tests.conftest import make_tenant
from tests.services.test_customers import register
from tests.services.test_lifecycle_jobs import PROGRAM


async def _welcome_notes(deps: Deps, merchant_id: int) -> list[tuple[int, dict[str, Any]]]:
    rows = await deps.db.fetch_all(
        "SELECT customer_id, params FROM notifications WHERE merchant_id = :m "
        "AND kind = 'welcome_gift' ORDER BY id",
        {"m": merchant_id},
    )
    return [(int(r["customer_id"]), json.loads(r["params"])) for r in rows]


async def test_welcome_gift_sms_only_with_consent_and_only_when_asked(
    deps: Deps, clock: ManualClock
) -> None:
    """With the welcome gift's default ``sms`` a consenting newcomer gets one message
    naming the amount, one without consent none; with ``sms: false`` nobody does."""
    clock.now = datetime(2026, 3, 7, 9, tzinfo=UTC)
    gifts = {"welcome": {"amount": "100"}}
    tenant = await make_tenant(deps, "Салон", {**PROGRAM, "gifts": gifts})
    yes = await register(deps, tenant, "+79160000401")
    no = {"personal_data": True, "messages": False}
    await register(deps, tenant, "+79160000402", consent=no)
    assert await _welcome_notes(deps, tenant.merchant_id) == [(yes, {"amount": 10_000})]
    assert "100 ₽" in render("welcome_gift", {"amount": 10_000}, "Салон", None)

    quiet = {"welcome": {"amount": "100", "sms": False}}
    other = await make_tenant(deps, "Тихий", {**PROGRAM, "gifts": quiet})
    await register(deps, other, "+79160000403")
    assert await _welcome_notes(deps, other.merchant_id) == []
