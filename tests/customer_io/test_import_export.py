"""Issue 8's "done means" for the base: an xlsx of 1 000 customers with 3 bad rows
dry-runs with exactly those 3 reported and changes nothing; fixed, it imports; the
imported balances are spendable at the till and lapse on their dates; a re-upload is a
no-op; the export opens in openpyxl with the same figures."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from aiohttp.test_utils import TestClient
from openpyxl import load_workbook

from cloud.clock import ManualClock
from cloud.ledger.balance import read_balance
from cloud.services import jobs
from cloud.services.customers_io.exporter import HEADER
from cloud.services.deps import Deps
from tests.conftest import Tenant
from tests.customer_io.conftest import EXPORT, thousand, upload, xlsx
from tests.helpers import money
from tests.ledger.helpers import assert_ledger_consistent, ledger_state

BAD = [
    (7, "Телефон", "Некорректный номер телефона"),
    (101, "Сгорают", "Дата сгорания уже прошла: такие бонусы не загружаются"),
    (501, "Номер карты", "Номер карты уже указан в строке 2 для другого телефона"),
]


def with_three_bad_rows() -> list[list[Any]]:
    rows = thousand()
    rows[5][0] = "12345"  # row 7 of the sheet
    rows[99][8] = date(2026, 11, 19)  # row 101: yesterday in Moscow
    rows[499][1] = rows[0][1]  # row 501: the card of row 2
    return rows


async def counts(deps: Deps, merchant_id: int) -> tuple[int, ...]:
    values = []
    for table in ("customers", "cards", "bonus_lots", "ledger_entries", "customer_imports"):
        sql = f"SELECT COUNT(*) FROM {table} WHERE merchant_id = :m"
        values.append(int(await deps.db.fetch_value(sql, {"m": merchant_id})))
    return tuple(values)


async def phone_customer(deps: Deps, admin: TestClient, phone: str) -> dict[str, Any]:
    found = await (await admin.get("/api/v1/merchant/customers", params={"phone": phone})).json()
    assert len(found["customers"]) == 1, found
    return dict(found["customers"][0])


async def test_dry_run_reports_exactly_the_bad_rows_then_the_fixed_file_imports(
    admin: TestClient, client: TestClient, deps: Deps, demo_tenant: Tenant, clock: ManualClock
) -> None:
    """Dry run: exactly the 3 bad rows with row, column and Russian reason, nothing
    written. A real run of the bad file: 422 import_rejected, nothing written. The fixed
    file imports 1 000 customers with their lots; re-uploading it answers the first
    result (already_imported) and writes nothing."""
    before = await counts(deps, demo_tenant.merchant_id)
    bad = xlsx(with_three_bad_rows())
    response = await upload(admin, bad, dry_run=True)
    assert response.status == 200, await response.text()
    report = await response.json()
    assert report["status"] == "dry_run" and report["rows"] == 1000
    assert [(e["row"], e["column"], e["message"]) for e in report["errors"]] == BAD
    assert report["errors_total"] == 3
    assert await counts(deps, demo_tenant.merchant_id) == before

    rejected = await upload(admin, bad, dry_run=False)
    assert rejected.status == 422
    body = await rejected.json()
    assert body["code"] == "import_rejected" and "3" in body["message"]
    assert len(body["report"]["errors"]) == 3
    assert await counts(deps, demo_tenant.merchant_id) == before

    fixed = xlsx(thousand())
    dry = await (await upload(admin, fixed, dry_run=True)).json()
    assert dry["errors"] == [] and dry["customers_new"] == 1000
    imported = await upload(admin, fixed, dry_run=False)
    assert imported.status == 200, await imported.text()
    result = await imported.json()
    assert result["status"] == "imported" and result["customers_new"] == 1000
    assert result["lots"] == 1000
    assert money(result["bonuses"]) == sum(Decimal(i) + Decimal("1.50") for i in range(1000))
    after = await counts(deps, demo_tenant.merchant_id)
    # customers, cards (phone + physical + virtual), lots, journal entries, the import
    assert after[0] - before[0] == 1000 and after[1] - before[1] == 3000
    assert after[2] - before[2] == 1000 and after[3] - before[3] == 1000 and after[4] == 1

    again = await (await upload(admin, fixed, dry_run=False)).json()
    assert again["status"] == "already_imported" and again["import_id"] == result["import_id"]
    assert again["customers_new"] == 1000
    assert await counts(deps, demo_tenant.merchant_id) == after
    channels = await deps.db.fetch_all(
        "SELECT DISTINCT registration_channel FROM customers WHERE merchant_id = :m",
        {"m": demo_tenant.merchant_id},
    )
    assert [r[0] for r in channels] == ["import"]
    welcome = await deps.db.fetch_value(
        "SELECT COUNT(*) FROM bonus_lots WHERE merchant_id = :m AND kind <> 'import'",
        {"m": demo_tenant.merchant_id},
    )
    assert welcome == 0


async def test_imported_bonuses_are_spent_at_the_till_and_lapse_on_their_date(
    admin: TestClient, client: TestClient, deps: Deps, clock: ManualClock
) -> None:
    """Customer 1 (2.50 bonuses lapsing after 31.12.2026) and customer 4 (5.50, same
    date): the till quotes and spends them by phone; on 1 January (Moscow) the expiry
    job lapses what is left, journaled, and the ledger still sums to the lots."""
    assert (await upload(admin, xlsx(thousand()), dry_run=False)).status == 200
    phone = "+79161000004"
    customer = (await phone_customer(deps, admin, phone))["id"]
    lines = [{"id": "1", "name": "Кальян", "price": 1000.00, "quantity": 1}]
    receipt = {"id": "imp-1", "customer": {"phone": "8 916 100-00-04"}, "lines": lines}
    quote = await (
        await client.post("/api/v1/checkout/calculate", json={"receipt": receipt})
    ).json()
    assert money(quote["max_redeem"]) == Decimal("5.50")
    confirmed = await client.post(
        "/api/v1/checkout/confirm", json={"receipt": receipt, "redeemed": 5.00}
    )
    assert confirmed.status == 200, await confirmed.text()
    state = await ledger_state(deps, customer)
    assert_ledger_consistent(state)
    import_lot = await deps.db.fetch_one(
        "SELECT id, remaining, expires_at FROM bonus_lots "
        "WHERE customer_id = :c AND kind = 'import'",
        {"c": customer},
    )
    assert import_lot is not None and import_lot["remaining"] == 50
    assert import_lot["expires_at"] == int(datetime(2026, 12, 31, 21, tzinfo=UTC).timestamp())

    clock.now = datetime(2026, 12, 31, 20, 59, tzinfo=UTC)  # 23:59 in Moscow
    await jobs.run_expiry(deps)
    assert (await read_balance(deps.db, customer, int(clock.now.timestamp()))).lots >= 50
    clock.now = datetime(2026, 12, 31, 21, 0, 1, tzinfo=UTC)
    await jobs.run_expiry(deps)
    left = await deps.db.fetch_value(
        "SELECT remaining FROM bonus_lots WHERE id = :l", {"l": import_lot["id"]}
    )
    assert left == 0
    expired = await deps.db.fetch_value(
        "SELECT amount FROM ledger_entries WHERE lot_id = :l AND kind = 'expire'",
        {"l": import_lot["id"]},
    )
    assert expired == -50
    assert_ledger_consistent(await ledger_state(deps, customer))
    never = (await phone_customer(deps, admin, "+79161000003"))["id"]  # no expiry date
    assert (await read_balance(deps.db, never, int(clock.now.timestamp()))).lots == 450


async def test_export_opens_in_openpyxl_with_the_same_figures(
    admin: TestClient, deps: Deps
) -> None:
    """The export of the imported base: one row per customer with the phone, the card
    beside the virtual one, name, birthday, email, the tier computed from lifetime
    purchases, the lifetime purchases, the balance, channel ``import``."""
    assert (await upload(admin, xlsx(thousand()), dry_run=False)).status == 200
    response = await admin.get(EXPORT)
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(await response.read()), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == list(HEADER) and len(rows) == 1001
    by_phone = {r[0]: r for r in rows[1:]}
    for i in (0, 1, 600, 999):
        exported = by_phone[f"+7916{1000000 + i:07d}"]
        assert exported[1].split(", ")[0] == f"{5000000 + i}" and len(exported[1].split(", ")) == 2
        assert exported[2] == f"Клиент {i}" and exported[4] == f"c{i}@example.ru"
        assert exported[3] == datetime(1980, 1, 1 + i % 28)
        assert Decimal(str(exported[6])) == Decimal(10 * i)
        assert Decimal(str(exported[9])) == Decimal(i) + Decimal("1.50")
        assert exported[10] == "import" and exported[7] == 0
    # breezevape: silver over 5 000, gold over 10 000 of lifetime purchases
    assert by_phone["+79161000000"][5] is None
    assert by_phone["+79161000001"][5] == "standard"
    assert by_phone["+79161000600"][5] == "silver"
    assert by_phone["+79161000999"][5] == "silver"
