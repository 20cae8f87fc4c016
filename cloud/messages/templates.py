"""Russian message templates per kind, rendered at send time from ``notifications.params``.

A template is text with ``{variable}`` places. Each kind names its variables and how a
value is written: money is integer kopecks in params and «150 ₽» / «150,50 ₽» in the
text; dates are ISO in params and «31.12.2026» in the text (``until``: « до 31.12.2026»,
or nothing when the params' date is empty). ``merchant`` (the merchant's
name) is always available. A merchant may replace a kind's text (``message_templates``);
a replacement may use only the kind's variables, checked when it is saved.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

ADVERTISING_KINDS = frozenset(
    {"birthday_gift", "reanimation_gift", "follow_up_reminder", "mailing"}
)
"""Advertising (law 38-FZ art. 18): sent only to customers who consented to messages,
and each carries the customer's refusal link (``unsubscribe.footer``, appended by the
outbox). Decided per kind:

* ``mailing`` — the merchant's own promotion: advertising.
* ``birthday_gift``, ``reanimation_gift`` — a gift whose point is to bring the customer
  to the shop (a greeting with an offer): advertising.
* ``follow_up_reminder`` — a reminder of a personal offer: advertising.
* ``expiry_warning``, ``bonuses_activated``, ``referral_reward``, ``welcome_gift``,
  ``tier_changed`` — facts about the customer's own account (bonuses credited,
  spendable or lapsing, the tier): service messages, no link.
* ``feedback_request`` — about the customer's own purchase; ``feedback_reply`` — an
  answer to the customer's own feedback: service.

The service kinds need no consent, only no «СТОП»; the jobs still queue most of them
only for customers who consented (see each job). One-time codes never pass here."""


def money(kopecks: Any) -> str:
    value = int(kopecks)
    sign = "-" if value < 0 else ""
    roubles, rest = divmod(abs(value), 100)
    whole = f"{roubles:,}".replace(",", "\u00a0")
    return f"{sign}{whole} ₽" if rest == 0 else f"{sign}{whole},{rest:02d} ₽"


def day(iso: Any) -> str:
    return date.fromisoformat(str(iso)[:10]).strftime("%d.%m.%Y")


def text(value: Any) -> str:
    return str(value)


def integer(value: Any) -> str:
    return str(int(value))


def until(iso: Any) -> str:
    """« до 31.12.2026» for bonuses that lapse, nothing for those that do not."""
    return f" до {day(iso)}" if iso else ""


Formatter = Callable[[Any], str]

VARIABLES: dict[str, dict[str, Formatter]] = {
    "birthday_gift": {"amount": money, "expires_on": day},
    "expiry_warning": {"amount": money, "expires_on": day},
    "bonuses_activated": {"amount": money, "until": until},
    "reanimation_gift": {"amount": money, "expires_on": day},
    "follow_up_reminder": {"expires_on": day},
    "tier_changed": {"tier": text},
    "referral_reward": {"amount": money, "level": integer},
    "welcome_gift": {"amount": money},
    "mailing": {"text": text},
    "feedback_request": {"link": text},
    "feedback_reply": {"text": text},
}
"""Per kind, the params a job writes and how each is shown."""

DEFAULTS: dict[str, str] = {
    "birthday_gift": "{merchant}: с днём рождения! Дарим {amount} бонусами, "
    "они действуют до {expires_on}.",
    "expiry_warning": "{merchant}: {amount} бонусами сгорят после {expires_on}. Успейте потратить!",
    "bonuses_activated": "{merchant}: вам доступно {amount} бонусами{until}.",
    "reanimation_gift": "{merchant}: мы скучаем! Дарим {amount} бонусами до {expires_on}.",
    "follow_up_reminder": "{merchant}: напоминаем о вашем персональном предложении, оно "
    "действует до {expires_on}.",
    "tier_changed": "{merchant}: ваш уровень в программе лояльности теперь «{tier}».",
    "referral_reward": "{merchant}: вам начислено {amount} бонусами за покупку друга.",
    "welcome_gift": "{merchant}: добро пожаловать! Вам начислено {amount} бонусами.",
    "mailing": "{text}",
    "feedback_request": "{merchant}: спасибо за покупку! Оцените её, пожалуйста: {link}",
    "feedback_reply": "{merchant}: ответ на ваш отзыв: {text}",
}
KINDS = tuple(DEFAULTS)


class TemplateError(ValueError):
    """A template or its params do not fit the kind; the message is Russian."""


def fields_of(template: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise TemplateError("Непарная фигурная скобка в шаблоне") from exc


def check_template(kind: str, template: str) -> None:
    """Refuse a merchant's template that names a variable the kind does not have, or
    that would not format (a format spec, an attribute, an index)."""
    allowed = set(VARIABLES[kind]) | {"merchant"}
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError("Непарная фигурная скобка в шаблоне") from exc
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in allowed or spec or conversion:
            raise TemplateError(
                f"Неизвестная переменная {{{name}}}: для этого вида допустимы "
                + ", ".join(f"{{{n}}}" for n in sorted(allowed))
            )


def render(kind: str, params: Mapping[str, Any], merchant: str, template: str | None) -> str:
    """The message text; ``template`` is the merchant's own, None for the default."""
    if kind not in VARIABLES:
        raise TemplateError(f"Неизвестный вид сообщения «{kind}»")
    body = template or DEFAULTS[kind]
    values = {"merchant": merchant}
    for name in fields_of(body) - {"merchant"}:
        if name not in params:
            raise TemplateError(f"Нет значения переменной {{{name}}} для «{kind}»")
        try:
            values[name] = VARIABLES[kind][name](params[name])
        except (KeyError, TypeError, ValueError) as exc:
            raise TemplateError(f"Значение {{{name}}} для «{kind}» не подходит") from exc
    return body.format_map(values)
