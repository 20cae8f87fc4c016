"""``/client`` and ``/extra/client`` beyond the day: the SMS code to spend bonuses when
the program asks for it, a card bound to a known customer, refusals of the questionnaire;
and the session filling what a confirm leaves out (no ``payments``, no ``client``)."""

from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo

from cloud.services import customers, customers_admin, programs
from cloud.services.deps import Deps
from cloud.services.merchants import MerchantContext
from schemas.customer_admin import AdjustmentRequest
from tests.helpers import sms_code
from tests.webhooks.frontol.conftest import FIVE_PERCENT, PHONE, Frontol, balance, steps
from tests.webhooks.frontol.test_tenancy import _customer


async def test_bonus_payment_with_the_customer_s_sms_code(frontol: Frontol, deps: Deps) -> None:
    """Under ``redeem_requires_sms_code`` /client sends the code and tells the cashier;
    payByBonus without it or with a wrong one is refused, with it the hold is made."""
    program = {**FIVE_PERCENT, "redeem_requires_sms_code": True}
    await programs.publish(deps.db, frontol.merchant_id, program, deps.clock())
    customer_id = await _customer(deps, frontol.merchant_id)
    looked = await frontol.ok("client", steps("registration")[3]["request"])
    assert looked["cashierInformation"][-1]["text"] == (
        "Код из SMS отправлен на +7916***4567: попросите клиента назвать его"
    )
    code = sms_code(deps, PHONE)
    pay = steps("sale_with_bonus_payment")[1]["request"]
    refused = await frontol.post("document", pay)
    assert refused["code"] == -1 and "код" in refused["error"].lower()
    wrong = "000000" if code != "000000" else "111111"
    pay["client"]["validationCode"] = wrong
    assert (await frontol.post("document", pay))["code"] == -1
    pay["client"]["validationCode"] = code
    paid = await frontol.ok("document", pay)
    assert sum(p["paidAmount"] for p in paid["document"]["positions"]) == 50
    assert await balance(deps, frontol.merchant_id, customer_id) == 45000


async def test_confirm_takes_the_customer_and_the_hold_from_the_session(
    frontol: Frontol, deps: Deps
) -> None:
    """A confirm with no ``client`` and no ``payments`` after a payByBonus commits the
    held bonuses for the customer the earlier calls named."""
    customer_id = await _customer(deps, frontol.merchant_id)
    _, pay, _, _, confirm = steps("sale_with_bonus_payment")
    await frontol.ok("document", pay["request"])
    bare = confirm["request"]
    del bare["client"], bare["payments"]
    closed = await frontol.ok("document", bare)
    assert {"text": "Оплата бонусами: 50,00"} in closed["cashierInformation"]
    assert await balance(deps, frontol.merchant_id, customer_id) == 45000
    sale = await deps.db.fetch_value(
        "SELECT customer_id FROM receipts WHERE merchant_id = :m AND kind = 'sale'",
        {"m": frontol.merchant_id},
    )
    assert sale == customer_id


async def test_questionnaire_binds_a_card_and_refuses_what_it_must(
    frontol: Frontol, deps: Deps
) -> None:
    """A known phone without a card is refused at check; with a card it is bound at
    execute (no second customer); a registration without consent or with a wrong code
    is refused with the service's Russian message."""
    _, check, execute, _ = steps("registration")
    customer_id = await _customer(deps, frontol.merchant_id)
    known = await frontol.post("extra/client", check["request"])
    assert known == {"code": -1, "error": "Клиент с этим телефоном уже зарегистрирован"}
    with_card = check["request"]
    with_card["values"][2]["value"] = "7000123456789"
    answer = await frontol.ok("extra/client", with_card)
    assert answer["cashierInformation"] == [
        {"text": "Клиент уже зарегистрирован: карта будет привязана"}]  # fmt: skip
    bind = {**execute["request"], "values": with_card["values"]}
    bound = await frontol.ok("extra/client", bind)
    assert bound["cashierInformation"][-1] == {"text": "Привязана карта: 7000123456789"}
    assert (
        await customers.find_customer(deps, frontol.merchant_id, card="7000123456789")
        == customer_id
    )

    other = "+79031112233"
    values = [{"name": "mobilePhone", "value": other}, {"name": "consentPersonalData",
                                                        "value": "no"}]  # fmt: skip
    body = {**check["request"], "client": {}, "values": values}
    await frontol.ok("extra/client", body)
    no_consent = await frontol.post(
        "extra/client",
        {**body, "action": "execute", "client": {"validationCode": sms_code(deps, other)}},
    )
    assert no_consent["code"] == -1 and "соглас" in no_consent["error"].lower()
    values[1]["value"] = "yes"
    wrong = await frontol.post(
        "extra/client", {**body, "action": "execute", "client": {"validationCode": "00000"}}
    )
    assert wrong["code"] == -1
    assert await customers.find_customer(deps, frontol.merchant_id, phone=other) is None


async def test_a_confirm_whose_hold_lapsed_and_was_spent_is_still_recorded(
    frontol: Frontol, deps: Deps
) -> None:
    """Frontol sends ``confirm`` for a printed receipt: when the payByBonus hold lapsed
    and the customer spent the bonuses meanwhile, the sale is recorded with the bonuses
    that can still be debited (none), answered ``code`` 0, and the session keeps what
    was left unsettled; the confirm sent again answers the same and records nothing more."""
    customer_id = await _customer(deps, frontol.merchant_id)
    _, pay, _, _, confirm = steps("sale_with_bonus_payment")
    await frontol.ok("document", pay["request"])
    deps.clock.advance(seconds=deps.settings.hold_ttl_seconds + 60)  # type: ignore[attr-defined]
    staff = MerchantContext(frontol.merchant_id, ZoneInfo("Europe/Moscow"), label="Офис")
    spent = AdjustmentRequest(kind="debit", amount=Decimal(500), reason="Потрачено в другом месте")
    await customers_admin.adjust(deps, staff, customer_id, spent, "spent-elsewhere")
    closed = await frontol.ok("document", confirm["request"])
    assert not any("Оплата бонусами" in line["text"] for line in closed["cashierInformation"])
    assert await frontol.ok("document", confirm["request"]) == closed
    row = await deps.db.fetch_one(
        "SELECT state, unsettled, unsettled_reason FROM receipt_sessions WHERE merchant_id = :m "
        "AND channel = 'frontol'",
        {"m": frontol.merchant_id},
    )
    # The printed receipt says 40.00 paid by bonuses (its payments), none of it debitable.
    assert row is not None and (row["state"], int(row["unsettled"])) == ("unsettled", 4000)
    assert row["unsettled_reason"] == "hold_expired"
    assert await balance(deps, frontol.merchant_id, customer_id) == 0
    sales = await deps.db.fetch_value(
        "SELECT COUNT(*) FROM receipts WHERE merchant_id = :m AND kind = 'sale'",
        {"m": frontol.merchant_id},
    )
    assert sales == 1
