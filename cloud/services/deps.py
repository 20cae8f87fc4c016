"""What every use case needs, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cloud.clock import Clock, system_clock
from cloud.crypto import BlindIndex, PersonalDataCipher
from cloud.db.database import PostgresDatabase, SqliteDatabase
from cloud.messages.providers import LogSmsProvider, Provider, SmsProvider
from cloud.services.experiments import ExperimentCache
from cloud.services.programs import ProgramCache
from cloud.settings import Settings

if TYPE_CHECKING:
    from cloud.telegram.bots import TelegramBots


@dataclass
class Deps:
    settings: Settings
    db: SqliteDatabase | PostgresDatabase
    cipher: PersonalDataCipher
    index: BlindIndex
    programs: ProgramCache
    sms: SmsProvider = field(default_factory=LogSmsProvider)
    clock: Clock = system_clock
    email: Provider = field(default_factory=lambda: LogSmsProvider(event="email.sent"))
    telegram: TelegramBots | None = None
    """Every merchant's own bot (``cloud.telegram``); None: no Telegram at all."""
    experiments: ExperimentCache = field(default_factory=ExperimentCache)
    """Running A/B tests by id (immutable once started): the checkout's variant lookup."""

    @classmethod
    def build(
        cls,
        settings: Settings,
        db: SqliteDatabase | PostgresDatabase,
        *,
        sms: SmsProvider | None = None,
        clock: Clock | None = None,
        email: Provider | None = None,
        telegram: TelegramBots | None = None,
    ) -> Deps:
        """Providers not given are built from settings (``cloud.messages.setup``)."""
        from cloud.messages.setup import build_providers

        built = build_providers(settings)
        return cls(
            settings=settings,
            db=db,
            cipher=PersonalDataCipher(settings.data_key),
            index=BlindIndex(settings.index_key),
            programs=ProgramCache(db),
            sms=sms or built.sms,
            clock=clock or system_clock,
            email=email or built.email,
            telegram=telegram or built.telegram,
        )
