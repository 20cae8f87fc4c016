"""The FNS receipt-check API replayed by respx from ``fixtures/fns/`` (the documented
shapes), a merchant set up for fiscal QR claims, and its registered customer."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import respx

from cloud.fiscal import fns
from cloud.services import customers
from cloud.services.deps import Deps
from schemas import fiscal as wire
from schemas.customers import Consent, RegisterCustomer
from tests.conftest import FIXTURES, Tenant

FNS_FIXTURES: Path = FIXTURES / "fns"
BASE = "https://openapi.nalog.ru:8090"
INN = "7707083893"
OTHER_INN = "7736207543"
FN = "9999078900004792"
QR = "t=20261120T1130&s=1234.50&fn=9999078900004792&i=12345&fp=3522207165&n=1"
PHONE = "+79160001122"
MASTER = "master-token-of-demo"


def fixture(name: str) -> bytes:
    return (FNS_FIXTURES / name).read_bytes()


@dataclass
class FakeFns:
    """What the FNS answers to ``GetMessage`` of a ticket, in turn (the last repeats),
    and every request it received."""

    router: respx.MockRouter
    tickets: list[str] = field(default_factory=lambda: ["get_ticket_200.xml"])
    auth: str = "auth_ok.xml"
    requests: list[httpx.Request] = field(default_factory=list)

    def kkt(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        body = request.content.decode()
        if "SendMessageRequest" in body:
            return httpx.Response(200, content=fixture("send_message.xml"))
        name = self.tickets.pop(0) if len(self.tickets) > 1 else self.tickets[0]
        if name == "timeout":
            raise httpx.ConnectTimeout("timed out", request=request)
        return httpx.Response(200, content=fixture(name))

    def authenticate(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(
            200 if self.auth == "auth_ok.xml" else 500, content=fixture(self.auth)
        )

    def sent(self, kind: str) -> list[httpx.Request]:
        return [r for r in self.requests if kind in r.content.decode()]


@pytest.fixture
def fake_fns() -> Iterator[FakeFns]:
    fns.forget_tokens()
    with respx.mock(assert_all_called=False) as router:
        fake = FakeFns(router)
        router.post(BASE + fns.AUTH_PATH).mock(side_effect=fake.authenticate)
        router.post(BASE + fns.KKT_PATH).mock(side_effect=fake.kkt)
        yield fake
    fns.forget_tokens()


async def setup_fiscal(
    deps: Deps, tenant: Tenant, inn: str = INN, fn: str = FN, window: int = 14
) -> None:
    from cloud.fiscal import setup

    await setup.save_settings(
        deps,
        tenant.merchant_id,
        wire.FiscalSettingsSet(inn=inn, master_token=MASTER, claim_window_days=window),
    )
    await setup.add_drive(
        deps, tenant.merchant_id, wire.FiscalDriveAdd(store_id=tenant.store_id, fn=fn)
    )


async def register(deps: Deps, tenant: Tenant, phone: str = PHONE) -> int:
    data = RegisterCustomer(phone=phone, consent=Consent(personal_data=True, messages=True))
    return await customers.register_customer(
        deps, tenant.merchant_id, data, store_id=tenant.store_id, channel="import", sms_code=None
    )


# The bot's tests post updates through the fake Telegram of tests/telegram.
from tests.telegram.conftest import hook, telegram  # noqa: E402, F401
