"""Fixtures of the МойСклад tests: the service with every adapter mounted, a merchant
with a 5 % discount / 5 % accrual program that asks the customer's code before spending,
an installation token, and a client that sends ``Lognex-Discount-API-Auth-Token``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cloud.clock import to_epoch
from cloud.ledger.lots import accrue
from cloud.main import build_app
from cloud.services import customers, merchants, moysklad_accounts, programs
from cloud.services.deps import Deps

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "moysklad"
STORE = "2b5eb22f-139e-11e6-9464-e4de00000073"
"""The reference's retailStore id."""
MS_AGENT = "276a6f50-7ffd-11e6-8a84-bae50000005"
"""The reference's counterparty id (MoySklad's)."""
PHONE = "+79161234567"

PROGRAM = {
    "name": "Скидка 5 % и бонусы 5 %", "kind": "bonus_and_discount",
    "tier_assignment": "registration", "redeem_requires_sms_code": True,
    "tiers": [{"code": "base", "name": "Базовая", "accrual_percent": "5",
               "discount_percent": "5", "max_redeem_percent": "50"}],
}  # fmt: skip


def example(name: str) -> Any:
    """A body of the published reference (``fixtures/moysklad/``), fresh each call."""
    return json.loads((FIXTURES / name).read_text(), parse_float=Decimal)


def money(value: Any) -> Decimal:
    return Decimal(str(value))


@dataclass
class MoySklad:
    client: TestClient
    merchant_id: int
    token: str

    async def call(
        self, method: str, path: str, body: Any = None, *, status: int = 200,
        token: str | None = None, raw: bytes | None = None,
    ) -> Any:  # fmt: skip
        headers = {"Content-Type": "application/json"}
        if token != "":
            headers[moysklad_accounts.HEADER] = token or self.token
        data = raw
        if data is None and body is not None:
            data = json.dumps(body, ensure_ascii=False, default=str).encode()
        response = await self.client.request(
            method, "/moysklad/v1" + path, data=data, headers=headers
        )
        text = await response.text()
        assert response.status == status, f"{response.status}: {text}"
        return json.loads(text, parse_float=Decimal) if text else None

    async def post(self, path: str, body: Any, status: int = 200, **kw: Any) -> Any:
        return await self.call("POST", path, body, status=status, **kw)

    async def search(self, text: str, status: int = 200, **kw: Any) -> Any:
        query = f"/counterparty?search={text.replace('+', '%2B')}&retailStoreId={STORE}"
        return await self.call("GET", query, status=status, **kw)


async def connect(client: TestClient, deps: Deps, name: str) -> MoySklad:
    now = deps.clock()
    merchant_id = await merchants.create_merchant(deps.db, name, now)
    await programs.publish(deps.db, merchant_id, PROGRAM, now)
    issued = await moysklad_accounts.issue(deps, merchant_id, "Основной аккаунт")
    assert issued.token is not None
    return MoySklad(client, merchant_id, issued.token)


@pytest.fixture
async def service(aiohttp_client: Any, deps: Deps) -> TestClient:
    client: TestClient = await aiohttp_client(build_app(deps.settings, deps=deps))
    return client


@pytest.fixture
async def moysklad(service: TestClient, deps: Deps) -> MoySklad:
    return await connect(service, deps, "Магазин у дома")


async def give_bonuses(deps: Deps, merchant_id: int, customer_id: int, kopecks: int) -> None:
    now = to_epoch(deps.clock())
    async with deps.db.transaction() as tx:
        await accrue(
            tx, merchant_id=merchant_id, customer_id=customer_id, kind="welcome",
            amount=kopecks, available_from=now, expires_at=None, receipt_id=None,
            key=f"welcome:{customer_id}", now=now,
        )  # fmt: skip


async def balance(deps: Deps, merchant_id: int, customer_id: int) -> int:
    summary = await customers.customer_summary(deps, merchant_id, customer_id)
    return int(summary.available)
