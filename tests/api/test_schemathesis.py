"""Schemathesis against the published OpenAPI documents, with every check: the native
API (a till's token for checkout, customers and SMS codes; the merchant's key for program
versions; a fresh merchant's owner key for administration; the operator token) and the
Evotor terminal hooks, on a live server over SQLite.

The server runs in a thread of its own (schemathesis calls it synchronously). Examples
are bounded and derandomised so that the run is the same in CI and stays short.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from aiohttp import web
from schemathesis.config import SchemathesisConfig

from cloud.api.openapi import credential_of
from cloud.api.routes import OPENAPI_DOCUMENT, setup_routes
from cloud.clock import ManualClock
from cloud.db.database import open_database
from cloud.main import build_app
from cloud.notify import LogSmsProvider
from cloud.services import frontol_accounts, merchants, moysklad_accounts
from cloud.services.deps import Deps
from cloud.settings import DEV_EVOTOR_APP_TOKEN, Settings
from terminal_bridge.modulkassa.openapi import modulkassa_openapi
from terminal_bridge.onec.openapi import onec_openapi
from tests.conftest import START, make_tenant
from tests.webhooks.evotor.conftest import API, APP_ID, DEVICE, STORE, USER, fixture
from webhooks.evotor.merchant_openapi import merchant_openapi
from webhooks.evotor.openapi import terminal_openapi
from webhooks.frontol.openapi import frontol_openapi
from webhooks.moysklad.openapi import moysklad_openapi
from webhooks.sigma.openapi import sigma_openapi

# Statuses a request that fits the document may still get: the document cannot say that
# a phone number must exist, that line ids are unique, that price x quantity stays under
# the bound, that a customer has enough bonuses or that an SMS code is right (400 and 422
# name the rule broken, each code listed in the document), nor that a drawn id exists
# (404) or a receipt is already closed (409); 429 is the SMS limit.
ACCEPTED_FOR_VALID_DATA = ["2xx", "400", "401", "403", "404", "409", "422", "429"]
OPERATOR_TOKEN = "schemathesis-operator-token-0123456789"

# Evotor's contract answers a refusal of the loyalty rules 402 as well (a subscription
# that lapsed, a terminal over the licence).
ACCEPTED_FOR_VALID_EVOTOR_DATA = [*ACCEPTED_FOR_VALID_DATA, "402"]


def config(
    accepted: list[str], max_examples: int, coverage: bool = True, rejects_by_status: bool = True
) -> SchemathesisConfig:
    """``rejects_by_status``: invalid data gets a 4xx (Frontol's contract answers it 200
    with ``code`` -1 instead, which its document states)."""
    checks: dict[str, Any] = {"positive_data_acceptance": {"expected-statuses": accepted}}
    if not rejects_by_status:
        checks["negative_data_rejection"] = {"enabled": False}
    return SchemathesisConfig.from_dict({
        "seed": 7,
        # Drawing a whole receipt is slow on a busy CI machine; slowness is not a defect.
        "suppress-health-check": ["too_slow", "data_too_large", "large_base_example"],
        "generation": {"mode": "all", "max-examples": max_examples, "deterministic": True,
                       "database": "none"},
        "checks": checks,
        "phases": {"coverage": {"enabled": coverage}},
    })  # fmt: skip


@dataclass
class LiveService:
    """The whole service (native API and the Evotor sub-app) on 127.0.0.1 in a thread."""

    database: Path
    url: str = ""
    terminal_token: str = ""
    merchant_key: str = ""
    evotor_token: str = ""
    sigma_token: str = ""
    onec_token: str = ""
    moysklad_token: str = ""
    modulkassa_token: str = ""
    frontol_organization: str = ""
    frontol_key: str = ""
    _loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    _ready: threading.Event = field(default_factory=threading.Event)
    _failure: BaseException | None = None

    def start(self) -> None:
        threading.Thread(target=self._run, name="live-service", daemon=True).start()
        if not self._ready.wait(60) or self._failure is not None:
            raise RuntimeError("the live service did not start") from self._failure

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            cleanup = self._loop.run_until_complete(self._serve())
        except BaseException as exc:
            self._failure = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.run_until_complete(cleanup())
            self._loop.close()

    async def _serve(self) -> Any:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{self.database}", env="test", load_demo=False,
            evotor_app_id=APP_ID, evotor_api_url=API, operator_token=OPERATOR_TOKEN,
        )  # fmt: skip
        db = await open_database(settings.database_url)
        deps = Deps.build(settings, db, sms=LogSmsProvider(), clock=ManualClock(START))
        tenant = await make_tenant(deps, "Демо")
        self.terminal_token = tenant.token
        self.merchant_key = await merchants.issue_merchant_key(db, tenant.merchant_id, deps.clock())
        sigma_terminal = await merchants.create_terminal(
            db, tenant.merchant_id, tenant.store_id, "SIGMA", deps.clock(), channel="sigma"
        )
        self.sigma_token = await merchants.issue_terminal_token(
            db, tenant.merchant_id, sigma_terminal, deps.clock()
        )
        modulkassa_terminal = await merchants.create_terminal(
            db, tenant.merchant_id, tenant.store_id, "Модулькасса", deps.clock(),
            channel="modulkassa",
        )  # fmt: skip
        self.modulkassa_token = await merchants.issue_terminal_token(
            db, tenant.merchant_id, modulkassa_terminal, deps.clock()
        )
        onec_terminal = await merchants.create_terminal(
            db, tenant.merchant_id, tenant.store_id, "Касса 1С", deps.clock(), channel="1c"
        )
        self.onec_token = await merchants.issue_terminal_token(
            db, tenant.merchant_id, onec_terminal, deps.clock()
        )
        installation = await moysklad_accounts.issue(deps, tenant.merchant_id, "schemathesis")
        self.moysklad_token = installation.token or ""
        link = await frontol_accounts.issue_key(deps, tenant.merchant_id)
        self.frontol_organization, self.frontol_key = link.organization, link.access_key or ""
        runner = web.AppRunner(build_app(settings, deps=deps))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

        async def cleanup() -> None:
            await runner.cleanup()
            await db.close()

        return cleanup


def _install_evotor(service: LiveService) -> None:
    """user/create, then the stores and devices notifications, as the Evotor cloud does."""
    app = {"Authorization": f"Bearer {DEV_EVOTOR_APP_TOKEN}"}
    created = requests.post(
        f"{service.url}/evotor/api/v1/user/create",
        headers=app,
        json={"userId": USER, "companyName": "ООО Ромашка"},
        timeout=10,
    )
    assert created.status_code == 200, created.text
    service.evotor_token = str(created.json()["token"])
    user = {"Authorization": f"Bearer {service.evotor_token}", "X-Evotor-User-Id": USER}
    for kind in ("stores", "devices"):
        sent = requests.put(
            f"{service.url}/evotor/api/v1/inventories/{kind}",
            headers=user,
            json=fixture(f"inventories/{kind}.json"),
            timeout=10,
        )
        assert sent.status_code == 200, sent.text


@pytest.fixture(scope="module")
def live(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    database = tmp_path_factory.mktemp("schemathesis") / "live.sqlite3"
    shutil.copyfile(sqlite_template, database)
    service = LiveService(database)
    service.start()
    _install_evotor(service)
    yield service
    service.stop()


def _native_document() -> dict[str, Any]:
    app = web.Application()
    setup_routes(app)
    return app[OPENAPI_DOCUMENT]


# The customer base import takes an xlsx file as its body: drawn as raw bytes, like
# application/octet-stream (the handler must refuse whatever is not a workbook with 400).
schemathesis.serializer.alias(
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/octet-stream"
)

# A program document is a large schema: each example costs a lot to draw (its coverage
# phase alone took 40 s), and the document's own rules are tested in
# tests/api/test_programs_api.py and tests/engine; a few examples each here.
PROGRAM_DOCUMENTS = {"method": "POST", "path_regex": "^/api/v1/programs(/validate)?$"}
native = schemathesis.openapi.from_dict(
    _native_document(), config=config(ACCEPTED_FOR_VALID_DATA, 15)
).exclude(**PROGRAM_DOCUMENTS)
native_programs = schemathesis.openapi.from_dict(
    _native_document(), config=config(ACCEPTED_FOR_VALID_DATA, 5, coverage=False)
).include(**PROGRAM_DOCUMENTS)
evotor = schemathesis.openapi.from_dict(
    terminal_openapi(), config=config(ACCEPTED_FOR_VALID_EVOTOR_DATA, 12)
)
sigma = schemathesis.openapi.from_dict(sigma_openapi(), config=config(ACCEPTED_FOR_VALID_DATA, 12))
frontol = schemathesis.openapi.from_dict(
    frontol_openapi(), config=config(ACCEPTED_FOR_VALID_DATA, 12, rejects_by_status=False)
)
evotor_merchant = schemathesis.openapi.from_dict(
    merchant_openapi(), config=config(ACCEPTED_FOR_VALID_DATA, 12)
)
modulkassa = schemathesis.openapi.from_dict(
    modulkassa_openapi(), config=config(ACCEPTED_FOR_VALID_DATA, 12)
)
onec = schemathesis.openapi.from_dict(onec_openapi(), config=config(ACCEPTED_FOR_VALID_DATA, 12))
# МойСклад's registration answers 412 until the customer confirms the phone by a code.
moysklad = schemathesis.openapi.from_dict(
    moysklad_openapi(), config=config([*ACCEPTED_FOR_VALID_DATA, "412"], 12)
)


def _fresh_owner_key(live: LiveService) -> str:
    """The owner key of a merchant made for this case alone: administration cases rotate
    and revoke keys and revoke terminal tokens, which must not reach the shared tenant."""
    created = requests.post(
        f"{live.url}/api/v1/operator/merchants", json={"name": "Схема"},
        headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}, timeout=10,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    return str(created.json()["owner_key"])


def _authorization(case: Any, live: LiveService) -> dict[str, str]:
    credential = credential_of(case.path)
    if credential == "operator":
        key = OPERATOR_TOKEN
    elif case.path.startswith("/api/v1/programs"):
        key = live.merchant_key
    elif credential == "merchant":
        key = _fresh_owner_key(live)
    else:
        key = live.terminal_token
    return {"Authorization": f"Bearer {key}"}


def _send_empty_params(case: Any) -> None:
    """A drawn query parameter with an empty list as its value is dropped by requests,
    so the "invalid" request would go out valid (an unknown parameter the server never
    saw): send it as ``name=`` instead, which is what the case means."""
    if isinstance(case.query, dict):
        case.query = {k: "" if v == [] else v for k, v in case.query.items()}


@native.parametrize()
def test_native_api_conforms_to_its_document(case: Any, live: LiveService) -> None:
    """Every operation of /api/v1/openapi.json, with valid and invalid data: no 5xx, only
    documented statuses, content types and bodies, valid data accepted, invalid refused,
    credentials required."""
    _send_empty_params(case)
    case.call_and_validate(base_url=live.url, headers=_authorization(case, live))


@native_programs.parametrize()
def test_program_documents_conform_to_the_document(case: Any, live: LiveService) -> None:
    """POST /programs and /programs/validate, the same checks, fewer examples."""
    case.call_and_validate(base_url=live.url, headers=_authorization(case, live))


def _evotor_headers(case: Any, live: LiveService) -> None:
    """A synced smart terminal of the installed user, where the case carries the header:
    a case that leaves a header out (to test that it is required) keeps it out."""
    headers = case.headers if case.headers is not None else {}
    if "X-Evotor-Device-UUID" in headers:
        headers["X-Evotor-Device-UUID"] = DEVICE
    if "X-Evotor-Store-Uuid" in headers:
        headers["X-Evotor-Store-Uuid"] = STORE
    if "X-Evotor-User-Id" in headers:
        headers["X-Evotor-User-Id"] = USER
    case.headers = headers


@evotor.parametrize()
def test_evotor_terminal_hooks_conform_to_their_document(case: Any, live: LiveService) -> None:
    """Every hook of /evotor/terminal/v1/openapi.json, the same checks, as a synced smart
    terminal of the installed user."""
    _evotor_headers(case, live)
    case.call_and_validate(
        base_url=live.url, headers={"Authorization": f"Bearer {live.evotor_token}"}
    )


def _sigma_headers(case: Any) -> None:
    """Bearer calls: drawn signature headers are dropped (a signed call with a drawn
    signature is a 401 by design, which the document states)."""
    headers = case.headers if case.headers is not None else {}
    for name in ("X-Sigma-Terminal", "X-Sigma-Timestamp", "X-Sigma-Signature"):
        headers.pop(name, None)
    case.headers = headers


@sigma.parametrize()
def test_sigma_hooks_conform_to_their_document(case: Any, live: LiveService) -> None:
    """Every hook of /sigma/v1/openapi.json, the same checks, as a SIGMA terminal with
    its Bearer token: no 5xx, documented statuses and bodies, valid data accepted."""
    _sigma_headers(case)
    case.call_and_validate(
        base_url=live.url, headers={"Authorization": f"Bearer {live.sigma_token}"}
    )


@moysklad.parametrize()
def test_moysklad_loyalty_api_conforms_to_its_document(case: Any, live: LiveService) -> None:
    """Every endpoint of /moysklad/v1/openapi.json, the same checks, with an installation
    token: no 5xx, documented statuses and bodies, valid data accepted."""
    case.call_and_validate(
        base_url=live.url, headers={moysklad_accounts.HEADER: live.moysklad_token}
    )


@modulkassa.parametrize()
def test_modulkassa_plugin_api_conforms_to_its_document(case: Any, live: LiveService) -> None:
    """Every endpoint of /modulkassa/v1/openapi.json, the same checks, as our plugin with
    a Модулькасса terminal's token: no 5xx, documented statuses and bodies."""
    case.call_and_validate(
        base_url=live.url, headers={"Authorization": f"Bearer {live.modulkassa_token}"}
    )


@frontol.parametrize()
def test_frontol_priority_api_conforms_to_its_document(case: Any, live: LiveService) -> None:
    """Every endpoint of /frontol/v1/openapi.json, the same checks, signed as Frontol
    signs (``FrontolAuth md5(key + raw body)`` over the exact bytes that go out) for the
    organization we issued: no 5xx, documented statuses and bodies."""
    if case.path_parameters:
        case.path_parameters["organization"] = live.frontol_organization
    # The bytes requests will send for this case: what the signature must cover.
    kwargs = case.as_transport_kwargs(base_url=live.url)
    kwargs.pop("timeout", None)
    body = requests.Request(**kwargs).prepare().body or b""
    raw = body.encode() if isinstance(body, str) else body
    signature = frontol_accounts.signature(live.frontol_key, raw)
    case.call_and_validate(
        base_url=live.url, headers={"Authorization": f"{frontol_accounts.SCHEME} {signature}"}
    )


@evotor_merchant.parametrize()
def test_evotor_merchant_administration_conforms_to_its_document(
    case: Any, live: LiveService
) -> None:
    """Every operation of /evotor/merchant/v1/openapi.json, the same checks, with the
    company API key: no 5xx, documented statuses and bodies, valid data accepted."""
    case.call_and_validate(
        base_url=live.url, headers={"Authorization": f"Bearer {live.merchant_key}"}
    )


@onec.parametrize()
def test_onec_api_conforms_to_its_document(case: Any, live: LiveService) -> None:
    """Every call of /1c/v1/openapi.json, the same checks, as a 1C terminal with its
    Bearer token: no 5xx, documented statuses and bodies, valid data accepted."""
    case.call_and_validate(
        base_url=live.url, headers={"Authorization": f"Bearer {live.onec_token}"}
    )
