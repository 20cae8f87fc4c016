"""Providers built from settings (one shared httpx client for the HTTP ones)."""

from __future__ import annotations

from dataclasses import dataclass

from cloud.messages.providers import (
    LogSmsProvider,
    Provider,
    SmsRuProvider,
    SmtpEmailProvider,
)
from cloud.settings import Settings
from cloud.telegram.bots import TelegramBots


@dataclass(frozen=True)
class Providers:
    sms: Provider
    email: Provider
    telegram: TelegramBots


def build_providers(settings: Settings) -> Providers:
    sms: Provider = LogSmsProvider(cost_kopecks=0, reveal_codes=settings.env == "development")
    if settings.sms_provider == "smsru":
        assert settings.smsru_api_id  # Settings refuses smsru without it
        sms = SmsRuProvider(
            api_id=settings.smsru_api_id, url=settings.smsru_url,
            sender=settings.smsru_sender, price_kopecks=settings.sms_price_kopecks,
        )  # fmt: skip
    email: Provider = LogSmsProvider(cost_kopecks=0, event="email.sent")
    if settings.email_provider == "smtp":
        email = SmtpEmailProvider(
            host=settings.smtp_host, port=settings.smtp_port, sender=settings.smtp_sender,
            username=settings.smtp_username, password=settings.smtp_password,
            use_tls=settings.smtp_tls == "tls",
            start_tls=True if settings.smtp_tls == "starttls" else False,
            price_kopecks=settings.email_price_kopecks,
        )  # fmt: skip
    # Each merchant's bot sends with its own token (cloud.telegram.bots); one HTTP pool.
    return Providers(sms, email, TelegramBots(url=settings.telegram_api_url))


async def close_providers(*providers: Provider | TelegramBots | None) -> None:
    """Close the HTTP pools the providers opened (at shutdown)."""
    for provider in providers:
        client = getattr(provider, "client", None)
        if client is not None:
            await client.aclose()
