"""The merchant's fiscal QR administration (merchant key): INN and master token (the
owner's, stored encrypted, never shown), fiscal drives per store, the claims; and
tenancy — one merchant's key never reaches another's rows."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from cloud.fiscal import claims
from cloud.services import merchants
from cloud.services.deps import Deps
from tests.conftest import Tenant
from tests.fiscal.conftest import FN, INN, MASTER, OTHER_INN, QR, FakeFns, register

SETTINGS = "/api/v1/merchant/fiscal"
DRIVES = SETTINGS + "/drives"


async def _json(response: Any, status: int) -> Any:
    assert response.status == status, await response.text()
    return await response.json()


async def test_settings_saved_encrypted_and_kept(
    deps: Deps, admin: TestClient, demo_tenant: Tenant
) -> None:
    """Before any setting: 404 ``fiscal_not_configured``. PUT stores the INN and the
    master token encrypted (not in clear in the row, never in an answer); a later PUT
    without a token keeps it; a bad check digit or an unknown field is a 400."""
    missing = await _json(await admin.get(SETTINGS), 404)
    assert missing["code"] == "fiscal_not_configured"
    body = {"inn": INN, "master_token": MASTER, "claim_window_days": 10}
    saved = await _json(await admin.put(SETTINGS, json=body), 200)
    assert saved == {
        "inn": INN,
        "provider": "fns",
        "credentials_set": True,
        "claim_window_days": 10,
    }
    row = await deps.db.fetch_one("SELECT * FROM fiscal_settings")
    assert row is not None and MASTER.encode() not in bytes(row["credentials_enc"])
    kept = await _json(await admin.put(SETTINGS, json={"inn": OTHER_INN}), 200)
    assert kept["credentials_set"] and kept["inn"] == OTHER_INN
    assert MASTER not in await (await admin.get(SETTINGS)).text()
    bad = await _json(await admin.put(SETTINGS, json={"inn": "7707083890"}), 400)
    assert bad["code"] == "validation_error" and "ИНН" in bad["message"]
    extra = await _json(await admin.put(SETTINGS, json={"inn": INN, "x": 1}), 400)
    assert extra["code"] == "validation_error"


async def test_manager_may_not_set_credentials(
    aiohttp_client: Any, deps: Deps, demo_tenant: Tenant
) -> None:
    """A manager's key reads but cannot set the credentials (403 ``owner_only``)."""
    key = await merchants.issue_merchant_key(
        deps.db, demo_tenant.merchant_id, deps.clock(), role="manager"
    )
    from cloud.api.app import create_app

    manager = await aiohttp_client(
        create_app(deps.settings, deps=deps), headers={"Authorization": f"Bearer {key}"}
    )
    refused = await _json(await manager.put(SETTINGS, json={"inn": INN}), 403)
    assert refused["code"] == "owner_only"


async def test_drives_added_listed_removed(admin: TestClient, demo_tenant: Tenant) -> None:
    """A drive is registered to one of the merchant's stores (201), listed, refused a
    second time (409), and removed (then 404)."""
    added = await _json(
        await admin.post(DRIVES, json={"store_id": demo_tenant.store_id, "fn": FN}), 201
    )
    assert (added["store_id"], added["fn"]) == (demo_tenant.store_id, FN)
    listed = await _json(await admin.get(DRIVES), 200)
    assert [d["fn"] for d in listed["drives"]] == [FN]
    twice = await _json(
        await admin.post(DRIVES, json={"store_id": demo_tenant.store_id, "fn": FN}), 409
    )
    assert twice["code"] == "fiscal_drive_taken"
    short = await _json(
        await admin.post(DRIVES, json={"store_id": demo_tenant.store_id, "fn": "123"}), 400
    )
    assert short["code"] == "validation_error"
    await _json(await admin.delete(f"{DRIVES}/{added['id']}"), 200)
    gone = await _json(await admin.delete(f"{DRIVES}/{added['id']}"), 404)
    assert gone["code"] == "fiscal_drive_not_found"
    huge = await _json(await admin.delete(f"{DRIVES}/9223372036854775808"), 404)
    assert huge["code"] == "fiscal_drive_not_found"


async def test_tenancy(
    deps: Deps,
    admin: TestClient,
    other_admin: TestClient,
    demo_tenant: Tenant,
    other_tenant: Tenant,
    fake_fns: FakeFns,
) -> None:
    """Another merchant's key: its settings are its own (404 here), it cannot register
    a drive to our store (404) nor our drive's fn to its store (409, naming no store),
    cannot list or remove our drive, and sees none of our claims."""
    await _json(await admin.put(SETTINGS, json={"inn": INN, "master_token": MASTER}), 200)
    drive = await _json(
        await admin.post(DRIVES, json={"store_id": demo_tenant.store_id, "fn": FN}), 201
    )
    customer = await register(deps, demo_tenant)
    assert (
        await claims.claim(deps, demo_tenant.merchant_id, customer, QR, "page")
    ).status == "accrued"
    ours = await _json(await admin.get(SETTINGS + "/claims"), 200)
    assert [(c["status"], c["fn"], c["amount"]) for c in ours["claims"]] == [
        ("accrued", FN, 1234.5)
    ]

    assert (await _json(await other_admin.get(SETTINGS), 404))["code"] == "fiscal_not_configured"
    theirs = await _json(
        await other_admin.post(
            DRIVES, json={"store_id": demo_tenant.store_id, "fn": "9999078900000001"}
        ),
        404,
    )
    assert theirs["code"] == "store_not_found"
    taken = await _json(
        await other_admin.post(DRIVES, json={"store_id": other_tenant.store_id, "fn": FN}), 409
    )
    assert str(demo_tenant.store_id) not in taken["message"]
    assert (await _json(await other_admin.get(DRIVES), 200))["drives"] == []
    await _json(await other_admin.delete(f"{DRIVES}/{drive['id']}"), 404)
    assert (await _json(await other_admin.get(SETTINGS + "/claims"), 200))["claims"] == []
    filtered = await _json(await admin.get(SETTINGS + "/claims?status=pending"), 200)
    assert filtered["claims"] == []
    bad = await _json(await admin.get(SETTINGS + "/claims?status=nope"), 400)
    assert bad["code"] == "invalid_query"


async def test_terminal_token_refused(client: TestClient) -> None:
    """A till's token does not open the merchant's fiscal settings."""
    assert (await client.get(SETTINGS)).status == 401


async def test_virtual_terminal_listed_read_only_without_tokens(
    deps: Deps, admin: TestClient, demo_tenant: Tenant, fake_fns: FakeFns
) -> None:
    """The store's virtual ``fiscal_qr`` terminal that claimed receipts are recorded on
    is listed as read-only, and no token is issued for it (400 ``terminal_read_only``)."""
    await _json(await admin.put(SETTINGS, json={"inn": INN, "master_token": MASTER}), 200)
    await _json(await admin.post(DRIVES, json={"store_id": demo_tenant.store_id, "fn": FN}), 201)
    customer = await register(deps, demo_tenant)
    assert (
        await claims.claim(deps, demo_tenant.merchant_id, customer, QR, "page")
    ).status == "accrued"
    listed = await _json(await admin.get("/api/v1/terminals"), 200)
    [virtual] = [t for t in listed["terminals"] if t["channel"] == "fiscal_qr"]
    assert virtual["read_only"] and virtual["store_id"] == demo_tenant.store_id
    refused = await _json(
        await admin.post(f"/api/v1/terminals/{virtual['id']}/tokens", json={}), 400
    )
    assert refused["code"] == "terminal_read_only" and "QR" in refused["message"]
