"""Russian names of the kinds of messages and of their statuses, for the pages."""

from __future__ import annotations

KIND_NAMES = {
    "birthday_gift": "Подарок ко дню рождения",
    "expiry_warning": "Бонусы скоро сгорят",
    "bonuses_activated": "Бонусы стали доступны",
    "reanimation_gift": "Подарок за возвращение",
    "follow_up_reminder": "Напоминание о предложении",
    "tier_changed": "Новый уровень",
    "referral_reward": "Бонусы за покупку друга",
    "welcome_gift": "Подарок за регистрацию",
    "mailing": "Рассылка",
    "feedback_request": "Просьба оценить покупку",
    "feedback_reply": "Ответ на отзыв",
}

STATUS_NAMES = {
    "pending": "в очереди",
    "claimed": "отправляется",
    "sent": "отправлено",
    "delivered": "доставлено",
    "undelivered": "не доставлено",
    "failed": "не отправлено",
    "skipped": "пропущено",
    "skipped_opt_out": "пропущено: отказ от сообщений",
    "skipped_blocked": "пропущено: карта заблокирована",
}
CHANNEL_NAMES = {"sms": "SMS", "email": "эл. почта", "telegram": "Telegram"}
