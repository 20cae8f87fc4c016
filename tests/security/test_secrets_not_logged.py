"""No secret a caller sends reaches the logs (docs/security.md, «Logs»).

One pass over every door that takes a credential, with right and wrong values alike,
while structlog's events and every standard-library log record are captured; then no
secret string may appear in what was captured. The database does not matter here: the
test runs on SQLite only."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from structlog.testing import capture_logs

from cloud.cabinet import accounts
from cloud.main import build_app
from cloud.services import frontol_accounts, merchants, programs
from cloud.services.deps import Deps
from cloud.settings import Settings
from tests.cabinet.conftest import cheap_argon2 as cheap_argon2
from tests.cabinet.conftest import csrf_of
from tests.conftest import Tenant
from tests.helpers import sms_code
from tests.webhooks.frontol.conftest import FIVE_PERCENT, steps

PHONE = "+79169876543"
OPERATOR = "operator-token-for-the-log-test-0123456789"
EVOTOR_APP = "evotor-app-token-for-the-log-test-0123456789"
PASSWORD = "cabinet password for the log test"
WRONG = "wrong-secret-that-must-not-be-logged-0123456789"


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url, env="test", load_demo=False, operator_token=OPERATOR,
        evotor_app_token=EVOTOR_APP, evotor_app_id="7c6c4a4e-2b7f-4d0b-8c43-1f6f5a1c9e21",
        scheduler_in_serve=False,
    )  # fmt: skip


def _basic(login: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()}


async def _ok(response: Any, status: int = 200) -> Any:
    text = await response.text()
    assert response.status == status, f"{response.status}: {text[:300]}"
    return text


async def _native(service: TestClient, deps: Deps, tenant: Tenant) -> list[str]:
    bearer = {"Authorization": f"Bearer {tenant.token}"}
    await _ok(await service.post("/api/v1/sms-codes", headers=bearer,
                                 json={"phone": PHONE, "purpose": "registration"}))  # fmt: skip
    code = sms_code(deps, PHONE)
    body = {"phone": PHONE, "sms_code": code, "consent": {"personal_data": True}}
    await _ok(await service.post("/api/v1/customers", headers=bearer, json=body), 201)
    await _ok(await service.get("/api/v1/customers/lookup", headers=bearer,
                                params={"phone": PHONE}))  # fmt: skip
    line = {"id": "1", "name": "Жидкость", "price": 500.0, "quantity": 1}
    receipt = {"id": "S-1", "customer": {"phone": PHONE}, "lines": [line]}
    await _ok(await service.post("/api/v1/checkout/calculate", headers=bearer,
                                 json={"receipt": receipt}))  # fmt: skip
    # 1C's Basic form, with the token as the password.
    await _ok(await service.post("/api/v1/checkout/confirm", headers=_basic("Кассир", tenant.token),
                                 json={"receipt": receipt, "redeemed": 0}))  # fmt: skip
    await _ok(await service.get("/api/v1/customers/lookup", params={"phone": PHONE},
                                headers={"Authorization": f"Bearer {WRONG}"}), 401)  # fmt: skip
    return [tenant.token, code]


async def _merchant_and_operator(service: TestClient, deps: Deps, tenant: Tenant) -> list[str]:
    key = await merchants.issue_merchant_key(deps.db, tenant.merchant_id, deps.clock())
    await _ok(await service.get("/api/v1/merchant/customers", params={"phone": PHONE},
                                headers={"Authorization": f"Bearer {key}"}))  # fmt: skip
    created = await service.post("/api/v1/operator/merchants", json={"name": "Новая"},
                                 headers={"Authorization": f"Bearer {OPERATOR}"})  # fmt: skip
    owner_key = json.loads(await _ok(created, 201))["owner_key"]
    await _ok(await service.post("/api/v1/operator/merchants", json={"name": "Х"},
                                 headers={"Authorization": f"Bearer {WRONG}"}), 401)  # fmt: skip
    return [key, owner_key, OPERATOR]


async def _frontol(service: TestClient, deps: Deps) -> list[str]:
    now = deps.clock()
    merchant_id = await merchants.create_merchant(deps.db, "Молочная лавка", now)
    await programs.publish(deps.db, merchant_id, FIVE_PERCENT, now)
    link = await frontol_accounts.issue_key(deps, merchant_id)
    assert link.access_key is not None
    request = steps("sale_with_bonus_payment")[0]["request"]
    request["organization"] = link.organization
    request["client"]["mobilePhone"] = PHONE
    raw = json.dumps(request, ensure_ascii=False).encode()
    signature = frontol_accounts.signature(link.access_key, raw)
    path = f"/frontol/v1/{link.organization}/document"
    for presented, status in ((signature, 200), (WRONG, 401)):
        headers = {"Authorization": f"FrontolAuth {presented}", "Content-Type": "application/json"}
        await _ok(await service.post(path, data=raw, headers=headers), status)
    return [link.access_key, signature]


async def _evotor(service: TestClient) -> list[str]:
    user = {"userId": "01-000000000000077", "companyName": "Ромашка"}
    created = await service.post(
        "/evotor/api/v1/user/create", json=user, headers={"Authorization": f"Bearer {EVOTOR_APP}"}
    )
    user_token = json.loads(await _ok(created))["token"]
    await _ok(await service.put("/evotor/api/v1/inventories/stores", json=[],
                                headers={"Authorization": f"Bearer {user_token}"}))  # fmt: skip
    await service.put("/evotor/api/v1/inventories/stores", json=[],
                      headers={"Authorization": f"Bearer {WRONG}"})  # fmt: skip
    return [EVOTOR_APP, user_token]


async def _cabinet(service: TestClient, deps: Deps, tenant: Tenant) -> list[str]:
    await accounts.create_user(deps, tenant.merchant_id, "owner@log.test", PASSWORD, "owner")
    for password, status in ((WRONG, 401), (PASSWORD, 303)):
        page = await service.get("/cabinet/login")
        form = {"csrf": csrf_of(await page.text()), "login": "owner@log.test", "password": password}
        await _ok(await service.post("/cabinet/login", data=form, allow_redirects=False), status)
    await _ok(await service.get("/cabinet/customers", params={"phone": PHONE}))
    return [PASSWORD]


async def test_no_credential_code_or_phone_reaches_the_logs(
    aiohttp_client: Any, deps: Deps, demo_tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    """Terminal tokens (Bearer and 1C's Basic), merchant and operator keys, the Frontol
    key and its signature, Evotor's app and user tokens, an SMS code, a cabinet password,
    a wrong value at each door and the customer's phone in full never appear in a log
    event or record; the phone is logged masked at most (its last four digits hidden)."""
    service: TestClient = await aiohttp_client(build_app(deps.settings, deps=deps))
    caplog.set_level(logging.DEBUG)
    with capture_logs() as events:
        secrets = await _native(service, deps, demo_tenant)
        secrets += await _merchant_and_operator(service, deps, demo_tenant)
        secrets += await _frontol(service, deps)
        secrets += await _evotor(service)
        secrets += await _cabinet(service, deps, demo_tenant)
    digits = PHONE.lstrip("+")
    secrets += [WRONG, PHONE, digits, digits[1:]]
    # aiohttp's access log writes the request line, query and all (?phone=): `loyalty
    # serve` turns it off (cloud/main.py, access_log=None), the test server does not.
    records = [r for r in caplog.records if r.name != "aiohttp.access"]
    logged = repr(events) + "\n".join(r.getMessage() for r in records)
    assert events, "nothing was logged: the capture is not working"
    assert any(e.get("event") == "request" for e in events)
    leaked = [s for s in secrets if s in logged]
    assert leaked == [], f"in the logs: {leaked}"
