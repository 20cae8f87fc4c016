"""Service settings: one pydantic-settings class, environment prefix ``LOYALTY_``."""

from __future__ import annotations

import ipaddress
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Development keys are public (they are in this file); production refuses to start
# with any of them, so a forgotten variable can never encrypt real phone numbers.
DEV_DATA_KEY = "ZGV2LWRhdGEta2V5LWRvLW5vdC11c2UtaW4tcHJvZCE="
DEV_INDEX_KEY = "ZGV2LWluZGV4LWtleS1kby1ub3QtdXNlLWluLXByb2Q="
DEV_SECRET_KEY = "dev-secret-key-do-not-use-in-production"
DEV_EVOTOR_APP_TOKEN = "dev-evotor-app-token-do-not-use-in-production"
DEV_OPERATOR_TOKEN = "dev-operator-token-do-not-use-in-production"
DEV_CABINET_KEY = "dev-cabinet-key-do-not-use-in-production"
"""Not a default (the operator API is off until a token is set): the value the README's
examples use, refused in production like the other public keys."""

BUILT_IN_SECRETS = {
    "data_key": DEV_DATA_KEY,
    "index_key": DEV_INDEX_KEY,
    "secret_key": DEV_SECRET_KEY,
    "evotor_app_token": DEV_EVOTOR_APP_TOKEN,
    "operator_token": DEV_OPERATOR_TOKEN,
    "cabinet_key": DEV_CABINET_KEY,
}
"""Every secret setting and its public development default; production refuses them all
(a new secret setting belongs here)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOYALTY_", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    database_url: str = "sqlite+aiosqlite:///./var/loyalty.sqlite3"
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None

    data_key: str = Field(DEV_DATA_KEY, description="AES-256-GCM key for personal data, base64")
    index_key: str = Field(DEV_INDEX_KEY, description="HMAC key of the blind index, base64")
    secret_key: str = Field(DEV_SECRET_KEY, description="signs sessions and one-time codes")

    evotor_app_token: str = Field(
        DEV_EVOTOR_APP_TOKEN,
        description="the app token Evotor sends us (Bearer, or Basic with it as the password)",
    )
    evotor_app_id: str | None = Field(
        None, description="our application's uuid on the Evotor market (payments of our app)"
    )
    evotor_api_url: str = Field("https://api.evotor.ru", description="Evotor cloud REST API")

    operator_token: str | None = Field(
        None,
        min_length=24,
        description="the platform operator's Bearer token (creates merchants); unset turns "
        "the operator API off",
    )

    # ---- the merchant cabinet (cloud.cabinet) ----
    cabinet_key: str = Field(
        DEV_CABINET_KEY, min_length=16, description="encrypts the cabinet's session cookies"
    )
    cabinet_session_hours: int = Field(12, ge=1, le=24 * 30, description="a sign-in lasts")
    cabinet_sign_in_window_seconds: int = Field(15 * 60, ge=60, le=24 * 3600)
    cabinet_failures_per_login: int = Field(
        5, ge=1, le=1000, description="refused passwords per login within the window"
    )
    cabinet_failures_per_ip: int = Field(
        30, ge=1, le=100_000, description="refused passwords per address within the window"
    )

    hold_ttl_seconds: int = Field(15 * 60, ge=30, le=24 * 3600)
    sms_code_ttl_seconds: int = Field(5 * 60, ge=30, le=3600)
    sms_code_attempts: int = Field(5, ge=1, le=20)
    # SMS pumping: a till (or a stolen till token) can send paid SMS to any numbers, so
    # codes are limited per phone, per till and per merchant over one rolling window.
    sms_rate_window_seconds: int = Field(3600, ge=60, le=7 * 24 * 3600)
    sms_codes_per_phone: int = Field(5, ge=1, le=1000)
    sms_codes_per_terminal: int = Field(20, ge=1, le=100_000)
    sms_codes_per_merchant: int = Field(200, ge=1, le=1_000_000)
    # ---- messages (cloud.messages; docs/messages.md) ----
    sms_provider: Literal["log", "smsru"] = Field("log", description="SMS gateway")
    smsru_api_id: str | None = Field(None, description="SMS.ru api_id (secret)")
    smsru_url: str = "https://sms.ru"
    smsru_sender: str | None = Field(None, description="SMS.ru sender name («from»)")
    smsru_callback_token: str | None = Field(
        None, min_length=16,
        description="secret part of the delivery status callback URL given to SMS.ru; "
        "unset turns the callback off",
    )  # fmt: skip
    sms_price_kopecks: int = Field(
        250, ge=0, le=100_000, description="one SMS part when the gateway does not say"
    )
    email_provider: Literal["log", "smtp"] = "log"
    smtp_host: str = "localhost"
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_sender: str = "loyalty@localhost"
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    email_price_kopecks: int = Field(0, ge=0, le=100_000)
    telegram_bot_token: str | None = Field(
        None, description="removed: each merchant sets its own bot (`loyalty telegram set-bot`)"
    )
    telegram_api_url: str = Field(
        "https://api.telegram.org", description="the Bot API (or a local Bot API server)"
    )
    telegram_poll_seconds: int = Field(
        50, ge=1, le=300, description="long-poll wait of `loyalty telegram poll`"
    )
    # ---- fiscal QR claims (cloud.fiscal; docs/fiscal-qr.md) ----
    fns_api_url: str = Field(
        "https://openapi.nalog.ru:8090",
        description="the Federal Tax Service's receipt-check API for partners (SOAP)",
    )
    fiscal_timeout_seconds: float = Field(10.0, gt=0, le=120, description="per HTTP call")
    fiscal_poll_seconds: float = Field(
        1.0, ge=0, le=30, description="pause between polls of an asynchronous answer"
    )
    fiscal_polls: int = Field(5, ge=1, le=30, description="polls of one answer per attempt")
    fiscal_retry_seconds: int = Field(
        600, ge=30, le=86_400, description="first retry of a pending claim (doubles, up to 6 h)"
    )
    fiscal_pending_hours: int = Field(
        72, ge=1, le=24 * 30, description="a claim still unverified after this is refused"
    )
    outbox_worker: bool = Field(True, description="drain the outbox inside `loyalty serve`")
    outbox_poll_seconds: float = Field(2.0, gt=0, le=3600)
    outbox_batch: int = Field(200, ge=1, le=10_000)
    outbox_concurrency: int = Field(50, ge=1, le=1000)
    outbox_max_attempts: int = Field(6, ge=1, le=50)
    outbox_backoff_seconds: int = Field(60, ge=1, le=86_400, description="first retry delay")
    outbox_backoff_max_seconds: int = Field(6 * 3600, ge=1, le=7 * 86_400)
    outbox_lease_seconds: int = Field(300, ge=10, le=86_400)
    quiet_hours: str | None = Field(
        "21:00-09:00",
        pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9])?$",
        description="local time when messages (not one-time codes) wait; empty: none",
    )
    mailing_attribution_days: int = Field(7, ge=1, le=90)
    log_format: Literal["console", "json"] | None = None
    log_level: str = "INFO"
    load_demo: bool = True
    pg_pool_size: int = Field(
        10, ge=1, le=200,
        description="PostgreSQL connections per process: `serve --workers N` opens N pools",
    )  # fmt: skip
    workers: int = Field(
        1, ge=1, le=64,
        description="`loyalty serve` worker processes on one port (SO_REUSEPORT); more than "
        "one needs PostgreSQL",
    )  # fmt: skip
    shutdown_timeout_seconds: float = Field(
        10.0, ge=0, le=600,
        description="on SIGTERM, how long in-flight requests may take to finish",
    )  # fmt: skip
    scheduler_in_serve: bool = Field(
        True,
        description="run the job scheduler inside `loyalty serve` (turn off where a separate "
        "`loyalty scheduler` runs; both together are safe, only redundant)",
    )
    scheduler_interval_seconds: float = Field(60.0, ge=1, le=3600)
    metrics_token: str | None = Field(
        None,
        min_length=16,
        description="GET /metrics answers only `Authorization: Bearer <it>`; unset: open, "
        "like /health (then keep /metrics off the public network)",
    )

    @model_validator(mode="after")
    def _refuse_dev_keys_in_production(self) -> Settings:
        if self.env == "production" and self.public_secrets_in_use:
            raise ValueError(
                "production refuses the built-in development keys; set "
                + ", ".join(self.public_secrets_in_use)
            )
        return self

    @model_validator(mode="after")
    def _providers_configured(self) -> Settings:
        if self.sms_provider == "smsru" and not self.smsru_api_id:
            raise ValueError("LOYALTY_SMS_PROVIDER=smsru needs LOYALTY_SMSRU_API_ID")
        if self.telegram_bot_token:
            # A deployment-wide bot cannot tell whose customer a chat is: refused rather
            # than silently ignored, so the operator moves the token to its merchant.
            raise ValueError(
                "LOYALTY_TELEGRAM_BOT_TOKEN is no longer used: each merchant has its own bot; "
                "run `loyalty telegram set-bot --merchant N --token ...` and unset it"
            )
        return self

    @property
    def public_secrets_in_use(self) -> list[str]:
        """The settings still holding a built-in (public) development value, in
        whichever of them it was put."""
        public = set(BUILT_IN_SECRETS.values())
        return [
            f"LOYALTY_{name.upper()}" for name in BUILT_IN_SECRETS if getattr(self, name) in public
        ]

    @property
    def listens_on_loopback(self) -> bool:
        """Whether ``host`` reaches only this machine (a name other than localhost may
        resolve to anything, so it does not count)."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host.strip("[]")).is_loopback
        except ValueError:
            return False

    @property
    def effective_log_format(self) -> str:
        if self.log_format:
            return self.log_format
        return "json" if self.env == "production" else "console"

    @cached_property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def sqlite_path(self) -> Path:
        """The database file of a ``sqlite+aiosqlite:///path`` URL."""
        return Path(self.database_url.split(":///", 1)[1])
