"""One organization's key never reaches another's rows, and the merchant's administration
issues, shows and rotates the Frontol link only for its own company."""

from __future__ import annotations

import json
from typing import Any

from aiohttp.test_utils import TestClient

from cloud.services import customers, frontol_accounts, merchants
from cloud.services.deps import Deps
from schemas.customers import Consent, RegisterCustomer
from tests.conftest import Tenant
from tests.webhooks.frontol.conftest import (
    PHONE,
    Frontol,
    balance,
    connect,
    give_bonuses,
    steps,
)


async def _customer(deps: Deps, merchant_id: int) -> int:
    customer_id = await customers.register_customer(
        deps, merchant_id, RegisterCustomer(phone=PHONE, consent=Consent(personal_data=True)),
        store_id=None, channel="import", sms_code=None,
    )  # fmt: skip
    await give_bonuses(deps, merchant_id, customer_id, 50000)
    return customer_id


async def test_one_organization_never_reaches_another(
    frontol: Frontol, service: TestClient, deps: Deps
) -> None:
    """B's key at A's address is refused; A's body naming B is refused; B sees none of
    A's customers, sales or stores, and cannot refund A's sale."""
    other = await connect(service, deps, "Чужая лавка", "org-other")
    mine = await _customer(deps, frontol.merchant_id)
    calculate, pay, _, _, confirm = steps("sale_with_bonus_payment")

    raw = json.dumps({**pay["request"], "organization": frontol.organization}).encode()
    refused = await frontol.raw("document", raw, other.sign(raw), 401)
    assert refused["code"] == -1
    named = await frontol.post("document", {**calculate["request"], "organization": "x"})
    assert named["code"] == 0  # the helper puts the address's own organization back
    crossed = json.dumps({**calculate["request"], "organization": other.organization}).encode()
    answer = await frontol.raw("document", crossed)
    assert answer == {"code": -1, "error": "Идентификатор организации в запросе не совпадает "
                      "с адресом сервера"}  # fmt: skip

    sale = await frontol.ok("document", confirm["request"])
    assert await balance(deps, frontol.merchant_id, mine) == 46000

    looked = await other.ok("client", {**calculate["request"], "client": {"mobilePhone": PHONE}})
    assert looked["cashierInformation"] == [{"text": "Клиент не найден"}]
    quoted = await other.ok("document", calculate["request"])
    assert quoted["cashierInformation"][0] == {"text": "Клиент не найден"}
    held = await other.post("document", pay["request"])
    assert held == {"code": -1, "error": "Клиент не найден"}
    refund = await other.post("document", steps("refund_by_line")[0]["request"])
    assert refund["code"] == -1
    theirs = await other.ok("document", {**confirm["request"], "client": {}, "payments": []})
    assert theirs != sale
    assert await balance(deps, frontol.merchant_id, mine) == 46000

    rows = await deps.db.fetch_all(
        "SELECT merchant_id, COUNT(*) AS n FROM receipts GROUP BY merchant_id ORDER BY 1"
    )
    assert [tuple(r) for r in rows] == [(frontol.merchant_id, 1), (other.merchant_id, 1)]
    stores = await deps.db.fetch_all(
        "SELECT merchant_id, external_id FROM stores ORDER BY merchant_id"
    )
    assert [tuple(r) for r in stores] == [
        (frontol.merchant_id, "store-1"), (other.merchant_id, "store-1")]  # fmt: skip


async def _put(client: TestClient, status: int = 200) -> Any:
    response = await client.put("/api/v1/merchant/frontol")
    assert response.status == status, await response.text()
    return await response.json()


async def test_administration_issues_shows_and_rotates_the_key(
    admin: TestClient, other_admin: TestClient, service: TestClient, deps: Deps,
    demo_tenant: Tenant,
) -> None:  # fmt: skip
    """The owner issues the key (shown once), GET shows the address without it, a
    rotation keeps the organization and the old key stops at once; another company sees
    nothing of it; a manager's key may look but not issue."""
    missing = await admin.get("/api/v1/merchant/frontol")
    assert missing.status == 404 and (await missing.json())["code"] == "frontol_not_set"
    issued = await _put(admin)
    organization = issued["organization"]
    assert issued["base_path"] == f"/frontol/v1/{organization}"
    assert issued["access_key"] and issued["base_url"] is None
    shown = await (await admin.get("/api/v1/merchant/frontol")).json()
    assert shown["organization"] == organization and shown["access_key"] is None
    stored = await deps.db.fetch_value(
        "SELECT key_enc FROM frontol_organizations WHERE merchant_id = :m",
        {"m": demo_tenant.merchant_id},
    )
    assert issued["access_key"].encode() not in bytes(stored)

    old = Frontol(service, demo_tenant.merchant_id, organization, issued["access_key"])
    body = steps("sale_without_card")[0]["request"]
    assert (await old.post("document", body))["code"] == 0
    rotated = await _put(admin)
    assert rotated["organization"] == organization
    assert rotated["access_key"] != issued["access_key"]
    assert (await old.post("document", body, status=401))["code"] == -1
    new = Frontol(service, demo_tenant.merchant_id, organization, rotated["access_key"])
    assert (await new.post("document", body))["code"] == 0

    elsewhere = await other_admin.get("/api/v1/merchant/frontol")
    assert elsewhere.status == 404
    theirs = await _put(other_admin)
    assert theirs["organization"] != organization

    manager_key = await merchants.issue_merchant_key(
        deps.db, demo_tenant.merchant_id, deps.clock(), role="manager"
    )
    manager = {"Authorization": f"Bearer {manager_key}"}
    assert (await service.get("/api/v1/merchant/frontol", headers=manager)).status == 200
    refused = await service.put("/api/v1/merchant/frontol", headers=manager)
    assert refused.status == 403 and (await refused.json())["code"] == "owner_only"


async def test_suspended_merchant_and_rotation_take_effect_at_once(
    frontol: Frontol, deps: Deps
) -> None:
    """A remembered key still serves nobody once the merchant is suspended or the key
    rotated: the till's read proves both on every request."""
    body = steps("sale_without_card")[0]["request"]
    assert (await frontol.post("document", body))["code"] == 0  # the key is remembered now
    async with deps.db.transaction() as tx:
        await tx.execute(
            "UPDATE merchants SET status = 'suspended' WHERE id = :m", {"m": frontol.merchant_id}
        )
    suspended = await frontol.post("document", body)
    assert suspended == {"code": -1, "error": "Обслуживание программы лояльности приостановлено"}
    async with deps.db.transaction() as tx:
        await tx.execute(
            "UPDATE merchants SET status = 'active' WHERE id = :m", {"m": frontol.merchant_id}
        )
    await frontol_accounts.issue_key(deps, frontol.merchant_id)
    assert (await frontol.post("document", body, status=401))["code"] == -1


async def test_a_remembered_till_proves_itself_on_every_calculate(
    frontol: Frontol, deps: Deps
) -> None:
    """A calculate prices with the till remembered in process and proves it inside the
    price's own read: a suspension, a rotated key and a till moved to another store's
    time zone all take effect on the very next calculate."""
    body = steps("sale_with_bonus_payment")[0]["request"]
    assert body["action"] == "calculate"
    assert (await frontol.post("document", body))["code"] == 0
    assert (await frontol.post("document", body))["code"] == 0  # the remembered till
    status = "UPDATE merchants SET status = :s WHERE id = :m"
    async with deps.db.transaction() as tx:
        await tx.execute(status, {"s": "suspended", "m": frontol.merchant_id})
    suspended = await frontol.post("document", body)
    assert suspended == {"code": -1, "error": "Обслуживание программы лояльности приостановлено"}
    async with deps.db.transaction() as tx:
        await tx.execute(status, {"s": "active", "m": frontol.merchant_id})
    async with deps.db.transaction() as tx:
        await tx.execute(
            "UPDATE stores SET timezone = 'Asia/Vladivostok' WHERE merchant_id = :m "
            "AND external_id = :bu",
            {"m": frontol.merchant_id, "bu": body["businessUnit"]},
        )
    assert (await frontol.post("document", body))["code"] == 0  # priced afresh
    rotated = await frontol_accounts.issue_key(deps, frontol.merchant_id)
    assert (await frontol.post("document", body, status=401))["code"] == -1
    assert rotated.access_key is not None
    frontol.key = rotated.access_key
    assert (await frontol.post("document", body))["code"] == 0
