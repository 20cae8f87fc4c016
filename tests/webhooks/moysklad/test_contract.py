"""The published reference's own example bodies (``fixtures/moysklad/``) replayed as they
are: each is accepted, and each answer has the reference's shape."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from cloud.services import customers, gift_certificates
from cloud.services.deps import Deps
from schemas import moysklad as ms
from schemas.gift_certificates import GiftCertificateIssue
from tests.webhooks.moysklad.conftest import (
    FIXTURES,
    MS_AGENT,
    STORE,
    MoySklad,
    example,
    give_bonuses,
)  # fmt: skip
from webhooks.moysklad.openapi import moysklad_openapi
from webhooks.moysklad.translate import till_total


async def test_the_recalc_example_is_priced_as_the_till_charges(moysklad: MoySklad) -> None:
    """123.456 units at 123.45 for an unknown customer: 5 % off as one unit price the till
    multiplies back to the quote's total; the answer echoes the agent, the serial number
    and the pack; the example's agent is nobody we know (its phone is a placeholder), so
    the bonus block has no balance and nothing to earn."""
    body = example("retaildemand.recalc.request.json")
    answer = await moysklad.post("/retaildemand/recalc", body)
    assert set(answer) == {"agent", "positions", "bonusProgram", "needVerification"}
    assert answer["agent"] == body["agent"]
    [position] = answer["positions"]
    assert position["sn"] == body["positions"][0]["sn"]
    assert position["pack"] == body["positions"][0]["pack"]
    assert (position["quantity"], position["price"]) == (Decimal("123.456"), Decimal("123.45"))
    # 123.45 x 123.456 = 15240.64; 5 % = 762.03, fitted to a unit price the till
    # reproduces: 117.28 x 123.456 = 14478.92, 761.72 off.
    assert (position["discountedPrice"], position["discountPercent"]) == (
        Decimal("117.28"), Decimal("5.00"))  # fmt: skip
    assert till_total([ms.PositionOut.model_validate(position)]) == 1447892
    assert answer["bonusProgram"] == {
        "transactionType": "EARNING", "bonusValueToSpend": 0, "bonusValueToEarn": 0,
        "paidByBonusPoints": 0, "receiptExtraInfo": "Скидка по карте: 761,72 ₽"}  # fmt: skip
    assert answer["needVerification"] is False


async def test_counterparty_examples(moysklad: MoySklad, deps: Deps) -> None:
    """Search by the reference's example string, the detail of its counterparty (our
    customer paired with MoySklad's id), and the registration example: 412/28001 when the
    phone was never confirmed, as the reference's own error example says."""
    customer_id = await customers.register_customer(
        deps, moysklad.merchant_id,
        customers.RegisterCustomer.model_validate(
            {"phone": "+79039993344", "consent": {"personal_data": True}}),
        store_id=None, channel="import", sms_code=None,
    )  # fmt: skip
    await give_bonuses(deps, moysklad.merchant_id, customer_id, 12345)
    found = await moysklad.call("GET", f"/counterparty?search=9039993344&retailStoreId={STORE}")
    [row] = found["rows"]
    assert row["phone"] == "+79039993344" and row["name"] == "+79039993344"
    detail = example("counterparty.detail.request.json")
    detail["meta"]["id"] = row["id"]  # the till sends back the id we gave it
    answer = await moysklad.post("/counterparty/detail", detail)
    assert answer == {"bonusProgram": {"agentBonusBalance": Decimal("123.45")}}
    refused = await moysklad.post("/counterparty", example("counterparty.create.request.json"), 400)
    assert refused["code"] == "invalid_phone"  # "+7 555 123 4568" is no Russian number
    body = example("counterparty.create.request.json") | {"phone": "+79039993355"}
    body.pop("discountCardNumber")
    refused = await moysklad.post("/counterparty", body, 412)
    expected = example("counterparty.create.verification_required.json")["errors"][0]
    assert refused["errors"][0]["code"] == expected["code"] == 28001
    assert refused["errors"][0]["error"] == expected["error"]
    assert refused["errors"][0]["error_message"] == expected["error_message"]
    assert MS_AGENT == body["meta"]["id"]


async def test_sale_and_return_examples(moysklad: MoySklad, deps: Deps) -> None:
    """The sale example (empty meta: identified by its number in its store, a customer we
    do not know, two gift cards paying 10 and 5 roubles) is recorded once and takes the
    cards' money once; a card nobody issued refuses the sale; the return example names
    no sale (empty demand.meta) and is accepted with nothing to reverse."""
    sale = example("retaildemand.request.json")
    unknown = await moysklad.post("/retaildemand", sale, 404)
    assert unknown["code"] == "gift_certificate_not_found"
    for card in sale["giftCards"]:
        issued = GiftCertificateIssue(
            numbers=[card["name"]], nominal=Decimal(100), valid_until=date(2027, 11, 20)
        )
        await gift_certificates.issue(deps, moysklad.merchant_id, ZoneInfo("UTC"), issued)
    assert await moysklad.post("/retaildemand", sale, 201) is None
    assert await moysklad.post("/retaildemand", sale, 201) is None
    left = await deps.db.fetch_all(
        "SELECT number, remaining FROM gift_certificates WHERE merchant_id = :m ORDER BY number",
        {"m": moysklad.merchant_id},
    )
    assert [tuple(r) for r in left] == [("123456", 9_000), ("1234567", 9_500)]
    rows = await deps.db.fetch_all(
        "SELECT external_id, customer_id, redeemed FROM receipts WHERE merchant_id = :m",
        {"m": moysklad.merchant_id},
    )
    assert [tuple(r) for r in rows] == [(f"{STORE}:00001", None, 0)]
    assert await moysklad.post("/retailsalesreturn", example("retailsalesreturn.request.json"),
                               201) is None  # fmt: skip
    count = await deps.db.fetch_value(
        "SELECT COUNT(*) FROM receipts WHERE merchant_id = :m", {"m": moysklad.merchant_id}
    )
    assert count == 1


def test_the_document_carries_the_reference_examples() -> None:
    """Each operation of the OpenAPI document shows the reference's example body."""
    document = moysklad_openapi()
    recalc = document["paths"]["/moysklad/v1/retaildemand/recalc"]["post"]
    body = recalc["requestBody"]["content"]["application/json"]["example"]
    assert body == json.loads((FIXTURES / "retaildemand.recalc.request.json").read_text())
    assert set(document["paths"]) == {
        "/moysklad/v1/counterparty", "/moysklad/v1/counterparty/detail",
        "/moysklad/v1/counterparty/verify", "/moysklad/v1/retaildemand/recalc",
        "/moysklad/v1/retaildemand/verify", "/moysklad/v1/retaildemand",
        "/moysklad/v1/retailsalesreturn", "/moysklad/v1/giftcard",
    }  # fmt: skip
