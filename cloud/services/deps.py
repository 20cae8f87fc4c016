"""What every use case needs, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field

from cloud.clock import Clock, system_clock
from cloud.crypto import BlindIndex, PersonalDataCipher
from cloud.db.database import PostgresDatabase, SqliteDatabase
from cloud.notify import LogSmsProvider, SmsProvider
from cloud.services.programs import ProgramCache
from cloud.settings import Settings


@dataclass
class Deps:
    settings: Settings
    db: SqliteDatabase | PostgresDatabase
    cipher: PersonalDataCipher
    index: BlindIndex
    programs: ProgramCache
    sms: SmsProvider = field(default_factory=LogSmsProvider)
    clock: Clock = system_clock

    @classmethod
    def build(
        cls,
        settings: Settings,
        db: SqliteDatabase | PostgresDatabase,
        *,
        sms: SmsProvider | None = None,
        clock: Clock | None = None,
    ) -> Deps:
        return cls(
            settings=settings,
            db=db,
            cipher=PersonalDataCipher(settings.data_key),
            index=BlindIndex(settings.index_key),
            programs=ProgramCache(db),
            sms=sms or LogSmsProvider(reveal_codes=settings.env == "development"),
            clock=clock or system_clock,
        )
