"""Administration over the API: the operator creates merchants; a merchant key manages
stores, terminals and their tokens, its own keys, and reads the Evotor link."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cloud.errors import BadRequest
from cloud.services import evotor_accounts, merchants, programs
from cloud.services.admin import operator
from cloud.services.deps import Deps
from tests.admin.conftest import OPERATOR_TOKEN, ClientFor, onboard
from tests.conftest import DEMO_PROGRAM

RECEIPT = {
    "receipt": {
        "id": "adm-1",
        "lines": [{"id": "1", "name": "Кальян", "price": 1000.00, "quantity": 1}],
    }
}


async def _store(owner: TestClient, name: str = "Ленина, 1", **extra: Any) -> dict[str, Any]:
    response = await owner.post("/api/v1/stores", json={"name": name, **extra})
    assert response.status == 201, await response.text()
    return dict(await response.json())


async def _terminal(owner: TestClient, store_id: int, channel: str = "native") -> dict[str, Any]:
    response = await owner.post(
        "/api/v1/terminals", json={"store_id": store_id, "name": "Касса 1", "channel": channel}
    )
    assert response.status == 201, await response.text()
    return dict(await response.json())


async def _token(owner: TestClient, terminal_id: int) -> str:
    response = await owner.post(f"/api/v1/terminals/{terminal_id}/tokens", json={"label": "k1"})
    assert response.status == 201, await response.text()
    return str((await response.json())["token"])


async def test_operator_api_is_off_without_a_configured_token(
    aiohttp_client: Any, deps: Deps
) -> None:
    """With LOYALTY_OPERATOR_TOKEN unset, creating a merchant is a 403 that says which
    setting turns it on, whatever the caller presents."""
    from cloud.api.app import create_app

    client = await aiohttp_client(create_app(deps.settings, deps=deps))
    for headers in ({}, {"Authorization": "Bearer anything-at-all"}):
        response = await client.post(
            "/api/v1/operator/merchants", json={"name": "X"}, headers=headers
        )
        body = await response.json()
        assert response.status == 403 and body["code"] == "operator_disabled"
        assert "LOYALTY_OPERATOR_TOKEN" in body["message"]


async def test_operator_creates_a_merchant_and_only_the_operator_token_does(
    client_for: ClientFor, demo_tenant: Any, deps: Deps
) -> None:
    """The operator token creates a merchant in its zone and gets the owner key once;
    a wrong token, a merchant key and a terminal token are all refused with 401."""
    merchant_key = await merchants.issue_merchant_key(
        deps.db, demo_tenant.merchant_id, deps.clock()
    )
    for token in ("wrong-operator-token-000000000", merchant_key, demo_tenant.token):
        refused = await (await client_for(token)).post(
            "/api/v1/operator/merchants", json={"name": "Чужак"}
        )
        assert refused.status == 401, token
    operator = await client_for(OPERATOR_TOKEN)
    bad = await operator.post(
        "/api/v1/operator/merchants", json={"name": "Кофейня", "timezone": "Mars/Base"}
    )
    assert bad.status == 400 and (await bad.json())["code"] == "invalid_timezone"
    created = await operator.post(
        "/api/v1/operator/merchants", json={"name": "Кофейня", "timezone": "Asia/Novosibirsk"}
    )
    assert created.status == 201
    body = await created.json()
    owner = await client_for(body["owner_key"])
    assert (await (await owner.get("/api/v1/stores")).json()) == {"stores": []}
    store = await _store(owner)
    assert store["timezone"] == "Asia/Novosibirsk"  # the merchant's zone by default


async def test_stores_are_created_listed_and_updated(client_for: ClientFor) -> None:
    """A store keeps its zone and address; an update changes only what it names; an
    unknown zone or an empty name is a 400 in Russian."""
    _, owner = await onboard(client_for, "Сеть")
    first = await _store(owner, "Центр", timezone="Europe/Samara", address="ул. Ленина, 1")
    second = await _store(owner, "Север")
    assert (first["timezone"], first["address"], first["evotor"]) == (
        "Europe/Samara", "ул. Ленина, 1", False,
    )  # fmt: skip
    listed = (await (await owner.get("/api/v1/stores")).json())["stores"]
    assert [s["id"] for s in listed] == [first["id"], second["id"]]
    updated = await owner.patch(f"/api/v1/stores/{first['id']}", json={"address": "пр. Мира, 5"})
    assert updated.status == 200
    body = await updated.json()
    assert (body["name"], body["timezone"], body["address"]) == (
        "Центр", "Europe/Samara", "пр. Мира, 5",
    )  # fmt: skip
    for payload in ({"timezone": "Nowhere/City"}, {"name": ""}):
        refused = await owner.patch(f"/api/v1/stores/{first['id']}", json=payload)
        assert refused.status == 400
        assert any("а" <= ch <= "я" for ch in (await refused.json())["message"].lower())
    missing = await owner.patch("/api/v1/stores/999999", json={"name": "X"})
    assert missing.status == 404 and (await missing.json())["code"] == "store_not_found"


async def test_native_terminal_token_prices_a_receipt_until_revoked(
    client_for: ClientFor, deps: Deps
) -> None:
    """A token issued for a native terminal prices a receipt; revoking it (by value, or
    all of the terminal's) refuses the very next request."""
    merchant_id, owner = await onboard(client_for, "Кальянная")
    await programs.publish(deps.db, merchant_id, DEMO_PROGRAM.read_text(), deps.clock())
    terminal = await _terminal(owner, (await _store(owner))["id"])
    token = await _token(owner, terminal["id"])
    till = await client_for(token)
    priced = await till.post("/api/v1/checkout/calculate", json=RECEIPT)
    assert priced.status == 200, await priced.text()
    listed = (await (await owner.get("/api/v1/terminals")).json())["terminals"]
    assert listed[0]["live_tokens"] == 1 and listed[0]["channel"] == "native"

    revoked = await owner.post("/api/v1/terminal-tokens/revoke", json={"token": token})
    assert (await revoked.json()) == {"revoked": 1}
    refused = await till.post("/api/v1/checkout/calculate", json=RECEIPT)
    assert refused.status == 401

    second = await _token(owner, terminal["id"])
    till = await client_for(second)
    assert (await till.post("/api/v1/checkout/calculate", json=RECEIPT)).status == 200
    revoked = await owner.post(
        "/api/v1/terminal-tokens/revoke", json={"terminal_id": terminal["id"]}
    )
    assert (await revoked.json()) == {"revoked": 1}
    assert (await till.post("/api/v1/checkout/calculate", json=RECEIPT)).status == 401
    both = await owner.post(
        "/api/v1/terminal-tokens/revoke", json={"token": second, "terminal_id": terminal["id"]}
    )
    assert both.status == 400 and (await both.json())["code"] == "revoke_target"


async def test_tokens_record_their_channel_and_work_only_at_its_door(
    client_for: ClientFor, deps: Deps
) -> None:
    """A 1C terminal's token prices through the native API (1C speaks it); a SIGMA
    terminal's token is refused there; an unknown channel is a 400."""
    merchant_id, owner = await onboard(client_for, "Каналы")
    await programs.publish(deps.db, merchant_id, DEMO_PROGRAM.read_text(), deps.clock())
    store_id = (await _store(owner))["id"]
    one_c = await _token(owner, (await _terminal(owner, store_id, "1c"))["id"])
    sigma = await _token(owner, (await _terminal(owner, store_id, "sigma"))["id"])
    ok = await (await client_for(one_c)).post("/api/v1/checkout/calculate", json=RECEIPT)
    assert ok.status == 200
    refused = await (await client_for(sigma)).post("/api/v1/checkout/calculate", json=RECEIPT)
    assert refused.status == 401 and (await refused.json())["code"] == "wrong_channel"
    channel = await deps.db.fetch_value(
        "SELECT channel FROM terminal_credentials WHERE merchant_id = :m AND label = 'k1' "
        "ORDER BY id DESC LIMIT 1",
        {"m": merchant_id},
    )
    assert channel == "sigma"
    unknown = await owner.post(
        "/api/v1/terminals", json={"store_id": store_id, "name": "X", "channel": "telepathy"}
    )
    assert unknown.status == 400 and (await unknown.json())["code"] == "validation_error"


async def test_evotor_terminals_are_listed_read_only_with_the_link(
    client_for: ClientFor, deps: Deps
) -> None:
    """A merchant from the Evotor market sees its link (user id, status) and the
    synced smart terminal, which gets no token from us."""
    link = await evotor_accounts.create_account(deps, "01-000000000000001", "Эвотор-магазин")
    await evotor_accounts.sync_devices(
        deps, link.merchant_id,
        [evotor_accounts.DeviceRecord("20180101-AAAA", "Смарт 1", "store-uuid-1", 10800)],
    )  # fmt: skip
    key = await merchants.issue_merchant_key(deps.db, link.merchant_id, deps.clock())
    owner = await client_for(key)
    shown = await (await owner.get("/api/v1/merchant/evotor")).json()
    assert shown["linked"] is True and shown["evotor_user_id"] == "01-000000000000001"
    assert shown["status"] == "active"
    listed = (await (await owner.get("/api/v1/terminals")).json())["terminals"]
    assert [(t["channel"], t["read_only"]) for t in listed] == [("evotor", True)]
    refused = await owner.post(f"/api/v1/terminals/{listed[0]['id']}/tokens", json={})
    assert refused.status == 400 and (await refused.json())["code"] == "terminal_read_only"
    _, plain = await onboard(client_for, "Без Эвотора")
    assert (await (await plain.get("/api/v1/merchant/evotor")).json())["linked"] is False


async def test_manager_key_cannot_issue_or_rotate_keys_and_rotation_is_immediate(
    client_for: ClientFor,
) -> None:
    """The owner issues a manager key; the manager manages stores but gets 403 on
    merchant keys. The owner's rotation stops the old key on the next request."""
    _, owner = await onboard(client_for, "Роли")
    issued = await owner.post("/api/v1/merchant/keys", json={"role": "manager"})
    assert issued.status == 201
    manager = await client_for((await issued.json())["key"])
    assert (await manager.post("/api/v1/stores", json={"name": "Филиал"})).status == 201
    for path in ("/api/v1/merchant/keys", "/api/v1/merchant/keys/rotate"):
        refused = await manager.post(path, json={} if path.endswith("keys") else None)
        assert refused.status == 403 and (await refused.json())["code"] == "owner_only"
    rotated = await owner.post("/api/v1/merchant/keys/rotate")
    assert rotated.status == 200
    body = await rotated.json()
    assert body["role"] == "owner"
    assert (await owner.get("/api/v1/stores")).status == 401
    fresh = await client_for(body["key"])
    assert len((await (await fresh.get("/api/v1/stores")).json())["stores"]) == 1
    assert (await manager.get("/api/v1/stores")).status == 200  # other keys stay


async def test_existing_keys_are_owners(
    client_for: ClientFor, demo_tenant: Any, deps: Deps
) -> None:
    """A key issued before roles existed (the default) is an owner's: it may rotate."""
    key = await merchants.issue_merchant_key(deps.db, demo_tenant.merchant_id, deps.clock())
    context = await merchants.authenticate_merchant(deps.db, key)
    assert context.role == "owner"
    rotated = await (await client_for(key)).post("/api/v1/merchant/keys/rotate")
    assert rotated.status == 200


async def test_bad_input_is_a_4xx_in_russian_never_a_500(client_for: ClientFor) -> None:
    """A control character in a name, a zone-database directory as a zone, an id beyond
    64 bits, an empty body and unknown fields are 4xx with a Russian message."""
    _, owner = await onboard(client_for, "Проверки")
    store_id = (await _store(owner))["id"]
    cases = [
        ("POST", "/api/v1/stores", {"name": "Нуль\u0000байт"}, 400),
        ("POST", "/api/v1/stores", {"name": "Ок", "timezone": "Europe"}, 400),
        ("POST", "/api/v1/stores", {"name": "Ок", "owner": 1}, 400),
        ("PATCH", "/api/v1/stores/99999999999999999999999", {"name": "X"}, 404),
        ("POST", "/api/v1/terminals/99999999999999999999999/tokens", {}, 404),
        ("POST", f"/api/v1/terminals/{store_id}/tokens", None, 400),
        ("POST", "/api/v1/terminals", {"store_id": 2**63, "name": "X"}, 400),
        ("PATCH", f"/api/v1/stores/{store_id}", {"address": "a" * 501}, 400),
        ("POST", "/api/v1/terminal-tokens/revoke", {}, 400),
    ]
    for method, path, payload, status in cases:
        response = await owner.request(method, path, json=payload)
        body = await response.json()
        assert response.status == status, (path, payload, body)
        assert any("а" <= ch <= "я" for ch in body["message"].lower()), body


async def test_cli_rules_are_the_api_rules(deps: Deps) -> None:
    """The services the CLI calls refuse an empty or control-character name too."""
    for name in ("   ", "a\nb", "x" * 201):
        with pytest.raises(BadRequest) as refused:
            await operator.onboard_merchant(deps.db, name, deps.clock(), "Europe/Moscow")
        assert refused.value.code == "invalid_name"


async def test_owner_lists_and_revokes_keys_a_manager_cannot(client_for: ClientFor) -> None:
    """The owner sees its keys (role, label; never a value) and revokes a manager's key,
    which stops on the next request; a manager can neither list nor revoke."""
    _, owner = await onboard(client_for, "Ключи")
    issued = await owner.post("/api/v1/merchant/keys", json={"role": "manager", "label": "Анна"})
    manager = await client_for((await issued.json())["key"])
    assert (await manager.get("/api/v1/merchant/keys")).status == 403
    listed = (await (await owner.get("/api/v1/merchant/keys")).json())["keys"]
    assert [(k["role"], k["label"], k["revoked_at"]) for k in listed] == [
        ("owner", "owner", None), ("manager", "Анна", None),
    ]  # fmt: skip
    assert all("key" not in k for k in listed)
    manager_id = listed[1]["id"]
    assert (await manager.post(f"/api/v1/merchant/keys/{listed[0]['id']}/revoke")).status == 403
    revoked = await owner.post(f"/api/v1/merchant/keys/{manager_id}/revoke")
    assert (await revoked.json()) == {"id": manager_id, "revoked": True}
    assert (await manager.get("/api/v1/stores")).status == 401


async def test_credential_changes_are_logged_with_the_key_that_made_them(
    client_for: ClientFor,
) -> None:
    """Issuing and revoking a terminal token and rotating a key each leave an event
    naming the merchant and the acting key's id, and never a token or key value."""
    from structlog.testing import capture_logs

    _, owner = await onboard(client_for, "Аудит")
    terminal = await _terminal(owner, (await _store(owner))["id"])
    with capture_logs() as events:
        token = await _token(owner, terminal["id"])
        await owner.post("/api/v1/terminal-tokens/revoke", json={"token": token})
        key = (await (await owner.post("/api/v1/merchant/keys/rotate")).json())["key"]
    audit = [e for e in events if e["event"].startswith(("terminal_", "merchant_key"))]
    assert [e["event"] for e in audit] == [
        "terminal_token_issued", "terminal_tokens_revoked", "merchant_key_rotated",
    ]  # fmt: skip
    assert all(e["by_key"] > 0 for e in audit)
    assert token not in repr(events) and key not in repr(events)
