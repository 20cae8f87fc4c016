"""Fixtures of the SIGMA hook tests: the service with the SIGMA sub-app mounted, a
merchant whose store has a SIGMA terminal (its token and its signing secret), the
fixture program, and a customer with a card, plus helpers that speak as the terminal
app would (Bearer or signed)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cloud.clock import to_epoch
from cloud.main import build_app
from cloud.services import customers, merchants, programs
from cloud.services.admin import signing
from cloud.services.deps import Deps
from schemas.customers import Consent, RegisterCustomer
from tests.helpers import sms_code
from webhooks.sigma.auth import sign

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "sigma"
PHONE = "+79161234567"
CARD = "7700123456789"


@dataclass
class SigmaTerminal:
    merchant_id: int
    store_id: int
    terminal_id: int
    token: str
    secret: str
    customer_id: int


async def sigma_tenant(deps: Deps, name: str = "Кофейня «Зерно»") -> SigmaTerminal:
    """A merchant with one store, a SIGMA terminal (token and signing secret), the
    fixture program live and one registered customer with a plastic card."""
    now = deps.clock()
    merchant_id = await merchants.create_merchant(deps.db, name, now)
    store_id = await merchants.create_store(deps.db, merchant_id, "Кофейня на Тверской", now)
    terminal_id = await merchants.create_terminal(
        deps.db, merchant_id, store_id, "SIGMA 1", now, channel="sigma"
    )
    token = await merchants.issue_terminal_token(deps.db, merchant_id, terminal_id, now)
    issued = await signing.issue_secret(deps, merchant_id, terminal_id, now)
    await programs.publish(deps.db, merchant_id, (FIXTURES / "program.json").read_text(), now)
    customer_id = await customers.register_customer(
        deps, merchant_id,
        RegisterCustomer(phone=PHONE, card=CARD, consent=Consent(personal_data=True)),
        store_id=store_id, channel="import", sms_code=None,
    )  # fmt: skip
    return SigmaTerminal(merchant_id, store_id, terminal_id, token, issued.secret, customer_id)


@pytest.fixture
async def sigma(aiohttp_client, deps: Deps) -> TestClient:  # type: ignore[no-untyped-def]
    """The whole service (native API, Evotor and SIGMA sub-apps)."""
    return await aiohttp_client(build_app(deps.settings, deps=deps))


@pytest.fixture
async def till(deps: Deps) -> SigmaTerminal:
    return await sigma_tenant(deps)


def signed(
    terminal: SigmaTerminal, body: bytes, timestamp: int, secret: str | None = None
) -> dict[str, str]:
    """The headers of a signed hook."""
    stamp = str(timestamp)
    return {
        "Content-Type": "application/json",
        "X-Sigma-Terminal": str(terminal.terminal_id),
        "X-Sigma-Timestamp": stamp,
        "X-Sigma-Signature": sign(secret or terminal.secret, stamp, body),
    }


def bearer(terminal: SigmaTerminal) -> dict[str, str]:
    return {"Authorization": f"Bearer {terminal.token}", "Content-Type": "application/json"}


def encode(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


async def hook(
    client: TestClient, body: Any, headers: dict[str, str], status: int = 200,
    raw: bytes | None = None, event: str | None = None,
) -> Any:  # fmt: skip
    """POST one event (its address from the body's event) and check the status."""
    name = event or body["event"]
    response = await client.post(
        f"/sigma/v1/hooks/{name}", data=raw if raw is not None else encode(body), headers=headers
    )
    text = await response.text()
    assert response.status == status, f"{response.status}: {text}"
    return json.loads(text)


async def signed_hook(
    client: TestClient, deps: Deps, terminal: SigmaTerminal, body: Any, status: int = 200
) -> Any:
    raw = encode(body)
    headers = signed(terminal, raw, to_epoch(deps.clock()))
    return await hook(client, body, headers, status, raw=raw)


def exchanges() -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(FIXTURES.glob("[0-9]*.json"))]


def with_code(deps: Deps, body: dict[str, Any], phones: dict[str, str]) -> dict[str, Any]:
    """The body as the till sends it once the customer names the code: a published
    example's ``sms_code`` replaced by the code the log SMS provider last sent to the phone
    of the day's latest ``customer.sms_code`` of that purpose (``phones`` remembers them)."""
    if body["event"] == "customer.sms_code":
        phones[body["purpose"]] = body["phone"]
    if "sms_code" not in body:
        return body
    purpose = "registration" if body["event"] == "customer.register" else "redeem"
    return {**body, "sms_code": sms_code(deps, phones[purpose])}
