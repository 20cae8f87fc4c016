"""Referrals over the public API: a customer names a referrer at registration; the
referrer's chain (up to three levels) earns from the referee's purchases as the program
says, credited with the sale and taken back pro rata with its refunds.

Expected figures are written from Kaloud Club's program text (programs.md #11):
«ставки по уровню карты покупателя: Стандартная — 1 % / 1 %; Серебряная — 2 % / 1 % /
1 %; Золотая — 3 % / 2 % / 1 %; SMS каждому получателю», and its tiers (Серебряная over
5 000 ₽ of lifetime purchases, Золотая over 10 000 ₽). Accrual base: the part paid in
money; bonuses spendable at once, lapsing 365 days after the purchase day.
"""

from __future__ import annotations

import asyncio
import json
from decimal import ROUND_FLOOR, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from cloud.messages.templates import render
from cloud.services import programs
from cloud.services.customers_admin import actions
from cloud.services.deps import Deps
from cloud.services.merchants import MerchantContext
from schemas.customer_admin import BlockRequest
from tests.golden.support import PROGRAMS, Till, line, open_till, receipt
from tests.helpers import register_over_api, sms_code

PROGRAM = "11_kaloud_club.json"
# From the program's text, not from its JSON: level rates by the buyer's tier.
KALOUD_RATES = {
    "standard": [Decimal(1), Decimal(1)],
    "silver": [Decimal(2), Decimal(1), Decimal(1)],
    "gold": [Decimal(3), Decimal(2), Decimal(1)],
}


def percent_of(amount: str, percent: Decimal) -> Decimal:
    return (Decimal(amount) * percent / 100).quantize(Decimal("0.01"), ROUND_FLOOR)


async def register(till: Till, phone: str, **extra: Any) -> dict[str, Any]:
    return dict(await register_over_api(till.client, till.deps, phone, **extra))


async def chain(till: Till) -> list[dict[str, Any]]:
    """A refers B (by phone), B refers C (by card), C refers D (by personal code)."""
    a = await register(till, "+79160000001")
    b = await register(till, "+79160000002", referrer={"phone": "8 916 000-00-01"})
    virtual = next(card["number"] for card in b["cards"] if card["kind"] == "virtual")
    c = await register(till, "+79160000003", referrer={"card": virtual})
    d = await register(till, "+79160000004", referrer={"code": c["referral_code"].lower()})
    return [a, b, c, d]


async def referral_lots(till: Till, customer_id: int) -> Decimal:
    total = await till.deps.db.fetch_value(
        "SELECT COALESCE(SUM(remaining), 0) FROM bonus_lots WHERE customer_id = :c "
        "AND kind = 'referral'",
        {"c": customer_id},
    )
    return Decimal(int(total)) / 100


async def test_kaloud_three_level_chain(aiohttp_client: Any, deps: Deps) -> None:
    """D buys; C, B and A earn levels 1, 2 and 3 at the rates of D's tier as the program
    text gives them (Стандартная has no third level), each as a referral lot on D's
    receipt that lives as long as purchase bonuses; each recipient gets an SMS."""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    a, b, c, d = await chain(till)
    assert [b["referrer_id"], c["referrer_id"], d["referrer_id"]] == [a["id"], b["id"], c["id"]]
    earned = {a["id"]: Decimal(0), b["id"]: Decimal(0), c["id"]: Decimal(0)}
    # (receipt, amount, D's tier pricing it): 6 000 at Стандартная takes D over 5 000,
    # 1 000 and 4 000 at Серебряная take D over 10 000, the last at Золотая.
    steps = [("r1", "6000", "standard"), ("r2", "1000", "silver"), ("r3", "4000", "silver"),
             ("r4", "1000", "gold")]  # fmt: skip
    for receipt_id, amount, tier in steps:
        await till.confirm(receipt(receipt_id, [line("hookah", amount)], phone="+79160000004"))
        for level, recipient in enumerate([c, b, a]):
            rates = KALOUD_RATES[tier]
            if level < len(rates):
                earned[recipient["id"]] += percent_of(amount, rates[level])
        for recipient in (a, b, c):
            assert await referral_lots(till, recipient["id"]) == earned[recipient["id"]]
            assert (await till.balance(recipient["id"]))["available"] == earned[recipient["id"]]
    assert earned == {c["id"]: Decimal(60 + 20 + 80 + 30), b["id"]: Decimal(60 + 10 + 40 + 20),
                      a["id"]: Decimal(0 + 10 + 40 + 10)}  # fmt: skip
    lots = await till.lots(c["id"])
    assert {lot["kind"] for lot in lots} == {"referral"}
    purchase = (await till.lots(d["id"]))[0]
    assert lots[0]["expires_at"] == purchase["expires_at"]
    entries = await deps.db.fetch_all(
        "SELECT e.kind, r.external_id FROM ledger_entries e JOIN receipts r "
        "ON r.id = e.receipt_id WHERE e.customer_id = :c ORDER BY e.id",
        {"c": c["id"]},
    )
    assert [(row["kind"], row["external_id"]) for row in entries] == [
        ("referral", "r1"), ("referral", "r2"), ("referral", "r3"), ("referral", "r4")
    ]  # fmt: skip
    queued = await deps.db.fetch_all(
        "SELECT params FROM notifications WHERE status = 'pending' "
        "AND kind = 'referral_reward' AND customer_id = :a ORDER BY id",
        {"a": a["id"]},
    )
    assert len(queued) == 3  # no reward from r1: Стандартная has two levels
    first = json.loads(queued[0]["params"])
    assert first["level"] == 3
    # What the outbox worker will send for it.
    assert f"{first['amount'] // 100} ₽" in render("referral_reward", first, "Kaloud", None)


async def test_partial_refund_claws_back_pro_rata(aiohttp_client: Any, deps: Deps) -> None:
    """A refund of part of D's receipt takes back from each referrer exactly what their
    reward on the returned part was; returning the rest takes back everything."""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    a, b, c, _ = await chain(till)
    body = receipt(
        "s1", [line("hookah", "1500", "2"), line("tea", "333", "3")], phone="+79160000004"
    )
    await till.confirm(body)
    total = Decimal(3000 + 999)
    assert await referral_lots(till, c["id"]) == percent_of(str(total), Decimal(1))
    await till.refund("rf1", "s1", [("hookah", 1), ("tea", 1)])
    left = total - 1500 - 333
    assert await referral_lots(till, c["id"]) == percent_of(str(left), Decimal(1))
    assert await referral_lots(till, b["id"]) == percent_of(str(left), Decimal(1))
    await till.refund("rf2", "s1")
    for recipient in (a, b, c):
        assert await referral_lots(till, recipient["id"]) == 0


async def test_idempotent_confirm_credits_once(aiohttp_client: Any, deps: Deps) -> None:
    """A repeated confirm of the same receipt returns the stored answer and credits the
    referrers nothing more."""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    _, _, c, _ = await chain(till)
    body = receipt("once", [line("hookah", "2000")], phone="+79160000004")
    first = await till.confirm(body)
    assert await till.confirm(body) == first
    assert await referral_lots(till, c["id"]) == Decimal(20)
    count = await deps.db.fetch_value("SELECT COUNT(*) FROM referral_rewards", {})
    assert int(count) == 2


async def test_blocked_recipient_earns_nothing(aiohttp_client: Any, deps: Deps) -> None:
    """A blocked referrer earns nothing from the sale; the levels above still earn."""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    _, b, c, _ = await chain(till)
    merchant = MerchantContext(till.tenant.merchant_id, ZoneInfo("Europe/Moscow"))
    await actions.set_blocked(deps, merchant, c["id"], True, BlockRequest(reason="проверка"))
    await till.confirm(receipt("b1", [line("hookah", "1000")], phone="+79160000004"))
    assert await referral_lots(till, c["id"]) == 0
    assert await referral_lots(till, b["id"]) == Decimal(10)


async def test_self_and_unknown_referrers_refused(aiohttp_client: Any, deps: Deps) -> None:
    """A customer cannot name themselves (their phone or the card being bound), nor
    anyone not registered yet (so no cycle can ever form); the messages are Russian."""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    for phone, extra, code in [
        ("+79160000011", {"referrer": {"phone": "+79160000011"}}, "self_referral"),
        ("+79160000012", {"card": "7700123", "referrer": {"card": "7700123"}}, "self_referral"),
        ("+79160000013", {"referrer": {"phone": "+79160000099"}}, "referrer_not_found"),
        ("+79160000014", {"referrer": {"code": "ZZZZZZZZ"}}, "referrer_not_found"),
    ]:
        response = await till.client.post(
            "/api/v1/sms-codes", json={"phone": phone, "purpose": "registration"}
        )
        assert response.status == 200
        response = await till.client.post("/api/v1/customers", json={
            "phone": phone, "sms_code": sms_code(deps, phone),
            "consent": {"personal_data": True}, **extra,
        })  # fmt: skip
        assert response.status == 422, await response.text()
        answer = await response.json()
        assert answer["code"] == code
        assert "клиент" in answer["message"].lower()
    response = await till.client.post(
        "/api/v1/customers",
        json={"phone": "+79160000015", "consent": {"personal_data": True},
              "referrer": {"phone": "+79160000001", "code": "ABCDEFGH"}},
    )  # fmt: skip
    assert response.status == 400


async def test_referee_bonus_and_registration_profile(aiohttp_client: Any, deps: Deps) -> None:
    """Under a rule with a starting bonus, a newcomer who named a referrer gets it at
    registration (and one who did not, does not). The registration also records gender,
    children, acquisition channel and campaign, and the consents with the time and the
    text version; the profile and the till's look-up show the personal code."""
    document = json.loads((PROGRAMS / PROGRAM).read_text())
    document["gifts"]["referral"]["referee_bonus"] = "150"
    till = await open_till(aiohttp_client, deps, PROGRAM)
    await programs.publish(deps.db, till.tenant.merchant_id, json.dumps(document), deps.clock())
    a = await register(till, "+79160000021")
    assert (await till.balance(a["id"]))["available"] == 0
    b = await register(
        till, "+79160000022", referrer={"code": a["referral_code"]}, gender="female",
        children=[{"name": "Маша", "birthday": "2018-05-04"}, {"birthday": "2021-01-02"}],
        acquisition_channel="vk", campaign="Осень-2026",
        consent={"personal_data": True, "messages": True, "personal_data_version": "pd-3",
                 "messages_version": "ads-2"},
    )  # fmt: skip
    assert (await till.balance(b["id"]))["available"] == Decimal(150)
    assert [lot["kind"] for lot in await till.lots(b["id"])] == ["referee"]
    assert b["gender"] == "female"
    assert b["children"] == [{"name": "Маша", "birthday": "2018-05-04"},
                             {"name": None, "birthday": "2021-01-02"}]  # fmt: skip
    assert b["acquisition"] == {"channel": "vk", "campaign": "Осень-2026"}
    assert b["consents"]["personal_data_version"] == "pd-3"
    assert b["consents"]["messages_version"] == "ads-2"
    assert b["consents"]["messages_at"] is not None
    response = await till.client.get("/api/v1/customers/lookup", params={"phone": "+79160000022"})
    assert (await response.json())["referral_code"] == b["referral_code"]
    assert b["referral_code"] != a["referral_code"] and len(b["referral_code"]) == 8


async def test_concurrent_sales_in_one_family(aiohttp_client: Any, deps: Deps) -> None:
    """D and C buy at the same moment: both sales commit (locks go from buyer up the
    chain, so they cannot deadlock) and B earns from both."""
    till = await open_till(aiohttp_client, deps, PROGRAM)
    a, b, _, _ = await chain(till)
    await asyncio.gather(*[
        till.confirm(receipt(f"p{i}", [line("hookah", "1000")], phone=phone))
        for i, phone in enumerate(["+79160000004", "+79160000003"] * 3)
    ])  # fmt: skip
    # Three sales by D (level 2 for B: 1 %) and three by C (level 1 for B: 1 %).
    assert await referral_lots(till, b["id"]) == Decimal(60)
    assert await referral_lots(till, a["id"]) == Decimal(30)


async def test_referrer_of_another_merchant_is_not_found(aiohttp_client: Any, deps: Deps) -> None:
    """One merchant's customers are never referrers at another: neither their phone nor
    their personal code (nor their id under another merchant's code) is found there, and
    another merchant's till cannot look up or read the customer."""
    ours = await open_till(aiohttp_client, deps, PROGRAM)
    theirs = await open_till(aiohttp_client, deps, "12_lucky_cats.json")
    ours_a = await register(ours, "+79160000031")
    for referrer in ({"phone": "+79160000031"}, {"code": ours_a["referral_code"]}):
        phone = "+79160000032"
        response = await theirs.client.post(
            "/api/v1/sms-codes", json={"phone": phone, "purpose": "registration"}
        )
        assert response.status == 200
        response = await theirs.client.post("/api/v1/customers", json={
            "phone": phone, "sms_code": sms_code(deps, phone),
            "consent": {"personal_data": True}, "referrer": referrer,
        })  # fmt: skip
        assert response.status == 422
        assert (await response.json())["code"] == "referrer_not_found"
    response = await theirs.client.get(f"/api/v1/customers/{ours_a['id']}")
    assert response.status == 404
    response = await theirs.client.get("/api/v1/customers/lookup", params={"phone": "+79160000031"})
    assert response.status == 404
