"""Coupons on every channel of one store: the native API, Evotor's terminal hooks, an
Evotor V2 and V1 document, Frontol. The issue's scenario: a batch of 100 single-use codes
works once across channels, and a returned receipt frees its coupon only where the
merchant said so."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient

from cloud.main import build_app
from cloud.services import coupons, frontol_accounts, merchants, programs
from cloud.services.deps import Deps
from cloud.settings import Settings
from schemas.coupons import CouponCampaignCreate
from tests.coupons.conftest import coupon_program
from tests.webhooks.evotor.conftest import API, APP_ID, USER, call, fixture, install, user_auth
from tests.webhooks.frontol.conftest import Frontol

ORG = "org-coupons"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, env="test", load_demo=False,
                    evotor_app_id=APP_ID, evotor_api_url=API)  # fmt: skip


class Store:
    """One merchant reached through every channel."""

    def __init__(self, service: TestClient, deps: Deps, evotor_token: str, native: str,
                 frontol: Frontol, merchant_id: int) -> None:  # fmt: skip
        self.service, self.deps, self.merchant_id = service, deps, merchant_id
        self.evotor_token, self.native, self.frontol = evotor_token, native, frontol

    async def native_call(self, path: str, body: Any) -> Any:
        response = await self.service.post(
            path, json=body, headers={"Authorization": f"Bearer {self.native}"}
        )
        assert response.status == 200, await response.text()
        return await response.json()

    async def batch(self, rule: str, return_frees: bool) -> list[str]:
        created = await coupons.create(
            self.deps, self.merchant_id, merchants_tz(),
            CouponCampaignCreate(name=f"Сто {rule}", rule=rule, count=100,
                                 return_frees=return_frees),
        )  # fmt: skip
        return created.codes

    # ---- one sale per channel: the codes' outcomes at the quote and at the sale ----

    async def native_sale(self, rid: str, codes: list[str]) -> tuple[list[bool], list[bool]]:
        receipt = {"id": rid, "lines": [{"id": "1", "price": 1000, "quantity": 1}],
                   "coupons": codes}  # fmt: skip
        quote = await self.native_call("/api/v1/checkout/calculate", {"receipt": receipt})
        charged = copy.deepcopy(receipt)
        charged["lines"][0]["amount"] = quote["lines"][0]["amount_after_discount"]
        sold = await self.native_call("/api/v1/checkout/confirm", {"receipt": charged})
        return _applied(quote["coupons"]), _applied(sold["coupons"])

    async def evotor_sale(self, rid: str, codes: list[str]) -> tuple[list[bool], list[bool]]:
        position = {"uuid": f"{rid}-1", "name": "Товар", "price": 1000, "quantity": 1}
        body = {"receiptUuid": rid, "positions": [position], "coupons": codes}
        auth = user_auth(self.evotor_token)
        quote = await call(self.service, "POST", "/terminal/v1/receipts/calculate", body, auth)
        closed = copy.deepcopy(body)
        closed["positions"][0]["resultSum"] = quote["positions"][0]["resultSum"]
        sold = await call(self.service, "POST", "/terminal/v1/receipts/close", closed, auth)
        return _applied(quote["coupons"]), _applied(sold["coupons"])

    async def frontol_sale(self, rid: str, codes: list[str]) -> tuple[list[bool], list[bool]]:
        body: dict[str, Any] = {
            "action": "calculate", "type": "receipt", "businessUnit": "store-1",
            "workPlace": "pos-1", "uid": rid, "coupons": codes,
            "positions": [{"index": 1, "id": "300001", "text": "Товар", "price": "1000.00",
                           "quantity": "1.000", "totalAmount": "1000.00"}],
        }  # fmt: skip
        quote = await self.frontol.ok("document", body)
        off = sum(Decimal(str(p["discountAmount"])) for p in quote["document"]["positions"])
        body.update(action="confirm", payments=[{"type": "cash", "mode": "fiscal",
                                                  "amount": str(1000 - off)}])  # fmt: skip
        body["positions"][0]["totalAmount"] = str(1000 - off)
        sold = await self.frontol.ok("document", body)
        return _quoted(quote, codes), _quoted(sold, codes)

    async def evotor_document(self, rid: str, codes: list[str]) -> tuple[list[bool], list[bool]]:
        """A V2 SELL document naming the codes in its discounts (no hook saw it)."""
        document = fixture("documents/sell_v2.json")
        document["id"] = rid
        positions = document["body"]["positions"]
        positions[0]["position_discount"]["coupon"] = codes[0]
        positions[0]["doc_distributed_discount"]["coupon"] = codes[1]
        auth = user_auth(self.evotor_token, device=None)
        await call(self.service, "PUT", "/api/v2/documents", document, auth)
        used = await self._redeemed_by(rid, codes)
        return used, used

    async def _redeemed_by(self, rid: str, codes: list[str]) -> list[bool]:
        """Which codes the sale recorded under ``rid`` redeemed."""
        rows = await self.deps.db.fetch_all(
            "SELECT c.code FROM coupon_redemptions r JOIN coupons c ON c.id = r.coupon_id "
            "JOIN receipts s ON s.id = r.receipt_id WHERE r.merchant_id = :m "
            "AND s.external_id = :rid",
            {"m": self.merchant_id, "rid": rid},
        )
        found = {row["code"] for row in rows}
        return [code in found for code in codes]

    async def native_quote(self, codes: list[str]) -> list[bool]:
        receipt = {"id": "q", "lines": [{"id": "1", "price": 1000, "quantity": 1}],
                   "coupons": codes}  # fmt: skip
        return _applied((await self.native_call("/api/v1/checkout/calculate",
                                                {"receipt": receipt}))["coupons"])  # fmt: skip


def merchants_tz() -> ZoneInfo:
    return ZoneInfo("Europe/Moscow")


def _applied(outcomes: list[dict[str, Any]]) -> list[bool]:
    return [outcome["applied"] for outcome in outcomes]


def _quoted(answer: dict[str, Any], codes: list[str]) -> list[bool]:
    """Frontol shows the cashier our words: a code applied is named by its rule."""
    lines = [line["text"] for line in answer.get("cashierInformation") or []]
    return [any(text.startswith(f"Купон {code}: ") for text in lines) for code in codes]


@pytest.fixture
async def store(aiohttp_client: Any, deps: Deps) -> Store:
    service: TestClient = await aiohttp_client(build_app(deps.settings, deps=deps))
    token = await install(service)
    merchant_id = int(
        await deps.db.fetch_value(
            "SELECT merchant_id FROM evotor_accounts WHERE evotor_user_id = :u", {"u": USER}
        )
    )
    now = deps.clock()
    await programs.publish(deps.db, merchant_id, json.loads(coupon_program()), now)
    store_id = int(await deps.db.fetch_value(
        "SELECT MIN(id) FROM stores WHERE merchant_id = :m", {"m": merchant_id}))  # fmt: skip
    terminal_id = await merchants.create_terminal(deps.db, merchant_id, store_id, "API", now)
    native = await merchants.issue_terminal_token(deps.db, merchant_id, terminal_id, now)
    link = await frontol_accounts.issue_key(deps, merchant_id)
    async with deps.db.transaction() as tx:
        await tx.execute(
            "UPDATE frontol_organizations SET organization = :o WHERE merchant_id = :m",
            {"o": ORG, "m": merchant_id},
        )
    assert link.access_key is not None
    frontol = Frontol(service, merchant_id, ORG, link.access_key)
    return Store(service, deps, token, native, frontol, merchant_id)


async def test_a_batch_of_100_single_use_codes_across_channels(store: Store) -> None:
    """Campaign A (−10 %, a return keeps the code used) and campaign B (−300 ₽, a return
    frees it), 100 codes each; receipt i carries A[i] and B[i], rung up in turn on the
    native API, Evotor's hooks, an Evotor document and Frontol. Every code works there;
    shown again on the next channel, both are refused. A full return on the native API
    and on Frontol frees B's code of that receipt, never A's."""
    kept = await store.batch("minus10", return_frees=False)
    freed = await store.batch("minus300", return_frees=True)
    channels = [store.native_sale, store.evotor_sale, store.evotor_document, store.frontol_sale]
    for i in range(100):
        quoted, sold = await channels[i % 4](f"sale-{i}", [kept[i], freed[i]])
        assert quoted == [True, True] and sold == [True, True], i
    for i in range(100):
        again, _ = await channels[(i + 1) % 4](f"again-{i}", [kept[i], freed[i]])
        assert again == [False, False], i
    rows = await store.deps.db.fetch_all(
        "SELECT k.rule_code, SUM(c.used) AS used FROM coupons c "
        "JOIN coupon_campaigns k ON k.id = c.campaign_id GROUP BY k.rule_code"
    )
    assert {row["rule_code"]: int(row["used"]) for row in rows} == {"minus10": 100,
                                                                     "minus300": 100}  # fmt: skip
    await store.native_call("/api/v1/checkout/refund", {"id": "back-0", "receipt_id": "sale-0"})
    refund = {"action": "confirm", "type": "refundReceipt", "businessUnit": "store-1",
              "workPlace": "pos-1", "uid": "back-3", "referenceUid": "sale-3",
              "positions": [{"index": 1, "id": "300001", "price": "1000.00", "quantity": "1",
                             "totalAmount": "600.00", "referenceIndex": 1}],
              "payments": [{"type": "cash", "mode": "fiscal", "amount": "600.00"}]}  # fmt: skip
    answer = await store.frontol.ok("document", refund)
    assert any(f"Купон {freed[3]} снова действует" in line["text"]
               for line in answer["cashierInformation"])  # fmt: skip
    assert await store.native_quote([freed[0]]) == [True]
    assert await store.native_quote([freed[3]]) == [True]
    assert await store.native_quote([kept[0]]) == [False]
    assert await store.native_quote([kept[3]]) == [False]
    assert await store.native_quote([freed[1]]) == [False]


async def test_evotor_v1_document_coupon_number(store: Store) -> None:
    """A V1 document's ``couponNumber`` (a number) is our code: the sale records it; a
    number that is not ours does not stop the sale."""
    kept = await store.batch("minus10", return_frees=False)
    auth = user_auth(store.evotor_token, device=None)
    documents = fixture("documents/sell_v1_array.json")
    for transaction in documents[0]["transactions"]:
        if "couponNumber" in transaction:
            transaction["couponNumber"] = int(kept[0])
    await call(store.service, "PUT", "/api/v2/documents", documents, auth)
    assert await store.native_quote([kept[0]]) == [False]
    other = fixture("documents/sell_v1_array.json")
    other[0]["uuid"] = "6a5d8ae9-79db-4588-a65a-8f0613e2d0aa"
    for transaction in other[0]["transactions"]:
        if "couponNumber" in transaction:
            transaction["couponNumber"] = 145695
    await call(store.service, "PUT", "/api/v2/documents", other, auth)
    sales = await store.deps.db.fetch_value(
        "SELECT COUNT(*) FROM receipts WHERE merchant_id = :m AND kind = 'sale'",
        {"m": store.merchant_id},
    )
    assert sales == 2
