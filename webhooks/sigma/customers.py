"""SIGMA customer hooks: a look-up for the cashier, an SMS code, registration at the till.

Only translation, onto exactly the services the Evotor till customer hooks use:
``sms_codes.send_code`` with the till's terminal (per-till limits),
``customers.register_customer`` with channel ``terminal`` and the till's store,
``customer_card`` for the look-up (balance, tier, bonuses lapsing soon), idempotency
through ``run_idempotent``. Refusals leave as their domain errors, which the sub-app's
middleware answers as ``{"code", "message"}``.
"""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from cloud.engine import format_roubles
from cloud.errors import NotFound
from cloud.services import customers, receipt_sessions
from cloud.services.customer_card import customer_card
from cloud.services.deps import Deps
from cloud.services.idempotency import run_idempotent
from cloud.services.merchants import TerminalContext
from cloud.services.sms_codes import send_code
from cloud.web_json import dumps
from schemas import sigma_customers as sgc
from schemas.customers import Consent, RegisterCustomer
from schemas.money import to_roubles
from webhooks.sigma.translate import customer_ref

REGISTER_SCOPE = "sigma.customers.register"
"""Apart from the native and Evotor scopes: the same key there answers in another shape."""

_PURPOSE_TEXT = {"registration": "для регистрации", "redeem": "для оплаты бонусами"}


def _not_found() -> NotFound:
    return NotFound(
        "customer_not_found",
        "Клиент не найден: проверьте телефон или карту либо зарегистрируйте клиента",
    )


def _local(terminal: TerminalContext, epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, terminal.timezone)


async def _card(
    deps: Deps, terminal: TerminalContext, customer_id: int
) -> tuple[sgc.CashierCustomer, list[str], list[str]]:
    """The customer for the cashier, the screen lines and the slip lines."""
    card = await customer_card(deps, terminal.merchant_id, customer_id, terminal.timezone)
    profile = await customers.customer_profile(deps, terminal.merchant_id, customer_id)
    summary = card.summary
    virtual = next((c.number for c in profile.cards if c.kind == "virtual"), None)
    physical = next((c.number for c in profile.cards if c.kind == "physical"), None)
    messages = [f"Клиент: {summary.name}"] if summary.name else []
    messages.append(f"Телефон: {customers.mask_phone(profile.phone)}")
    if summary.tier_name:
        messages.append(f"Уровень: {summary.tier_name}")
    messages.append(f"Баланс: {format_roubles(summary.available)} бонусов")
    if profile.balance.pending:
        messages.append(f"Ожидают активации: {format_roubles(profile.balance.pending)} бонусов")
    messages.extend(
        f"{format_roubles(lapse.amount)} бонусов сгорят после {lapse.last_day:%d.%m.%Y}"
        for lapse in card.expiring
    )
    messages.extend(summary.messages)
    slip = [f"Карта лояльности: {physical or virtual}"] if physical or virtual else []
    slip.append(f"Баланс бонусов: {format_roubles(summary.available)}")
    customer = sgc.CashierCustomer(
        id=summary.id, name=summary.name, phone=customers.mask_phone(profile.phone),
        tier=summary.tier_code, tier_name=summary.tier_name,
        balance=to_roubles(summary.available), pending=to_roubles(profile.balance.pending),
        lapsing_soon=[
            sgc.Lapsing(last_day=lapse.last_day, amount=to_roubles(lapse.amount))
            for lapse in card.expiring
        ],
        card=virtual, physical_card=physical, referral_code=summary.referral_code,
    )  # fmt: skip
    return customer, messages, slip


async def lookup(
    deps: Deps, terminal: TerminalContext, body: sgc.CustomerLookupRequest
) -> sgc.CustomerResponse:
    customer_id = await receipt_sessions.resolve_customer(
        deps, terminal.merchant_id, customer_ref(body.customer)
    )
    if customer_id is None:
        raise _not_found()
    customer, messages, slip = await _card(deps, terminal, customer_id)
    return sgc.CustomerResponse(event=body.event, customer=customer, messages=messages, slip=slip)


async def sms_code(
    deps: Deps, terminal: TerminalContext, body: sgc.SmsCodeRequest
) -> sgc.SmsCodeResponse:
    sent = await send_code(
        deps, terminal.merchant_id, body.phone, body.purpose, terminal_id=terminal.terminal_id
    )
    minutes = max(1, -(-sent.expires_in // 60))
    messages = [
        f"Код отправлен на {customers.mask_phone(sent.phone)}",
        f"Попросите клиента назвать код из SMS {_PURPOSE_TEXT[body.purpose]}: "
        f"он действует {minutes} мин.",
    ]
    wait = sent.resend_at - (sent.expires_at - sent.expires_in)  # seconds from now
    if wait > 0:
        messages.append(f"Новый код можно запросить через {max(1, -(-wait // 60))} мин.")
    return sgc.SmsCodeResponse(
        event=body.event, purpose=body.purpose, sent_to=customers.mask_phone(sent.phone),
        expires_at=_local(terminal, sent.expires_at),
        resend_at=_local(terminal, sent.resend_at), messages=messages,
    )  # fmt: skip


def _registration(body: sgc.CustomerRegisterRequest) -> RegisterCustomer:
    return RegisterCustomer(
        phone=body.phone, sms_code=body.sms_code, card=body.card, name=body.name,
        email=body.email, birthday=body.birthday, gender=body.gender, referrer=body.referrer,
        consent=Consent(
            personal_data=body.consent_personal_data, messages=body.consent_messages,
            personal_data_version=body.consent_personal_data_version,
            messages_version=body.consent_messages_version,
        ),
    )  # fmt: skip


async def register(
    deps: Deps, terminal: TerminalContext, body: sgc.CustomerRegisterRequest, raw: bytes
) -> web.Response:
    """Register into the till's merchant and store; a retry with the same
    ``idempotency_key`` and body gets the first answer, not ``customer_exists``."""
    data = _registration(body)

    async def action() -> tuple[int, bytes]:
        customer_id = await customers.register_customer(
            deps, terminal.merchant_id, data, store_id=terminal.store_id, channel="terminal",
            sms_code=data.sms_code,
        )  # fmt: skip
        customer, messages, slip = await _card(deps, terminal, customer_id)
        messages.insert(0, f"Клиент зарегистрирован: {customer.phone}")
        if customer.physical_card is not None:
            messages.append(f"Привязана карта: {customer.physical_card}")
        answer = sgc.CustomerResponse(
            event=body.event, customer=customer, messages=messages, slip=slip
        )
        return 200, dumps(answer.model_dump(mode="json"))

    status, answer = await run_idempotent(
        deps, terminal.merchant_id, REGISTER_SCOPE, body.idempotency_key, raw, action
    )
    return web.Response(body=answer, status=status, content_type="application/json")
