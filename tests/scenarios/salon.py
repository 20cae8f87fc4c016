"""A salon run the way production runs it: a clock that moves hour by hour, the
scheduler ticking as ``loyalty serve`` does, the outbox worker draining to a fake SMS.ru
(respx) that answers like the real gateway and keeps what each phone received, a till
and a merchant key over HTTP, and the customers' own pages."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import httpx
import respx
from aiohttp.test_utils import TestClient

from cloud.api.app import create_app
from cloud.clock import ManualClock
from cloud.engine.lifecycle import local_midnight
from cloud.main import JOBS
from cloud.messages.outbox import drain
from cloud.messages.providers import SmsRuProvider, sms_parts
from cloud.services import scheduler
from cloud.services.deps import Deps
from cloud.services.merchants import zone
from tests.conftest import Tenant, make_tenant, merchant_client

MSK = zone("Europe/Moscow")
SMSRU = "https://sms.ru"
PART_PRICE = "2.50"


@dataclass
class Sms:
    phone: str
    text: str
    at: datetime


@dataclass
class FakeSmsRu:
    """SMS.ru's ``/sms/send`` as documented: ``to`` + ``msg`` or ``multi[number]``, an
    answer per number with its id and cost (2.50 ₽ a part)."""

    clock: ManualClock
    received: list[Sms] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        form = dict(parse_qsl(request.content.decode()))
        assert form["api_id"] == "salon-key" and form["json"] == "1"
        if "to" in form:
            messages = [(form["to"], form["msg"])]
        else:
            messages = [(k[6:-1], v) for k, v in form.items() if k.startswith("multi[")]
        answers = {}
        for number, text in messages:
            self.received.append(Sms("+" + number, text, self.clock()))
            cost = int(PART_PRICE.replace(".", "")) * sms_parts(text)
            answers[number] = {"status": "OK", "status_code": 100,
                               "sms_id": f"{len(self.received):06d}-1",
                               "cost": f"{cost // 100}.{cost % 100:02d}"}  # fmt: skip
        return httpx.Response(200, json={"status": "OK", "status_code": 100, "sms": answers})

    def to(self, phone: str) -> list[str]:
        return [sms.text for sms in self.received if sms.phone == phone]

    def code(self, phone: str) -> str:
        match = re.search(r"\b(\d{6})\b", self.to(phone)[-1])
        assert match is not None
        return match.group(1)


def hidden(page: str) -> dict[str, str]:
    """The hidden fields of a page's form, as a browser posts them back."""
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)
    return {name: html.unescape(value) for name, value in fields}


@dataclass
class Salon:
    deps: Deps
    clock: ManualClock
    tenant: Tenant
    till: TestClient
    office: TestClient
    browser: TestClient
    sms: FakeSmsRu

    # ---- time ----

    async def live_until(self, local: datetime) -> None:
        """Move the clock hour by hour (at :40, after every job's time of day) up to
        ``local`` (Moscow), ticking the scheduler and draining the outbox each hour as
        the service does, and after each local day re-run every job for that day: a
        second run must change nothing."""
        target = local.replace(tzinfo=MSK)
        while True:
            step = self.clock().astimezone(MSK).replace(minute=40, second=0) + timedelta(hours=1)
            if step > target:
                break
            self.clock.now = step
            await scheduler.tick(self.deps)
            await drain(self.deps)
            if step.hour == 23:
                await self.rerun_jobs(step.date())
        self.clock.now = target
        await drain(self.deps)

    async def rerun_jobs(self, day: Any) -> None:
        before = await self.snapshot()
        for run in JOBS.values():
            await run(self.deps, day, self.tenant.merchant_id)
        assert await self.snapshot() == before, f"a second run of {day} changed something"

    async def snapshot(self) -> tuple[int, ...]:
        row = await self.deps.db.fetch_one(
            "SELECT (SELECT COUNT(*) FROM bonus_lots) AS a, (SELECT COALESCE(SUM(remaining), 0) "
            "FROM bonus_lots) AS b, (SELECT COUNT(*) FROM ledger_entries) AS c, "
            "(SELECT COUNT(*) FROM notifications) AS d, (SELECT COUNT(*) FROM reanimations) "
            "AS e, (SELECT COUNT(*) FROM tier_changes) AS f, (SELECT COUNT(*) FROM job_runs) "
            "AS g"
        )
        assert row is not None
        return tuple(int(row[k]) for k in "abcdefg")

    # ---- customers ----

    async def register_at_till(self, phone: str, **extra: Any) -> dict[str, Any]:
        sent = await self.till.post(
            "/api/v1/sms-codes", json={"phone": phone, "purpose": "registration"}
        )
        assert sent.status == 200, await sent.text()
        body = {"phone": phone, "sms_code": self.sms.code(phone),
                "consent": {"personal_data": True, "messages": True}, **extra}  # fmt: skip
        response = await self.till.post("/api/v1/customers", json=body)
        assert response.status == 201, await response.text()
        return dict(await response.json())

    async def join_link(self, campaign: str) -> str:
        response = await self.office.get(
            "/api/v1/merchant/join-links",
            params={"store_id": self.tenant.store_id, "campaign": campaign},
        )
        assert response.status == 200, await response.text()
        return str((await response.json())["url"].split("/join/", 1)[1])

    async def self_register(self, token: str, phone: str, *, ref: str = "", **profile: str) -> str:
        """Scan the QR (or follow a friend's link), type the phone and the code, tick both
        consents, fill the profile; returns the done page."""
        query = {"src": "qr", **({"ref": ref} if ref else {})}
        start = await self.browser.get(f"/join/{token}", params=query)
        assert start.status == 200, await start.text()
        sent = await self.browser.post(
            f"/join/{token}/phone", data={**hidden(await start.text()), "phone": phone}
        )
        assert sent.status == 200, await sent.text()
        posted = {**hidden(await sent.text()), "code": self.sms.code(phone),
                  "consent_personal_data": "on", "consent_messages": "on"}  # fmt: skip
        page = await self.browser.post(f"/join/{token}/code", data=posted)
        assert page.status == 200, await page.text()
        form = hidden(await page.text())
        if ref:
            form["referrer"] = ref
        done = await self.browser.post(f"/join/{token}/profile", data={**form, **profile})
        assert done.status == 200, await done.text()
        return await done.text()

    async def customer(self, customer_id: int) -> dict[str, Any]:
        response = await self.till.get(f"/api/v1/customers/{customer_id}")
        assert response.status == 200, await response.text()
        return dict(await response.json())

    # ---- the till ----

    async def sell(self, receipt_id: str, phone: str, *lines: tuple[str, str]) -> Any:
        body = {"receipt": {"id": receipt_id, "customer": {"phone": phone},
                            "lines": [{"id": i, "name": f"Услуга {i}", "price": float(price),
                                       "quantity": 1} for i, price in lines]},
                "redeemed": 0}  # fmt: skip
        response = await self.till.post("/api/v1/checkout/confirm", json=body)
        assert response.status == 200, await response.text()
        return await response.json()

    async def refund(self, refund_id: str, receipt_id: str, line_id: str) -> None:
        body = {"id": refund_id, "receipt_id": receipt_id,
                "lines": [{"id": line_id, "quantity": 1}]}  # fmt: skip
        response = await self.till.post("/api/v1/checkout/refund", json=body)
        assert response.status == 200, await response.text()


def smsru(router: respx.MockRouter, salon_clock: ManualClock) -> tuple[FakeSmsRu, SmsRuProvider]:
    """The fake gateway on the caller's respx router, and the real provider talking to it."""
    fake = FakeSmsRu(salon_clock)
    router.post(f"{SMSRU}/sms/send").mock(side_effect=fake.handle)
    provider = SmsRuProvider(api_id="salon-key", client=httpx.AsyncClient(), url=SMSRU)
    return fake, provider


@asynccontextmanager
async def opened_salon(
    aiohttp_client: Any, deps: Deps, clock: ManualClock, program: str
) -> AsyncIterator[Salon]:
    """The salon at 9:00 on its first day: the merchant with ``program`` live, its till,
    its office (merchant API) and a customer's browser, SMS through the fake SMS.ru."""
    clock.now = local_midnight(date(2026, 3, 2), MSK) + timedelta(hours=9)
    with respx.mock(assert_all_called=False) as router:
        router.route(host="127.0.0.1").pass_through()
        fake, provider = smsru(router, clock)
        deps.sms = provider
        tenant = await make_tenant(deps, "Лаванда", program)
        app = create_app(deps.settings, deps=deps)
        till = await aiohttp_client(app, headers={"Authorization": f"Bearer {tenant.token}"})
        office = await merchant_client(aiohttp_client, deps, tenant, "Администратор")
        browser = await aiohttp_client(create_app(deps.settings, deps=deps))
        try:
            yield Salon(deps, clock, tenant, till, office, browser, fake)
        finally:
            await provider.client.aclose()
