"""Every sale and return an Evotor document reports is counted once: a failed bonus
debit keeps the sale, a return before its sale waits for it, partial returns add up,
a close-hook sale is recognised by its bare document, and a poison document in a batch
neither blocks the others nor makes Evotor re-send for ever."""

from __future__ import annotations

import copy
import uuid
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from structlog.testing import capture_logs

from cloud.clock import ManualClock, to_epoch
from cloud.ledger.lots import accrue
from cloud.services import merchants
from cloud.services.deps import Deps
from tests.webhooks.evotor.conftest import APP_ID, STORE, call, fixture, user_auth
from tests.webhooks.evotor.test_documents_and_sync import available, headers, setup

SELL_ID = "54430aa6-0e3c-4c5d-9f6a-1b2c3d4e5f60"


def with_bonus_payment(document: dict[str, Any], roubles: int) -> dict[str, Any]:
    """The SELL fixture paid ``roubles`` with our app's bonus payment, the rest by card."""
    document = copy.deepcopy(document)
    card = document["body"]["payments"][0]
    card["sum"] -= roubles
    card["parts"][0]["part_sum"] -= roubles
    ours = copy.deepcopy(card)
    ours.update(id=str(uuid.uuid4()), sum=roubles, type="ELECTRON",
                app_info={"app_id": APP_ID, "name": "Бонусы"})  # fmt: skip
    ours["parts"][0]["part_sum"] = roubles
    document["body"]["payments"].append(ours)
    return document


async def sales(deps: Deps, merchant_id: int) -> list[Any]:
    return list(
        await deps.db.fetch_all(
            "SELECT external_id, redeemed, accrued FROM receipts WHERE merchant_id = :m "
            "AND kind = 'sale' ORDER BY id",
            {"m": merchant_id},
        )
    )


async def test_sell_whose_bonus_payment_fails_is_recorded_unsettled(
    evotor: TestClient, deps: Deps
) -> None:
    """The till took 100 ₽ in bonuses but the customer has only 30 left (spent
    elsewhere meanwhile): the sale is not dropped. It is confirmed debiting the 30 that
    can be debited; the 70 ₽ not settled stay on the receipt record (state
    ``unsettled``) and in a log event naming merchant, receipt and amount."""
    token, merchant_id, customer_id = await setup(evotor, deps)
    await _give(deps, merchant_id, customer_id, 3000)
    document = with_bonus_payment(fixture("documents/sell_v2.json"), 100)
    with capture_logs() as logs:
        ack = await call(evotor, "PUT", "/api/v2/documents", document, headers(token))
    assert ack["results"] == [{"id": SELL_ID, "type": "SELL", "status": "unsettled",
                               "reason": "insufficient_bonuses"}]  # fmt: skip
    rows = await sales(deps, merchant_id)
    assert [(r["external_id"], r["redeemed"]) for r in rows] == [(SELL_ID, 3000)]
    record = await deps.db.fetch_one(
        "SELECT state, unsettled, unsettled_reason FROM receipt_sessions WHERE merchant_id = :m",
        {"m": merchant_id},
    )
    assert record is not None
    assert (record["state"], record["unsettled"], record["unsettled_reason"]) == (
        "unsettled", 7000, "insufficient_bonuses"
    )  # fmt: skip
    event = next(e for e in logs if e["event"] == "evotor_sale_unsettled")
    assert event["merchant"] == merchant_id and event["receipt"] == SELL_ID
    assert event["amount_unsettled"] == "70.00"
    again = await call(evotor, "PUT", "/api/v2/documents", document, headers(token))
    assert again["results"][0]["status"] == "duplicate"
    assert len(await sales(deps, merchant_id)) == 1


async def test_sell_with_bonus_payment_and_no_bonuses_accrues_anyway(
    evotor: TestClient, deps: Deps
) -> None:
    """Nothing at all can be debited: the sale is recorded with no redemption (and its
    accrual), the whole 50 ₽ stays unsettled."""
    token, merchant_id, customer_id = await setup(evotor, deps)
    document = with_bonus_payment(fixture("documents/sell_v2.json"), 50)
    ack = await call(evotor, "PUT", "/api/v2/documents", document, headers(token))
    assert ack["results"][0]["status"] == "unsettled"
    rows = await sales(deps, merchant_id)
    assert len(rows) == 1 and rows[0]["redeemed"] == 0 and rows[0]["accrued"] > 0
    assert await deps.db.fetch_value(
        "SELECT unsettled FROM receipt_sessions WHERE merchant_id = :m", {"m": merchant_id}
    ) == 5000  # fmt: skip
    assert await available(deps, merchant_id, customer_id) == rows[0]["accrued"]


async def _give(deps: Deps, merchant_id: int, customer_id: int, kopecks: int) -> None:
    now = to_epoch(deps.clock())
    async with deps.db.transaction() as tx:
        await accrue(
            tx, merchant_id=merchant_id, customer_id=customer_id, kind="manual",
            amount=kopecks, available_from=now, expires_at=None, receipt_id=None,
            key=f"gift:{customer_id}", now=now,
        )  # fmt: skip


async def test_payback_before_its_sell_waits_and_is_applied(evotor: TestClient, deps: Deps) -> None:
    """Evotor does not re-send a PAYBACK it got a 200 for. One that arrives before its
    SELL is kept (``pending``) and applied the moment the SELL is recorded: one coffee
    of the 31,95 accrual (12,35) is reversed, once."""
    token, merchant_id, customer_id = await setup(evotor, deps)
    payback = fixture("documents/payback_v2_partial.json")
    early = await call(evotor, "PUT", "/api/v2/documents", payback, headers(token))
    assert early["results"][0]["status"] == "pending"
    sell = await call(evotor, "PUT", "/api/v2/documents", fixture("documents/sell_v2.json"),
                      headers(token))  # fmt: skip
    assert sell["results"][0]["status"] == "confirmed"
    assert await available(deps, merchant_id, customer_id) == 3195 - 1235
    kept = await deps.db.fetch_value(
        "SELECT status FROM evotor_documents WHERE merchant_id = :m AND document_id = :d",
        {"m": merchant_id, "d": payback["id"]},
    )
    assert kept == "refunded"
    again = await call(evotor, "PUT", "/api/v2/documents", payback, headers(token))
    assert again["results"][0]["status"] == "refunded"
    assert await available(deps, merchant_id, customer_id) == 3195 - 1235


async def test_second_partial_return_and_over_return(evotor: TestClient, deps: Deps) -> None:
    """Two coffees sold (24,70 accrued on them). A first PAYBACK returns one (12,35
    reversed); a second PAYBACK of the same product returns the other (another 12,35:
    returned quantities are subtracted, not ignored); a third asks for 5 more and
    nothing is left, so nothing moves."""
    token, merchant_id, customer_id = await setup(evotor, deps)
    await call(evotor, "PUT", "/api/v2/documents", fixture("documents/sell_v2.json"),
               headers(token))  # fmt: skip
    first = fixture("documents/payback_v2_partial.json")
    second = {**copy.deepcopy(first), "id": str(uuid.uuid4())}
    second["body"]["positions"][0]["quantity"] = 5  # an over-return: 1 is left
    third = {**copy.deepcopy(first), "id": str(uuid.uuid4())}
    for document, status, balance in (
        (first, "refunded", 3195 - 1235),
        (second, "refunded", 3195 - 2470),
        (third, "ignored", 3195 - 2470),
    ):
        ack = await call(evotor, "PUT", "/api/v2/documents", document, headers(token))
        assert ack["results"][0]["status"] == status, document["id"]
        assert await available(deps, merchant_id, customer_id) == balance


async def test_bare_document_after_close_hook_is_the_same_sale(
    evotor: TestClient, deps: Deps
) -> None:
    """The close hook confirmed a receipt; its SELL document carries no ``receiptUuid``
    in extras and no position uuids. Same terminal, same charged total, close time a
    minute apart: the same sale (``duplicate``), accrued once. A document with another
    total at the same time is a different sale."""
    token, merchant_id, customer_id = await setup(evotor, deps)
    clock = deps.clock
    assert isinstance(clock, ManualClock)
    closed = await call(evotor, "POST", "/terminal/v1/receipts/close", {
        "receiptUuid": "till-receipt-1", "customer": {"phone": "+79161234567"},
        "positions": [
            {"uuid": "p1", "productUuid": "13111c38-2222-4a2b-8c3d-4e5f6a7b8c02",
             "name": "Кофе 0,3", "price": 280, "quantity": 2, "resultSum": 494},
            {"uuid": "p2", "name": "Круассан", "price": 150, "quantity": 1, "resultSum": 145},
        ],
    }, user_auth(token))  # fmt: skip
    assert closed["status"] == "confirmed"
    balance = await available(deps, merchant_id, customer_id)
    document = fixture("documents/sell_v2.json")
    for position in document["body"]["positions"]:
        position["uuid"] = None
    document["close_date"] = (clock.now + timedelta(minutes=1)).strftime(
        "%Y-%m-%dT%H:%M:%S.000+0000"
    )
    ack = await call(evotor, "PUT", "/api/v2/documents", document, headers(token))
    assert ack["results"][0]["status"] == "duplicate"
    assert len(await sales(deps, merchant_id)) == 1
    assert await available(deps, merchant_id, customer_id) == balance
    other = copy.deepcopy(document)
    other["id"] = str(uuid.uuid4())
    other["body"]["positions"][1]["result_sum"] = 140
    ack = await call(evotor, "PUT", "/api/v2/documents", other, headers(token))
    assert ack["results"][0]["status"] == "confirmed"
    assert len(await sales(deps, merchant_id)) == 2


def _v1_sell(document_id: str, price: Any) -> dict[str, Any]:
    document = copy.deepcopy(fixture("documents/sell_v1_array.json")[0])
    document["uuid"] = document_id
    for t in document["transactions"]:
        if t["type"] == "REGISTER_POSITION":
            t.update(price=price, sum=price, resultSum=price)
    return document


async def test_poison_document_in_a_v1_batch(evotor: TestClient, deps: Deps) -> None:
    """A legacy array [good, poison (a price of 1e20), good]: both good sales are
    recorded, the poison one is kept as rejected, the answer is 200. The re-send
    changes nothing and is still 200 (the good ones are duplicates)."""
    token, merchant_id, _ = await setup(evotor, deps)
    good, poison, later = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    batch = [_v1_sell(good, 1000), _v1_sell(poison, 10**20), _v1_sell(later, 500)]
    path = f"/api/v1/inventories/stores/{STORE}/documents"
    ack = await call(evotor, "PUT", path, batch, headers(token))
    assert [r["status"] for r in ack["results"]] == ["confirmed", "rejected", "confirmed"]
    assert {r["external_id"] for r in await sales(deps, merchant_id)} == {good, later}
    again = await call(evotor, "PUT", path, batch, headers(token))
    assert [r["status"] for r in again["results"]] == ["duplicate", "rejected", "duplicate"]
    assert len(await sales(deps, merchant_id)) == 2
    assert await deps.db.fetch_value(
        "SELECT status FROM evotor_documents WHERE merchant_id = :m AND document_id = :d",
        {"m": merchant_id, "d": poison},
    ) == "rejected"  # fmt: skip


async def test_batch_item_that_is_not_an_object(evotor: TestClient, deps: Deps) -> None:
    """A batch with a stray number next to a document: the document is applied, the
    number is kept as rejected."""
    token, merchant_id, _ = await setup(evotor, deps)
    ack = await call(evotor, "PUT", "/api/v2/documents",
                     [fixture("documents/sell_v2.json"), 42], headers(token))  # fmt: skip
    assert [r["status"] for r in ack["results"]] == ["confirmed", "rejected"]
    assert await deps.db.fetch_value(
        "SELECT payload FROM evotor_documents WHERE merchant_id = :m", {"m": merchant_id}
    ) == "42"  # fmt: skip


def _sell_for(receipt_uuid: str, document_id: str, price: int, bonus: int) -> dict[str, Any]:
    """A SELL document of one position ``a`` at ``price`` naming the terminal's receipt
    in our extras, ``bonus`` roubles of it paid with our app's bonus payment."""
    document = fixture("documents/sell_v2.json")
    position = document["body"]["positions"][0]
    position.update(
        uuid="a",
        quantity=1,
        price=price,
        sum=price,
        result_price=price,
        result_sum=price,
        position_discount=None,
        doc_distributed_discount=None,
    )
    document["body"]["positions"] = [position]
    document["body"]["doc_discounts"] = []
    document["body"]["payments"][0].update(sum=price, parts=[{"part_sum": price, "change": 0}])
    document.update(id=document_id, extras={APP_ID: {"receiptUuid": receipt_uuid}})
    return with_bonus_payment(document, bonus) if bonus else document  # fmt: skip


async def test_hold_expired_and_close_hook_never_came(evotor: TestClient, deps: Deps) -> None:
    """The till reserved 100 ₽ of bonuses for receipt r1, the close hook never came,
    the hold expired and the customer spent 60 ₽ at another receipt. The SELL document
    of r1 (100 ₽ paid in bonuses) is recorded debiting what is left; the rest is
    ``unsettled`` with reason ``hold_expired``."""
    token, merchant_id, customer_id = await setup(evotor, deps)
    await _give(deps, merchant_id, customer_id, 10000)
    clock = deps.clock
    assert isinstance(clock, ManualClock)
    first = {"receiptUuid": "r1", "customer": {"phone": "+79161234567"},
             "positions": [{"uuid": "a", "price": 1000, "quantity": 1}]}  # fmt: skip
    await call(evotor, "POST", "/terminal/v1/receipts/calculate", first, user_auth(token))
    await call(evotor, "POST", "/terminal/v1/receipts/bonus-payment", {**first, "sum": 100},
               user_auth(token))  # fmt: skip
    clock.now += timedelta(minutes=30)
    second = {**first, "receiptUuid": "r2", "positions": [{"uuid": "b", "price": 500,
                                                           "quantity": 1}]}  # fmt: skip
    await call(evotor, "POST", "/terminal/v1/receipts/bonus-payment", {**second, "sum": 60},
               user_auth(token))  # fmt: skip
    await call(evotor, "POST", "/terminal/v1/receipts/close", {**second, "bonusPayment": 60},
               user_auth(token))  # fmt: skip
    left = await available(deps, merchant_id, customer_id)
    assert 0 < left < 10000
    ack = await call(evotor, "PUT", "/api/v2/documents", _sell_for("r1", str(uuid.uuid4()),
                     1000, 100), headers(token))  # fmt: skip
    assert ack["results"][0]["status"] == "unsettled"
    assert ack["results"][0]["reason"] == "hold_expired"
    record = await deps.db.fetch_one(
        "SELECT state, unsettled FROM receipt_sessions WHERE merchant_id = :m AND "
        "external_id = 'r1'",
        {"m": merchant_id},
    )
    assert record is not None and record["state"] == "unsettled"
    assert record["unsettled"] == 10000 - left
    redeemed = await deps.db.fetch_value(
        "SELECT redeemed FROM receipts WHERE merchant_id = :m AND external_id = 'r1'",
        {"m": merchant_id},
    )
    assert redeemed == left


async def test_payback_waiting_is_applied_when_the_close_hook_names_the_document(
    evotor: TestClient, deps: Deps
) -> None:
    """A PAYBACK arrives first; its sale is then reported by the close hook with the
    cloud ``documentId``: the waiting return is applied at once."""
    token, merchant_id, customer_id = await setup(evotor, deps)
    sale_document = str(uuid.uuid4())
    payback = fixture("documents/payback_v2_partial.json")
    payback["body"]["base_document_id"] = sale_document
    payback["body"]["positions"][0].update(uuid="a", price=1000, quantity=1, sum=1000,
                                           result_price=1000, result_sum=1000)  # fmt: skip
    early = await call(evotor, "PUT", "/api/v2/documents", payback, headers(token))
    assert early["results"][0]["status"] == "pending"
    closed = await call(evotor, "POST", "/terminal/v1/receipts/close", {
        "receiptUuid": "r1", "customer": {"phone": "+79161234567"}, "documentId": sale_document,
        "positions": [{"uuid": "a", "price": 1000, "quantity": 1}],
    }, user_auth(token))  # fmt: skip
    assert closed["status"] == "confirmed"
    assert await available(deps, merchant_id, customer_id) == 0
    assert await deps.db.fetch_value(
        "SELECT status FROM evotor_documents WHERE merchant_id = :m", {"m": merchant_id}
    ) == "refunded"  # fmt: skip


async def test_merchant_sees_what_was_not_settled(evotor: TestClient, deps: Deps) -> None:
    """With its API key the merchant lists what needs a look: the return waiting for
    its sale, the document we could not read and the sale whose bonus payment was not
    fully debited (with the amount)."""
    token, merchant_id, _ = await setup(evotor, deps)
    key = await merchants.issue_merchant_key(deps.db, merchant_id, deps.clock())
    payback = {**fixture("documents/payback_v2_partial.json"), "id": str(uuid.uuid4())}
    payback["body"]["base_document_id"] = str(uuid.uuid4())
    await call(evotor, "PUT", "/api/v2/documents", payback, headers(token))
    await call(evotor, "PUT", "/api/v2/documents", {"type": "SELL", "id": "broken",
               "body": {"positions": "x"}}, headers(token))  # fmt: skip
    unsettled = with_bonus_payment(fixture("documents/sell_v2.json"), 20)
    await call(evotor, "PUT", "/api/v2/documents", unsettled, headers(token))
    seen = await call(evotor, "GET", "/merchant/v1/documents", None,
                      {"Authorization": f"Bearer {key}"})  # fmt: skip
    assert [(d["id"], d["status"]) for d in seen["documents"]] == [
        ("broken", "rejected"), (payback["id"], "pending")
    ]  # fmt: skip
    assert [(s["receiptUuid"], s["unsettled"], s["reason"]) for s in seen["unsettledSales"]] == [
        (SELL_ID, 20, "insufficient_bonuses")
    ]  # fmt: skip
    refused = await call(evotor, "GET", "/merchant/v1/documents", None, headers(token),
                         status=401)  # fmt: skip
    assert refused["errors"][0]["code"] == 1002


async def test_close_hook_after_its_document_answers_the_recorded_sale(
    evotor: TestClient, deps: Deps
) -> None:
    """The SELL document came first and recorded receipt r1 (the fiscal truth). The close
    hook then reports r1 with other line amounts (its own view before a receipt-level
    discount): it gets the recorded sale back, not a second sale and not a conflict."""
    token, merchant_id, _ = await setup(evotor, deps)
    ack = await call(evotor, "PUT", "/api/v2/documents",
                     _sell_for("r1", str(uuid.uuid4()), 1000, 0), headers(token))  # fmt: skip
    assert ack["results"][0]["status"] == "confirmed"
    closed = await call(evotor, "POST", "/terminal/v1/receipts/close", {
        "receiptUuid": "r1", "customer": {"phone": "+79161234567"},
        "positions": [{"uuid": "a", "price": 1000, "quantity": 1, "resultSum": 990}],
    }, user_auth(token))  # fmt: skip
    assert closed["status"] == "confirmed"
    rows = await sales(deps, merchant_id)
    assert len(rows) == 1
    assert await deps.db.fetch_value(
        "SELECT amount FROM receipts WHERE merchant_id = :m", {"m": merchant_id}
    ) == 100000  # fmt: skip
