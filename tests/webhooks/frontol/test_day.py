"""A Frontol store's day through signed requests: registration at the till, a sale with a
bonus payment cancelled and paid again, a refusal for too many bonuses, a sale without a
card, a partial refund by line; each answer checked field by field. A wrong signature, a
body altered after signing and a replayed confirm change nothing."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from cloud.services import customers
from cloud.services.deps import Deps
from tests.helpers import sms_code
from tests.webhooks.frontol.conftest import PHONE, Frontol, balance, give_bonuses, steps


def money(value: Any) -> Decimal:
    return Decimal(str(value))


async def _register(frontol: Frontol, deps: Deps) -> int:
    describe, check, execute, _ = steps("registration")
    form = (await frontol.ok("extra/client", describe["request"]))["form"]
    assert form["title"] == {"text": "Регистрация клиента"}
    names = [e.get("name") for e in form["elements"]]
    assert names == [None, "mobilePhone", "name", "card", "consentPersonalData",
                     "consentMessages"]  # fmt: skip
    assert form["elements"][1]["default"] == PHONE
    checked = await frontol.ok("extra/client", check["request"])
    assert checked["client"] == {"mobilePhone": PHONE}
    assert "validationCode" not in checked["client"]  # the code is never sent to the till
    assert checked["cashierInformation"][0]["text"].startswith("Код из SMS отправлен на +7")
    body = execute["request"]
    body["client"]["validationCode"] = sms_code(deps, PHONE)
    done = await frontol.ok("extra/client", body)
    assert done["cashierInformation"][0] == {"text": "Клиент зарегистрирован: +7916***4567"}
    customer_id = await customers.find_customer(deps, frontol.merchant_id, phone=PHONE)
    assert customer_id is not None
    return customer_id


async def test_a_frontol_day(frontol: Frontol, deps: Deps) -> None:
    """The whole day, every answer as Frontol reads it, balances as the ledger has them."""
    customer_id = await _register(frontol, deps)
    profile = await customers.customer_profile(deps, frontol.merchant_id, customer_id)
    assert profile.name == "Анна" and profile.consent_messages_at is not None
    await give_bonuses(deps, frontol.merchant_id, customer_id, 50000)

    looked = await frontol.ok("client", steps("registration")[3]["request"])
    assert [line["text"] for line in looked["cashierInformation"]] == [
        "Клиент: Анна", "Уровень: Базовая", "Баланс: 500,00 бонусов"]  # fmt: skip
    assert looked["client"] == {"availableAmount": 500}

    calculate, pay, cancel, pay_again, confirm = steps("sale_with_bonus_payment")
    quoted = await frontol.ok("document", calculate["request"])
    assert quoted["client"] == {"availableAmount": money("52.52")}
    assert quoted["document"] == {"positions": [
        {"index": 1, "discountAmount": money("8.99")},
        {"index": 2, "discountAmount": money("15.61")}]}  # fmt: skip
    assert [line["text"] for line in quoted["cashierInformation"]] == [
        "Уровень: Базовая", "Скидка 5 %: 24,60 ₽", "Баланс: 500,00 бонусов",
        "Можно списать до 52,52 бонусов", "Будет начислено 23,37 бонусов"]  # fmt: skip
    assert quoted["printingInformation"] == [[
        {"type": "text", "text": "Уровень: Базовая"},
        {"type": "text", "text": "Скидка по карте: 24,60 ₽"},
        {"type": "text", "text": "Начислено бонусов: 23,37"}]]  # fmt: skip

    paid = await frontol.ok("document", pay["request"])
    assert paid["document"] == {"positions": [
        {"index": 1, "paidAmount": money("48.37")},
        {"index": 2, "paidAmount": money("1.63")}]}  # fmt: skip
    assert [line["text"] for line in paid["cashierInformation"]] == [
        "Оплата бонусами: 50,00", "Остаток бонусов: 450,00"]  # fmt: skip

    too_much = json.loads(json.dumps(pay["request"]))
    too_much["payment"]["amount"] = 400
    refused = await frontol.post("document", too_much)
    assert refused == {"code": -1, "error": "Можно списать не больше 52,52 бонусов"}

    released = await frontol.ok("document", cancel["request"])
    assert released == {"code": 0, "cashierInformation": [
        {"text": "Оплата бонусами отменена: 50,00 возвращено"}]}  # fmt: skip
    assert await balance(deps, frontol.merchant_id, customer_id) == 50000

    paid = await frontol.ok("document", pay_again["request"])
    assert paid["document"] == {"positions": [
        {"index": 1, "paidAmount": money("38.70")},
        {"index": 2, "paidAmount": money("1.30")}]}  # fmt: skip

    closed = await frontol.ok("document", confirm["request"])
    assert [line["text"] for line in closed["cashierInformation"]] == [
        "Уровень: Базовая", "Баланс: 460,00 бонусов", "Оплата бонусами: 40,00",
        "Начислено 22,60 бонусов"]  # fmt: skip
    assert await balance(deps, frontol.merchant_id, customer_id) == 46000
    sale = await deps.db.fetch_one(
        "SELECT source, external_id, cashier_id, cashier_name, store_id, terminal_id "
        "FROM receipts WHERE merchant_id = :m AND kind = 'sale' AND customer_id = :c",
        {"m": frontol.merchant_id, "c": customer_id},
    )
    assert sale is not None
    assert (sale["source"], sale["external_id"]) == (
        "frontol", "3f1c2b7e-6a0e-4c44-9a1f-0b6f2d7a9e10")  # fmt: skip
    assert (sale["cashier_id"], sale["cashier_name"]) == ("7", "Иванова")
    place = await deps.db.fetch_one(
        "SELECT s.external_id AS bu, t.external_id AS wp, t.channel FROM terminals t "
        "JOIN stores s ON s.id = t.store_id WHERE t.id = :t", {"t": sale["terminal_id"]},
    )  # fmt: skip
    assert place is not None and tuple(place) == ("store-1", "pos-1", "frontol")

    # Frontol retries the confirm with a fresh dateTime: the same sale, the same answer.
    retry = json.loads(json.dumps(confirm["request"]))
    retry["dateTime"] = "2026-11-20T12:35:00.000000+0300"
    assert await frontol.ok("document", retry) == closed
    assert await balance(deps, frontol.merchant_id, customer_id) == 46000

    nocard = await frontol.ok("document", steps("sale_without_card")[0]["request"])
    assert nocard == {"code": 0, "cashierInformation": [
        {"text": "Клиент не указан: бонусы не начисляются"}]}  # fmt: skip

    refund = steps("refund_by_line")[0]["request"]
    refunded = await frontol.ok("document", refund)
    assert refunded["cashierInformation"] == [
        {"text": "Возвращено бонусов: 15,51"},
        {"text": "Списано начисленных: 3,72"},
    ]
    assert await balance(deps, frontol.merchant_id, customer_id) == 47551
    assert await frontol.ok("document", refund) == refunded  # the refund's own uid: once
    assert await balance(deps, frontol.merchant_id, customer_id) == 47551
    returned = await deps.db.fetch_value(
        "SELECT COUNT(*) FROM receipts WHERE merchant_id = :m AND kind = 'refund'",
        {"m": frontol.merchant_id},
    )
    assert returned == 1


async def test_wrong_signature_and_altered_body_change_nothing(
    frontol: Frontol, deps: Deps
) -> None:
    """A body signed with another key, or altered after signing, is 401 in Frontol's
    shape and holds nothing; the same body properly signed goes through."""
    customer_id = await _register(frontol, deps)
    await give_bonuses(deps, frontol.merchant_id, customer_id, 50000)
    pay = steps("sale_with_bonus_payment")[1]["request"]
    pay["organization"] = frontol.organization
    raw = json.dumps(pay, ensure_ascii=False).encode()
    wrong = await frontol.raw("document", raw, frontol.sign(raw, key="not-the-key"), 401)
    assert wrong == {"code": -1, "error": "Неверная подпись запроса FrontolAuth"}
    altered = raw.replace(b'"amount": 50.0', b'"amount": 52.0')
    assert altered != raw
    assert (await frontol.raw("document", altered, frontol.sign(raw), 401))["code"] == -1
    for header in ({}, {"Authorization": "Bearer x"}, {"Authorization": "FrontolAuth"}):
        assert (await frontol.raw("document", raw, header, 401))["code"] == -1
    assert await balance(deps, frontol.merchant_id, customer_id) == 50000
    held = await deps.db.fetch_value(
        "SELECT COUNT(*) FROM holds WHERE merchant_id = :m", {"m": frontol.merchant_id}
    )
    assert held == 0
    paid = await frontol.raw("document", raw)
    assert paid["code"] == 0
    assert await balance(deps, frontol.merchant_id, customer_id) == 45000
