"""Outbound messages to customers. Providers are pluggable; the default one only logs.

Every message is written to the ``notifications`` outbox first (with its cost), then
handed to the provider; a real SMS gateway over httpx slots in behind ``SmsProvider``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import structlog

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class SentMessage:
    phone: str
    text: str


class SmsProvider(Protocol):
    cost_kopecks: int

    async def send(self, phone: str, text: str, *, masked: str | None = None) -> None:
        """Deliver ``text``. ``masked`` is the same message with its secret (a one-time
        code) hidden: what a provider may log or keep; None when ``text`` holds none."""
        ...


@dataclass
class LogSmsProvider:
    """Writes the SMS to the log instead of a gateway; remembers the last messages so
    the demo and tests can read a code the way a customer would read their phone."""

    cost_kopecks: int = 0
    sent: list[SentMessage] = field(default_factory=list)
    keep: int = 1000
    reveal_codes: bool = False
    """Development only (``Deps.build`` sets it when LOYALTY_ENV=development): no SMS
    leaves the machine, so the log line is the developer's phone and carries the code."""

    async def send(self, phone: str, text: str, *, masked: str | None = None) -> None:
        hidden_phone = phone[:-4] + "****" if len(phone) > 4 else "****"
        if self.reveal_codes:
            log.info("sms.sent", provider="log", phone=hidden_phone, text=text, development=True)
        else:
            # A log is read by more people than the customer's phone: never the code.
            log.info("sms.sent", provider="log", phone=hidden_phone, text=masked or text)
        self.sent.append(SentMessage(phone, text))
        del self.sent[: -self.keep]

    def last_to(self, phone: str) -> str | None:
        for message in reversed(self.sent):
            if message.phone == phone:
                return message.text
        return None
