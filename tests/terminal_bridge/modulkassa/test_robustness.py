"""Bad input gets a 4xx ``{"code", "message"}`` with a Russian message, never a 500:
malformed JSON, wrong types, strings for numbers, missing fields, a correction check."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from .conftest import Till, call, encode
from .helpers import closed, item, loyalty, position

GOOD = loyalty("r-1", position("p1", "10.00", "1"))


def _variants() -> list[tuple[str, bytes, str]]:
    pos = position("p1", "10.00", "1")
    return [
        ("loyalty-request", b"{not json", "loyalty_request_is_invalid"),
        ("loyalty-request", b"", "loyalty_request_is_invalid"),
        ("loyalty-request", b"[]", "loyalty_request_is_invalid"),
        ("loyalty-request", encode({**GOOD, "positions": []}), "loyalty_request_is_invalid"),
        ("loyalty-request", encode({**GOOD, "id": 5}), "loyalty_request_is_invalid"),
        ("loyalty-request", encode({**GOOD, "positions": [{**pos, "price": "10.00"}]}),
         "loyalty_request_is_invalid"),
        ("loyalty-request", encode({**GOOD, "positions": [{**pos, "quantity": 0}]}),
         "loyalty_request_is_invalid"),
        ("loyalty-request", encode({**GOOD, "positions": [{**pos, "measure": "BARREL"}]}),
         "loyalty_request_is_invalid"),
        ("loyalty-request", encode({**GOOD, "positions": [pos, pos]}),
         "loyalty_request_is_invalid"),
        ("loyalty-request", encode({**GOOD, "spendBonuses": -1}), "loyalty_request_is_invalid"),
        ("loyalty-request", encode({**GOOD, "positions": [{**pos, "price": 1e300}]}),
         "loyalty_request_is_invalid"),
        ("events", encode({"event": "CHECK_OPENED", "checkId": "c"}), "event_is_invalid"),
        ("events", encode({**closed("c", [item("x", "1.00", "1")]), "check": None}),
         "event_is_invalid"),
        ("events", encode(closed("c", [item("x", "1.00", "1")], dateTime="вчера")),
         "event_is_invalid"),
        ("events", encode(closed("c", [])), "event_is_invalid"),
        ("sms-code", encode({"customerPhone": 79161234567}), "request_is_invalid"),
        ("sms-code", encode({"unknown": 1}), "request_is_invalid"),
    ]  # fmt: skip


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_bad_input_is_a_4xx_in_our_shape(service: TestClient, till: Till) -> None:
    """Each malformed body is refused 400 with the SDK's code for a bad structure and a
    Russian message; nothing is a 500."""
    for path, raw, code in _variants():
        answer = await call(service, path, None, till.headers, status=400, raw=raw)
        assert answer["code"] == code, (path, raw, answer)
        assert answer["message"].startswith("Некорректная структура запроса"), answer


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_refusals_keep_the_shape(service: TestClient, till: Till) -> None:
    """A correction check (422), an unknown address (404), GET on a POST route (405) and
    a spend without a customer (400) answer ``{"code", "message"}``."""
    correction = closed("c-1", [item("x", "1.00", "1")], doc="SALE_CORRECTION")
    answer = await call(service, "events", correction, till.headers, status=422)
    assert answer["code"] == "modulkassa_doc_type_unsupported"
    spend = {**GOOD, "spendBonuses": 5}
    assert (await call(service, "loyalty-request", spend, till.headers, status=400))["code"] == (
        "customer_required"
    )
    response = await service.post("/modulkassa/v1/nothing", data=b"{}", headers=till.headers)
    assert response.status == 404 and set(await response.json()) == {"code", "message"}
    response = await service.get("/modulkassa/v1/events", headers=till.headers)
    assert response.status == 405 and (await response.json())["code"] == "method_not_allowed"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_the_document_is_public(service: TestClient) -> None:
    """The plugin-facing contract is served without credentials."""
    response = await service.get("/modulkassa/v1/openapi.json")
    document = await response.json()
    assert response.status == 200 and set(document["paths"]) == {
        "/modulkassa/v1/loyalty-request", "/modulkassa/v1/events", "/modulkassa/v1/sms-code",
    }  # fmt: skip
