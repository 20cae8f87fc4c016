"""The merchant's coupon campaigns over the API: a batch, its codes and states, the
printable list (CSV, HTML with QR codes), revocation, the errors, and tenancy."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from cloud.api.app import create_app
from cloud.services.deps import Deps
from tests.conftest import Tenant, make_tenant, merchant_client
from tests.coupons.conftest import call, coupon_program, issue

BASE = "/api/v1/merchant/coupon-campaigns"


async def test_issue_a_batch_and_list_it(office: TestClient) -> None:
    """A batch of 5 distinct 12-digit codes; the campaign and its codes are listed with
    their settings and states."""
    campaign_id, codes = await issue(
        office, count=5, uses_per_code=3, total_uses=10, return_frees=True, name="Весна"
    )
    assert len(set(codes)) == 5
    assert all(len(code) == 12 and code.isdigit() and code[0] != "0" for code in codes)
    info = await call(office, "GET", f"{BASE}/{campaign_id}")
    assert info["name"] == "Весна" and info["rule"] == "minus10"
    assert (info["count"], info["used"], info["uses_per_code"], info["total_uses"]) == (5, 0, 3, 10)
    assert info["return_frees"] is True and info["requires_customer"] is False
    listed = await call(office, "GET", BASE)
    assert [c["id"] for c in listed["campaigns"]] == [campaign_id]
    coupons = await call(office, "GET", f"{BASE}/{campaign_id}/coupons")
    assert [c["code"] for c in coupons["coupons"]] == codes
    assert {c["state"] for c in coupons["coupons"]} == {"active"}


async def test_printable_csv_and_html(office: TestClient) -> None:
    """The CSV lists every code with its state in Russian; the HTML page shows each
    active code with an inline QR code (SVG), revoked ones left out."""
    campaign_id, codes = await issue(office, count=3)
    await call(office, "POST", f"{BASE}/{campaign_id}/revoke", {"codes": [codes[2]]})
    response = await office.get(f"{BASE}/{campaign_id}/coupons.csv")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    text = (await response.read()).decode("utf-8-sig")
    rows = [row.split(";") for row in text.strip().split("\r\n")]
    assert rows[0] == ["код", "состояние", "использован раз"]
    assert rows[1:] == [[codes[0], "действует", "0"], [codes[1], "действует", "0"],
                        [codes[2], "отозван", "0"]]  # fmt: skip
    response = await office.get(f"{BASE}/{campaign_id}/print")
    assert response.status == 200 and response.content_type == "text/html"
    page = await response.text()
    assert 'lang="ru"' in page and page.count("<svg") == 2
    assert codes[0] in page and codes[1] in page and codes[2] not in page


async def test_revoke_the_whole_campaign(office: TestClient) -> None:
    """Without codes the whole campaign is revoked; a second call revokes nothing more."""
    campaign_id, _ = await issue(office, count=4)
    assert await call(office, "POST", f"{BASE}/{campaign_id}/revoke", {}) == {
        "campaign_id": campaign_id, "revoked": 4,
    }  # fmt: skip
    assert (await call(office, "POST", f"{BASE}/{campaign_id}/revoke", {}))["revoked"] == 0
    info = await call(office, "GET", f"{BASE}/{campaign_id}")
    assert info["revoked_at"] is not None
    coupons = await call(office, "GET", f"{BASE}/{campaign_id}/coupons")
    assert {c["state"] for c in coupons["coupons"]} == {"revoked"}


async def test_errors_are_russian_4xx(office: TestClient) -> None:
    """Unknown rule 422, unknown campaign and code 404, inconsistent settings 400."""
    body: dict[str, Any] = {"name": "Х", "rule": "nope", "count": 1}
    error = await call(office, "POST", BASE, body, 422)
    assert error["code"] == "unknown_coupon_rule"
    assert "minus10" in error["message"]
    error = await call(office, "GET", f"{BASE}/999999", None, 404)
    assert error["code"] == "coupon_campaign_not_found"
    campaign_id, _ = await issue(office)
    error = await call(office, "POST", f"{BASE}/{campaign_id}/revoke", {"codes": ["1"]}, 404)
    assert error["code"] == "coupon_not_found"
    for wrong in (
        {"uses_per_customer": 1},
        {"count": 0},
        {"count": 10_001},
        {"valid_from": "2026-12-02T00:00:00+03:00", "valid_until": "2026-12-01T00:00:00+03:00"},
    ):
        error = await call(office, "POST", BASE, {"name": "Х", "rule": "minus10", "count": 1,
                                                  **wrong}, 400)  # fmt: skip
        assert error["code"] == "validation_error"


async def test_another_merchant_never_sees_or_revokes_the_campaign(
    aiohttp_client: Any, deps: Deps, office: TestClient, tenant: Tenant
) -> None:
    """Another merchant's key gets 404 on every route of this campaign, lists nothing,
    and its tills cannot use the codes."""
    other = await make_tenant(deps, "Чужие", coupon_program())
    stranger: TestClient = await merchant_client(aiohttp_client, deps, other, "Чужой офис")
    campaign_id, codes = await issue(office, count=2)
    for path in ("", "/coupons", "/coupons.csv", "/print"):
        response = await stranger.get(f"{BASE}/{campaign_id}{path}")
        assert response.status == 404, path
        assert (await response.json())["code"] == "coupon_campaign_not_found"
    response = await stranger.post(f"{BASE}/{campaign_id}/revoke", json={})
    assert response.status == 404
    assert (await call(stranger, "GET", BASE))["campaigns"] == []
    till = await aiohttp_client(
        create_app(deps.settings, deps=deps), headers={"Authorization": f"Bearer {other.token}"}
    )
    answer = await call(
        till,
        "POST",
        "/api/v1/checkout/calculate",
        {
            "receipt": {
                "id": "x",
                "lines": [{"id": "1", "price": 100, "quantity": 1}],
                "coupons": codes[:1],
            }
        },
    )
    assert answer["coupons"][0]["applied"] is False
    assert (await call(office, "GET", f"{BASE}/{campaign_id}/coupons"))["coupons"][0]["state"] == (
        "active"
    )
