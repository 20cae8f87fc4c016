"""МойСклад positions carry only the assortment's id: the merchant's product catalogue
maps it to a program category (e.g. the product folder exported from МойСклад), so
category rules price МойСклад receipts too."""

from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient

from cloud.services import merchants, moysklad_accounts, product_catalogue, programs
from cloud.services.deps import Deps
from tests.webhooks.moysklad import day
from tests.webhooks.moysklad.conftest import MoySklad

PROGRAM = {
    "name": "Скидка 5 %, акционные товары без скидки", "kind": "bonus_and_discount",
    "tier_assignment": "registration",
    "tiers": [{"code": "base", "name": "Базовая", "accrual_percent": "5",
               "discount_percent": "5", "max_redeem_percent": "50"}],
    "categories": {"promo": {"discount": False}},
}  # fmt: skip


async def test_catalogue_keeps_a_mapped_assortment_out_of_the_discount(
    service: TestClient, deps: Deps
) -> None:
    """With the second product's id mapped to the category without a discount, only the
    first position is discounted; before the mapping both were."""
    now = deps.clock()
    merchant_id = await merchants.create_merchant(deps.db, "Лавка", now)
    await programs.publish(deps.db, merchant_id, PROGRAM, now)
    issued = await moysklad_accounts.issue(deps, merchant_id, None)
    till = MoySklad(service, merchant_id, issued.token or "")
    body = day.recalc(None, spending=False)

    def prices(answer: dict[str, list[dict[str, Decimal]]]) -> list[Decimal]:
        return [p["discountedPrice"] for p in answer["positions"]]

    assert prices(await till.post("/retaildemand/recalc", body)) == [
        Decimal("117.28"), Decimal("47.50")]  # fmt: skip
    csv = f"Код;Категория\r\n{day.SECOND};promo\r\n".encode("utf-8-sig")
    await product_catalogue.replace(deps, merchant_id, csv, "csv", ZoneInfo("Europe/Moscow"))
    assert prices(await till.post("/retaildemand/recalc", body)) == [
        Decimal("117.28"), Decimal("50.00")]  # fmt: skip
