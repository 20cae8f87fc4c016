"""Evotor's own published sample documents (``fixtures/evotor/published``, copied from
``evotor/documentation-api``) replayed as contract tests, and the shapes Evotor's
definitions document beside the 2024 capture: ``document2`` in camelCase, V1 with
``deviceUuid: null``, the simplified receipt of ``POST /api/v2/receipts``, employees
with a numeric ``phone``, V1 discount transactions."""

from __future__ import annotations

import copy
import json
from typing import Any

import json5
import pytest
from aiohttp.test_utils import TestClient
from structlog.testing import capture_logs

from cloud.services.deps import Deps
from tests.webhooks.evotor.conftest import DEVICE, FIXTURES, STORE, call, fixture
from tests.webhooks.evotor.test_documents_and_sync import available, headers, setup

PUBLISHED = FIXTURES / "published"
SAMPLES = sorted(PUBLISHED.glob("[0-9][0-9]-*.json"))
BROKEN = {"08-INVENTORY.json"}
"""Published with a syntax error (``"uuid" : null,,``): not even JSON5."""
SELL_UUID = "175d8ae9-79db-4588-a65a-8f0613e2d0ff"


def sample(name: str) -> Any:
    return json5.loads((PUBLISHED / name).read_text())


def legacy_path(store: str = STORE) -> str:
    return f"/api/v1/inventories/stores/{store}/documents"


def test_every_published_sample_is_here() -> None:
    """All sixteen pos-docs samples, each readable as JSON5 but the one Evotor
    published broken."""
    assert len(SAMPLES) == 16
    for path in SAMPLES:
        if path.name in BROKEN:
            with pytest.raises(ValueError):
                json5.loads(path.read_text())
        else:
            assert isinstance(json5.loads(path.read_text()), dict), path.name


async def test_published_samples_replay(evotor: TestClient, deps: Deps) -> None:
    """The fifteen readable samples as one legacy batch: SELL is recorded (on the cash
    actually paid, 3 548, with the disagreement between its discount transactions and
    its payments logged), PAYBACK returns it, every other type is acknowledged and
    ignored. The answer is 200 and the replay of the batch moves nothing."""
    token, merchant_id, _ = await setup(evotor, deps)
    batch = [sample(p.name) for p in SAMPLES if p.name not in BROKEN]
    with capture_logs() as logs:
        ack = await call(evotor, "PUT", legacy_path(), batch, headers(token))
    statuses = {(r["type"], r["status"]) for r in ack["results"]}
    assert ("SELL", "confirmed") in statuses and ("PAYBACK", "refunded") in statuses
    assert {s for t, s in statuses if t not in ("SELL", "PAYBACK")} == {"ignored"}
    disagree = next(e for e in logs if e["event"] == "evotor_v1_totals_disagree")
    assert disagree["payments"] == "3548.00"
    assert disagree["positions_after_discounts"] == "3489.13"  # 3548 - 37.50 - 21.37
    sale = await deps.db.fetch_one(
        "SELECT amount FROM receipts WHERE merchant_id = :m AND kind = 'sale'",
        {"m": merchant_id},
    )
    assert sale is not None and sale["amount"] == 354800
    again = await call(evotor, "PUT", legacy_path(), batch, headers(token))
    assert [r["status"] for r in again["results"] if r["type"] == "SELL"] == ["duplicate"]


async def test_broken_published_sample_is_a_syntax_error(evotor: TestClient, deps: Deps) -> None:
    """The sample Evotor published with a double comma, sent as is: 400/2001 in Evotor's
    shape, not a 500."""
    token, _, _ = await setup(evotor, deps)
    raw = (PUBLISHED / "08-INVENTORY.json").read_bytes()
    answer = await call(evotor, "PUT", legacy_path(), None, headers(token), status=400, raw=raw)
    assert answer["errors"][0]["code"] == 2001


async def test_v1_through_v2_path_after_legacy_is_a_duplicate(
    evotor: TestClient, deps: Deps
) -> None:
    """The V1 SELL sample (it names no store) through the legacy path, then through the
    V2 path: a duplicate, and the store id learnt from the legacy path stays."""
    token, merchant_id, _ = await setup(evotor, deps)
    document = sample("02-SELL.json")
    first = await call(evotor, "PUT", legacy_path(), [document], headers(token))
    assert first["results"][0]["status"] == "confirmed"
    second = await call(evotor, "PUT", "/api/v2/documents", document, headers(token))
    assert second["results"][0]["status"] == "duplicate"
    store = await deps.db.fetch_value(
        "SELECT store_external_id FROM receipt_sessions WHERE merchant_id = :m "
        "AND channel = 'evotor' AND document_id = :d",
        {"m": merchant_id, "d": SELL_UUID},
    )
    assert store == STORE
    assert await deps.db.fetch_value(
        "SELECT COUNT(*) FROM receipts WHERE merchant_id = :m", {"m": merchant_id}
    ) == 1  # fmt: skip


async def test_v1_through_v2_path_first_then_legacy(evotor: TestClient, deps: Deps) -> None:
    """The other order: through the V2 path (no store known) and then the store's own
    path: a duplicate that fills the store it did not know."""
    token, merchant_id, _ = await setup(evotor, deps)
    document = {**sample("02-SELL.json"), "deviceUuid": DEVICE}
    first = await call(evotor, "PUT", "/api/v2/documents", document, headers(token))
    assert first["results"][0]["status"] == "confirmed"
    second = await call(evotor, "PUT", legacy_path(), [document], headers(token))
    assert second["results"][0]["status"] == "duplicate"
    assert await deps.db.fetch_value(
        "SELECT store_external_id FROM receipt_sessions WHERE merchant_id = :m",
        {"m": merchant_id},
    ) == STORE  # fmt: skip


async def _terminal_of_sale(deps: Deps, merchant_id: int) -> tuple[str | None, list[str]]:
    row = await deps.db.fetch_one(
        "SELECT t.external_id FROM receipts r JOIN terminals t ON t.id = r.terminal_id "
        "WHERE r.merchant_id = :m AND r.kind = 'sale'",
        {"m": merchant_id},
    )
    names = await deps.db.fetch_all(
        "SELECT name FROM receipt_lines WHERE merchant_id = :m ORDER BY position",
        {"m": merchant_id},
    )
    return (None if row is None else row["external_id"]), [r["name"] for r in names]


async def test_document2_in_camel_case(evotor: TestClient, deps: Deps) -> None:
    """``document2`` (camelCase, ``timeZoneOffset`` as a string) lands on the device it
    names with the products' names, and accrues exactly as its snake_case twin (31,95)."""
    token, merchant_id, customer_id = await setup(evotor, deps)
    document = json.loads((PUBLISHED / "document2_sell.json").read_text())
    ack = await call(evotor, "PUT", "/api/v2/documents", document, headers(token))
    assert ack["results"][0]["status"] == "confirmed"
    device, names = await _terminal_of_sale(deps, merchant_id)
    assert device == DEVICE
    assert names == ["Кофе 0,3", "Круассан (свободная цена)"]
    assert await available(deps, merchant_id, customer_id) == 3195
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM terminals") == 2


async def test_v1_without_device_lands_on_its_store(evotor: TestClient, deps: Deps) -> None:
    """V1 ``deviceUuid: null`` through the store's path: the store's device, not a
    phantom terminal shared by every store."""
    token, merchant_id, _ = await setup(evotor, deps)
    document = {**sample("02-SELL.json"), "deviceUuid": None}
    ack = await call(evotor, "PUT", legacy_path(), [document], headers(token))
    assert ack["results"][0]["status"] == "confirmed"
    device, _ = await _terminal_of_sale(deps, merchant_id)
    assert device == DEVICE
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM terminals") == 2
    orphan = {**sample("02-SELL.json"), "uuid": "0a0b0c0d-0000-4000-8000-000000000009",
              "deviceUuid": None}  # fmt: skip
    ack = await call(evotor, "PUT", "/api/v2/documents", orphan, headers(token))
    assert ack["results"][0]["status"] == "rejected"


async def test_simplified_receipt_webhook(evotor: TestClient, deps: Deps) -> None:
    """``POST /api/v2/receipts`` (contract 3.5): the receipt is recorded on its device;
    a line's ``discount`` comes off ``sumPrice`` when that is price x quantity (560 -
    66 = 494), else ``sumPrice`` is the charged total (145). A re-send is a duplicate;
    an information (non-fiscal) receipt is ignored."""
    token, merchant_id, _ = await setup(evotor, deps)
    event = json.loads((PUBLISHED / "receipt_v2.json").read_text())
    ack = await call(evotor, "POST", "/api/v2/receipts", event, headers(token))
    assert ack["results"] == [{"id": event["data"]["id"], "type": "SELL", "status": "confirmed"}]
    amounts = await deps.db.fetch_all(
        "SELECT amount FROM receipt_lines WHERE merchant_id = :m ORDER BY position",
        {"m": merchant_id},
    )
    assert [r["amount"] for r in amounts] == [49400, 14500]
    again = await call(evotor, "POST", "/api/v2/receipts/", [event], headers(token))
    assert again["results"][0]["status"] == "duplicate"
    info = copy.deepcopy(event)
    info["data"].update(id="c3d4e5f6-2222-4222-8222-000000000003", infoCheck=True)
    ignored = await call(evotor, "POST", "/api/v2/receipts", info, headers(token))
    assert ignored["results"][0]["status"] == "ignored"


async def test_employees_with_numeric_phone(evotor: TestClient, deps: Deps) -> None:
    """definitions.yaml types an employee's ``phone`` as a number: the batch is taken."""
    token, _, _ = await setup(evotor, deps)
    employees = fixture("inventories/employees.json")
    employees[0]["phone"] = 79990001122
    second = {**employees[0], "uuid": "20170222-E1E1-4A1B-9C2D-3E4F5A6B7C8E", "phone": None}
    ack = await call(evotor, "PUT", "/api/v1/inventories/employees", [employees[0], second],
                     headers(token))  # fmt: skip
    assert ack == {"created": 2, "updated": 0}


def _v1_with_discounts(
    position_discount: str | None, document_discount: str | None, payment: str
) -> dict[str, Any]:
    document = copy.deepcopy(fixture("documents/sell_v1_array.json")[0])
    document["uuid"] = "1b2c3d4e-5f60-4a7b-8c9d-000000000001"
    kept = []
    for t in document["transactions"]:
        if t["type"] == "PAYMENT":
            continue
        kept.append(t)
        if t["type"] == "REGISTER_POSITION":
            t.update(price=1000, sum=1000, resultSum=1000, resultPrice=1000)
            if position_discount is not None:
                kept.append({"id": "25", "type": "DISCOUNT_POSITION",
                             "discountSum": json.loads(position_discount)})  # fmt: skip
    if document_discount is not None:
        kept.append({"id": "29", "type": "DISCOUNT_DOCUMENT",
                     "discountSum": json.loads(document_discount)})  # fmt: skip
    kept.append({"id": "30", "type": "PAYMENT", "paymentType": "CASH", "sum": json.loads(payment)})
    document["transactions"] = kept
    return document


@pytest.mark.parametrize(
    ("position_discount", "document_discount", "payment", "amount"),
    [
        ("100", None, "900", 90000),  # DISCOUNT_POSITION read
        (None, "150.5", "849.50", 84950),  # DISCOUNT_DOCUMENT spread
        ("100", "50", "850", 85000),  # both
        ("100", None, "950", 95000),  # payments disagree: the payments win
    ],
)
async def test_v1_discount_transactions(
    evotor: TestClient, deps: Deps, position_discount: str | None,
    document_discount: str | None, payment: str, amount: int,
) -> None:  # fmt: skip
    """V1 discount transactions come off the position (its ``resultSum`` still reads
    1 000): the sale is recorded on what was paid after them."""
    token, merchant_id, _ = await setup(evotor, deps)
    document = _v1_with_discounts(position_discount, document_discount, payment)
    ack = await call(evotor, "PUT", legacy_path(), [document], headers(token))
    assert ack["results"][0]["status"] == "confirmed"
    assert await deps.db.fetch_value(
        "SELECT amount FROM receipts WHERE merchant_id = :m", {"m": merchant_id}
    ) == amount  # fmt: skip
