"""The published examples (``fixtures/modulkassa/``, the examples of the OpenAPI
document) replayed in order against the service by a Модулькасса terminal: each answer
must be exactly the fixture's. The requests keep the SDK's field names
(``ru.modulkassa.pos:integration-library``: ``LoyaltyRequest``, ``LoyaltyResult``,
``Check``); ``fixtures/modulkassa/README.md`` names the source."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import orjson
from aiohttp.test_utils import TestClient

from terminal_bridge.modulkassa.openapi import FIXTURES, modulkassa_openapi

from .conftest import Till

SDK_REQUEST = {"id", "retailPointId", "userId", "positions"}
SDK_POSITION = {"id", "inventCode", "barcode", "name", "type", "measure", "price", "quantity",
                "modifiers"}  # fmt: skip
SDK_IMPACT = {"id", "positionId", "price", "quantity"}


def _exchanges() -> list[tuple[str, dict[str, Any]]]:
    return [
        (path.name, json.loads(path.read_text(), parse_float=Decimal))
        for path in sorted(FIXTURES.glob("[0-9]*.json"))
    ]


async def test_the_published_day_replays_exactly(service: TestClient, till: Till) -> None:
    """Every example exchange gives exactly the published status and answer when played
    in order (sale with accrual, sale with a bonus spend, return by line, cancel, checks
    never sent to loyalty, an unknown phone, a bad type, a repeated event)."""
    for name, exchange in _exchanges():
        # Amounts as JSON numbers, the way the plugin writes the SDK's BigDecimal.
        raw = _numbers(exchange["request"])
        response = await service.post(
            f"/modulkassa/v1/{exchange['path']}", data=raw, headers=till.headers
        )
        answer = json.loads(await response.text(), parse_float=Decimal)
        assert response.status == exchange["status"], (name, answer)
        assert answer == exchange["response"], name


def _numbers(value: Any) -> bytes:
    def default(item: Any) -> Any:
        if isinstance(item, Decimal):
            return orjson.Fragment(str(item))
        raise TypeError(type(item))

    return orjson.dumps(value, default=default)


def test_the_examples_keep_the_sdk_shapes() -> None:
    """Each loyalty-request example carries the SDK's LoyaltyRequest fields and each
    answer the SDK's LoyaltyResult impacts (unique ids of at most 255 characters, a
    position of the request, a price not below 0, quantities adding up per line)."""
    for name, exchange in _exchanges():
        if exchange["path"] != "loyalty-request" or exchange["status"] != 200:
            continue
        request, answer = exchange["request"], exchange["response"]
        assert SDK_REQUEST <= set(request), name
        quantities = {p["id"]: Decimal(0) for p in request["positions"]}
        for position in request["positions"]:
            assert SDK_POSITION <= set(position), name
        ids = [impact["id"] for impact in answer["impacts"]]
        assert len(set(ids)) == len(ids) and all(len(i) <= 255 for i in ids), name
        for impact in answer["impacts"]:
            assert set(impact) == SDK_IMPACT, name
            assert impact["price"] >= 0, name
            quantities[impact["positionId"]] += impact["quantity"]
        assert quantities == {p["id"]: p["quantity"] for p in request["positions"]}, name
        assert answer["data"] and set(answer) >= {"impacts", "data", "printableData"}, name


def test_every_operation_has_examples() -> None:
    """The document shows at least one request and one answer for each operation."""
    document = modulkassa_openapi()
    for path, item in document["paths"].items():
        content = item["post"]["requestBody"]["content"]["application/json"]
        assert content["examples"], path
        assert item["post"]["responses"]["200"]["content"]["application/json"]["examples"], path
