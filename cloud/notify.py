"""Outbound messages to customers (kept for its old importers): see ``cloud.messages``."""

from cloud.messages.providers import Delivery, LogSmsProvider, SentMessage, SmsProvider

__all__ = ["Delivery", "LogSmsProvider", "SentMessage", "SmsProvider"]
