"""Bad input is a 4xx in the reference's error shape with our code and a Russian
message, never a 500: malformed JSON, wrong types, missing ids, no or a wrong token,
unknown addresses and methods."""

from __future__ import annotations

from typing import Any

import pytest

from cloud.services.deps import Deps
from tests.webhooks.moysklad import day
from tests.webhooks.moysklad.conftest import STORE, MoySklad, example


def _shape(answer: Any, code: str) -> None:
    assert set(answer) == {"errors", "code", "message"}, answer
    assert answer["code"] == code
    [error] = answer["errors"]
    assert error["code"] == 999 and error["error_message"] == answer["message"]
    assert any("а" <= ch <= "я" for ch in answer["message"].lower())


@pytest.mark.parametrize(
    ("raw", "code"),
    [(b"", "malformed_json"), (b"{", "malformed_json"), (b"[]", "malformed_json"),
     (b'{"positions": NaN}', "malformed_json"), (b"null", "malformed_json")],
)  # fmt: skip
async def test_malformed_bodies(moysklad: MoySklad, raw: bytes, code: str) -> None:
    """Bodies that are not a JSON object: 400 with the code saying so."""
    for path in ("/retaildemand/recalc", "/retaildemand", "/counterparty/detail"):
        _shape(await moysklad.post(path, None, 400, raw=raw), code)


def _recalc_with(**changes: Any) -> Any:
    body = example("retaildemand.recalc.request.json")
    body["positions"][0].update(changes)
    return body


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        (_recalc_with(quantity="abc"), "positions.0.quantity"),
        (_recalc_with(quantity=0), "positions.0.quantity"),
        (_recalc_with(price=-1), "positions.0.price"),
        (_recalc_with(price="1.001"), "positions.0.price"),
        (_recalc_with(price=True), "positions.0.price"),
        (_recalc_with(assortment={"meta": {"href": "", "id": ""}}), "positions.0.assortment"),
        (example("retaildemand.recalc.request.json") | {"positions": []}, "positions"),
        (example("retaildemand.recalc.request.json") | {"retailStore": {"meta": {}}},
         "retailStore"),
        (example("retaildemand.recalc.request.json") | {"preferredBonusToSpend": "много"},
         "preferredBonusToSpend"),
        (example("retaildemand.recalc.request.json")
         | {"bonusProgram": {"transactionType": "BURN"}}, "bonusProgram.transactionType"),
    ],
)  # fmt: skip
async def test_wrong_types(moysklad: MoySklad, body: Any, parameter: str) -> None:
    """A field of the wrong type or out of range: 400 validation_error naming it."""
    answer = await moysklad.post("/retaildemand/recalc", body, 400)
    _shape(answer, "validation_error")
    assert answer["errors"][0]["parameter"].startswith(parameter)


async def test_tokens(moysklad: MoySklad) -> None:
    """No token or an unknown one: 401 before the body is even read as JSON."""
    body = example("retaildemand.recalc.request.json")
    _shape(await moysklad.post("/retaildemand/recalc", body, 401, token=""),
           "moysklad_missing_token")  # fmt: skip
    _shape(await moysklad.post("/retaildemand/recalc", body, 401, token="ms_nobody"),
           "moysklad_bad_token")  # fmt: skip
    _shape(await moysklad.post("/retaildemand/recalc", None, 401, token="", raw=b"{"),
           "moysklad_missing_token")  # fmt: skip
    _shape(await moysklad.search("79161234567", 401, token="ms_nobody"), "moysklad_bad_token")


async def test_addresses_and_required_values(moysklad: MoySklad, deps: Deps) -> None:
    """Unknown paths and methods, a search with no store, a sale with neither id nor
    number, a code for a phone-less registration, a spending code for nobody."""
    _shape(await moysklad.call("POST", "/gift-card", {}, status=404), "not_found")
    _shape(await moysklad.call("POST", "/giftcard", {}, status=405), "method_not_allowed")
    _shape(await moysklad.call("GET", f"/giftcard?retailStoreId={STORE}", status=400),
           "moysklad_giftcard_required")  # fmt: skip
    _shape(await moysklad.call("GET", "/retaildemand", status=405), "method_not_allowed")
    _shape(await moysklad.call("GET", "/counterparty?search=1", status=400),
           "moysklad_store_required")  # fmt: skip
    _shape(await moysklad.call("GET", f"/counterparty?search=&retailStoreId={STORE}",
                               status=400), "moysklad_search_required")  # fmt: skip
    sale = example("retaildemand.request.json") | {"name": ""}
    _shape(await moysklad.post("/retaildemand", sale, 400), "moysklad_document_id_required")
    no_phone = example("counterparty.verify.request.json")
    del no_phone["phone"]
    _shape(await moysklad.post("/counterparty/verify", no_phone, 400), "moysklad_phone_required")
    _shape(await moysklad.post("/counterparty/verify", day.code_request("12345"), 400),
           "invalid_phone")  # fmt: skip
    _shape(await moysklad.post("/retaildemand/verify", example("retaildemand.verify.request.json"),
                               404), "customer_not_found")  # fmt: skip
    too_much = day.recalc(10**6)
    answer = await moysklad.post("/retaildemand/recalc", too_much)
    assert answer["bonusProgram"]["paidByBonusPoints"] == 0  # nobody known: nothing spent
