"""Mailing segments by age, gender and card-number range: ages are exact on the
birthday, in the merchant's time zone; customers imported with a birthday or a card are
indexed before the mailing counts them; a non-numeric card is in no range."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from aiohttp.test_utils import TestClient

from cloud.clock import ManualClock
from cloud.services import customers
from cloud.services.deps import Deps
from schemas.customers import Consent, RegisterCustomer
from tests.conftest import Tenant

PREVIEW = "/api/v1/merchant/mailings/preview"


async def _customer(deps: Deps, tenant: Tenant, phone: str, **fields: Any) -> int:
    data = RegisterCustomer(
        phone=phone, consent=Consent(personal_data=True, messages=True), **fields
    )
    return await customers.register_customer(
        deps, tenant.merchant_id, data, store_id=tenant.store_id, channel="import", sms_code=None
    )


async def _count(admin: TestClient, segment: dict[str, Any]) -> int:
    response = await admin.post(PREVIEW, json={"segment": segment, "text": "Акция"})
    body = await response.json()
    assert response.status == 200, body
    return int(body["participants"])


async def test_age_gender_and_card_ranges(
    admin: TestClient, deps: Deps, demo_tenant: Tenant, clock: ManualClock
) -> None:
    """On 10 March (Moscow; 23:30 UTC of the 9th) a customer born 10 March 2008 is 18
    and one born 11 March 2008 is 17; gender and card ranges select their customers;
    rows written without the clear-text columns (an import) are indexed first."""
    clock.now = datetime(2026, 3, 9, 21, 30, tzinfo=UTC)
    adult = await _customer(deps, demo_tenant, "+79160000001", birthday=date(2008, 3, 10),
                            gender="female", card="000150")  # fmt: skip
    await _customer(deps, demo_tenant, "+79160000002", birthday=date(2008, 3, 11),
                    gender="male", card="299")  # fmt: skip
    await _customer(deps, demo_tenant, "+79160000003", birthday=date(1960, 1, 1),
                    card="VIP-7")  # fmt: skip
    await _customer(deps, demo_tenant, "+79160000004")
    # As an import leaves them: only the encrypted birthday and card number.
    await deps.db.execute(
        "UPDATE customers SET birth_year = NULL, birthday_md = NULL WHERE id = :c", {"c": adult}
    )
    await deps.db.execute("UPDATE cards SET number_value = NULL", {})

    assert await _count(admin, {"age": {"min": 18}}) == 2
    assert await _count(admin, {"age": {"min": 18, "max": 18}}) == 1
    assert await _count(admin, {"age": {"max": 17}}) == 1
    assert await _count(admin, {"age": {"min": 66, "max": 66}}) == 1
    assert await _count(admin, {"age": {"min": 0}}) == 3  # no birthday, no age
    assert await _count(admin, {"gender": "female"}) == 1
    assert await _count(admin, {"gender": "male", "age": {"max": 17}}) == 1
    assert await _count(admin, {"card_numbers": {"min": 100, "max": 200}}) == 1
    assert await _count(admin, {"card_numbers": {"max": 299}}) == 2
    stored = await deps.db.fetch_all(
        "SELECT number_value FROM cards WHERE kind = 'physical' ORDER BY number_value", {}
    )
    assert [row["number_value"] for row in stored] == [-1, 150, 299]

    clock.now = datetime(2026, 3, 10, 21, 0, tzinfo=UTC)  # midnight of the 11th in Moscow
    assert await _count(admin, {"age": {"min": 18}}) == 3


async def test_bad_ranges_are_refused(admin: TestClient) -> None:
    """An age above 150, a reversed card range and an unknown gender are validation
    errors in the API's shape, not an empty mailing."""
    for segment in ({"age": {"min": 151}}, {"card_numbers": {"min": 5, "max": 1}},
                    {"gender": "f"}):  # fmt: skip
        response = await admin.post(PREVIEW, json={"segment": segment, "text": "т"})
        assert response.status == 400
        assert (await response.json())["code"] == "validation_error"
