"""Gift certificates at the till through the native API: status check, spending in one
or several receipts, holds, returns, printed stock sold at the till; a certificate pays
money and never touches bonus lots.

The demo tenant runs BreezeVape: 5 % accrual on the part paid in money (a certificate
counts as money), bonuses spendable up to the whole receipt.
"""

from __future__ import annotations

from decimal import Decimal

from aiohttp.test_utils import TestClient

from cloud.clock import ManualClock
from cloud.services.deps import Deps
from tests.gift_certificates.helpers import (
    CANCEL,
    CONFIRM,
    HOLD,
    REFUND,
    SELL,
    STATUS,
    assert_balanced,
    call,
    issue,
    ledger,
    paying,
    receipt,
)
from tests.helpers import money, register_over_api

PHONE = "+79161234567"


async def test_certificate_of_3000_spent_in_two_receipts_then_refused_as_used(
    client: TestClient, admin: TestClient, deps: Deps
) -> None:
    """The issue's scenario: a 3 000 ₽ certificate pays 2 000 ₽ of a 2 500 ₽ receipt
    (the customer still earns 5 % of all 2 500 ₽: a certificate is money, and no bonus
    lot is spent), then 1 000 ₽ of an anonymous receipt; a third receipt is refused
    with ``gift_certificate_used`` and a Russian message, and writes nothing. A repeat
    of the second confirm replays its answer; the same id with another certificate
    amount is a conflict."""
    await issue(admin, numbers=["GC-3000"], nominal=3000)
    status = await call(client, "GET", f"{STATUS}?number=GC-3000")
    assert status["state"] == "CAN_BE_USED"
    assert money(status["available"]) == Decimal(3000)
    assert status["message"] == "Сертификат №GC-3000: доступно 3 000,00 ₽, действует по 20.11.2027"
    customer = await register_over_api(client, deps, PHONE)

    first = await call(
        client,
        "POST",
        CONFIRM,
        {"receipt": receipt("r1", 2500, PHONE), "gift_certificates": paying("GC-3000", 2000)},
    )
    assert first["gift_certificates"] == [{"number": "GC-3000", "amount": 2000, "remaining": 1000}]
    assert money(first["accrued"]) == Decimal(125)
    assert "Оплачено сертификатом №GC-3000: 2 000,00 ₽, остаток 1 000,00 ₽" in first["slip"]
    lots = await deps.db.fetch_all(
        "SELECT kind, amount, remaining FROM bonus_lots WHERE customer_id = :c",
        {"c": customer["id"]},
    )
    assert [(r["kind"], r["amount"], r["remaining"]) for r in lots] == [("purchase", 12500, 12500)]

    second_body = {"receipt": receipt("r2", 1500), "gift_certificates": paying("GC-3000", 1000)}
    second = await call(client, "POST", CONFIRM, second_body)
    assert second["gift_certificates"][0]["remaining"] == 0
    assert await call(client, "POST", CONFIRM, second_body) == second
    changed = {**second_body, "gift_certificates": paying("GC-3000", 900)}
    conflict = await call(client, "POST", CONFIRM, changed, 409)
    assert conflict["code"] == "idempotency_conflict"

    refused = await call(
        client,
        "POST",
        CONFIRM,
        {"receipt": receipt("r3", 500), "gift_certificates": paying("GC-3000", 100)},
        422,
    )
    assert refused == {
        "code": "gift_certificate_used",
        "message": "Сертификат №GC-3000 уже использован",
    }
    stored = await deps.db.fetch_value("SELECT COUNT(*) FROM receipts WHERE external_id = 'r3'")
    assert stored == 0
    status = await call(client, "GET", f"{STATUS}?number=GC-3000")
    assert (status["state"], status["remaining"]) == ("USED", 0)
    assert status["message"] == "Сертификат №GC-3000 уже использован"
    state = await ledger(deps, "GC-3000")
    assert (state["redeemed"], state["remaining"]) == (300000, 0)
    assert_balanced(state)


async def test_single_redemption_leftover_lapses_partial_keeps_it(
    client: TestClient, admin: TestClient, deps: Deps
) -> None:
    """Per certificate the merchant chooses: a ``single`` certificate serves one
    receipt, its unspent 1 800 ₽ lapse at once (booked as expired); a ``partial`` one
    keeps them for the next receipt."""
    await issue(admin, numbers=["ONE-1"], redemption="single")
    await issue(admin, numbers=["MANY-1"], redemption="partial")
    single = await call(
        client,
        "POST",
        CONFIRM,
        {"receipt": receipt("s1", 1200), "gift_certificates": paying("ONE-1", 1200)},
    )
    assert single["gift_certificates"][0]["remaining"] == 0
    state = await ledger(deps, "ONE-1")
    assert (state["redeemed"], state["expired"], state["status"]) == (120000, 180000, "used")
    assert_balanced(state)
    again = await call(
        client,
        "POST",
        CONFIRM,
        {"receipt": receipt("s2", 100), "gift_certificates": paying("ONE-1", 100)},
        422,
    )
    assert again["code"] == "gift_certificate_used"

    partial = await call(
        client,
        "POST",
        CONFIRM,
        {"receipt": receipt("p1", 1200), "gift_certificates": paying("MANY-1", 1200)},
    )
    assert partial["gift_certificates"][0]["remaining"] == 1800
    status = await call(client, "GET", f"{STATUS}?number=MANY-1")
    assert (status["state"], money(status["remaining"])) == ("CAN_BE_USED", Decimal(1800))


async def test_amount_capped_by_receipt_after_bonuses_and_by_remaining(
    client: TestClient, admin: TestClient, deps: Deps
) -> None:
    """The certificate may pay at most the receipt's total after discounts and bonuses
    (1 000 ₽ less 100 bonuses: 900) and at most what remains on it; both refusals are
    422 with the figure in Russian."""
    await issue(admin, numbers=["CAP-1"], nominal=500)
    await issue(admin, numbers=["CAP-2"], nominal=5000)
    await register_over_api(client, deps, PHONE)
    await call(client, "POST", CONFIRM, {"receipt": receipt("b1", 4000, PHONE)})  # 200 bonuses
    over = await call(
        client,
        "POST",
        CONFIRM,
        {
            "receipt": receipt("b2", 1000, PHONE),
            "redeemed": 100,
            "gift_certificates": paying("CAP-2", 950),
        },
        422,
    )
    assert over["code"] == "gift_certificate_exceeds_receipt"
    assert "900,00 ₽" in over["message"]
    short = await call(
        client,
        "POST",
        CONFIRM,
        {"receipt": receipt("b3", 1000), "gift_certificates": paying("CAP-1", 600)},
        422,
    )
    assert short == {
        "code": "gift_certificate_insufficient",
        "message": "На сертификате №CAP-1 доступно 500,00 ₽",
    }
    ok = await call(
        client,
        "POST",
        CONFIRM,
        {
            "receipt": receipt("b4", 1000, PHONE),
            "redeemed": 100,
            "gift_certificates": paying("CAP-2", 900),
        },
    )
    assert money(ok["redeemed"]) == Decimal(100)
    assert money(ok["accrued"]) == Decimal(45)  # 5 % of the 900 paid by certificate
    missing = await call(
        client,
        "POST",
        CONFIRM,
        {"receipt": receipt("b5", 100), "gift_certificates": paying("NOPE-1", 10)},
        404,
    )
    assert missing == {
        "code": "gift_certificate_not_found",
        "message": "Сертификат №NOPE-1 не найден",
    }


async def test_hold_reserves_confirm_spends_cancel_releases(
    client: TestClient, admin: TestClient, deps: Deps, clock: ManualClock
) -> None:
    """A hold reserves certificate money like a bonus hold: another receipt sees only
    what is left (its larger hold is refused), a cancel frees it, an expired hold weighs
    nothing, and the confirm consumes the receipt's hold."""
    await issue(admin, numbers=["HOLD-1"])
    held = await call(
        client,
        "POST",
        HOLD,
        {"receipt": receipt("h1", 2500), "gift_certificates": paying("HOLD-1", 2000)},
    )
    assert held["gift_certificates"] == [{"number": "HOLD-1", "amount": 2000, "remaining": 1000}]
    status = await call(client, "GET", f"{STATUS}?number=HOLD-1")
    assert money(status["available"]) == Decimal(1000)
    refused = await call(
        client,
        "POST",
        HOLD,
        {"receipt": receipt("h2", 2500), "gift_certificates": paying("HOLD-1", 1500)},
        422,
    )
    assert refused["code"] == "gift_certificate_insufficient"
    await call(client, "POST", CANCEL, {"receipt_id": "h1"})
    status = await call(client, "GET", f"{STATUS}?number=HOLD-1")
    assert money(status["available"]) == Decimal(3000)

    await call(
        client,
        "POST",
        HOLD,
        {"receipt": receipt("h2", 2500), "gift_certificates": paying("HOLD-1", 1500)},
    )
    clock.advance(seconds=deps.settings.hold_ttl_seconds + 1)
    status = await call(client, "GET", f"{STATUS}?number=HOLD-1")
    assert money(status["available"]) == Decimal(3000)

    await call(
        client,
        "POST",
        HOLD,
        {"receipt": receipt("h3", 2500), "gift_certificates": paying("HOLD-1", 2500)},
    )
    done = await call(
        client,
        "POST",
        CONFIRM,
        {"receipt": receipt("h3", 2500), "gift_certificates": paying("HOLD-1", 2500)},
    )
    assert done["gift_certificates"][0]["remaining"] == 500
    holds = await deps.db.fetch_all(
        "SELECT receipt_external_id, status FROM gift_certificate_holds ORDER BY id"
    )
    assert [(h["receipt_external_id"], h["status"]) for h in holds][-1] == ("h3", "consumed")
    too_much = await call(
        client,
        "POST",
        HOLD,
        {"receipt": receipt("h4", 100), "gift_certificates": paying("HOLD-1", 200)},
        422,
    )
    assert too_much["code"] == "gift_certificate_exceeds_receipt"


async def test_return_puts_certificate_money_back_pro_rata(
    client: TestClient, admin: TestClient, deps: Deps
) -> None:
    """A 3 000 ₽ receipt paid 1 500 ₽ by certificate: returning the 1 000 ₽ line puts
    500 ₽ back, returning the rest the other 1 000 ₽; a used-up single certificate
    becomes usable again for what came back."""
    await issue(admin, numbers=["RET-1"], redemption="single", nominal=1500)
    lines = [
        {"id": "a", "name": "Жидкость", "price": 1000, "quantity": 1},
        {"id": "b", "name": "Кальян", "price": 2000, "quantity": 1},
    ]
    await call(
        client,
        "POST",
        CONFIRM,
        {"receipt": {"id": "s1", "lines": lines}, "gift_certificates": paying("RET-1", 1500)},
    )
    part = await call(
        client,
        "POST",
        REFUND,
        {"id": "f1", "receipt_id": "s1", "lines": [{"id": "a", "quantity": 1}]},
    )
    assert part["gift_certificates"] == [{"number": "RET-1", "returned": 500, "not_returned": 0}]
    assert "На сертификат №RET-1 возвращено 500,00 ₽" in part["messages"]
    status = await call(client, "GET", f"{STATUS}?number=RET-1")
    assert (status["state"], money(status["remaining"])) == ("CAN_BE_USED", Decimal(500))
    rest = await call(client, "POST", REFUND, {"id": "f2", "receipt_id": "s1"})
    assert rest["gift_certificates"][0]["returned"] == 1000
    state = await ledger(deps, "RET-1")
    assert (state["remaining"], state["redeemed"]) == (150000, 0)
    assert_balanced(state)


async def test_return_after_expiry_gives_nothing_back(
    client: TestClient, admin: TestClient, deps: Deps, clock: ManualClock
) -> None:
    """A certificate valid through today pays 500 ₽; after it expired, the return of
    the receipt leaves it expired: the 500 ₽ are reported as not returned, with a word
    for the cashier."""
    await issue(admin, numbers=["EXP-1"], valid_until="2026-11-20")
    await call(
        client,
        "POST",
        CONFIRM,
        {"receipt": receipt("e1", 500), "gift_certificates": paying("EXP-1", 500)},
    )
    clock.advance(days=2)
    back = await call(client, "POST", REFUND, {"id": "e1-back", "receipt_id": "e1"})
    assert back["gift_certificates"] == [{"number": "EXP-1", "returned": 0, "not_returned": 500}]
    assert any("не возвращены" in message for message in back["messages"])
    status = await call(client, "GET", f"{STATUS}?number=EXP-1")
    assert status["state"] == "EXPIRED"
    assert status["message"] == "Срок действия сертификата №EXP-1 истёк"
    assert_balanced(await ledger(deps, "EXP-1"))


async def test_printed_stock_is_activated_by_its_sale_at_the_till(
    client: TestClient, admin: TestClient
) -> None:
    """Printed stock (``activated: false``) cannot pay until a till sells it; the sale
    starts its ``valid_days`` (365 days from 20.11.2026: last day 19.11.2027), a repeat
    of the same sale answers the same, another sale of it is refused."""
    await issue(admin, numbers=["PR-1"], activated=False, valid_until=None, valid_days=365)
    status = await call(client, "GET", f"{STATUS}?number=PR-1")
    assert status["state"] == "NOT_ACTIVATED" and status["expires_at"] is None
    unsold = await call(
        client,
        "POST",
        CONFIRM,
        {"receipt": receipt("u1", 500), "gift_certificates": paying("PR-1", 100)},
        422,
    )
    assert unsold["code"] == "gift_certificate_not_activated"
    sold = await call(client, "POST", SELL, {"number": "PR-1", "receipt_id": "sale-1"})
    assert sold["state"] == "CAN_BE_USED"
    assert sold["expires_at"] == "2027-11-20T00:00:00+03:00"
    assert await call(client, "POST", SELL, {"number": "PR-1", "receipt_id": "sale-1"}) == sold
    twice = await call(client, "POST", SELL, {"number": "PR-1", "receipt_id": "sale-2"}, 409)
    assert twice["code"] == "gift_certificate_already_sold"
    unknown = await call(client, "POST", SELL, {"number": "PR-9", "receipt_id": "x"}, 404)
    assert unknown["message"] == "Сертификат №PR-9 не найден"
    bad = await call(client, "GET", f"{STATUS}?number=a", status=400)
    assert bad["code"] == "invalid_query"


async def test_other_merchant_never_reaches_the_certificate(
    client: TestClient, other_client: TestClient, admin: TestClient, other_admin: TestClient
) -> None:
    """Tenancy: another merchant's till does not find the number (status, sale, hold,
    payment: 404), and its key neither lists, reads, voids nor counts it."""
    issued = await issue(admin, numbers=["MINE-1"])
    cert_id = issued[0]["id"]
    for method, path, body in (
        ("GET", f"{STATUS}?number=MINE-1", None),
        ("POST", SELL, {"number": "MINE-1", "receipt_id": "x"}),
        ("POST", HOLD, {"receipt": receipt("o1", 500), "gift_certificates": paying("MINE-1", 1)}),
        (
            "POST",
            CONFIRM,
            {"receipt": receipt("o2", 500), "gift_certificates": paying("MINE-1", 1)},
        ),
    ):
        refused = await call(other_client, method, path, body, 404)
        assert refused["code"] == "gift_certificate_not_found"
    assert (await call(other_admin, "GET", "/api/v1/merchant/gift-certificates"))[
        "certificates"
    ] == []
    for method, path in (
        ("GET", f"/api/v1/merchant/gift-certificates/{cert_id}"),
        ("POST", f"/api/v1/merchant/gift-certificates/{cert_id}/void"),
    ):
        assert (await call(other_admin, method, path, None, 404))["code"] == (
            "gift_certificate_not_found"
        )
    report = await call(other_admin, "GET", "/api/v1/merchant/reports/gift-certificates")
    assert report["outstanding"] == 0 and report["issued_count"] == 0
    status = await call(client, "GET", f"{STATUS}?number=MINE-1")
    assert status["state"] == "CAN_BE_USED"
