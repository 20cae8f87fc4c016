"""Fixtures of the Evotor contract tests: the service with the Evotor sub-app mounted,
our app's id configured, and helpers that speak as the Evotor cloud would."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cloud.main import build_app
from cloud.services.deps import Deps
from cloud.settings import DEV_EVOTOR_APP_TOKEN, Settings
from webhooks.evotor.app import SYNCER
from webhooks.evotor.sync import Syncer

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "evotor"
APP_ID = "7c6c4a4e-2b7f-4d0b-8c43-1f6f5a1c9e21"
USER = "01-000000000000001"
STORE = "20170222-5A12-403A-80F6-75C361356826"
STORE2 = "20170222-7B34-4C5D-9E0F-1A2B3C4D5E6F"
DEVICE = "20170222-D0D0-4E5F-A1B2-C3D4E5F6A7B8"
DEVICE2 = "20170222-D1D1-4E5F-A1B2-C3D4E5F6A7B9"
API = "https://api.evotor.test"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def app_auth(token: str = DEV_EVOTOR_APP_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def basic_auth(login: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{login}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def user_auth(token: str, device: str | None = DEVICE, user: str | None = USER) -> dict[str, str]:
    """What the Evotor cloud proxy adds to a terminal call (and sends on notifications)."""
    headers = {"Authorization": f"Bearer {token}"}
    if device is not None:
        headers["X-Evotor-Device-UUID"] = device
        headers["X-Evotor-Store-Uuid"] = STORE if device == DEVICE else STORE2
    if user is not None:
        headers["X-Evotor-User-Id"] = user
    return headers


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url, env="test", load_demo=False, evotor_app_id=APP_ID,
        evotor_api_url=API,
    )  # fmt: skip


@pytest.fixture
async def evotor(aiohttp_client, deps: Deps) -> TestClient:  # type: ignore[no-untyped-def]
    """The whole service (native API and the Evotor sub-app at /evotor)."""
    return await aiohttp_client(build_app(deps.settings, deps=deps))


def syncer(client: TestClient) -> Syncer:
    for sub in client.app._subapps:
        if SYNCER in sub:
            return sub[SYNCER]
    raise AssertionError("the Evotor sub-app is not mounted")


async def call(
    client: TestClient, method: str, path: str, body: Any = None,
    headers: dict[str, str] | None = None, status: int = 200, raw: bytes | None = None,
) -> Any:  # fmt: skip
    """Send as Evotor does and check the status; returns the JSON answer."""
    response = await client.request(
        method, "/evotor" + path, json=body if raw is None else None, data=raw,
        headers=headers or {},
    )  # fmt: skip
    text = await response.text()
    assert response.status == status, f"{response.status}: {text}"
    return json.loads(text) if text else None


def error_codes(body: Any) -> list[int]:
    """Evotor's error shape, checked: {"errors": [{"code": int, ...}]} and nothing else."""
    assert set(body) == {"errors"}, body
    assert body["errors"] and all(isinstance(e["code"], int) for e in body["errors"])
    return [e["code"] for e in body["errors"]]


async def install(client: TestClient, user: str = USER, company: str = "ООО Ромашка") -> str:
    """user/create + stores and devices notifications; returns the user token."""
    created = await call(
        client, "POST", "/api/v1/user/create", {"userId": user, "companyName": company},
        app_auth(),
    )  # fmt: skip
    token = str(created["token"])
    await call(client, "PUT", "/api/v1/inventories/stores",
               fixture("inventories/stores.json"), user_auth(token, None, user))  # fmt: skip
    await call(client, "PUT", "/api/v1/inventories/devices",
               fixture("inventories/devices.json"), user_auth(token, None, user))  # fmt: skip
    return token
