"""The reanimation report over the merchant API: per rule, who got a gift, who came
back, their sales net of returns and what the gift messages cost; per customer, each
gift's sales until the customer's next gift; pages; one merchant never sees another's."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from cloud.clock import ManualClock
from cloud.messages.outbox import drain
from cloud.messages.providers import LogSmsProvider, sms_parts
from cloud.services import lifecycle
from cloud.services.deps import Deps
from tests.conftest import make_tenant, merchant_client
from tests.services.test_lifecycle_jobs import _register
from tests.services.test_tier_job import _buy, _buy_lines, _refund

PROGRAM: dict[str, Any] = {
    "name": "Автомойка: возвращение",
    "tiers": [{"code": "base", "name": "Базовый", "accrual_percent": "5"}],
    "gifts": {"reanimation": [{"code": "month", "name": "Месяц без визита",
                               "days_without_purchase": 30, "amount": "200",
                               "valid_days": 7}]},
}  # fmt: skip
REPORT = "/api/v1/merchant/reports/reanimation"


async def test_who_came_back_and_what_they_spent(
    aiohttp_client: Any, deps: Deps, clock: ManualClock
) -> None:
    """Gifted twice (two absences), the customer's first gift counts the 1 500 ₽ kept
    of a 2 000 ₽ sale (500 returned), the second the 700 ₽ bought after it — not both;
    the other customer, gifted and never back, is counted as gifted only; each gift SMS
    cost 2.50 ₽ a part; pages go newest first; another merchant's key sees nothing."""
    clock.now = datetime(2026, 1, 10, 9, tzinfo=UTC)
    sms = deps.sms = LogSmsProvider(cost_kopecks=250)
    tenant = await make_tenant(deps, "Мойка", PROGRAM)
    other = await make_tenant(deps, "Чужая мойка", PROGRAM)
    back = await _register(deps, tenant, "+79160000001")
    gone = await _register(deps, tenant, "+79160000002")
    await _buy(deps, tenant, back, "s1", 1000)
    await _buy(deps, tenant, gone, "g1", 1000)
    clock.advance(days=31)
    await lifecycle.run_reanimation(deps)
    await drain(deps)
    await _buy_lines(deps, tenant, back, "s2", [("wash", 1500), ("wax", 500)])
    await _refund(deps, tenant, "r2", "s2", ["wax"])
    clock.advance(days=31)
    await lifecycle.run_reanimation(deps)
    await drain(deps)
    await _buy(deps, tenant, back, "s3", 700)

    admin = await merchant_client(aiohttp_client, deps, tenant, "Офис")
    body = await (await admin.get(REPORT)).json()
    # Each gift SMS costs 2.50 ₽ a part (with its refusal link it takes two).
    parts = [sms_parts(sent.text) for sent in sms.sent]
    assert len(parts) == 3
    assert body["rules"] == [{"rule": "month", "gifted": 3, "returned": 2, "gifts": 600.0,
                              "messages_cost": sum(parts) * 2.5, "sales": 2,
                              "revenue": 2200.0}]  # fmt: skip
    rows = [(r["customer_id"], r["sales"], Decimal(str(r["revenue"]))) for r in body["customers"]]
    assert rows == [(back, 1, Decimal(700)), (gone, 0, Decimal(0)), (back, 1, Decimal(1500))]
    assert body["customers"][1]["returned_at"] is None and body["next"] is None

    first = await (await admin.get(REPORT, params={"limit": "2"})).json()
    assert [r["id"] for r in first["customers"]] == [r["id"] for r in body["customers"][:2]]
    rest = await (await admin.get(REPORT, params={"before": str(first["next"])})).json()
    assert [r["id"] for r in rest["customers"]] == [body["customers"][2]["id"]]

    stranger = await merchant_client(aiohttp_client, deps, other, "Чужой офис")
    assert await (await stranger.get(REPORT)).json() == {"rules": [], "customers": [],
                                                           "next": None}  # fmt: skip
    refused = await admin.get(REPORT, params={"limit": "500"})
    assert (refused.status, (await refused.json())["code"]) == (400, "invalid_limit")
