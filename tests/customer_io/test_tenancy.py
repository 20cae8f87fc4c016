"""One merchant's key never imports into nor exports from another merchant's base, and
a till's token reaches neither route."""

from __future__ import annotations

import io

from aiohttp.test_utils import TestClient
from openpyxl import load_workbook

from cloud.services.deps import Deps
from tests.conftest import Tenant
from tests.customer_io.conftest import EXPORT, IMPORT, row, upload, xlsx
from tests.helpers import register_over_api


async def exported_phones(admin: TestClient) -> list[str]:
    response = await admin.get(EXPORT)
    assert response.status == 200
    sheet = load_workbook(io.BytesIO(await response.read()), read_only=True).worksheets[0]
    return [str(r[0]) for r in list(sheet.iter_rows(values_only=True))[1:]]


async def test_imports_and_exports_stay_within_the_keys_merchant(
    admin: TestClient, other_admin: TestClient, client: TestClient, deps: Deps,
    demo_tenant: Tenant, other_tenant: Tenant,
) -> None:  # fmt: skip
    """B imports a file with our customer's phone and our card number: B gets a customer
    of its own (the card is free at B), ours is untouched; each export lists only its own
    merchant's customers; the same file uploaded by us is not "already imported" (digests
    are per merchant); a till token is 401 on both routes."""
    ours = await register_over_api(client, deps, "+79161112233", card="SHARED-1")
    data = xlsx([row("+79161112233", "SHARED-1", "Чужой", balance=70)])
    theirs = await (await upload(other_admin, data, dry_run=False)).json()
    assert theirs["status"] == "imported" and theirs["customers_new"] == 1
    mine = await (await upload(admin, data, dry_run=True)).json()
    assert mine["status"] == "dry_run" and mine["customers_merged"] == 1
    lots = await deps.db.fetch_value(
        "SELECT COUNT(*) FROM bonus_lots WHERE customer_id = :c", {"c": ours["id"]}
    )
    name = await (await admin.get(f"/api/v1/merchant/customers/{ours['id']}")).json()
    assert lots == 0 and name["name"] is None
    assert await exported_phones(admin) == ["+79161112233"]
    assert await exported_phones(other_admin) == ["+79161112233"]
    b_ids = await deps.db.fetch_all(
        "SELECT id FROM customers WHERE merchant_id = :m", {"m": other_tenant.merchant_id}
    )
    assert [r[0] for r in b_ids] != [ours["id"]] and len(b_ids) == 1
    for response in (
        await client.post(IMPORT, data=data, headers={"Content-Type": "text/csv"}),
        await client.get(EXPORT),
    ):
        assert response.status == 401
    assert demo_tenant.merchant_id != other_tenant.merchant_id
