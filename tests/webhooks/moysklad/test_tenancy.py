"""One merchant's installation token never reaches another merchant's rows, through any
endpoint: the same MoySklad store id names a store of each merchant, a customer, a
counterparty id, a sale of one are nobody at the other. The installations are issued,
listed and revoked by the owner only, and a revoked token stops at once."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from cloud.services import merchants
from cloud.services.deps import Deps
from tests.helpers import sms_code
from tests.webhooks.moysklad import day
from tests.webhooks.moysklad.conftest import (
    PHONE,
    STORE,
    MoySklad,
    balance,
    connect,
    example,
    give_bonuses,
)  # fmt: skip


async def _customer(moysklad: MoySklad, deps: Deps) -> str:
    await moysklad.post("/counterparty/verify", day.code_request())
    assert sms_code(deps, PHONE)
    created = await moysklad.post("/counterparty", day.registration("CHECKED"), 201)
    return str(created["id"])


async def test_a_token_reaches_only_its_merchant(
    moysklad: MoySklad, service: TestClient, deps: Deps
) -> None:
    """Search, detail, codes, quote, sale and return under the other merchant's token
    find nothing of ours and change nothing of ours."""
    ours = await _customer(moysklad, deps)
    customer_id = int(ours[-12:], 16)
    await give_bonuses(deps, moysklad.merchant_id, customer_id, 50000)
    quoted = await moysklad.post("/retaildemand/recalc", day.recalc(None, spending=False))
    sale = day.sale(quoted["positions"], 0, quoted["bonusProgram"]["bonusValueToEarn"])
    await moysklad.post("/retaildemand", sale, 201)
    after_sale = await balance(deps, moysklad.merchant_id, customer_id)

    other = await connect(service, deps, "Чужой магазин")
    for text in (PHONE, ours, "8 916 123-45-67"):
        assert await other.search(text) == {"rows": []}
    detail = example("counterparty.detail.request.json")
    detail["meta"]["id"] = ours
    assert (await other.post("/counterparty/detail", detail, 404))["code"] == "customer_not_found"
    # MoySklad's own id was paired with our customer at the first merchant only.
    assert (await other.post("/counterparty/detail", example("counterparty.detail.request.json"),
                             404))["code"] == "customer_not_found"  # fmt: skip
    verify = example("retaildemand.verify.request.json") | {"counterpartyId": ours}
    assert (await other.post("/retaildemand/verify", verify, 404))["code"] == "customer_not_found"
    body = day.recalc(50)
    body["agent"]["meta"]["id"] = ours
    theirs = await other.post("/retaildemand/recalc", body)
    assert "agentBonusBalance" not in theirs["bonusProgram"]  # nobody's balance
    assert theirs["bonusProgram"]["paidByBonusPoints"] == 0
    refused = await other.post("/retailsalesreturn", day.sales_return(quoted["positions"][0]), 404)
    assert refused["code"] == "receipt_not_found"
    # The same sale id under the other token is the other merchant's own sale.
    await other.post("/retaildemand", sale, 201)
    assert await balance(deps, moysklad.merchant_id, customer_id) == after_sale
    stores = await deps.db.fetch_all(
        "SELECT merchant_id, external_id FROM stores WHERE external_id = :s ORDER BY merchant_id",
        {"s": STORE},
    )
    assert [tuple(r) for r in stores] == [(moysklad.merchant_id, STORE), (other.merchant_id, STORE)]
    receipts = await deps.db.fetch_all(
        "SELECT merchant_id, customer_id FROM receipts ORDER BY id", {}
    )
    assert [tuple(r) for r in receipts] == [
        (moysklad.merchant_id, customer_id), (other.merchant_id, None)]  # fmt: skip


async def _admin(service: TestClient, deps: Deps, merchant_id: int, role: str) -> dict[str, str]:
    key = await merchants.issue_merchant_key(deps.db, merchant_id, deps.clock(), role=role)
    return {"Authorization": f"Bearer {key}"}


async def test_installations_are_the_owners(
    moysklad: MoySklad, service: TestClient, deps: Deps
) -> None:
    """The owner issues a token (shown once, stored hashed), lists installations without
    tokens and revokes one: it stops at once. A manager reads but cannot issue or revoke;
    another merchant's owner sees none of ours and cannot revoke them."""
    owner = await _admin(service, deps, moysklad.merchant_id, "owner")
    path = "/api/v1/merchant/moysklad/installations"
    response = await service.post(path, json={"label": "Второй аккаунт"}, headers=owner)
    assert response.status == 201
    issued: dict[str, Any] = await response.json()
    assert issued["label"] == "Второй аккаунт" and issued["token"].startswith("ms_")
    stored = await deps.db.fetch_all("SELECT token_hash FROM moysklad_installations", {})
    assert all(issued["token"] not in str(r["token_hash"]) for r in stored)
    second = MoySklad(service, moysklad.merchant_id, issued["token"])
    assert await second.search(PHONE) == {"rows": []}

    listed = await (await service.get(path, headers=owner)).json()
    assert [(i["label"], i.get("token")) for i in listed["installations"]] == [
        ("Основной аккаунт", None), ("Второй аккаунт", None)]  # fmt: skip

    manager = await _admin(service, deps, moysklad.merchant_id, "manager")
    assert (await service.get(path, headers=manager)).status == 200
    refused = await service.post(path, json={}, headers=manager)
    assert refused.status == 403 and (await refused.json())["code"] == "owner_only"

    other = await connect(service, deps, "Чужой магазин")
    other_owner = await _admin(service, deps, other.merchant_id, "owner")
    theirs = await (await service.get(path, headers=other_owner)).json()
    assert [i["label"] for i in theirs["installations"]] == ["Основной аккаунт"]
    stranger = await service.post(f"{path}/{issued['id']}/revoke", headers=other_owner)
    assert stranger.status == 404
    assert (await stranger.json())["code"] == "moysklad_installation_not_found"
    assert await second.search(PHONE) == {"rows": []}  # still works

    revoked = await service.post(f"{path}/{issued['id']}/revoke", headers=owner)
    assert revoked.status == 200 and (await revoked.json())["revoked_at"] is not None
    refused_token = await second.search(PHONE, status=401)
    assert refused_token["code"] == "moysklad_bad_token"
    assert await moysklad.search(PHONE) == {"rows": []}  # the first installation still works
