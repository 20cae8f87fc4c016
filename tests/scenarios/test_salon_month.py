"""A month of a salon's life, end to end (issue 9's "done means").

The salon runs Kaloud Club's tiers and three-level referral rates (programs.md #11)
with a salon's gifts around them: BrowBar's birthday gift (100 bonuses 3 days before,
valid 7 days), Лотос' review bonus (20 bonuses), the reanimation example of programs.md
(no purchase for 14 days -> 200 bonuses valid 7 days, by SMS), and bonuses that last 21
days with a warning 7 days before, so one month shows both the warning and the expiry.

Time moves an hour at a time with the scheduler ticking and the outbox draining to a
fake SMS.ru, as in production; after every day each job is run again for that day and
must change nothing. Figures are written from the program's text, not read back from
the service.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import pytest

from cloud.clock import ManualClock, to_epoch
from cloud.engine.lifecycle import local_midnight
from cloud.messages.callbacks import opt_out_path
from cloud.services.deps import Deps
from cloud.settings import Settings
from tests.conftest import FIXTURES
from tests.ledger.helpers import assert_ledger_consistent, ledger_state
from tests.scenarios.salon import MSK, Salon, opened_salon
from tests.telegram.conftest import FakeTelegram, connect, contact, post

# The fake Bot API server, as a fixture of this module too.
from tests.telegram.conftest import telegram as telegram

A, B, C, D, E = (f"+7916555000{i}" for i in range(1, 6))
VERA_CHAT = 5550003
# Kaloud Club's text: «Стандартная — 1 % / 1 %; Серебряная — 2 % / 1 % / 1 %; Золотая —
# 3 % / 2 % / 1 %», by the buyer's tier (Серебряная over 5 000 ₽, Золотая over 10 000 ₽).
RATES = {"standard": ["1", "1"], "silver": ["2", "1", "1"], "gold": ["3", "2", "1"]}


def program() -> str:
    document = json.loads((FIXTURES / "programs" / "11_kaloud_club.json").read_text())
    document["name"] = "Салон «Лаванда»"
    document["lifetime_days"] = 21
    document["gifts"].update({
        "birthday": {"amount": "100", "days_before": 3, "valid_days": 7},
        "review": {"amount": "20", "request_after_hours": 2},
        "reanimation": [{"code": "back", "name": "Вернуть через 2 недели",
                         "days_without_purchase": 14, "amount": "200", "valid_days": 7}],
    })  # fmt: skip
    return json.dumps(document)


def percent(amount: int, rate: str) -> int:
    """Kopecks of ``rate`` % of ``amount`` roubles, floored to the kopeck."""
    value = Decimal(amount) * Decimal(rate) / 100
    return int(value.quantize(Decimal("0.01"), ROUND_FLOOR) * 100)


def local(day: int, hour: int, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, env="test", load_demo=False,
                    public_url="https://lavanda.example", sms_price_kopecks=250)  # fmt: skip


@pytest.fixture
async def salon(aiohttp_client: Any, deps: Deps, clock: ManualClock, telegram: FakeTelegram) -> Any:
    async with opened_salon(aiohttp_client, deps, clock, program()) as opened:
        yield opened


async def _id(salon: Salon, phone: str) -> dict[str, Any]:
    response = await salon.till.get("/api/v1/customers/lookup", params={"phone": phone})
    assert response.status == 200, await response.text()
    return dict(await response.json())


async def _rewards(salon: Salon, receipt: str) -> dict[int, int]:
    rows = await salon.deps.db.fetch_all(
        "SELECT w.recipient_id, w.amount FROM referral_rewards w JOIN receipts r "
        "ON r.id = w.receipt_id WHERE r.external_id = :e AND r.kind = 'sale'",
        {"e": receipt},
    )
    return {int(r["recipient_id"]): int(r["amount"]) for r in rows}


async def test_a_month_of_a_salon(salon: Salon, telegram: FakeTelegram) -> None:
    """Self-registration by QR with consent, a referral chain three levels deep priced
    as Kaloud Club's text says, a birthday gift, an expiry warning and the expiry it
    announced, a reanimation that brings a customer back (and the report saying so), a
    feedback with a reply, a mailing to a segment with its results net of a return;
    every job's second run changes nothing, every message sent has its cost, and
    nothing reaches the customer who said «СТОП»."""
    deps, sms = salon.deps, salon.sms

    # ---- 2 March: the salon opens; Anna scans the QR code at the desk --------------
    await salon.live_until(local(2, 11))
    token = await salon.join_link("Открытие")
    done = await salon.self_register(token, A, name="Анна", birthday="1990-03-20",
                                     gender="female")  # fmt: skip
    assert "Анна" in done
    a = await _id(salon, A)
    anna = await salon.customer(a["id"])
    assert anna["consents"]["messages_at"] and anna["consents"]["personal_data_at"]
    assert anna["acquisition"] == {"channel": "qr", "campaign": "Открытие"}
    # Boris at the till names Anna by phone; Vera follows Boris's personal link;
    # Dmitry at the till names Vera by her card; Egor registers at the till.
    b = await salon.register_at_till(B, referrer={"phone": "8 (916) 555-00-01"})
    done = await salon.self_register(token, C, ref=b["referral_code"], name="Вера")
    c = await _id(salon, C)
    vera = await salon.customer(c["id"])
    card = next(x["number"] for x in vera["cards"] if x["kind"] == "virtual")
    assert card in done
    # Vera links the salon's Telegram bot by sharing her contact.
    bot = await connect(deps, salon.tenant.merchant_id)
    assert await post(salon.browser, deps, bot, contact(VERA_CHAT, C)) == 200
    assert "привязана" in telegram.last_text(VERA_CHAT)
    d = await salon.register_at_till(D, referrer={"card": card})
    e = await salon.register_at_till(E)
    assert (b["referrer_id"], vera["referrer_id"], d["referrer_id"]) == (a["id"], b["id"], c["id"])

    # Dmitry's first visit at Стандартная, the next day's at Серебряная (6 000 > 5 000).
    await salon.live_until(local(2, 12))
    await salon.sell("R1", D, ("haircut", "6000"))
    await salon.sell("E1", E, ("manicure", "1000"))
    await salon.live_until(local(3, 12))
    await salon.sell("R2", D, ("colour", "5000"))
    expected = {"R1": (6000, "standard"), "R2": (5000, "silver")}
    # Egor says «СТОП» through the link every advertising message carries.
    stop = await salon.browser.post(opt_out_path(deps, salon.tenant.merchant_id, e["id"]))
    assert stop.status == 200
    stopped_at = salon.clock()
    await salon.live_until(local(4, 12))
    await salon.sell("B1", B, ("massage", "2000"))

    chain = [c["id"], b["id"], a["id"]]
    for receipt, (amount, tier) in expected.items():
        want = {who: percent(amount, rate) for who, rate in zip(chain, RATES[tier], strict=False)}
        assert await _rewards(salon, receipt) == want
    assert await _rewards(salon, "B1") == {a["id"]: percent(2000, "1")}
    # Kaloud Club's «SMS каждому получателю»: one per reward, the next day at the latest.
    await salon.live_until(local(5, 10))
    friends = {phone: [t for t in sms.to(phone) if "за покупку друга" in t] for phone in (A, B, C)}
    assert {phone: len(texts) for phone, texts in friends.items()} == {A: 2, B: 2, C: 0}
    assert "вам начислено 20 ₽ бонусами" in friends[A][1]
    in_telegram = [c.payload["text"] for c in telegram.sent(chat=VERA_CHAT)]
    assert sum("за покупку друга" in text for text in in_telegram) == 2

    # ---- the feedback request after Dmitry's visit, his rating and the reply --------
    link = next(t for t in sms.to(D) if "/feedback/" in t).split("https://lavanda.example")[1]
    path = link.split()[0]
    page = await salon.browser.get(path)
    assert page.status == 200 and "Лаванда" in await page.text()
    rated = await salon.browser.post(path, data={"rating": "5", "comment": "Мастер Ольга — чудо"})
    assert rated.status == 200
    await salon.browser.post(path, data={"rating": "5"})  # a second post changes nothing
    reviews = await deps.db.fetch_all(
        "SELECT amount FROM bonus_lots WHERE customer_id = :c AND kind = 'review'", {"c": d["id"]}
    )
    assert [r["amount"] for r in reviews] == [2000]
    listed = await (await salon.office.get("/api/v1/merchant/feedback")).json()
    [row] = listed["feedback"]
    assert (row["rating"], row["comment"], row["store_id"]) == (5, "Мастер Ольга — чудо",
                                                                 salon.tenant.store_id)  # fmt: skip
    reply = await salon.office.post(f"/api/v1/merchant/feedback/{row['id']}/reply",
                                    json={"text": "Спасибо! Ждём вас снова."})  # fmt: skip
    assert reply.status == 200, await reply.text()
    await salon.live_until(local(5, 12))
    assert any("Ждём вас снова" in text for text in sms.to(D))

    # ---- mid-month: warnings, Anna's birthday gift, Dmitry's reanimation ------------
    await salon.live_until(local(19, 11))
    birthday = await deps.db.fetch_all(
        "SELECT amount, expires_at FROM bonus_lots WHERE customer_id = :c AND kind = 'birthday'",
        {"c": a["id"]},
    )
    last_day = date(2026, 3, 17) + timedelta(days=6)
    assert [tuple(r) for r in birthday] == [
        (10_000, to_epoch(local_midnight(last_day + timedelta(days=1), MSK)))
    ]
    assert any("100 ₽" in text for text in sms.to(A))
    assert any("200 ₽" in text for text in sms.to(D))  # the reanimation gift
    await salon.sell("R3", D, ("spa", "4000"))  # Dmitry is back, at Золотая now
    assert await _rewards(salon, "R3") == {
        who: percent(4000, rate) for who, rate in zip(chain, RATES["gold"], strict=True)
    }
    report = await (await salon.office.get("/api/v1/merchant/reports/reanimation")).json()
    back = [r for r in report["customers"] if r["customer_id"] == d["id"]]
    assert [(r["sales"], Decimal(str(r["revenue"]))) for r in back] == [(1, Decimal(4000))]

    # ---- a mailing to the customers who registered themselves -----------------------
    await salon.live_until(local(20, 12))
    mailing = {"segment": {"registration_channels": ["self_service"]},
               "text": "Весенняя неделя красоты: −20 % на уходовые процедуры до 27 марта!",
               "attribution_days": 7}  # fmt: skip
    preview = await (await salon.office.post("/api/v1/merchant/mailings/preview",
                                             json=mailing)).json()  # fmt: skip
    assert (preview["participants"], preview["by_telegram"]) == (2, 1)
    created = await salon.office.post("/api/v1/merchant/mailings", json=mailing)
    assert created.status == 201, await created.text()
    mailing_id = (await created.json())["id"]
    await salon.live_until(local(21, 12))
    await salon.sell("C1", C, ("care", "1000"), ("cream", "500"))
    await salon.live_until(local(22, 12))
    await salon.refund("C1-R", "C1", "cream")

    # ---- to the end of the month -----------------------------------------------------
    await salon.live_until(local(1, 10, month=4))
    results = await (await salon.office.get(f"/api/v1/merchant/mailings/{mailing_id}")).json()
    assert (results["participants"], results["sent"], results["buyers"]) == (2, 2, 1)
    assert Decimal(str(results["revenue"])) == Decimal(1000)  # 1 500 less the 500 returned
    assert Decimal(str(results["cost"])) == Decimal(preview["estimated_cost"])

    # Every warning announced exactly what then lapsed on the day it said, of the lots
    # that existed when it was written (a gift granted later may lapse the same night).
    warnings = await deps.db.fetch_all(
        "SELECT customer_id, params, created_at FROM notifications WHERE kind = 'expiry_warning'",
        {},
    )
    assert len(warnings) >= 4
    for warning in warnings:
        params = json.loads(warning["params"])
        lapse = local_midnight(date.fromisoformat(params["expires_on"]) + timedelta(days=1), MSK)
        expired = await deps.db.fetch_value(
            "SELECT -SUM(e.amount) FROM ledger_entries e JOIN bonus_lots l ON l.id = e.lot_id "
            "WHERE e.kind = 'expire' AND e.customer_id = :c AND l.expires_at = :at "
            "AND l.created_at <= :warned",
            {"c": warning["customer_id"], "at": to_epoch(lapse), "warned": warning["created_at"]},
        )
        assert expired == params["amount"], (warning["customer_id"], params)

    # Nothing reached Egor after his «СТОП»; every message sent has its cost.
    assert [s for s in sms.received if s.phone == E and s.at > stopped_at] == []
    sent = await deps.db.fetch_all(
        "SELECT kind, cost, provider FROM notifications WHERE status IN ('sent', 'delivered')", {}
    )
    by_sms = [r for r in sent if r["provider"] == "smsru"]
    assert by_sms and all(r["cost"] > 0 for r in by_sms)
    assert len(sms.received) == len(by_sms)
    by_telegram = [r for r in sent if r["provider"] != "smsru"]
    assert {(r["provider"], r["cost"]) for r in by_telegram} == {("telegram", 0)}
    assert not any("Весенняя неделя" in text for text in sms.to(C))
    assert any("Весенняя неделя" in c.payload["text"] for c in telegram.sent(chat=VERA_CHAT))
    for customer in (a["id"], b["id"], c["id"], d["id"], e["id"]):
        assert_ledger_consistent(await ledger_state(deps, customer))
