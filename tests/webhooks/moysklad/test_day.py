"""A МойСклад store's day through the reference's own bodies: search and register a
customer, a quote with a split position, a code-verified spend, the sale, a duplicate of
it, a partial return linked to it; every figure checked, the total as the till makes it."""

from __future__ import annotations

from cloud.services import customers
from cloud.services.deps import Deps
from schemas import moysklad as ms
from schemas.money import to_kopecks
from tests.helpers import sms_code
from tests.webhooks.moysklad import day
from tests.webhooks.moysklad.conftest import (
    MS_AGENT,
    PHONE,
    MoySklad,
    balance,
    example,
    give_bonuses,
    money,
)  # fmt: skip
from webhooks.moysklad.translate import till_total


async def register(moysklad: MoySklad, deps: Deps) -> str:
    """Unknown, refused until confirmed (412/28001), the code, then registered."""
    assert await moysklad.search("8 916 123-45-67") == {"rows": []}
    refused = await moysklad.post("/counterparty", day.registration("UNCHECKED"), 412)
    assert refused["errors"] == [{
        "error": "Необходимо подтверждение создания покупателя.", "code": 28001,
        "error_message": "Покупатель должен подтвердить свои данные через код."}]  # fmt: skip
    sent = await moysklad.post("/counterparty/verify", day.code_request())
    assert sent == {
        "verificationCode": sms_code(deps, PHONE),
        "timeForRepeat": 0,
        "messageForCashier": "Код отправлен покупателю на номер +7916***4567",
    }
    created = await moysklad.post("/counterparty", day.registration("CHECKED"), 201)
    customer_id = await customers.find_customer(deps, moysklad.merchant_id, phone=PHONE)
    assert customer_id is not None
    assert created["id"] == f"6c6f7961-6c74-4000-8000-{customer_id:012x}"
    assert created["msId"] == MS_AGENT and created["phone"] == PHONE
    assert created["name"] == "Иванов Иван Иванович"
    again = await moysklad.post("/counterparty", day.registration("CHECKED"), 201)
    assert again["id"] == created["id"]  # a retried registration registers nobody new
    for text in ("+79161234567", "8 916 123 45 67", created["id"], created["discountCardNumber"]):
        found = await moysklad.search(text)
        assert [row["id"] for row in found["rows"]] == [created["id"]], text
    return str(created["id"])


async def test_a_moysklad_day(moysklad: MoySklad, deps: Deps) -> None:
    """The whole day, each answer as the till reads it, balances as the ledger has them."""
    ours = await register(moysklad, deps)
    customer_id = int(ours[-12:], 16)
    await give_bonuses(deps, moysklad.merchant_id, customer_id, 50000)
    # The reference's detail body names MoySklad's id, paired at registration.
    detail = await moysklad.post(
        "/counterparty/detail", example("counterparty.detail.request.json")
    )
    assert detail == {"bonusProgram": {"agentBonusBalance": money("500.00")}}

    # 3 x 123.45 + 50.00 = 420.35; 5 % off = 21.01; 99 bonuses spent: 300.34 to pay.
    quoted = await moysklad.post("/retaildemand/recalc", day.recalc(99))
    prices = [(p["assortment"]["meta"]["id"][:4], p["quantity"], p["discountedPrice"],
               p["discountPercent"], [s["name"] for s in p.get("sn", [])])
              for p in quoted["positions"]]  # fmt: skip
    assert prices == [
        ("9c56", 2, money("88.21"), money("28.55"), ["789550", "789551"]),
        ("9c56", 1, money("88.20"), money("28.55"), ["789552"]),
        ("1f7f", 1, money("35.72"), money("28.56"), []),
    ]  # the first position split in two, its serial numbers divided
    assert quoted["bonusProgram"] == {
        "transactionType": "SPENDING", "agentBonusBalance": money("500.00"),
        "bonusValueToSpend": money("99.00"), "bonusValueToEarn": money("15.01"),
        "agentBonusBalanceAfter": money("416.01"), "paidByBonusPoints": money("99.00"),
        "receiptExtraInfo": "Уровень: Базовая\nСкидка по карте: 21,01 ₽\n"
                            "Списано бонусов: 99,00\nНачислено бонусов: 15,01",
    }  # fmt: skip
    assert quoted["needVerification"] is True
    assert quoted["agent"]["meta"]["id"] == MS_AGENT
    charged = till_total([ms.PositionOut.model_validate(p) for p in quoted["positions"]])
    assert charged == 42035 - 2101 - 9900 == 30034
    assert await balance(deps, moysklad.merchant_id, customer_id) == 50000  # nothing written

    # The spend without a code is refused; the till asks for one and checks it itself.
    body = day.sale(quoted["positions"], 99, money("15.01"))
    refused = await moysklad.post("/retaildemand", body, 422)
    assert refused["code"] == "sms_code_required"
    verify = example("retaildemand.verify.request.json") | {"counterpartyId": ours}
    sent = await moysklad.post("/retaildemand/verify", verify)
    assert sent["verificationCode"] == sms_code(deps, PHONE)

    assert await moysklad.post("/retaildemand", body, 201) is None
    assert await balance(deps, moysklad.merchant_id, customer_id) == 50000 - 9900 + 1501
    assert await moysklad.post("/retaildemand", body, 201) is None  # the duplicate
    assert await balance(deps, moysklad.merchant_id, customer_id) == 41601
    rows = await deps.db.fetch_all(
        "SELECT kind, amount, discount, redeemed, accrued FROM receipts "
        "WHERE merchant_id = :m ORDER BY id",
        {"m": moysklad.merchant_id},
    )
    assert [tuple(r) for r in rows] == [("sale", 39934, 2101, 9900, 1501)]

    # One unit of the split part comes back, linked by demand.meta: its share of the
    # bonus payment returns, its accrual is taken back.
    back = day.sales_return(quoted["positions"][1])
    assert await moysklad.post("/retailsalesreturn", back, 201) is None
    assert await moysklad.post("/retailsalesreturn", back, 201) is None  # repeated
    rows = await deps.db.fetch_all(
        "SELECT kind, amount, discount, redeemed, accrued FROM receipts "
        "WHERE merchant_id = :m ORDER BY id",
        {"m": moysklad.merchant_id},
    )
    # The unit was charged 88.20 + its share of the 99.00 paid by bonuses (29.08 of the
    # lines' room below full price, 35.25 of 120.01) = 117.28 = 123.45 less 5 %; the
    # engine's spread of the payment gives it 29.07 back, and its accrual was
    # 5 % of 117.28 - 29.07 = 4.41.
    assert [tuple(r) for r in rows] == [
        ("sale", 39934, 2101, 9900, 1501), ("refund", 11728, 0, 2907, -441)]  # fmt: skip
    assert await balance(deps, moysklad.merchant_id, customer_id) == 41601 + 2907 - 441


async def test_the_most_the_recalc_allows_is_spent(moysklad: MoySklad, deps: Deps) -> None:
    """No preferredBonusToSpend: the recalc spends the most the program allows (half of
    399.34 = 199.67), and the sale spending exactly that, code-verified, is accepted."""
    ours = await register(moysklad, deps)
    customer_id = int(ours[-12:], 16)
    await give_bonuses(deps, moysklad.merchant_id, customer_id, 50000)
    quoted = await moysklad.post("/retaildemand/recalc", day.recalc(None))
    assert quoted["bonusProgram"]["bonusValueToSpend"] == money("199.67")
    charged = till_total([ms.PositionOut.model_validate(p) for p in quoted["positions"]])
    assert charged == 42035 - 2101 - 19967
    verify = example("retaildemand.verify.request.json") | {"counterpartyId": ours}
    await moysklad.post("/retaildemand/verify", verify)
    body = day.sale(
        quoted["positions"], money("199.67"), quoted["bonusProgram"]["bonusValueToEarn"]
    )
    assert await moysklad.post("/retaildemand", body, 201) is None
    earned = to_kopecks(quoted["bonusProgram"]["bonusValueToEarn"])
    assert await balance(deps, moysklad.merchant_id, customer_id) == 50000 - 19967 + earned
