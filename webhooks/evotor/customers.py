"""Terminal customer hooks: an SMS code, registration at the till and a look-up.

Only translation: the native services do the work (``sms_codes.send_code`` with the
device's terminal for the per-till limit, ``customers.register_customer`` with channel
``terminal`` and the device's store, ``customer_card`` for the look-up) and refusals
leave as their domain errors, which ``errors.py`` puts into Evotor's shape.
"""

from __future__ import annotations

from aiohttp import web

from cloud.engine import format_roubles
from cloud.services import customers, receipt_sessions
from cloud.services.customer_card import CustomerCard, customer_card
from cloud.services.customers import CustomerProfileData
from cloud.services.deps import Deps
from cloud.services.idempotency import run_idempotent
from cloud.services.merchants import TerminalContext
from cloud.services.sms_codes import send_code
from cloud.web_json import dumps
from schemas import evotor as ev
from schemas import evotor_customers as evc
from schemas.customers import Consent, RegisterCustomer
from schemas.money import to_roubles
from webhooks.evotor import translate

REGISTER_SCOPE = "evotor.customers.register"
"""Apart from the native API's scope: the same key there answers in another shape."""

_PURPOSE_TEXT = {
    "registration": "для регистрации",
    "redeem": "для оплаты бонусами",
}


def _minutes(seconds: int) -> int:
    return max(1, -(-seconds // 60))


async def sms_code(
    deps: Deps, terminal: TerminalContext, body: evc.SmsCodeHookRequest
) -> evc.SmsCodeHookResponse:
    sent = await send_code(
        deps, terminal.merchant_id, body.phone, body.purpose, terminal_id=terminal.terminal_id
    )
    return evc.SmsCodeHookResponse(
        sent=True,
        expiresIn=sent.expires_in,
        messages=[
            f"Код отправлен на {customers.mask_phone(sent.phone)}",
            f"Попросите клиента назвать код из SMS {_PURPOSE_TEXT[body.purpose]}: "
            f"он действует {_minutes(sent.expires_in)} мин.",
        ],
    )


def registration(body: evc.RegisterHookRequest) -> RegisterCustomer:
    return RegisterCustomer(
        phone=body.phone,
        sms_code=body.smsCode,
        card=body.card,
        name=body.name,
        email=body.email,
        birthday=body.birthday,
        gender=body.gender,
        referrer=body.referrer,
        consent=Consent(
            personal_data=body.consentPersonalData,
            messages=body.consentMessages,
            personal_data_version=body.consentPersonalDataVersion,
            messages_version=body.consentMessagesVersion,
        ),
    )


def registered(profile: CustomerProfileData, referred: bool) -> evc.RegisteredCustomer:
    virtual = next(c.number for c in profile.cards if c.kind == "virtual")
    physical = next((c.number for c in profile.cards if c.kind == "physical"), None)
    balance = profile.balance
    messages = [f"Клиент зарегистрирован: {customers.mask_phone(profile.phone)}"]
    if profile.tier_name:
        messages.append(f"Уровень: {profile.tier_name}")
    messages.append(f"Баланс: {format_roubles(balance.available)} бонусов")
    if balance.pending:
        messages.append(f"Ожидают активации: {format_roubles(balance.pending)} бонусов")
    messages.append(f"Виртуальная карта: {virtual}")
    if physical is not None:
        messages.append(f"Привязана карта: {physical}")
    if referred:
        messages.append("Пригласивший клиент учтён")
    return evc.RegisteredCustomer(
        id=profile.id,
        phone=customers.mask_phone(profile.phone),
        name=profile.name,
        tier=profile.tier_code,
        tierName=profile.tier_name,
        balance=to_roubles(balance.available),
        pending=to_roubles(balance.pending),
        card=virtual,
        physicalCard=physical,
        referralCode=profile.referral_code,
        messages=messages,
        slip=[
            f"Карта лояльности: {virtual}",
            f"Код для приглашения друзей: {profile.referral_code}",
            f"Баланс бонусов: {format_roubles(balance.available)}",
        ],
    )


async def register(
    deps: Deps, terminal: TerminalContext, body: evc.RegisterHookRequest, raw: bytes
) -> web.Response:
    """Register into the device's merchant and store; a retry of Evotor's proxy with the
    same ``idempotencyKey`` and body gets the first answer, not ``customer_exists``."""
    data = registration(body)

    async def action() -> tuple[int, bytes]:
        customer_id = await customers.register_customer(
            deps, terminal.merchant_id, data, store_id=terminal.store_id, channel="terminal",
            sms_code=data.sms_code,
        )  # fmt: skip
        profile = await customers.customer_profile(deps, terminal.merchant_id, customer_id)
        answer = registered(profile, referred=profile.referrer_id is not None)
        return 200, dumps(answer.model_dump(mode="python"))

    status, answer_bytes = await run_idempotent(
        deps, terminal.merchant_id, REGISTER_SCOPE, body.idempotencyKey, raw, action
    )
    return web.Response(body=answer_bytes, status=status, content_type="application/json")


def card_response(card: CustomerCard) -> evc.CustomerCardResponse:
    summary = card.summary
    messages = [f"Клиент: {summary.name}"] if summary.name else []
    if summary.tier_name:
        messages.append(f"Уровень: {summary.tier_name}")
    messages.append(f"Баланс: {format_roubles(summary.available)} бонусов")
    messages.extend(
        f"{format_roubles(lapse.amount)} бонусов сгорят после {lapse.last_day:%d.%m.%Y}"
        for lapse in card.expiring
    )
    return evc.CustomerCardResponse(
        id=summary.id,
        name=summary.name,
        tier=summary.tier_code,
        tierName=summary.tier_name,
        balance=to_roubles(summary.available),
        expiringSoon=[
            evc.ExpiringBonuses(lastDay=lapse.last_day, amount=to_roubles(lapse.amount))
            for lapse in card.expiring
        ],
        referralCode=summary.referral_code,
        messages=messages,
    )


async def lookup(
    deps: Deps, terminal: TerminalContext, body: ev.HookCustomer
) -> evc.CustomerCardResponse:
    customer_id = await receipt_sessions.resolve_customer(
        deps, terminal.merchant_id, translate.customer_ref(body)
    )
    if customer_id is None:
        raise customers.not_found()
    card = await customer_card(deps, terminal.merchant_id, customer_id, terminal.timezone)
    return card_response(card)
