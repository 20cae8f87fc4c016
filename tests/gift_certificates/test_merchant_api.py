"""The merchant's gift certificates (merchant key): single and batch issue, the list and
its filters, one certificate, void, the liability report; refusals are 4xx with a
Russian message."""

from __future__ import annotations

from decimal import Decimal

from aiohttp.test_utils import TestClient

from cloud.clock import ManualClock
from cloud.services.deps import Deps
from tests.gift_certificates.helpers import (
    CONFIRM,
    HOLD,
    ISSUE,
    REPORT,
    SELL,
    STATUS,
    assert_balanced,
    call,
    issue,
    ledger,
    paying,
    receipt,
)
from tests.helpers import money


async def test_single_and_batch_issue(admin: TestClient, deps: Deps) -> None:
    """One certificate by its number; a batch of 20 with numbers we draw (16 digits,
    distinct), labelled; each opens its journal with the nominal. A number already
    issued is refused as a whole (409, nothing written)."""
    one = await issue(admin, numbers=["A-0001"], nominal=1500.50, batch="spring")
    assert one[0]["number"] == "A-0001" and one[0]["state"] == "CAN_BE_USED"
    assert money(one[0]["remaining"]) == Decimal("1500.50")
    assert one[0]["expires_at"] == "2027-11-21T00:00:00+03:00"
    batch = await issue(admin, count=20, nominal=1000, batch="promo", redemption="single")
    numbers = [c["number"] for c in batch]
    assert len(set(numbers)) == 20 and all(len(n) == 16 and n.isdigit() for n in numbers)
    assert {c["redemption"] for c in batch} == {"single"}
    for number in (numbers[0], "A-0001"):
        assert_balanced(await ledger(deps, number))
    taken = await call(
        admin,
        "POST",
        ISSUE,
        {"numbers": ["B-0001", "A-0001"], "nominal": 10, "valid_until": "2027-01-01"},
        409,
    )
    assert taken == {
        "code": "gift_certificate_exists",
        "message": "Сертификаты уже выпущены: №A-0001",
    }
    assert (
        await deps.db.fetch_value("SELECT COUNT(*) FROM gift_certificates WHERE number = 'B-0001'")
        == 0
    )


async def test_issue_refusals(admin: TestClient) -> None:
    """Both or neither of numbers/count, of valid_until/valid_days, a past last day,
    a repeated number, a float-inexact nominal: 400 with a Russian message."""
    cases = [
        {"nominal": 10, "valid_until": "2027-01-01"},
        {"numbers": ["X-0001"], "count": 2, "nominal": 10, "valid_until": "2027-01-01"},
        {"numbers": ["X-0001"], "nominal": 10},
        {"numbers": ["X-0001", "X-0001"], "nominal": 10, "valid_days": 30},
        {"numbers": ["X 1"], "nominal": 10, "valid_days": 30},
        {"numbers": ["X-0001"], "nominal": 0, "valid_days": 30},
    ]
    for body in cases:
        refused = await call(admin, "POST", ISSUE, body, 400)
        assert refused["code"] == "validation_error", body
    past = await call(
        admin,
        "POST",
        ISSUE,
        {"numbers": ["X-0001"], "nominal": 10, "valid_until": "2026-11-19"},
        400,
    )
    assert past["code"] == "invalid_gift_certificate_expiry"
    assert "десяти лет" in past["message"]


async def test_list_filters_and_pages(admin: TestClient, client: TestClient) -> None:
    """Newest first, a page at a time (``next`` as ``before``); by state, batch and
    number; unknown parameters and states are refused."""
    await issue(admin, numbers=["L-0001", "L-0002", "L-0003"], batch="b1")
    await issue(admin, numbers=["L-0004"], activated=False, valid_until=None, valid_days=30)
    page = await call(admin, "GET", ISSUE + "?limit=2")
    assert [c["number"] for c in page["certificates"]] == ["L-0004", "L-0003"]
    rest = await call(admin, "GET", f"{ISSUE}?limit=2&before={page['next']}")
    assert [c["number"] for c in rest["certificates"]] == ["L-0002", "L-0001"]
    assert rest["next"] is None
    stock = await call(admin, "GET", ISSUE + "?state=NOT_ACTIVATED")
    assert [c["number"] for c in stock["certificates"]] == ["L-0004"]
    assert len((await call(admin, "GET", ISSUE + "?batch=b1"))["certificates"]) == 3
    one = await call(admin, "GET", ISSUE + "?number=L-0002")
    assert [c["number"] for c in one["certificates"]] == ["L-0002"]
    for query, code in (
        ("?state=NEW", "invalid_query"),
        ("?x=1", "invalid_query"),
        ("?limit=101", "invalid_limit"),
    ):
        assert (await call(admin, "GET", ISSUE + query, None, 400))["code"] == code
    await call(
        client,
        "POST",
        CONFIRM,
        {"receipt": receipt("r1", 3000), "gift_certificates": paying("L-0001", 3000)},
    )
    used = await call(admin, "GET", ISSUE + "?state=USED")
    assert [c["number"] for c in used["certificates"]] == ["L-0001"]


async def test_void(admin: TestClient, client: TestClient, deps: Deps) -> None:
    """Voiding moves what remains to ``voided`` (a till then hears «аннулирован»); a
    second void answers the same; a certificate an open receipt holds money on, or one
    used up, cannot be voided (409)."""
    [cert] = await issue(admin, numbers=["V-0001"])
    [held] = await issue(admin, numbers=["V-0002"])
    path = f"{ISSUE}/{cert['id']}/void"
    voided = await call(admin, "POST", path)
    assert voided["state"] == "VOIDED" and money(voided["voided"]) == Decimal(3000)
    assert await call(admin, "POST", path) == voided
    assert_balanced(await ledger(deps, "V-0001"))
    refused = await call(
        client,
        "POST",
        CONFIRM,
        {"receipt": receipt("r1", 500), "gift_certificates": paying("V-0001", 100)},
        422,
    )
    assert refused["message"] == "Сертификат №V-0001 аннулирован"
    await call(
        client,
        "POST",
        HOLD,
        {"receipt": receipt("r2", 500), "gift_certificates": paying("V-0002", 100)},
    )
    busy = await call(admin, "POST", f"{ISSUE}/{held['id']}/void", None, 409)
    assert busy["code"] == "gift_certificate_not_voidable"
    missing = await call(admin, "GET", f"{ISSUE}/999999", None, 404)
    assert missing["code"] == "gift_certificate_not_found"


async def test_liability_report(
    admin: TestClient, client: TestClient, deps: Deps, clock: ManualClock
) -> None:
    """Outstanding = what remains on activated, unexpired, unvoided certificates;
    issued counts only sold or activated ones (printed stock is not a debt); redeemed,
    expired (including one due but not yet closed by the job), voided, held."""
    await issue(admin, numbers=["R-0001", "R-0002"], nominal=1000)
    await issue(admin, numbers=["R-0003"], nominal=500, valid_until="2026-11-20")
    await issue(
        admin,
        numbers=["R-0004", "R-0005"],
        activated=False,
        valid_until=None,
        valid_days=30,
        nominal=700,
    )
    [voided] = await issue(admin, numbers=["R-0006"], nominal=200)
    await call(admin, "POST", f"{ISSUE}/{voided['id']}/void")
    await call(client, "POST", SELL, {"number": "R-0004", "receipt_id": "sale"})
    await call(
        client,
        "POST",
        CONFIRM,
        {"receipt": receipt("r1", 400), "gift_certificates": paying("R-0001", 400)},
    )
    await call(
        client,
        "POST",
        HOLD,
        {"receipt": receipt("r2", 400), "gift_certificates": paying("R-0002", 150)},
    )
    clock.advance(days=1)  # R-0003 lapsed at midnight; the job has not run
    report = await call(admin, "GET", REPORT)
    assert {k: v for k, v in report.items() if k != "as_of"} == {
        "outstanding": 2300,  # 600 + 1000 + 700
        "outstanding_count": 3,
        "issued": 3400,  # 1000 + 1000 + 500 + 700 + 200 (voided after issue)
        "issued_count": 5,
        "redeemed": 400,
        "expired": 500,
        "voided": 200,
        "held": 0,  # the hold's 15 minutes ran out with the day
        "not_activated_count": 1,
        "not_activated_nominal": 700,
    }
    bad = await call(admin, "GET", REPORT + "?x=1", None, 400)
    assert bad["code"] == "invalid_query"


async def test_report_counts_live_holds(admin: TestClient, client: TestClient) -> None:
    """``held`` is the part of outstanding open receipts reserve right now."""
    await issue(admin, numbers=["H-0001"], nominal=1000)
    await call(
        client,
        "POST",
        HOLD,
        {"receipt": receipt("r1", 400), "gift_certificates": paying("H-0001", 150)},
    )
    report = await call(admin, "GET", REPORT)
    assert (report["outstanding"], report["held"]) == (1000, 150)


async def test_operations_documented_with_their_errors(admin: TestClient) -> None:
    """Every gift certificate operation is in /api/v1/openapi.json under its credential,
    with the codes it may answer listed by status (the registry's Russian messages)."""
    document = await call(admin, "GET", "/api/v1/openapi.json")
    paths = document["paths"]

    def codes(path: str, method: str, status: str) -> set[str]:
        response = paths[path][method]["responses"][status]
        return set(response["content"]["application/json"]["schema"]["allOf"][1]["properties"][
            "code"]["enum"])  # fmt: skip

    assert "gift_certificate_exists" in codes(ISSUE, "post", "409")
    assert "invalid_gift_certificate_expiry" in codes(ISSUE, "post", "400")
    assert paths[ISSUE]["post"]["security"] == [{"merchantKey": []}]
    one = ISSUE + "/{certificate_id}"
    assert "gift_certificate_not_found" in codes(one, "get", "404")
    assert "gift_certificate_not_voidable" in codes(one + "/void", "post", "409")
    assert "invalid_query" in codes(REPORT, "get", "400")
    assert "gift_certificate_not_found" in codes(STATUS, "get", "404")
    assert "gift_certificate_already_sold" in codes(SELL, "post", "409")
    assert paths[SELL]["post"]["security"] == [{"bearer": []}, {"basic": []}]
    for path in (HOLD, CONFIRM):
        assert {
            "gift_certificate_used", "gift_certificate_expired", "gift_certificate_voided",
            "gift_certificate_not_activated", "gift_certificate_insufficient",
            "gift_certificate_exceeds_receipt",
        } <= codes(path, "post", "422")  # fmt: skip
