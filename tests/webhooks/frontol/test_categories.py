"""Frontol lines carry only a product code: the merchant's product catalogue gives them
their program category, so category rules price Frontol receipts too."""

from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient

from cloud.services import frontol_accounts, merchants, product_catalogue, programs
from cloud.services.deps import Deps
from tests.webhooks.frontol.conftest import Frontol

PROGRAM = {
    "name": "Скидка 5 %, акционные товары без скидки",
    "kind": "bonus_and_discount",
    "tier_assignment": "registration",
    "tiers": [{"code": "base", "name": "Базовая", "accrual_percent": "5",
               "discount_percent": "5", "max_redeem_percent": "50"}],
    "categories": {"promo": {"discount": False}},
}  # fmt: skip


def _calculate(organization: str) -> dict[str, object]:
    return {
        "action": "calculate", "type": "receipt",
        "dateTime": "2026-11-20T12:30:05.000000+0300", "organization": organization,
        "businessUnit": "store-1", "workPlace": "pos-1", "uid": "c-1", "number": 1,
        "positions": [
            {"index": 1, "id": "100234", "text": "Молоко 1л", "price": "100.00",
             "minimumPrice": "50.00", "quantity": "1.000", "totalAmount": "100.00"},
            {"index": 2, "id": "PROMO-7", "text": "Сыр по акции", "price": "200.00",
             "minimumPrice": "100.00", "quantity": "1.000", "totalAmount": "200.00"},
        ],
    }  # fmt: skip


async def test_catalogue_prefix_keeps_promo_goods_out_of_the_discount(
    service: TestClient, deps: Deps
) -> None:
    """With «PROMO*» mapped to the category without a discount, only the milk line gets
    the 5 % discount; without the catalogue both lines would."""
    now = deps.clock()
    merchant_id = await merchants.create_merchant(deps.db, "Лавка", now)
    await programs.publish(deps.db, merchant_id, PROGRAM, now)
    link = await frontol_accounts.issue_key(deps, merchant_id)
    assert link.access_key is not None
    till = Frontol(service, merchant_id, link.organization, link.access_key)

    before = await till.ok("document", _calculate(link.organization))
    assert before["document"]["positions"] == [
        {"index": 1, "discountAmount": Decimal("5.00")},
        {"index": 2, "discountAmount": Decimal("10.00")},
    ]
    csv = "Код;Категория\r\nPROMO*;promo\r\n".encode("utf-8-sig")
    await product_catalogue.replace(deps, merchant_id, csv, "csv", ZoneInfo("Europe/Moscow"))
    after = await till.ok("document", {**_calculate(link.organization), "uid": "c-2"})
    assert after["document"]["positions"] == [{"index": 1, "discountAmount": Decimal("5.00")}]
