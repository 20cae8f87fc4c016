"""Gift certificates through МойСклад: ``GET /giftcard`` in the reference's shape, and the
sale's ``giftCards`` paying from the certificate (kopecks), until it is used up."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient

from cloud.services import gift_certificates
from cloud.services.deps import Deps
from schemas import gift_certificates as wire
from tests.webhooks.moysklad.conftest import STORE, MoySklad, connect, example

NUMBER = "7700123456"


async def _issue(deps: Deps, merchant_id: int, number: str = NUMBER) -> None:
    body = wire.GiftCertificateIssue(
        numbers=[number], nominal=Decimal(3000), valid_until=date(2027, 11, 20)
    )
    await gift_certificates.issue(deps, merchant_id, ZoneInfo("Europe/Moscow"), body)


async def _card(moysklad: MoySklad, number: str = NUMBER, status: int = 200) -> Any:
    path = f"/giftcard?name={number}&retailStoreId={STORE}"
    return await moysklad.call("GET", path, status=status)


def _sale(sale_id: str, price: int, card_kopecks: int) -> Any:
    """A sale of one unit at ``price`` roubles paid in part by the certificate."""
    body = example("retaildemand.request.json")
    body["meta"] = {"href": "", "id": sale_id}
    body["agent"] = None
    position = body["positions"][0]
    body["positions"] = [
        {"assortment": position["assortment"], "quantity": 1, "price": price,
         "discountPercent": 0, "discountedPrice": price}
    ]  # fmt: skip
    body["bonusProgram"] = None
    body["giftCards"] = [
        {"id": "f085d67e-6eae-21e6-8a84-bc520403352a", "name": NUMBER, "paymentSum": card_kopecks}
    ]
    return body


async def test_a_certificate_of_3000_pays_two_sales_and_is_then_redeemed(
    moysklad: MoySklad, deps: Deps
) -> None:
    """The till reads a certificate as the reference shows it (balances in kopecks, the
    expiry in UTC), two sales spend 2 000 ₽ and 1 000 ₽ of it through ``giftCards``, a
    repeated sale spends nothing twice, and the certificate then reads REDEEMED and
    refuses a third sale."""
    await _issue(deps, moysklad.merchant_id)
    fresh = await _card(moysklad)
    assert set(fresh) == set(example("giftcard.response.json"))
    assert fresh["name"] == NUMBER and fresh["status"] == "CAN_BE_USED"
    assert fresh["currentBalance"] == 300_000 and fresh["initialBalance"] == 300_000
    assert fresh["expireDate"] == "2027-11-20 21:00:00"  # Moscow's midnight, in UTC

    first = _sale("aaaaaaaa-0000-4000-8000-000000000001", 2500, 200_000)
    await moysklad.post("/retaildemand", first, status=201)
    await moysklad.post("/retaildemand", first, status=201)  # the till sends it again
    partly = await _card(moysklad)
    assert partly["status"] == "PARTIALLY_REDEEMED" and partly["currentBalance"] == 100_000

    second = _sale("aaaaaaaa-0000-4000-8000-000000000002", 1000, 100_000)
    await moysklad.post("/retaildemand", second, status=201)
    used = await _card(moysklad)
    assert used["status"] == "REDEEMED" and "currentBalance" not in used

    third = _sale("aaaaaaaa-0000-4000-8000-000000000003", 500, 10_000)
    refused = await moysklad.post("/retaildemand", third, status=422)
    assert refused["code"] == "gift_certificate_used"
    row = await deps.db.fetch_one(
        "SELECT remaining, redeemed FROM gift_certificates WHERE number = :n", {"n": NUMBER}
    )
    assert row is not None and (row["remaining"], row["redeemed"]) == (0, 300_000)


async def test_unknown_or_another_merchants_certificate_is_not_found(
    moysklad: MoySklad, service: TestClient, deps: Deps
) -> None:
    """A number nobody issued, and one issued by another merchant, are both 404 in the
    adapter's error shape: one installation's token never reads another's certificates."""
    other = await connect(service, deps, "Другой магазин")
    await _issue(deps, other.merchant_id)
    missing = await _card(moysklad, status=404)
    assert missing["code"] == "gift_certificate_not_found" and missing["errors"]
    assert (await _card(other))["status"] == "CAN_BE_USED"
    await moysklad.call("GET", f"/giftcard?name={NUMBER}&retailStoreId={STORE}", status=401,
                        token="wrong")  # fmt: skip


async def test_gift_payment_in_kopecks_only(moysklad: MoySklad, deps: Deps) -> None:
    """``paymentSum`` is kopecks: a fractional one is refused and spends nothing."""
    await _issue(deps, moysklad.merchant_id)
    body = _sale("aaaaaaaa-0000-4000-8000-000000000009", 2500, 100_000)
    body["giftCards"][0]["paymentSum"] = "1000.5"
    refused = await moysklad.post("/retaildemand", body, status=400)
    assert refused["code"] == "moysklad_gift_sum"
    assert (await _card(moysklad))["currentBalance"] == 300_000
