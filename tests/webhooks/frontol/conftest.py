"""Fixtures of the Frontol contract tests: the service with the Frontol sub-app mounted,
a merchant with a simple program and an issued access key, and a client that signs its
bodies as Frontol does (``FrontolAuth md5(key + body)``)."""

from __future__ import annotations

import copy
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
from cloud.services import customers, frontol_accounts, merchants, programs
from cloud.services.deps import Deps

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "frontol"
ORGANIZATION = "org-demo"
PHONE = "+79161234567"

FIVE_PERCENT = {
    "name": "Скидка 5 % и бонусы 5 %", "kind": "bonus_and_discount",
    "tier_assignment": "registration",
    "tiers": [{"code": "base", "name": "Базовая", "accrual_percent": "5",
               "discount_percent": "5", "max_redeem_percent": "50"}],
}  # fmt: skip


def steps(name: str) -> list[dict[str, Any]]:
    return list(json.loads((FIXTURES / f"{name}.json").read_text()))


@dataclass
class Frontol:
    client: TestClient
    merchant_id: int
    organization: str
    key: str

    def sign(self, raw: bytes, key: str | None = None) -> dict[str, str]:
        digest = frontol_accounts.signature(key or self.key, raw)
        return {"Authorization": f"FrontolAuth {digest}", "Content-Type": "application/json"}

    async def raw(
        self, path: str, raw: bytes, headers: dict[str, str] | None = None, status: int = 200,
        organization: str | None = None,
    ) -> Any:  # fmt: skip
        response = await self.client.post(
            f"/frontol/v1/{organization or self.organization}/{path}", data=raw,
            headers=self.sign(raw) if headers is None else headers,
        )  # fmt: skip
        text = await response.text()
        assert response.status == status, f"{response.status}: {text}"
        return json.loads(text, parse_float=Decimal)

    async def post(self, path: str, body: Any, status: int = 200) -> Any:
        body = copy.deepcopy(body)
        if isinstance(body, dict) and "organization" in body:
            body["organization"] = self.organization
        return await self.raw(path, json.dumps(body, ensure_ascii=False).encode(), status=status)

    async def ok(self, path: str, body: Any) -> Any:
        answer = await self.post(path, body)
        assert answer["code"] == 0, answer
        return answer


async def connect(client: TestClient, deps: Deps, name: str, organization: str) -> Frontol:
    """A merchant with the 5 % program and its Frontol key, under a fixed organization id."""
    now = deps.clock()
    merchant_id = await merchants.create_merchant(deps.db, name, now)
    await programs.publish(deps.db, merchant_id, FIVE_PERCENT, now)
    link = await frontol_accounts.issue_key(deps, merchant_id)
    async with deps.db.transaction() as tx:
        await tx.execute(
            "UPDATE frontol_organizations SET organization = :o WHERE merchant_id = :m",
            {"o": organization, "m": merchant_id},
        )
    assert link.access_key is not None
    return Frontol(client, merchant_id, organization, link.access_key)


@pytest.fixture
async def service(aiohttp_client: Any, deps: Deps) -> TestClient:
    client: TestClient = await aiohttp_client(build_app(deps.settings, deps=deps))
    return client


@pytest.fixture
async def frontol(service: TestClient, deps: Deps) -> Frontol:
    return await connect(service, deps, "Молочная лавка", ORGANIZATION)


async def give_bonuses(
    deps: Deps, merchant_id: int, customer_id: int, kopecks: int, key: str = "welcome"
) -> None:
    now = to_epoch(deps.clock())
    async with deps.db.transaction() as tx:
        await accrue(
            tx, merchant_id=merchant_id, customer_id=customer_id, kind="welcome",
            amount=kopecks, available_from=now, expires_at=None, receipt_id=None,
            key=f"{key}:{customer_id}", now=now,
        )  # fmt: skip


async def balance(deps: Deps, merchant_id: int, customer_id: int) -> int:
    summary = await customers.customer_summary(deps, merchant_id, customer_id)
    return int(summary.available)
