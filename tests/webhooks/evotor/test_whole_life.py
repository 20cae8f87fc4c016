"""The whole life of an Evotor merchant, as Evotor and the terminal app would play it:
install from the market -> user/create -> cloud token -> stores and devices pulled from
the Evotor API -> a terminal prices and closes receipts with bonus payments -> the SELL
documents arrive (again: duplicates change nothing) -> one PAYBACK -> the subscription
is terminated -> the next terminal call gets Evotor's 1004."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import respx
from aiohttp.test_utils import TestClient

from cloud.clock import ManualClock
from cloud.services import customers, programs
from cloud.services.deps import Deps
from schemas.customers import Consent, RegisterCustomer
from tests.helpers import money
from tests.webhooks.evotor.conftest import (
    API,
    APP_ID,
    DEVICE,
    STORE,
    USER,
    app_auth,
    call,
    error_codes,
    fixture,
    syncer,
    user_auth,
)

PHONE = "+79161234567"
CARD = "7700123456789"

DISCOUNT_PROGRAM = {
    "name": "Кофейня: скидка 7 % и бонусы 5 %",
    "kind": "bonus_and_discount",
    "tier_assignment": "registration",
    "tiers": [{"code": "base", "name": "Базовая", "accrual_percent": "5",
               "discount_percent": "7", "max_redeem_percent": "50"}],
    "accrual_base": "money_paid",
    "accrual_rounding": "floor_kopeck",
}  # fmt: skip


def half_up(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def positions(items: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    return [
        {"uuid": str(uuid.uuid4()), "productUuid": str(uuid.uuid4()), "productCode": str(i),
         "name": name, "measureName": "шт", "price": float(price), "quantity": float(qty)}
        for i, (name, price, qty) in enumerate(items, start=1)
    ]  # fmt: skip


def assert_terminal_reproduces(quote: dict[str, Any]) -> None:
    """Recompute the quote the way the terminal does: priceWithDiscountPosition x
    quantity, half-up to kopecks; it must total exactly what we quoted."""
    total = Decimal(0)
    for p in quote["positions"]:
        line = half_up(money(p["priceWithDiscountPosition"]) * money(p["quantity"]))
        assert line == money(p["resultSum"]), p
        assert half_up(money(p["price"]) * money(p["quantity"])) - line == money(p["discount"])
        assert money(quote["positionUuidToDiscountMap"][p["uuid"]]) == money(p["discount"])
        total += line
    assert total == money(quote["total"])
    assert money(quote["sum"]) - money(quote["discount"]) == money(quote["total"])


@dataclass
class Sale:
    receipt_uuid: str
    document_id: str
    positions: list[dict[str, Any]]
    quote: dict[str, Any]
    bonus: Decimal
    rrn: str


def sell_document(sale: Sale, clock: ManualClock, *, extras: bool) -> dict[str, Any]:
    """The V2 SELL document the Evotor cloud sends for the sale (snake_case)."""
    quoted = {p["uuid"]: p for p in sale.quote["positions"]}
    total = money(sale.quote["total"])
    return {
        "type": "SELL", "id": sale.document_id,
        "extras": {APP_ID: {"receiptUuid": sale.receipt_uuid}} if extras else {},
        "number": 100, "close_date": clock.now.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        "time_zone_offset": 25200000, "session_id": "s-1", "session_number": 1,
        "close_user_id": None, "device_id": DEVICE, "store_id": STORE, "user_id": USER,
        "version": "V2", "created_at": clock.now.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        "body": {
            "positions": [
                {"uuid": p["uuid"], "product_id": p["productUuid"], "code": p["productCode"],
                 "product_name": p["name"], "measure_name": "шт", "quantity": p["quantity"],
                 "price": p["price"], "sum": float(half_up(money(p["price"]) *
                                                           money(p["quantity"]))),
                 "result_price": float(money(quoted[p["uuid"]]["priceWithDiscountPosition"])),
                 "result_sum": float(money(quoted[p["uuid"]]["resultSum"])),
                 "tax": {"type": "NO_VAT", "sum": 0, "result_sum": 0},
                 "position_discount": {"discount_sum": float(money(quoted[p["uuid"]]["discount"])),
                                       "discount_percent": 7, "discount_type": "SUM",
                                       "coupon": None, "discount_price": None},
                 "doc_distributed_discount": None, "extra_keys": []}
                for p in sale.positions
            ],
            "doc_discounts": [],
            "payments": [
                {"id": "p1", "sum": float(sale.bonus), "type": "ELECTRON",
                 "parts": [{"part_sum": float(sale.bonus), "change": 0}],
                 "app_info": {"app_id": APP_ID, "name": "Бонусы"}},
                {"id": "p2", "sum": float(total - sale.bonus), "type": "CASH",
                 "parts": [{"part_sum": float(total - sale.bonus), "change": 0}],
                 "app_info": {"app_id": None, "name": "Наличные"}},
            ],
            "sum": float(money(sale.quote["sum"])), "result_sum": float(total),
            "customer_email": None, "customer_phone": None,
        },
    }  # fmt: skip


async def price_and_pay(
    client: TestClient, token: str, customer: dict[str, str], items: list[tuple[str, str, str]],
    bonus: Decimal, document_id: str | None = None,
) -> Sale:  # fmt: skip
    receipt_uuid = str(uuid.uuid4())
    lines = positions(items)
    request = {"receiptUuid": receipt_uuid, "customer": customer, "positions": lines}
    quote = await call(client, "POST", "/terminal/v1/receipts/calculate", request,
                       user_auth(token))  # fmt: skip
    assert quote["customerFound"] is True
    assert_terminal_reproduces(quote)
    # The receipt changes (the same call again, as after a position edit): same answer.
    again = await call(client, "POST", "/terminal/v1/receipts/calculate", request,
                       user_auth(token))  # fmt: skip
    assert again == quote
    if not bonus:
        return Sale(receipt_uuid, document_id or receipt_uuid, lines, quote, bonus, "")
    assert money(quote["maxBonusPayment"]) >= bonus
    paid = await call(client, "POST", "/terminal/v1/receipts/bonus-payment",
                      {**request, "sum": float(bonus)}, user_auth(token))  # fmt: skip
    assert money(paid["sum"]) == bonus and paid["paymentType"] == "ELECTRON"
    assert paid["rrn"].isdigit() and any(paid["rrn"] in line for line in paid["slip"])
    return Sale(receipt_uuid, document_id or receipt_uuid, lines, quote, bonus, paid["rrn"])


async def close_hook(client: TestClient, token: str, sale: Sale) -> dict[str, Any]:
    quoted = {p["uuid"]: p for p in sale.quote["positions"]}
    body = {
        "receiptUuid": sale.receipt_uuid,
        "positions": [
            {**p, "priceWithDiscountPosition": float(money(quoted[p["uuid"]]
                                                           ["priceWithDiscountPosition"]))}
            for p in sale.positions
        ],
        "bonusPayment": float(sale.bonus),
    }  # fmt: skip
    result: dict[str, Any] = await call(
        client, "POST", "/terminal/v1/receipts/close", body, user_auth(token)
    )
    return result


async def ledger_state(deps: Deps, merchant_id: int, customer_id: int) -> tuple[Any, ...]:
    summary = await customers.customer_summary(deps, merchant_id, customer_id)
    counts = await deps.db.fetch_one(
        "SELECT COUNT(*) AS n, COALESCE(SUM(CASE WHEN kind = 'sale' THEN accrued - redeemed "
        "ELSE redeemed + accrued END), 0) AS net FROM receipts WHERE merchant_id = :m",
        {"m": merchant_id},
    )
    entries = await deps.db.fetch_value(
        "SELECT COUNT(*) FROM ledger_entries WHERE merchant_id = :m", {"m": merchant_id}
    )
    assert counts is not None
    return summary.available, int(counts["n"]), int(counts["net"]), int(entries)


async def test_whole_life_of_an_evotor_merchant(
    evotor: TestClient, deps: Deps, clock: ManualClock
) -> None:
    """Install, create, token, pull, five receipts with bonus payments closed by hook
    and/or document (in every order), duplicate documents, a partial PAYBACK, then the
    subscription ends and the terminal gets 1004. Every quote is reproduced to the
    kopeck by the terminal's own arithmetic; the ledger matches the receipts."""
    # 1. Installation from the market, before the account exists.
    await call(evotor, "POST", "/api/v2/installation/event",
               fixture("install/01_installation_event.json"), app_auth())  # fmt: skip
    created = await call(evotor, "POST", "/api/v1/user/create",
                         fixture("install/02_user_create.json"), app_auth())  # fmt: skip
    assert created["userId"] == USER and len(created["token"]) >= 32
    repeat = await call(evotor, "POST", "/api/v1/user/create",
                        fixture("install/02_user_create.json"), app_auth())  # fmt: skip
    assert repeat == created
    token = created["token"]
    merchant_id = int(await deps.db.fetch_value(
        "SELECT merchant_id FROM evotor_accounts WHERE evotor_user_id = :u", {"u": USER}
    ))  # fmt: skip
    assert await deps.db.fetch_value(
        "SELECT active_program_version_id FROM merchants WHERE id = :m", {"m": merchant_id}
    ), "a merchant from the market starts with a live default program"

    # 2. The cloud token arrives; stores, devices, employees are pulled from the API.
    with respx.mock(base_url=API, assert_all_called=True) as api:
        stores = api.get("/stores").mock(side_effect=[
            httpx.Response(200, json=fixture("cloud_api/stores_page1.json")),
            httpx.Response(200, json=fixture("cloud_api/stores_page2.json")),
        ])  # fmt: skip
        api.get("/devices").mock(
            return_value=httpx.Response(200, json=fixture("cloud_api/devices.json"))
        )
        api.get("/employees").mock(
            return_value=httpx.Response(200, json=fixture("cloud_api/employees.json"))
        )
        await call(evotor, "POST", "/api/v1/user/token",
                   fixture("install/03_user_token.json"), app_auth())  # fmt: skip
        await syncer(evotor).drain()
    assert stores.calls[1].request.url.params["cursor"] == "c2Vjb25kLXBhZ2U="
    assert (
        stores.calls[0].request.headers["X-Authorization"]
        == (fixture("install/03_user_token.json")["token"])
    )
    for table, count in (("stores", 2), ("terminals", 2), ("cashiers", 1)):
        assert await deps.db.fetch_value(
            f"SELECT COUNT(*) FROM {table} WHERE merchant_id = :m", {"m": merchant_id}
        ) == count, table  # fmt: skip
    assert await deps.db.fetch_value(
        "SELECT timezone FROM stores WHERE merchant_id = :m AND external_id = :s",
        {"m": merchant_id, "s": STORE},
    ) == "Etc/GMT-7"  # fmt: skip

    for name in ("04_subscription_created", "05_subscription_activated"):
        await call(evotor, "POST", "/api/v1/subscription/event",
                   fixture(f"install/{name}.json"), app_auth())  # fmt: skip

    # 3. The merchant sets a discount in the cabinet; a customer joins.
    await programs.publish(deps.db, merchant_id, DISCOUNT_PROGRAM, clock())
    customer_id = await customers.register_customer(
        deps, merchant_id,
        RegisterCustomer(phone=PHONE, card=CARD, consent=Consent(personal_data=True)),
        store_id=None, channel="import", sms_code=None,
    )  # fmt: skip
    profile = await customers.customer_profile(deps, merchant_id, customer_id)
    virtual = next(c.number for c in profile.cards if c.kind == "virtual")

    # A first purchase without bonuses gives the customer something to spend.
    first = await price_and_pay(evotor, token, {"phone": PHONE},
                                [("Кофемашина", "12990.00", "1")], Decimal(0))  # fmt: skip
    opening = await close_hook(evotor, token, first)
    assert money(opening["accrued"]) == Decimal("604.03")  # 5 % of 12 080,70, floored

    # 4. Five receipts with bonus payments, identified by phone, card and QR.
    sales = [
        await price_and_pay(evotor, token, {"phone": "8 (916) 123-45-67"},
                            [("Кофе латте 0,3", "189.00", "3"),
                             ("Сыр, весовой", "899.90", "0.347")], Decimal("100.00")),
        await price_and_pay(evotor, token, {"card": CARD},
                            [("Чай", "99.99", "7"), ("Мёд, весовой", "459.00", "1.235")],
                            Decimal("50.00"), document_id=str(uuid.uuid4())),
        await price_and_pay(evotor, token, {"qr": f"https://loyalty.example/c/{virtual}"},
                            [("Круассан", "75.50", "13")], Decimal("120.00")),
        await price_and_pay(evotor, token, {"phone": PHONE},
                            [("Вода", "39.90", "2"), ("Орехи, весовые", "1249.00", "0.125"),
                             ("Шоколад", "87.30", "4")], Decimal("33.33"),
                            document_id=str(uuid.uuid4())),
        await price_and_pay(evotor, token, {"card": CARD},
                            [("Торт", "1890.00", "1"), ("Свечи", "12.99", "9")],
                            Decimal("200.00")),
    ]  # fmt: skip
    documents = [
        sell_document(sales[0], clock, extras=True),
        sell_document(sales[1], clock, extras=True),
        sell_document(sales[2], clock, extras=False),  # id == receiptUuid
        sell_document(sales[3], clock, extras=False),  # no hint: matched by positions
        sell_document(sales[4], clock, extras=True),
    ]
    closed = {}
    for index in (0, 1, 2):  # close hook first, then the document
        closed[index] = await close_hook(evotor, token, sales[index])
        assert closed[index]["status"] == "confirmed"
        assert money(closed[index]["redeemed"]) == sales[index].bonus
    # Receipt 4: the app never reported the close; receipt 5: the document came first.
    for index in (0, 1, 2, 3, 4):
        ack = await call(evotor, "PUT", "/api/v2/documents", documents[index],
                         user_auth(token, device=None))  # fmt: skip
        # After the close hook the document names a sale already recorded.
        expected = "duplicate" if index in closed else "confirmed"
        assert ack["results"][0]["status"] == expected, index
    closed[4] = await close_hook(evotor, token, sales[4])
    assert money(closed[4]["redeemed"]) == Decimal("200.00")

    state = await ledger_state(deps, merchant_id, customer_id)
    balance, receipts, net, _ = state
    assert receipts == 6, "one sale per receipt, whichever channel came first"
    assert balance == net, "the balance is exactly what the receipts accrued and spent"
    redeemed = await deps.db.fetch_value(
        "SELECT SUM(redeemed) FROM receipts WHERE merchant_id = :m", {"m": merchant_id}
    )
    assert redeemed == 10000 + 5000 + 12000 + 3333 + 20000

    # 5. Evotor re-sends every document, and the app repeats its close: nothing moves.
    for index, document in enumerate(documents):
        ack = await call(evotor, "PUT", "/api/v2/documents", document,
                         user_auth(token, device=None))  # fmt: skip
        assert ack["results"][0]["status"] == "duplicate", index
    again = await close_hook(evotor, token, sales[0])
    assert again == closed[0]
    assert await ledger_state(deps, merchant_id, customer_id) == state

    # 6. One PAYBACK: 3 of the 7 teas of receipt 2, positions with new uuids.
    tea = sales[1].positions[0]
    tea_quote = sales[1].quote["positions"][0]
    payback = {
        "type": "PAYBACK", "id": str(uuid.uuid4()), "extras": {}, "number": 101,
        "close_date": clock.now.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        "device_id": DEVICE, "store_id": STORE, "user_id": USER, "version": "V2",
        "body": {"positions": [{"uuid": str(uuid.uuid4()), "product_id": tea["productUuid"],
                                "code": tea["productCode"], "product_name": tea["name"],
                                "quantity": 3, "price": tea["price"],
                                "result_price": tea_quote["priceWithDiscountPosition"],
                                "result_sum": 3 * tea_quote["priceWithDiscountPosition"]}],
                 "payments": [], "sum": 3 * tea["price"], "result_sum": 0,
                 "base_document_id": sales[1].document_id, "base_document_number": 100},
    }  # fmt: skip
    ack = await call(evotor, "PUT", "/api/v2/documents", payback, user_auth(token, device=None))
    assert ack["results"][0]["status"] == "refunded"
    refund = await deps.db.fetch_one(
        "SELECT redeemed, accrued FROM receipts WHERE merchant_id = :m AND kind = 'refund'",
        {"m": merchant_id},
    )
    assert refund is not None and refund["redeemed"] > 0 and refund["accrued"] < 0
    after = await ledger_state(deps, merchant_id, customer_id)
    assert after[0] == state[0] + refund["redeemed"] + refund["accrued"] == after[2]
    await call(evotor, "PUT", "/api/v2/documents", payback, user_auth(token, device=None))
    assert await ledger_state(deps, merchant_id, customer_id) == after

    # 7. The subscription is terminated: the next terminal call is refused with 1004.
    await call(evotor, "POST", "/api/v1/subscription/event",
               fixture("install/06_subscription_terminated.json"), app_auth())  # fmt: skip
    refused = await call(
        evotor, "POST", "/terminal/v1/receipts/calculate",
        {"receiptUuid": str(uuid.uuid4()), "positions": positions([("Кофе", "100.00", "1")])},
        user_auth(token), status=402,
    )  # fmt: skip
    assert error_codes(refused) == [1004]
    assert refused["errors"][0]["reason"] == "payment required"
    assert refused["errors"][0]["subject"] == "userUuid"
    assert refused["errors"][0]["value"] == USER
    assert await ledger_state(deps, merchant_id, customer_id) == after
