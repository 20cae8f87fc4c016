"""The merchant's Telegram bot on the wire (merchant key)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class TelegramBotSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: Annotated[str, Field(min_length=1, max_length=200,
                                description="токен бота от @BotFather")]  # fmt: skip


class TelegramBotInfo(BaseModel):
    bot_id: int
    username: str
    link: str = Field(description="ссылка для клиентов: https://t.me/<имя бота>")
    webhook_url: str | None = Field(
        description="адрес вебхука, если у сервиса задан публичный адрес (LOYALTY_PUBLIC_URL)"
    )
    webhook_registered: bool = Field(description="вебхук зарегистрирован этим запросом")
    linked_customers: int = Field(description="клиентов, привязавших чат с ботом")


class TelegramBotRemoved(BaseModel):
    removed: bool
