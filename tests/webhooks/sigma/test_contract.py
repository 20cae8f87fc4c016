"""The published examples (``fixtures/sigma/``, the examples of the OpenAPI document)
replayed in order against the service: each answer must be exactly the fixture's (the
SMS codes are the ones the customer received; a virtual card's number is drawn at random
and only its form is checked). With ``SIGMA_REGENERATE=1`` the run writes the answers
into the fixtures instead (review the diff before committing it)."""

from __future__ import annotations

import json
import os
import re
from typing import Any

from aiohttp.test_utils import TestClient

from cloud.services.deps import Deps
from tests.webhooks.sigma.conftest import (
    FIXTURES,
    SigmaTerminal,
    bearer,
    exchanges,
    hook,
    with_code,
)
from webhooks.sigma.openapi import sigma_openapi

REGENERATE = os.environ.get("SIGMA_REGENERATE") == "1"


def _charged(quote: dict[str, Any], lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The lines the till closes with: what it charged is the quoted amount after the
    discount (the generator's helper for a fixture written with ``"lines": null``)."""
    after = {line["id"]: line["amount_after_discount"] for line in quote["lines"]}
    return [{**line, "amount": after[line["id"]]} for line in lines]


async def test_the_published_day_replays_exactly(
    sigma: TestClient, deps: Deps, till: SigmaTerminal
) -> None:
    """Every example exchange of the SIGMA contract gives exactly the published answer
    when played in order by a SIGMA terminal with a Bearer token."""
    quotes: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    phones: dict[str, str] = {}
    paths = sorted(FIXTURES.glob("[0-9]*.json"))
    for path, exchange in zip(paths, exchanges(), strict=True):
        request = exchange["request"]
        if REGENERATE and request.get("lines", []) is None:
            quote, lines = quotes[request["receipt_id"]]
            request["lines"] = _charged(quote, lines)
        answer = await hook(sigma, with_code(deps, request, phones), bearer(till))
        if request["event"] in ("customer.lookup", "customer.register") and not REGENERATE:
            assert re.fullmatch(r"2[0-9]{12}", answer["customer"]["card"]), path.name
            answer["customer"]["card"] = exchange["response"]["customer"]["card"]
        if request["event"] in ("receipt.opened", "receipt.changed"):
            quotes[request["receipt_id"]] = (answer, request["lines"])
        if REGENERATE:
            exchange["response"] = answer
            path.write_text(json.dumps(exchange, ensure_ascii=False, indent=2) + "\n")
        else:
            assert answer == exchange["response"], path.name


def test_every_event_has_an_example() -> None:
    """The document shows at least one request and answer for each of its operations."""
    document = sigma_openapi()
    for path, item in document["paths"].items():
        content = item["post"]["requestBody"]["content"]["application/json"]
        assert content["examples"], path
        answer = item["post"]["responses"]["200"]["content"]["application/json"]
        assert answer["examples"], path
