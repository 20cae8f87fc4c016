"""The merchant's plan: set by the operator (API and ``loyalty plans set``), read with
the month's usage by the merchant; one merchant's usage never counts another's."""

from __future__ import annotations

from decimal import Decimal

from cloud.services import programs, usage
from cloud.services.deps import Deps
from tests.admin.conftest import OPERATOR_TOKEN, ClientFor, onboard
from tests.cli.test_onboarding import loyalty
from tests.conftest import DEMO_PROGRAM, Tenant

RECEIPT = {"receipt": {"id": "p-1", "lines": [{"id": "1", "price": 100, "quantity": 1}]}}


async def test_the_operator_sets_a_plan_the_merchant_reads_with_its_usage(
    client_for: ClientFor, op_deps: Deps
) -> None:
    """PUT sets the plan (money exact), GET reads it back; the merchant's key sees the
    plan with the month's sales (its own only) but cannot set a plan; an unknown
    merchant is 404 and a bad plan 400, both in Russian."""
    merchant_id, owner = await onboard(client_for, "Мойка")
    other_id, other = await onboard(client_for, "Чужая мойка")
    operator = await client_for(OPERATOR_TOKEN)
    path = f"/api/v1/operator/merchants/{merchant_id}/plan"
    assert (await operator.get(path)).status == 404
    plan = {"name": "Базовый", "included_receipts": 500, "message_budget": 1500.5}
    response = await operator.put(path, json=plan)
    assert response.status == 200, await response.text()
    body = await (await operator.get(path)).json()
    assert body["included_receipts"] == 500
    assert Decimal(str(body["message_budget"])) == Decimal("1500.50")

    for client, store_name, merchant in ((owner, "Первая", merchant_id),
                                         (other, "Вторая", other_id)):  # fmt: skip
        await programs.publish(op_deps.db, merchant, DEMO_PROGRAM.read_text(), op_deps.clock())
        store = await (await client.post("/api/v1/stores", json={"name": store_name})).json()
        till = await (await client.post(
            "/api/v1/terminals", json={"store_id": store["id"], "name": "Касса"}
        )).json()  # fmt: skip
        token = await (await client.post(
            f"/api/v1/terminals/{till['id']}/tokens", json={}
        )).json()  # fmt: skip
        cashier = await client_for(token["token"])
        assert (await cashier.post("/api/v1/checkout/confirm", json=RECEIPT)).status == 200
    seen = await (await owner.get("/api/v1/merchant/usage")).json()
    assert seen["receipts"] == 1 and seen["plan"]["name"] == "Базовый"
    other_seen = await (await other.get("/api/v1/merchant/usage")).json()
    assert other_seen["receipts"] == 1 and other_seen["plan"] is None
    assert (await owner.put(path, json=plan)).status in (401, 403)
    missing = await operator.put("/api/v1/operator/merchants/999999/plan", json=plan)
    assert missing.status == 404 and (await missing.json())["code"] == "merchant_not_found"
    bad = await operator.put(path, json={**plan, "included_receipts": -1})
    assert bad.status == 400


async def test_the_cli_sets_the_plan(database_url: str, deps: Deps, demo_tenant: Tenant) -> None:
    """``loyalty plans set`` stores the plan with the budget in exact kopecks; a budget
    with three places is refused."""
    out = await loyalty(
        database_url, "plans", "set", "--merchant", str(demo_tenant.merchant_id),
        "--name", "Старт", "--receipts", "300", "--message-budget", "999,99",
    )  # fmt: skip
    assert "Старт" in out
    plan = await usage.plan_of(deps.db, demo_tenant.merchant_id)
    assert plan is not None and (plan.included_receipts, plan.message_budget) == (300, 99999)
