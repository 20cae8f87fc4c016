"""Tenancy of every administration route: merchant A's key never reads or changes
merchant B's stores, terminals, tokens, keys or Evotor link, and A's owner key is no
operator credential."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from cloud.services import evotor_accounts, merchants, programs
from cloud.services.deps import Deps
from tests.admin.conftest import ClientFor, onboard
from tests.conftest import DEMO_PROGRAM

RECEIPT = {
    "receipt": {"id": "t-1", "lines": [{"id": "1", "name": "X", "price": 100, "quantity": 1}]}
}


async def _setup(owner: TestClient) -> tuple[int, int, str]:
    store = await (await owner.post("/api/v1/stores", json={"name": "Своё"})).json()
    terminal = await (
        await owner.post("/api/v1/terminals", json={"store_id": store["id"], "name": "Касса"})
    ).json()
    token = await (await owner.post(f"/api/v1/terminals/{terminal['id']}/tokens", json={})).json()
    return store["id"], terminal["id"], token["token"]


async def test_one_merchant_key_never_reaches_another_merchants_rows(
    client_for: ClientFor, deps: Deps
) -> None:
    """A's key: B's stores and terminals are absent from A's lists; updating B's store,
    adding a terminal to it, issuing or revoking B's terminal tokens are refused (404 /
    400) and change nothing; revoking B's token by its value revokes 0 and B's till
    keeps pricing; A's key rotation leaves B's key working."""
    merchant_b, owner_b = await onboard(client_for, "Б")
    _, owner_a = await onboard(client_for, "А")
    await programs.publish(deps.db, merchant_b, DEMO_PROGRAM.read_text(), deps.clock())
    store_b, terminal_b, token_b = await _setup(owner_b)
    await _setup(owner_a)

    stores_a = (await (await owner_a.get("/api/v1/stores")).json())["stores"]
    terminals_a = (await (await owner_a.get("/api/v1/terminals")).json())["terminals"]
    assert store_b not in [s["id"] for s in stores_a]
    assert terminal_b not in [t["id"] for t in terminals_a]

    patched = await owner_a.patch(f"/api/v1/stores/{store_b}", json={"name": "Захвачено"})
    assert patched.status == 404
    added = await owner_a.post("/api/v1/terminals", json={"store_id": store_b, "name": "Чужая"})
    assert added.status == 400 and (await added.json())["code"] == "unknown_store"
    issued = await owner_a.post(f"/api/v1/terminals/{terminal_b}/tokens", json={})
    assert issued.status == 404
    by_terminal = await owner_a.post(
        "/api/v1/terminal-tokens/revoke", json={"terminal_id": terminal_b}
    )
    assert by_terminal.status == 404
    by_value = await owner_a.post("/api/v1/terminal-tokens/revoke", json={"token": token_b})
    assert (await by_value.json()) == {"revoked": 0}
    assert (await owner_a.post("/api/v1/merchant/keys/rotate")).status == 200

    stores_b = (await (await owner_b.get("/api/v1/stores")).json())["stores"]
    assert [s["name"] for s in stores_b] == ["Своё"]
    terminals_b = (await (await owner_b.get("/api/v1/terminals")).json())["terminals"]
    assert [(t["id"], t["live_tokens"]) for t in terminals_b] == [(terminal_b, 1)]
    till_b = await client_for(token_b)
    assert (await till_b.post("/api/v1/checkout/calculate", json=RECEIPT)).status == 200


async def test_terminal_tokens_and_other_merchants_keys_are_not_merchant_or_operator_keys(
    client_for: ClientFor, deps: Deps
) -> None:
    """A terminal token opens no administration route (401), and a merchant's owner key
    cannot create merchants (401): the credentials never widen to another scope."""
    merchant_a, owner_a = await onboard(client_for, "А")
    _, _, token_a = await _setup(owner_a)
    till = await client_for(token_a)
    for method, path in (
        ("GET", "/api/v1/stores"), ("GET", "/api/v1/terminals"),
        ("POST", "/api/v1/terminal-tokens/revoke"), ("POST", "/api/v1/merchant/keys/rotate"),
        ("GET", "/api/v1/merchant/evotor"), ("POST", "/api/v1/operator/merchants"),
    ):  # fmt: skip
        response = await till.request(method, path, json={"token": token_a})
        assert response.status == 401, path
    refused = await owner_a.post("/api/v1/operator/merchants", json={"name": "Ещё"})
    assert refused.status == 401
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM merchants") == 1
    assert merchant_a > 0


async def test_evotor_link_is_the_callers_own(client_for: ClientFor, deps: Deps) -> None:
    """B is linked to Evotor; A's key sees no link, never B's user id."""
    link = await evotor_accounts.create_account(deps, "01-000000000000777", "Б")
    key_b = await merchants.issue_merchant_key(deps.db, link.merchant_id, deps.clock())
    _, owner_a = await onboard(client_for, "А")
    shown_a = await (await owner_a.get("/api/v1/merchant/evotor")).json()
    assert shown_a["linked"] is False and shown_a["evotor_user_id"] is None
    shown_b = await (await (await client_for(key_b)).get("/api/v1/merchant/evotor")).json()
    assert shown_b["evotor_user_id"] == "01-000000000000777"


async def test_manager_key_is_scoped_to_its_merchant(client_for: ClientFor) -> None:
    """A manager key issued by A's owner sees A's stores only, not B's."""
    _, owner_b = await onboard(client_for, "Б")
    _, owner_a = await onboard(client_for, "А")
    store_b, _, _ = await _setup(owner_b)
    manager_a = await client_for(
        (await (await owner_a.post("/api/v1/merchant/keys", json={})).json())["key"]
    )
    assert (await (await manager_a.get("/api/v1/stores")).json())["stores"] == []
    assert (await manager_a.patch(f"/api/v1/stores/{store_b}", json={"name": "Z"})).status == 404


async def test_owner_keys_list_and_revoke_only_their_merchants_keys(client_for: ClientFor) -> None:
    """A's owner lists only A's keys and cannot revoke B's key by its id (404); B's key
    keeps working."""
    _, owner_b = await onboard(client_for, "Б")
    _, owner_a = await onboard(client_for, "А")
    keys_b = (await (await owner_b.get("/api/v1/merchant/keys")).json())["keys"]
    keys_a = (await (await owner_a.get("/api/v1/merchant/keys")).json())["keys"]
    assert {k["id"] for k in keys_a}.isdisjoint({k["id"] for k in keys_b})
    refused = await owner_a.post(f"/api/v1/merchant/keys/{keys_b[0]['id']}/revoke")
    assert refused.status == 404
    assert (await owner_b.get("/api/v1/stores")).status == 200
