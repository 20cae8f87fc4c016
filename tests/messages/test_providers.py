"""Providers against their wire: SMS.ru (respx), SMTP (a local aiosmtpd server), the
Telegram Bot API (a local fake server), and SMS.ru's delivery status callback."""

from __future__ import annotations

import socket
from email import message_from_bytes
from email.message import Message
from typing import Any

import httpx
import pytest
import respx
from aiohttp import web
from aiohttp.test_utils import TestClient
from aiosmtpd.controller import Controller

from cloud.api.app import create_app
from cloud.messages.outbox import drain
from cloud.messages.providers import (
    PermanentFailure,
    SmsRuProvider,
    SmtpEmailProvider,
)
from cloud.services.deps import Deps
from cloud.settings import Settings
from cloud.telegram.bots import TelegramBots
from tests.conftest import Tenant
from tests.messages.conftest import add_customer, queue, row

PHONE = "+79161234567"
SMSRU = "https://sms.ru"


@pytest.fixture
async def http() -> Any:
    async with httpx.AsyncClient() as client:
        yield client


def _smsru_ok(sms_id: str = "000000-10000001", cost: str = "3.12") -> dict[str, Any]:
    return {"status": "OK", "status_code": 100, "balance": 4122.56,
            "sms": {"79161234567": {"status": "OK", "status_code": 100, "sms_id": sms_id,
                                    "cost": cost, "sms": 2}}}  # fmt: skip


@respx.mock
async def test_smsru_send_records_the_gateways_cost_and_id(
    deps: Deps, demo_tenant: Tenant, http: httpx.AsyncClient
) -> None:
    """The worker posts api_id, to, msg and json=1 to /sms/send; the per-number answer's
    cost («3.12» roubles) and sms_id are recorded on the message."""
    route = respx.post(f"{SMSRU}/sms/send").mock(return_value=httpx.Response(200, json=_smsru_ok()))
    deps.sms = SmsRuProvider(api_id="KEY-1", client=http, sender="Lotos")
    customer = await add_customer(deps, demo_tenant.merchant_id, PHONE)
    message = await queue(deps, demo_tenant.merchant_id, customer, "tier_changed", {"tier": "A"})
    assert (await drain(deps)).sent == 1
    form = dict(httpx.QueryParams(route.calls.last.request.content.decode()))
    assert form == {"api_id": "KEY-1", "to": "79161234567", "json": "1", "from": "Lotos",
                    "msg": "Демо: ваш уровень в программе лояльности теперь «A»."}  # fmt: skip
    sent = await row(deps, message)
    assert (sent["status"], sent["cost"], sent["provider"], sent["provider_id"]) == (
        "sent", 312, "smsru", "000000-10000001")  # fmt: skip


@respx.mock
async def test_smsru_errors_permanent_per_number_temporary_overall(
    http: httpx.AsyncClient,
) -> None:
    """A per-number refusal (207: no route) is permanent; a refused request (balance,
    api_id) or an HTTP error is temporary; a missing cost falls back to the set price."""
    provider = SmsRuProvider(api_id="K", client=http, price_kopecks=250)
    route = respx.post(f"{SMSRU}/sms/send")
    route.mock(
        return_value=httpx.Response(
            200,
            json={
                "status": "OK",
                "status_code": 100,
                "sms": {
                    "79161234567": {
                        "status": "ERROR",
                        "status_code": 207,
                        "status_text": "Нет маршрута",
                    }
                },
            },
        )
    )
    with pytest.raises(PermanentFailure):
        await provider.send(PHONE, "т")
    route.mock(
        return_value=httpx.Response(
            200, json={"status": "ERROR", "status_code": 201, "status_text": "Не хватает средств"}
        )
    )
    with pytest.raises(RuntimeError):
        await provider.send(PHONE, "т")
    route.mock(return_value=httpx.Response(502))
    with pytest.raises(httpx.HTTPStatusError):
        await provider.send(PHONE, "т")
    answer = _smsru_ok()
    del answer["sms"]["79161234567"]["cost"]
    route.mock(return_value=httpx.Response(200, json=answer))
    assert (await provider.send(PHONE, "т")).cost == 250


async def test_smsru_delivery_callback_updates_the_status(
    aiohttp_client: Any, deps: Deps, demo_tenant: Tenant
) -> None:
    """SMS.ru's callback (data[N] = sms_status, id, code, time) marks the message
    delivered (103) or undelivered (104…); it answers 100. A wrong token is a 404 that
    changes nothing; a message not yet sent is not moved."""
    settings = Settings(**{**deps.settings.model_dump(), "smsru_callback_token": "t" * 20})
    deps.settings = settings
    customer = await add_customer(deps, demo_tenant.merchant_id, PHONE)
    first = await queue(deps, demo_tenant.merchant_id, customer, "tier_changed", {"tier": "A"})
    second = await queue(deps, demo_tenant.merchant_id, customer, "tier_changed", {"tier": "B"})
    pending = await queue(deps, demo_tenant.merchant_id, customer, "tier_changed", {"tier": "C"})
    for message, sms_id in ((first, "s-1"), (second, "s-2")):
        await deps.db.execute(
            "UPDATE notifications SET status = 'sent', provider = 'smsru', provider_id = :p "
            "WHERE id = :id", {"p": sms_id, "id": message})  # fmt: skip
    await deps.db.execute("UPDATE notifications SET provider = 'smsru', provider_id = 's-3' "
                          "WHERE id = :id", {"id": pending})  # fmt: skip
    client: TestClient = await aiohttp_client(create_app(settings, deps=deps))
    data = {"data[0]": "sms_status\ns-1\n103\n1700000000",
            "data[1]": "sms_status\ns-2\n104\n1700000000",
            "data[2]": "sms_status\ns-3\n103\n1700000000"}  # fmt: skip
    wrong = await client.post("/messages/smsru/" + "x" * 20, data=data)
    assert wrong.status == 404
    assert (await row(deps, first))["status"] == "sent"
    response = await client.post("/messages/smsru/" + "t" * 20, data=data)
    assert response.status == 200 and await response.text() == "100"
    assert (await row(deps, first))["status"] == "delivered"
    assert (await row(deps, second))["status"] == "undelivered"
    assert (await row(deps, pending))["status"] == "pending"


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_email_goes_over_smtp(deps: Deps, demo_tenant: Tenant) -> None:
    """An email message reaches a local SMTP server with the customer's address and the
    rendered Russian text; its cost is the configured email price."""
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        deps.email = SmtpEmailProvider(host="127.0.0.1", port=controller.port,
                                       sender="club@example.ru", price_kopecks=5)  # fmt: skip
        customer = await add_customer(deps, demo_tenant.merchant_id, PHONE, email="a@example.ru")
        params = {"amount": 12345, "expires_on": "2026-12-01"}
        message = await queue(
            deps, demo_tenant.merchant_id, customer, "expiry_warning", params, channel="email"
        )
        assert (await drain(deps)).sent == 1
    finally:
        controller.stop()
    [(recipients, email)] = inbox.messages
    assert recipients == ["a@example.ru"] and email["From"] == "club@example.ru"
    assert "123,45 ₽ бонусами сгорят после 01.12.2026" in email.get_payload(decode=True).decode()
    sent = await row(deps, message)
    assert (sent["status"], sent["channel"], sent["cost"]) == ("sent", "email", 5)


async def test_email_without_an_address_fails(deps: Deps, demo_tenant: Tenant) -> None:
    """An email to a customer with no address fails with the reason, nothing is sent."""
    customer = await add_customer(deps, demo_tenant.merchant_id, PHONE)
    message = await queue(deps, demo_tenant.merchant_id, customer, "tier_changed",
                          {"tier": "A"}, channel="email")  # fmt: skip
    assert (await drain(deps)).failed == 1
    assert "почты" in (await row(deps, message))["last_error"]


async def test_telegram_is_preferred_over_sms_for_a_linked_chat(
    aiohttp_server: Any, deps: Deps, demo_tenant: Tenant, http: httpx.AsyncClient
) -> None:
    """A customer who linked a chat gets the message by the bot's sendMessage, free; one
    without a chat still gets an SMS; a chat that blocked the bot fails permanently."""
    received: list[dict[str, Any]] = []

    async def send_message(request: web.Request) -> web.Response:
        assert request.match_info["token"] == "123:ABC"
        body = await request.json()
        if body["chat_id"] == 666:
            return web.json_response({"ok": False, "error_code": 403,
                                      "description": "Forbidden: bot was blocked by the user"},
                                     status=403)  # fmt: skip
        received.append(body)
        return web.json_response({"ok": True, "result": {"message_id": 77}})

    bot_api = web.Application()
    bot_api.router.add_post("/bot{token}/sendMessage", send_message)
    server = await aiohttp_server(bot_api)
    deps.telegram = TelegramBots(url=str(server.make_url("")).rstrip("/"), client=http)
    m = demo_tenant.merchant_id
    async with deps.db.transaction() as tx:  # the merchant's own bot (cloud.telegram)
        await tx.execute(
            "INSERT INTO telegram_bots (merchant_id, bot_id, username, token_enc, created_at, "
            "updated_at) VALUES (:m, 123, 'demo_bot', :t, 0, 0)",
            {"m": m, "t": deps.cipher.encrypt(m, "123:ABC")},
        )
    linked = await add_customer(deps, m, PHONE, chat=4242)
    plain = await add_customer(deps, m, "+79161234568")
    gone = await add_customer(deps, m, "+79161234569", chat=666)
    by_bot = await queue(deps, m, linked, "tier_changed", {"tier": "A"})
    by_sms = await queue(deps, m, plain, "tier_changed", {"tier": "A"})
    blocked = await queue(deps, m, gone, "tier_changed", {"tier": "A"})
    await drain(deps)
    assert received == [{"chat_id": 4242, "text": "Демо: ваш уровень в программе лояльности "
                                                  "теперь «A»."}]  # fmt: skip
    bot = await row(deps, by_bot)
    assert (bot["status"], bot["channel"], bot["cost"], bot["provider_id"]) == (
        "sent", "telegram", 0, "77")  # fmt: skip
    assert (await row(deps, by_sms))["channel"] == "sms"
    assert (await row(deps, blocked))["status"] == "failed"


@respx.mock
async def test_smsru_sends_a_batch_in_one_request_with_a_status_per_number(
    deps: Deps, demo_tenant: Tenant, http: httpx.AsyncClient
) -> None:
    """Messages due together go to SMS.ru as ``multi[number]=text`` (one request for up
    to 100 numbers); each number's own status decides its message: one sent with its
    cost, one refused for good; two messages to one number go in separate requests."""
    answer = {"status": "OK", "status_code": 100, "sms": {
        "79161234567": {"status": "OK", "status_code": 100, "sms_id": "a", "cost": "2.5"},
        "79161234568": {"status": "ERROR", "status_code": 202, "status_text": "Неверный номер"},
    }}  # fmt: skip
    route = respx.post(f"{SMSRU}/sms/send").mock(return_value=httpx.Response(200, json=answer))
    deps.sms = SmsRuProvider(api_id="K", client=http)
    m = demo_tenant.merchant_id
    good = await add_customer(deps, m, PHONE)
    bad = await add_customer(deps, m, "+79161234568")
    first = await queue(deps, m, good, "tier_changed", {"tier": "A"})
    refused = await queue(deps, m, bad, "tier_changed", {"tier": "A"})
    second = await queue(deps, m, good, "tier_changed", {"tier": "B"})
    await drain(deps)
    assert route.call_count == 2
    forms = [dict(httpx.QueryParams(c.request.content.decode())) for c in route.calls]
    assert sorted(k for form in forms for k in form if k.startswith("multi[")) == [
        "multi[79161234567]", "multi[79161234568]"]  # fmt: skip
    assert any(form.get("to") == "79161234567" for form in forms)
    assert [(await row(deps, n))["status"] for n in (first, refused, second)] == [
        "sent", "failed", "sent"]  # fmt: skip
    assert (await row(deps, first))["cost"] == 250
    assert "202" in (await row(deps, refused))["last_error"]
