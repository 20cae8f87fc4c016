"""The 1C customer calls: look-up for the cashier, the SMS code, registration at the till.

Onto the same services as the SIGMA and Evotor tills: ``customer_card`` for the look-up,
``sms_codes.send_code`` with the till's terminal (its per-till limits),
``customers.register_customer`` with channel ``terminal`` and the till's store (consents
recorded with the registration's time). Idempotency of the mutating calls is the caller's
(``app.py`` runs them under ``requestId``).
"""

from __future__ import annotations

from datetime import datetime

from cloud.engine import format_roubles
from cloud.errors import NotFound
from cloud.services import customers, receipt_sessions
from cloud.services.customer_card import customer_card
from cloud.services.deps import Deps
from cloud.services.merchants import TerminalContext
from cloud.services.sms_codes import send_code
from schemas import onec
from schemas.customers import Consent, RegisterCustomer
from schemas.money import to_roubles
from terminal_bridge.onec.translate import customer_ref, midnight, phone_digits

_PURPOSE_TEXT = {"registration": "для регистрации", "redeem": "для оплаты бонусами"}


def not_found() -> NotFound:
    return NotFound(
        "customer_not_found",
        "Клиент не найден: проверьте телефон или карту либо зарегистрируйте клиента",
    )


async def card(deps: Deps, terminal: TerminalContext, customer_id: int) -> onec.CustomerAnswer:
    found = await customer_card(deps, terminal.merchant_id, customer_id, terminal.timezone)
    profile = await customers.customer_profile(deps, terminal.merchant_id, customer_id)
    summary = found.summary
    number = next((c.number for c in profile.cards if c.kind == "physical"), None) or next(
        (c.number for c in profile.cards if c.kind == "virtual"), None
    )
    messages = [f"Клиент: {summary.name}"] if summary.name else []
    if summary.tier_name:
        messages.append(f"Уровень: {summary.tier_name}")
    messages.append(f"Баланс: {format_roubles(summary.available)} бонусов")
    messages.extend(
        f"{format_roubles(lapse.amount)} бонусов сгорят после {lapse.last_day:%d.%m.%Y}"
        for lapse in found.expiring
    )
    messages.extend(summary.messages)
    return onec.CustomerAnswer(
        customerId=summary.id, name=summary.name,
        phone=phone_digits(customers.mask_phone(profile.phone)), card=number,
        tier=summary.tier_code, tierName=summary.tier_name,
        balance=to_roubles(summary.available), pending=to_roubles(profile.balance.pending),
        expiring=[
            onec.Lapsing(lastDay=midnight(lapse.last_day), amount=to_roubles(lapse.amount))
            for lapse in found.expiring
        ],
        messages=messages,
    )  # fmt: skip


async def lookup(
    deps: Deps, terminal: TerminalContext, body: onec.CustomerLookupRequest
) -> onec.CustomerAnswer:
    customer_id = await receipt_sessions.resolve_customer(
        deps, terminal.merchant_id, customer_ref(body)
    )
    if customer_id is None:
        raise not_found()
    return await card(deps, terminal, customer_id)


def _local(terminal: TerminalContext, epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, terminal.timezone).replace(tzinfo=None)


async def sms_code(
    deps: Deps, terminal: TerminalContext, body: onec.SmsCodeRequest
) -> onec.SmsCodeAnswer:
    sent = await send_code(
        deps, terminal.merchant_id, body.phone, body.purpose, terminal_id=terminal.terminal_id
    )
    masked = phone_digits(customers.mask_phone(sent.phone))
    minutes = max(1, -(-sent.expires_in // 60))
    return onec.SmsCodeAnswer(
        sentTo=masked, expiresAt=_local(terminal, sent.expires_at),
        resendAt=_local(terminal, sent.resend_at),
        messages=[
            f"Код отправлен на {masked}",
            f"Попросите клиента назвать код из SMS {_PURPOSE_TEXT[body.purpose]}: "
            f"он действует {minutes} мин.",
        ],
    )  # fmt: skip


async def register(
    deps: Deps, terminal: TerminalContext, body: onec.RegisterRequest
) -> onec.CustomerAnswer:
    data = RegisterCustomer(
        phone=body.phone, sms_code=body.smsCode, card=body.card, name=body.name,
        email=body.email, birthday=body.birthday,
        consent=Consent(personal_data=body.consentPersonalData, messages=body.consentMessages),
    )  # fmt: skip
    customer_id = await customers.register_customer(
        deps, terminal.merchant_id, data, store_id=terminal.store_id, channel="terminal",
        sms_code=data.sms_code,
    )  # fmt: skip
    answer = await card(deps, terminal, customer_id)
    answer.messages.insert(0, f"Клиент зарегистрирован: {answer.phone}")
    return answer
