"""The contract's shapes (``fixtures/frontol``) replayed as Frontol sends them, and the
readings the public sources disagree on: braced upper-case uids, amounts as numbers or
strings, ``client`` as ``{}``, ``[]`` or absent, paths with and without a trailing slash,
malformed JSON and unknown actions answered in Frontol's shape, never a 500."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cloud.services import customers
from cloud.services.deps import Deps
from schemas import frontol as fr
from tests.helpers import sms_code
from tests.webhooks.frontol.conftest import FIXTURES, PHONE, Frontol, give_bonuses, steps
from webhooks.frontol.openapi import frontol_openapi

ANSWER_KEYS = {"code", "error", "client", "document", "form", "cashierInformation",
               "printingInformation"}  # fmt: skip
MODELS = {"document": fr.DocumentRequest, "client": fr.ClientRequest,
          "extra/client": fr.ExtraClientRequest}  # fmt: skip


def _shape(answer: Any) -> None:
    """Frontol's answer: ``code`` always, known keys only, info blocks as lists."""
    assert isinstance(answer["code"], int) and set(answer) <= ANSWER_KEYS, answer
    for line in answer.get("cashierInformation", []):
        assert set(line) <= {"text", "alignment", "weight"} and line["text"]
    for slip in answer.get("printingInformation", []):
        assert isinstance(slip, list)
        assert all(block["type"] in ("text", "pair", "line", "br") for block in slip)
    if answer["code"] != 0:
        assert set(answer) == {"code", "error"} and answer["error"]


def test_every_fixture_fits_the_models_and_the_document() -> None:
    """Each fixture request validates against what we accept, and is an example in the
    OpenAPI document."""
    document = frontol_openapi()
    examples = 0
    for file in sorted(FIXTURES.glob("*.json")):
        for step in json.loads(file.read_text(), parse_float=Decimal):
            MODELS[step["path"]].model_validate(step["request"])
            examples += 1
    listed = sum(
        len(item["post"]["requestBody"]["content"]["application/json"]["examples"])
        for item in document["paths"].values()
    )
    assert examples == listed == 11


async def test_fixtures_replay_in_order(frontol: Frontol, deps: Deps) -> None:
    """Registration, the sale with its bonus payment and cancel, the sale without a card
    and the refund by line, replayed from the files: every answer code 0 in shape."""
    for name in ("registration", "sale_with_bonus_payment", "sale_without_card",
                 "refund_by_line"):  # fmt: skip
        for step in steps(name):
            body = step["request"]
            if body.get("action") == "execute":
                body["client"]["validationCode"] = sms_code(deps, PHONE)
            answer = await frontol.post(step["path"], body)
            _shape(answer)
            assert answer["code"] == 0, (name, answer)
        if name == "registration":
            customer_id = await customers.find_customer(deps, frontol.merchant_id, phone=PHONE)
            assert customer_id is not None
            await give_bonuses(deps, frontol.merchant_id, customer_id, 50000)


async def test_trailing_slash_and_the_published_document(
    frontol: Frontol, service: TestClient
) -> None:
    """Both address forms answer alike; the document is public."""
    raw = json.dumps(steps("registration")[0]["request"]).replace("org-demo", frontol.organization)
    for suffix in ("extra/client", "extra/client/"):
        assert (await frontol.raw(suffix, raw.encode()))["form"]
    response = await service.get("/frontol/v1/openapi.json")
    assert response.status == 200
    assert set((await response.json())["paths"]) == {
        "/frontol/v1/{organization}/document", "/frontol/v1/{organization}/client",
        "/frontol/v1/{organization}/extra/client"}  # fmt: skip


def _calculate(**changes: Any) -> dict[str, Any]:
    body = steps("sale_with_bonus_payment")[0]["request"]
    body.update(changes)
    return body


async def test_uid_braces_and_case_are_one_receipt(frontol: Frontol, deps: Deps) -> None:
    """A confirm under ``{UPPER}`` and a retry under the plain lower-case uid are one sale."""
    body = steps("sale_without_card")[0]["request"]
    first = await frontol.ok("document", {**body, "uid": "{9D2E4F10-1111-4A2B-8C3D-5E6F7A8B9C0D}"})
    again = await frontol.ok("document", body)
    assert first == again
    count = await deps.db.fetch_value(
        "SELECT COUNT(*) FROM receipts WHERE merchant_id = :m", {"m": frontol.merchant_id}
    )
    assert count == 1


async def test_amounts_as_numbers_or_strings_alike(frontol: Frontol) -> None:
    """``89.90`` and ``"89.90"`` are one price; a third decimal place in money, a float
    text like ``"1e3"`` or a boolean are refused in Frontol's shape."""
    body = _calculate(client={})
    as_numbers = await frontol.ok("document", body)
    text = json.loads(json.dumps(body))
    for position in text["positions"]:
        for key in ("price", "minimumPrice", "quantity", "totalAmount"):
            position[key] = str(Decimal(str(position[key])))
    assert await frontol.ok("document", text) == as_numbers
    for bad in ("89.901", "1e3", True, "", " ", "NaN"):
        wrong = json.loads(json.dumps(body))
        wrong["positions"][0]["price"] = bad
        answer = await frontol.post("document", wrong)
        _shape(answer)
        assert answer["code"] == -1 and "positions.0.price" in answer["error"], answer


@pytest.mark.parametrize("client", [{}, [], None])
async def test_client_empty_list_or_absent_is_no_customer(frontol: Frontol, client: Any) -> None:
    """``{}``, ``[]`` and no ``client`` price the receipt without a customer."""
    body = _calculate(client=client)
    if client is None:
        del body["client"]
    answer = await frontol.ok("document", body)
    assert "client" not in answer
    assert answer["document"]["positions"][0]["index"] == 1


async def test_unknown_customer_is_a_soft_not_found(frontol: Frontol) -> None:
    """An unknown phone on calculate or /client is code 0 and «Клиент не найден»."""
    body = _calculate(client={"mobilePhone": "+79990000000"})
    quoted = await frontol.ok("document", body)
    assert quoted["cashierInformation"][0] == {"text": "Клиент не найден"}
    looked = await frontol.ok("client", {**body, "client": {"card": "0000000000"}})
    assert looked == {"code": 0, "client": {}, "cashierInformation": [{"text": "Клиент не найден"}]}


async def test_malformed_and_unsupported_requests_answer_in_shape(frontol: Frontol) -> None:
    """Broken JSON, a list, a missing workPlace, an unknown action, a calculate of a
    refund, a bonus payment of a fiscal mode and a foreign organization in the body: 200
    with code -1 and a Russian error."""
    calculate = _calculate()
    cases: list[bytes] = [b"{", b"[]", b"", b'{"action": 1}']
    for changes in ({"action": "void"}, {"type": "refundReceipt"}, {"positions": []},
                    {"organization": "someone-else"}):  # fmt: skip
        cases.append(json.dumps({**calculate, **changes}).encode())
    missing = dict(calculate)
    del missing["workPlace"]
    cases.append(json.dumps(missing).encode())
    pay = steps("sale_with_bonus_payment")[1]["request"]
    pay["payment"]["mode"] = "fiscal"
    cases.append(json.dumps(pay).encode())
    cases.append(json.dumps({**pay, "payment": None}).encode())
    for raw in cases:
        raw = raw.replace(b"org-demo", frontol.organization.encode())
        answer = await frontol.raw("document", raw)
        _shape(answer)
        assert answer["code"] == -1 and any("а" <= c <= "я" for c in answer["error"]), raw


async def test_unknown_address_and_method(frontol: Frontol, service: TestClient) -> None:
    """An address outside the three is 404 and GET is 405, both in Frontol's shape."""
    raw = b"{}"
    assert (await frontol.raw("receipts", raw, status=404))["code"] == -1
    response = await service.get(f"/frontol/v1/{frontol.organization}/document")
    assert response.status == 405 and (await response.json())["code"] == -1
