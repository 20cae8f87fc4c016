"""Delivery providers, chosen by settings: SMS (log or SMS.ru), email (log or SMTP) and
Telegram (a bot's ``sendMessage``, only to customers who linked a chat).

A provider answers a ``Delivery`` (what the message cost, the gateway's id) or raises:
``PermanentFailure`` when trying again cannot help (a wrong number, a bot the customer
blocked), anything else is temporary and the outbox retries with backoff.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Protocol, runtime_checkable

import httpx
import structlog

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Delivery:
    cost: int
    """Kopecks: the gateway's figure when it gives one, else the configured price."""
    provider_id: str | None = None


class PermanentFailure(Exception):
    """The message cannot be delivered by retrying it."""


class Provider(Protocol):
    name: str

    async def send(self, recipient: str, text: str, *, masked: str | None = None) -> Delivery:
        """Deliver ``text``. ``masked`` is the same text with its secret (a one-time
        code) hidden: what a provider may log or keep; None when ``text`` holds none."""
        ...


def sms_parts(text: str) -> int:
    """How many SMS a text takes: GSM-7 (Latin) 160 / 153 per part, UCS-2 (Cyrillic)
    70 / 67 — the way gateways bill."""
    single, multi = (160, 153) if text.isascii() else (70, 67)
    return 1 if len(text) <= single else -(-len(text) // multi)


@runtime_checkable
class BatchProvider(Provider, Protocol):
    """A provider that takes many messages in one request."""

    batch_size: int

    async def send_many(self, messages: list[tuple[str, str]]) -> list[Delivery | Exception]:
        """One result per (recipient, text), in order; recipients are distinct."""
        ...


@dataclass(frozen=True)
class SentMessage:
    phone: str
    text: str


@dataclass
class LogSmsProvider:
    """Writes the message to the log instead of a gateway; remembers the last messages so
    the demo and tests can read a code the way a customer would read their phone.
    ``cost_kopecks`` is the price of one SMS part."""

    cost_kopecks: int = 0
    name: str = "log"
    event: str = "sms.sent"
    sent: list[SentMessage] = field(default_factory=list)
    keep: int = 1000
    reveal_codes: bool = False
    """Development only (``build_providers`` sets it when LOYALTY_ENV=development): no
    SMS leaves the machine, so the log line is the developer's phone and carries the code."""

    async def send(self, recipient: str, text: str, *, masked: str | None = None) -> Delivery:
        hidden = recipient[:-4] + "****" if len(recipient) > 4 else "****"
        if self.reveal_codes:
            log.info(self.event, provider="log", phone=hidden, text=text, development=True)
        else:
            # A log is read by more people than the customer's phone: never the code.
            log.info(self.event, provider="log", phone=hidden, text=masked or text)
        self.sent.append(SentMessage(recipient, text))
        del self.sent[: -self.keep]
        return Delivery(self.cost_kopecks * sms_parts(text))

    def last_to(self, phone: str) -> str | None:
        for message in reversed(self.sent):
            if message.phone == phone:
                return message.text
        return None


SmsProvider = Provider
"""The one-time codes' provider is the outbox's SMS provider."""


def _http(provider: SmsRuProvider | TelegramProvider) -> httpx.AsyncClient:
    # Made on first use, inside the running loop; one pool per provider, so messages
    # reuse connections rather than paying a TLS handshake each.
    if provider.client is None:
        provider.client = httpx.AsyncClient(limits=httpx.Limits(max_connections=100))
    return provider.client


def _kopecks(value: Any) -> int | None:
    """SMS.ru's ``"cost": "2.50"`` (roubles, a string or a number) in kopecks."""
    try:
        roubles, _, rest = str(value).strip().partition(".")
        return int(roubles) * 100 + int((rest + "00")[:2] or 0)
    except ValueError:
        return None


# SMS.ru status codes that no retry will change (bad number, no route, banned text,
# blocked sender...); the rest (gateway busy, balance, limits) may pass later.
SMSRU_PERMANENT = frozenset({202, 203, 204, 205, 206, 207, 208, 209, 230, 231, 232})


@dataclass
class SmsRuProvider:
    """SMS.ru's HTTP API: ``POST /sms/send`` with ``api_id``, ``to``, ``msg`` and
    ``json=1``; the answer has a status per number, with the message id and its cost."""

    api_id: str
    client: httpx.AsyncClient | None = None
    url: str = "https://sms.ru"
    sender: str | None = None
    price_kopecks: int = 0
    name: str = "smsru"

    batch_size: int = 100

    async def send(self, recipient: str, text: str, *, masked: str | None = None) -> Delivery:
        [result] = await self.send_many([(recipient, text)])
        if isinstance(result, Exception):
            raise result
        return result

    async def send_many(self, messages: list[tuple[str, str]]) -> list[Delivery | Exception]:
        """One request: ``to`` + ``msg`` for one message, ``multi[number]=text`` for
        several (SMS.ru takes up to 100); the answer has a status per number."""
        form = {"api_id": self.api_id, "json": "1"}
        if len(messages) == 1:
            form["to"], form["msg"] = messages[0][0].lstrip("+"), messages[0][1]
        else:
            for recipient, text in messages:
                form[f"multi[{recipient.lstrip('+')}]"] = text
        if self.sender:
            form["from"] = self.sender
        response = await _http(self).post(f"{self.url}/sms/send", data=form, timeout=30)
        response.raise_for_status()
        answer = response.json()
        if answer.get("status") != "OK":
            # The whole request was refused (api_id, balance, limits): not this number's fault.
            raise RuntimeError(f"sms.ru {answer.get('status_code')}: {answer.get('status_text')}")
        per_number = answer.get("sms") or {}
        return [self._result(per_number.get(recipient.lstrip("+")) or {}, text)
                for recipient, text in messages]  # fmt: skip

    def _result(self, result: dict[str, Any], text: str) -> Delivery | Exception:
        if result.get("status") != "OK":
            code = int(result.get("status_code") or 0)
            reason = f"sms.ru {code}: {result.get('status_text')}"
            return PermanentFailure(reason) if code in SMSRU_PERMANENT else RuntimeError(reason)
        cost = _kopecks(result.get("cost"))
        if cost is None:
            cost = self.price_kopecks * sms_parts(text)
        sms_id = result.get("sms_id")
        return Delivery(cost, str(sms_id) if sms_id else None)


SMSRU_DELIVERED = frozenset({103, 110})
SMSRU_UNDELIVERED = frozenset({104, 105, 106, 107, 108, 150})


@dataclass
class SmtpEmailProvider:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    use_tls: bool = False
    start_tls: bool | None = None
    price_kopecks: int = 0
    subject: str = "Программа лояльности"
    name: str = "smtp"

    async def send(self, recipient: str, text: str, *, masked: str | None = None) -> Delivery:
        import aiosmtplib

        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = recipient
        message["Subject"] = self.subject
        message.set_content(text)
        try:
            await aiosmtplib.send(
                message, hostname=self.host, port=self.port, username=self.username,
                password=self.password, use_tls=self.use_tls, start_tls=self.start_tls,
                timeout=30,
            )  # fmt: skip
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise PermanentFailure(f"smtp: recipient refused: {exc}") from exc
        return Delivery(self.price_kopecks)


@dataclass
class TelegramProvider:
    """The Bot API's ``sendMessage`` to the chat the customer linked; free. One per
    merchant's bot (``cloud.telegram.bots``): ``on_blocked`` unlinks the chat when
    Telegram answers 403 (the user blocked the bot)."""

    token: str
    client: httpx.AsyncClient | None = None
    url: str = "https://api.telegram.org"
    name: str = "telegram"
    on_blocked: Callable[[str], Awaitable[None]] | None = None

    async def send(self, recipient: str, text: str, *, masked: str | None = None) -> Delivery:
        response = await _http(self).post(
            f"{self.url}/bot{self.token}/sendMessage",
            json={"chat_id": int(recipient), "text": text},
            timeout=15,
        )
        answer = response.json()
        if answer.get("ok"):
            return Delivery(0, str(answer["result"]["message_id"]))
        reason = f"telegram {answer.get('error_code')}: {answer.get('description')}"
        # 400 (chat not found) and 403 (bot blocked by the user) will not heal by waiting.
        if answer.get("error_code") == 403 and self.on_blocked is not None:
            await self.on_blocked(recipient)
        if answer.get("error_code") in (400, 403):
            raise PermanentFailure(reason)
        raise RuntimeError(reason)
