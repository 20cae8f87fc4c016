"""The what-if replay against a hand computation: start facts from before the window,
bonus payments capped by the draft, accruals on what was paid in money, tier moves;
progress in the database; an abandoned run shown as interrupted; tenancy."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cloud.clock import ManualClock
from cloud.services import programs, whatif
from cloud.services.deps import Deps
from tests.conftest import DEMO_PROGRAM, Tenant
from tests.helpers import register_over_api

PHONE = "+79161112233"


async def _sale(client: TestClient, rid: str, amount: int, redeemed: int = 0) -> None:
    receipt = {
        "id": rid,
        "customer": {"phone": PHONE},
        "lines": [{"id": "1", "name": "Жидкость", "price": amount, "quantity": 1}],
    }
    response = await client.post(
        "/api/v1/checkout/confirm", json={"receipt": receipt, "redeemed": redeemed}
    )
    assert response.status == 200, await response.text()


async def _draft(deps: Deps, tenant: Tenant) -> int:
    """Standard lets 1 % of a receipt be paid by bonuses; Silver from 3 000 ₽."""
    document: dict[str, Any] = json.loads(DEMO_PROGRAM.read_text())
    document["tiers"][0]["max_redeem_percent"] = "1"
    document["tiers"][1]["purchases_over"] = "3000"
    loaded = await programs.create_version(deps.db, tenant.merchant_id, document, deps.clock())
    return loaded.id


async def test_replay_matches_the_hand_computation(
    client: TestClient, deps: Deps, clock: ManualClock, demo_tenant: Tenant,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A 1 000 ₽ sale 40 days ago (outside a 30-day window), then 1 000 ₽ and 2 000 ₽
    paying 50 ₽ by bonuses. Window start: 1 000 ₽ of purchases (Standard), 50 ₽ balance.
    Live (5 %, up to 100 %): accrues 50 + 97,50 (5 % of the 1 950 paid in money), lets
    50 + 100 be paid, 50 paid; liability 50 + 147,50 − 50 = 147,50; no tier change.
    Draft (up to 1 %): caps 10 and 20, so 20 is paid and 5 % of 1 980 = 99 accrues:
    149 accrued, 30 payable, 20 paid, liability 179; lifetime 4 000 > 3 000 makes the
    customer Silver — one tier change, one customer on a different tier. Pages of one
    sale: the two sales of the same second are read in turn, once each."""
    monkeypatch.setattr(whatif, "BATCH", 1)
    await register_over_api(client, deps, PHONE)
    await _sale(client, "S0", 1000)
    clock.advance(days=40)
    await _sale(client, "S1", 1000)
    await _sale(client, "S2", 2000, redeemed=50)
    draft = await _draft(deps, demo_tenant)
    run_id = await whatif.start(deps, demo_tenant.merchant_id, draft, 30, "owner@demo.ru")
    await whatif.execute(deps, demo_tenant.merchant_id, run_id)
    run = await whatif.get(deps, demo_tenant.merchant_id, run_id)
    assert run is not None and run.status == "done" and run.percent == 100
    assert (run.total, run.done) == (2, 2)
    assert run.result == {
        "sales": 2, "customers": 1, "tier_differs": 1,
        "live": {"discount": 0, "accrued": 14750, "redeemable": 15000, "redeemed": 5000,
                 "liability": 14750, "tier_changed": 0},
        "draft": {"discount": 0, "accrued": 14900, "redeemable": 3000, "redeemed": 2000,
                  "liability": 17900, "tier_changed": 1},
    }  # fmt: skip


async def test_a_discount_draft_and_anonymous_sales(
    client: TestClient, deps: Deps, demo_tenant: Tenant
) -> None:
    """An anonymous 500 ₽ sale under a draft giving Standard 10 % off (a discount
    program): the draft gives 50 ₽ of discount and no bonuses; the live bonus program
    gives no discount and, with no customer, accrues nothing."""
    response = await client.post("/api/v1/checkout/confirm", json={"receipt": {
        "id": "A1", "lines": [{"id": "1", "name": "Чай", "price": 500, "quantity": 1}]},
        "redeemed": 0})  # fmt: skip
    assert response.status == 200
    document = {
        "name": "Скидки",
        "kind": "discount",
        "tiers": [{"code": "standard", "name": "Стандарт", "discount_percent": "10"}],
    }
    draft = await programs.create_version(deps.db, demo_tenant.merchant_id, document, deps.clock())
    run_id = await whatif.start(deps, demo_tenant.merchant_id, draft.id, 90, "owner")
    await whatif.execute(deps, demo_tenant.merchant_id, run_id)
    run = await whatif.get(deps, demo_tenant.merchant_id, run_id)
    assert run is not None and run.result is not None
    assert run.result["draft"]["discount"] == 5000 and run.result["draft"]["accrued"] == 0
    assert run.result["live"]["discount"] == 0 and run.result["live"]["accrued"] == 0


async def test_progress_is_in_the_database_and_a_dead_run_is_interrupted(
    client: TestClient, deps: Deps, clock: ManualClock, demo_tenant: Tenant,
    other_tenant: Tenant,
) -> None:  # fmt: skip
    """A recorded run not yet replayed shows 0 of its total (what any worker reads); with
    no heartbeat for over five minutes it is shown as interrupted. Another merchant's
    id finds nothing."""
    await register_over_api(client, deps, PHONE)
    await _sale(client, "S1", 1000)
    draft = await _draft(deps, demo_tenant)
    run_id = await whatif.start(deps, demo_tenant.merchant_id, draft, 30, "owner")
    run = await whatif.get(deps, demo_tenant.merchant_id, run_id)
    assert run is not None and (run.status, run.total, run.done, run.percent) == (
        "running", 1, 0, 0)  # fmt: skip
    assert await whatif.get(deps, other_tenant.merchant_id, run_id) is None
    clock.advance(seconds=whatif.STALE_SECONDS + 1)
    stale = await whatif.get(deps, demo_tenant.merchant_id, run_id)
    assert stale is not None and stale.status == "interrupted"
