"""A till's receipts through the Модулькасса adapter: sale with accrual, sale with a
bonus spend (held at the loyalty-request, debited at CHECK_CLOSED without discounting
twice), cancel, return by line, repeats, checks never sent to loyalty, the check's time."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient

from cloud.clock import ManualClock, to_epoch
from cloud.services import customers, programs
from cloud.services.deps import Deps
from schemas.money import line_amount, to_kopecks
from tests.helpers import sms_code

from .conftest import CARD, FIXTURES, PHONE, Till, call
from .helpers import cancelled, check_from, closed, item, loyalty, position


async def _balance(deps: Deps, till: Till) -> int:
    profile = await customers.customer_profile(deps, till.merchant_id, till.customer_id)
    return profile.balance.available


async def _receipt(deps: Deps, till: Till, external_id: str, kind: str = "sale") -> dict:  # type: ignore[type-arg]
    rows = await deps.db.fetch_all(
        "SELECT amount, discount, redeemed, accrued, customer_id, local_date, created_at "
        "FROM receipts WHERE merchant_id = :m AND source = 'modulkassa' AND kind = :k "
        "AND external_id = :e",
        {"m": till.merchant_id, "k": kind, "e": external_id},
    )
    assert len(rows) == 1
    return dict(rows[0])


async def _earn(service: TestClient, till: Till) -> None:
    """A first sale of 1000.00 that earns the customer 47.50 bonuses."""
    sale = loyalty("r-1", position("p1", "1000.00", "1"), customerPhone=PHONE)
    answer = await call(service, "loyalty-request", sale, till.headers)
    await call(service, "events", check_from(sale, answer, "c-1"), till.headers)


def _charged(event: dict) -> int:  # type: ignore[type-arg]
    return sum(to_kopecks(p["amount"]) for p in event["check"]["inventPositions"])


async def test_sale_accrues_then_a_spend_is_held_and_debited_once(
    service: TestClient, deps: Deps, till: Till
) -> None:
    """A sale earns 5 % of what was paid; the next sale spends 30 bonuses as price
    reductions: the answer's impacts charge the quote less the spend, CHECK_CLOSED debits
    exactly the held 30 and records the sale at what the check charged plus the spend
    (our discount is not taken a second time)."""
    first = loyalty("r-1", position("p1", "349.90", "3"), position("p2", "890.00", "0.347", "KG"),
                    customerPhone=PHONE)  # fmt: skip
    answer = await call(service, "loyalty-request", first, till.headers)
    event = check_from(first, answer, "c-1")
    done = await call(service, "events", event, till.headers)
    assert done["operation"] == "sale" and done["receiptId"] == "r-1"
    paid = _charged(event)
    assert to_kopecks(done["accrued"]) == paid * 5 // 100
    recorded = await _receipt(deps, till, "r-1")
    assert recorded["amount"] == paid and recorded["redeemed"] == 0
    assert recorded["discount"] == to_kopecks(answer["details"]["discount"])
    earned = await _balance(deps, till)
    assert earned == to_kopecks(done["accrued"])

    second = loyalty("r-2", position("a1", "219.00", "2"), customerCard=CARD,
                     spendBonuses=Decimal(30))  # fmt: skip
    quoted = await call(service, "loyalty-request", second, till.headers)
    assert quoted["details"]["spent"] == 30
    full = line_amount(21900, Decimal(2))
    impacts_total = sum(
        line_amount(to_kopecks(i["price"]), i["quantity"]) for i in quoted["impacts"]
    )
    assert impacts_total == full - to_kopecks(quoted["details"]["discount"]) - 3000
    assert await _balance(deps, till) == earned - 3000  # held
    event = check_from(second, quoted, "c-2")
    done = await call(service, "events", event, till.headers)
    assert done["redeemed"] == 30
    recorded = await _receipt(deps, till, "r-2")
    assert recorded["redeemed"] == 3000 and recorded["amount"] == _charged(event) + 3000
    assert recorded["discount"] == to_kopecks(quoted["details"]["discount"])
    assert await _balance(deps, till) == earned - 3000 + to_kopecks(done["accrued"])


async def test_a_cancelled_check_releases_its_hold_and_repeats_answer_the_same(
    service: TestClient, deps: Deps, till: Till
) -> None:
    """CHECK_CANCELLED releases the bonuses the loyalty-request held; sent again it
    answers the same and changes nothing."""
    await _earn(service, till)
    before = await _balance(deps, till)
    spend = loyalty("r-2", position("p1", "1000.00", "1"), customerPhone=PHONE,
                    spendBonuses=Decimal(20))  # fmt: skip
    answer = await call(service, "loyalty-request", spend, till.headers)
    assert await _balance(deps, till) == before - 2000
    event = cancelled("c-2", [item("p1", "980.00", "1")], loyaltyData=answer["data"])
    first = await call(service, "events", event, till.headers)
    assert first["operation"] == "cancel" and first["receiptId"] == "r-2"
    assert await _balance(deps, till) == before
    assert await call(service, "events", event, till.headers) == first
    assert await _balance(deps, till) == before


async def test_pricing_again_without_a_spend_releases_the_earlier_one(
    service: TestClient, deps: Deps, till: Till
) -> None:
    """The cashier sends the receipt to loyalty again without a spend: the earlier
    answer's held bonuses are released and the close debits nothing."""
    await _earn(service, till)
    before = await _balance(deps, till)
    body = loyalty(
        "r-2", position("p1", "500.00", "1"), customerPhone=PHONE, spendBonuses=Decimal(10)
    )
    await call(service, "loyalty-request", body, till.headers)
    assert await _balance(deps, till) == before - 1000
    body.pop("spendBonuses")
    again = await call(service, "loyalty-request", body, till.headers)
    assert await _balance(deps, till) == before and again["details"]["spent"] == 0
    done = await call(service, "events", check_from(body, again, "c-2"), till.headers)
    assert done["redeemed"] == 0


async def test_a_spend_is_capped_and_one_that_cannot_be_made_drops_the_earlier(
    service: TestClient, deps: Deps, till: Till
) -> None:
    """More than the program lets the receipt take is capped (and said); a receipt
    that can take nothing (its new lines too cheap) drops the spend an earlier answer held."""
    await _earn(service, till)
    before = await _balance(deps, till)
    body = loyalty(
        "r-2", position("p1", "40.00", "1"), customerPhone=PHONE, spendBonuses=Decimal(45)
    )
    capped = await call(service, "loyalty-request", body, till.headers)
    assert capped["details"]["spent"] == 19  # half of 40.00 less the 5 % discount
    assert "Можно списать не больше 19,00 бонусов" in capped["details"]["messages"]
    assert await _balance(deps, till) == before - 1900
    cheap = {**body, "positions": [position("p1", "0.01", "1")]}
    again = await call(service, "loyalty-request", cheap, till.headers)
    assert again["details"]["spent"] == 0 and await _balance(deps, till) == before


async def test_a_sale_whose_held_bonuses_are_gone_is_recorded_without_them(
    service: TestClient, deps: Deps, till: Till, clock: ManualClock
) -> None:
    """The hold lapsed and the customer spent the bonuses on another receipt meanwhile:
    the check still closes as a sale (the fiscal receipt is the truth), with no bonus
    payment (the answer's redeemed 0 says so); a repeat answers the same."""
    await _earn(service, till)
    everything = Decimal(await _balance(deps, till)) / 100
    first = loyalty("r-2", position("p1", "1000.00", "1"), customerPhone=PHONE,
                    spendBonuses=Decimal(10))  # fmt: skip
    answer = await call(service, "loyalty-request", first, till.headers)
    clock.advance(minutes=20)
    other = loyalty("r-3", position("p1", "100.00", "1"), customerPhone=PHONE,
                    spendBonuses=everything)  # fmt: skip
    spent = await call(service, "loyalty-request", other, till.headers)
    assert spent["details"]["spent"] == everything  # its accrual will not cover r-2's 10
    await call(service, "events", check_from(other, spent, "c-3"), till.headers)
    event = check_from(first, answer, "c-2")
    done = await call(service, "events", event, till.headers)
    assert done["redeemed"] == 0 and done["accrued"] > 0
    assert (await _receipt(deps, till, "r-2"))["amount"] == _charged(event)
    assert await call(service, "events", event, till.headers) == done


async def test_a_return_by_line_names_its_sale_and_is_idempotent(
    service: TestClient, deps: Deps, till: Till
) -> None:
    """A RETURN check takes back one unit of a split line (found by product and charged
    price) from the sale its saleId names; the same return again changes nothing and
    answers the same; more than was sold, an unknown sale or no saleId is a 4xx."""
    sale = loyalty("r-1", position("p1", "349.90", "3"), customerPhone=PHONE)
    answer = await call(service, "loyalty-request", sale, till.headers)
    assert len(answer["impacts"]) == 2  # 2 + 1 units at prices a kopeck apart
    done = await call(service, "events", check_from(sale, answer, "c-1"), till.headers)
    unit = answer["impacts"][0]
    back = closed("c-9", [item("code-p1", str(unit["price"]), "1", name="Товар p1")],
                  doc="RETURN", saleId="r-1")  # fmt: skip
    back["check"]["inventPositions"][0]["name"] = "Товар p1"
    returned = await call(service, "events", back, till.headers)
    assert returned["operation"] == "return" and returned["receiptId"] == "r-1"
    share = to_kopecks(unit["price"]) * 5 // 100
    assert abs(to_kopecks(returned["reversedAccrual"]) - share) <= 1
    assert to_kopecks(returned["reversedAccrual"]) < to_kopecks(done["accrued"])
    assert await call(service, "events", back, till.headers) == returned
    too_many = closed(
        "c-10", [item("code-p1", str(unit["price"]), "5")], doc="RETURN", saleId="r-1"
    )
    refused = await call(service, "events", too_many, till.headers, status=422)
    assert set(refused) == {"code", "message"}
    unknown = closed("c-11", [item("code-p1", "1.00", "1")], doc="RETURN", saleId="nope")
    assert (await call(service, "events", unknown, till.headers, status=404))["message"]
    bare = closed("c-12", [item("code-p1", "1.00", "1")], doc="RETURN")
    refused = await call(service, "events", bare, till.headers, status=400)
    assert refused["code"] == "modulkassa_sale_required"


async def test_a_repeated_close_answers_the_recorded_sale(
    service: TestClient, deps: Deps, till: Till
) -> None:
    """CHECK_CLOSED sent twice (the plugin retried after a timeout) is one sale."""
    sale = loyalty("r-1", position("p1", "100.00", "2"), customerPhone=PHONE)
    event = check_from(sale, await call(service, "loyalty-request", sale, till.headers), "c-1")
    first = await call(service, "events", event, till.headers)
    assert await call(service, "events", event, till.headers) == first
    await _receipt(deps, till, "r-1")


async def test_checks_never_sent_to_loyalty_are_recorded(
    service: TestClient, deps: Deps, till: Till
) -> None:
    """A customer-less check is recorded (no accrual); one whose customer the plugin's
    screen named earns bonuses; both at the full price when the check gives no discount."""
    anonymous = closed("c-1", [item("x", "150.00", "2")])
    done = await call(service, "events", anonymous, till.headers)
    assert done["receiptId"] == "c-1" and done["accrued"] == 0
    recorded = await _receipt(deps, till, "c-1")
    assert recorded["customer_id"] is None and recorded["amount"] == 30000
    named = closed("c-2", [item("x", "150.00", "2")], customerCard=CARD)
    done = await call(service, "events", named, till.headers)
    assert done["accrued"] == 15
    assert (await _receipt(deps, till, "c-2"))["customer_id"] == till.customer_id


async def test_the_sale_time_is_the_checks(service: TestClient, deps: Deps, till: Till) -> None:
    """The check's dateTime is the sale's time; without an offset it is the store's
    local time (Moscow here)."""
    naive = closed("c-1", [item("x", "10.00", "1")], dateTime="2026-11-19T23:30:00")
    await call(service, "events", naive, till.headers)
    recorded = await _receipt(deps, till, "c-1")
    moscow = datetime(2026, 11, 19, 23, 30, tzinfo=ZoneInfo("Europe/Moscow"))
    assert recorded["created_at"] == to_epoch(moscow) and recorded["local_date"] == "2026-11-19"
    aware = closed("c-2", [item("x", "10.00", "1")], dateTime="2026-11-19T21:30:00+00:00")
    await call(service, "events", aware, till.headers)
    assert (await _receipt(deps, till, "c-2"))["local_date"] == "2026-11-20"


async def test_a_spend_asks_for_the_customers_code_when_the_program_does(
    service: TestClient, deps: Deps, till: Till
) -> None:
    """Under a program that asks for an SMS code to spend, a spend without one is
    refused (422 sms_code_required); the plugin asks us to send the code and the
    loyalty-request with ``smsCode`` holds the bonuses."""
    await _earn(service, till)
    program = (
        (FIXTURES / "program.json")
        .read_text()
        .replace('"redeem_requires_sms_code": false', '"redeem_requires_sms_code": true')
    )
    await programs.publish(deps.db, till.merchant_id, program, deps.clock())
    spend = loyalty(
        "r-2", position("p1", "100.00", "1"), customerPhone=PHONE, spendBonuses=Decimal(5)
    )
    refused = await call(service, "loyalty-request", spend, till.headers, status=422)
    assert refused["code"] == "sms_code_required"
    sent = await call(service, "sms-code", {"customerCard": CARD}, till.headers)
    assert sent["sentTo"] == "+7916***4567"
    held = await call(
        service, "loyalty-request", {**spend, "smsCode": sms_code(deps, PHONE)}, till.headers
    )
    assert held["details"]["spent"] == 5
