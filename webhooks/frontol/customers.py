"""``/client`` (the customer for the cashier) and ``/extra/client`` (registration at the
till): only translation onto the native services — ``customers.find_customer`` and
``customer_card`` for the look-up, ``sms_codes.send_code`` for the codes (per-till
limits), ``customers.register_customer`` (channel ``terminal``, the till's store) and
``customers.attach_card`` for the questionnaire; refusals leave as their domain errors.
"""

from __future__ import annotations

import structlog

from cloud.engine import format_roubles
from cloud.errors import BadRequest, DomainError
from cloud.services import customers
from cloud.services.customer_card import customer_card
from cloud.services.deps import Deps
from cloud.services.merchants import TerminalContext
from cloud.services.sms_codes import send_code
from schemas import frontol as fr
from schemas.customers import Consent, RegisterCustomer
from schemas.money import to_roubles
from webhooks.frontol.translate import NOT_FOUND, info, slip

log = structlog.get_logger("loyalty.frontol")

YES = frozenset({"1", "true", "yes", "да", "y", "on"})


def _client_required() -> BadRequest:
    return BadRequest("frontol_client_required", "Данные клиента не указаны")


async def _send(deps: Deps, terminal: TerminalContext, phone: str, purpose: str) -> str:
    """The line for the cashier after sending a code; a refusal (too many codes) is
    shown, not raised: the look-up itself still stands."""
    try:
        sent = await send_code(
            deps, terminal.merchant_id, phone, purpose, terminal_id=terminal.terminal_id
        )
    except DomainError as exc:
        return exc.message
    return (
        f"Код из SMS отправлен на {customers.mask_phone(sent.phone)}: попросите клиента назвать его"
    )


async def client_info(deps: Deps, terminal: TerminalContext, body: fr.ClientRequest) -> fr.Answer:
    ref = body.client
    if ref is None or (ref.card is None and ref.mobilePhone is None):
        raise _client_required()
    customer_id = await customers.find_customer(
        deps, terminal.merchant_id, phone=ref.mobilePhone, card=ref.card
    )
    if customer_id is None:
        return fr.Answer(client=fr.ClientOut(), cashierInformation=info([NOT_FOUND]))
    card = await customer_card(deps, terminal.merchant_id, customer_id, terminal.timezone)
    summary = card.summary
    lines = [f"Клиент: {summary.name}"] if summary.name else []
    if summary.tier_name:
        lines.append(f"Уровень: {summary.tier_name}")
    lines.append(f"Баланс: {format_roubles(summary.available)} бонусов")
    lines.extend(
        f"{format_roubles(lapse.amount)} бонусов сгорят после {lapse.last_day:%d.%m.%Y}"
        for lapse in card.expiring
    )
    printed = list(lines)
    program = await customers.live_program(deps, terminal.merchant_id)
    if program is not None and program.program.redeem_requires_sms_code and summary.available:
        profile = await customers.customer_profile(deps, terminal.merchant_id, customer_id)
        lines.append(await _send(deps, terminal, profile.phone, "redeem"))
    return fr.Answer(
        client=fr.ClientOut(availableAmount=to_roubles(summary.available)),
        cashierInformation=info(lines), printingInformation=slip(printed),
    )  # fmt: skip


# ---- the registration questionnaire -------------------------------------------------------

FORM = fr.Form(
    title=fr.FormTitle(text="Регистрация клиента"),
    elements=[
        fr.FormElement(type="label", text="Заполните анкету со слов клиента"),
        fr.FormElement(
            type="inputLine", name="mobilePhone", text="Телефон", regExp=r"^\+?[0-9 ()-]{10,18}$"
        ),
        fr.FormElement(type="inputLine", name="name", text="Имя"),
        fr.FormElement(type="inputLine", name="card", text="Номер карты (если выдаётся)"),
        fr.FormElement(
            type="comboBox",
            name="consentPersonalData",
            text="Согласие на обработку персональных данных",
            items=[{"value": "yes", "text": "Да"}, {"value": "no", "text": "Нет"}],
        ),
        fr.FormElement(
            type="comboBox",
            name="consentMessages",
            text="Согласие на рекламные сообщения",
            items=[{"value": "no", "text": "Нет"}, {"value": "yes", "text": "Да"}],
        ),
    ],
)


def _values(body: fr.ExtraClientRequest) -> dict[str, str]:
    values = {v.name: v.value.strip() for v in body.values}
    if body.client is not None:
        if body.client.mobilePhone and not values.get("mobilePhone"):
            values["mobilePhone"] = body.client.mobilePhone
        if body.client.card and not values.get("card"):
            values["card"] = body.client.card
        if body.client.validationCode and not values.get("smsCode"):
            values["smsCode"] = body.client.validationCode
    return values


def _phone(values: dict[str, str]) -> str:
    phone = values.get("mobilePhone")
    if not phone:
        raise BadRequest("frontol_phone_required", "Укажите телефон клиента")
    return phone


def describe(body: fr.ExtraClientRequest) -> fr.Answer:
    phone = _values(body).get("mobilePhone")
    elements = [
        e.model_copy(update={"default": phone}) if e.name == "mobilePhone" and phone else e
        for e in FORM.elements
    ]
    return fr.Answer(form=FORM.model_copy(update={"elements": elements}))


async def check(deps: Deps, terminal: TerminalContext, body: fr.ExtraClientRequest) -> fr.Answer:
    """Send the registration code (an existing customer with a card to bind needs none)."""
    values = _values(body)
    phone = _phone(values)
    existing = await customers.find_customer(deps, terminal.merchant_id, phone=phone)
    if existing is not None:
        if not values.get("card"):
            raise BadRequest("customer_exists", "Клиент с этим телефоном уже зарегистрирован")
        return fr.Answer(
            client=fr.ClientOut(mobilePhone=phone),
            cashierInformation=info(["Клиент уже зарегистрирован: карта будет привязана"]),
        )
    sent = await send_code(
        deps, terminal.merchant_id, phone, "registration", terminal_id=terminal.terminal_id
    )
    return fr.Answer(
        client=fr.ClientOut(mobilePhone=phone),
        cashierInformation=info(
            [
                f"Код из SMS отправлен на {customers.mask_phone(sent.phone)}: "
                "попросите клиента назвать его"
            ]
        ),
    )


async def execute(deps: Deps, terminal: TerminalContext, body: fr.ExtraClientRequest) -> fr.Answer:
    values = _values(body)
    phone = _phone(values)
    card = values.get("card") or None
    existing = await customers.find_customer(deps, terminal.merchant_id, phone=phone)
    if existing is not None:
        # A retried execute, or a card for a known customer: nothing is registered twice.
        lines = ["Клиент уже зарегистрирован"]
        if card is not None:
            await customers.attach_card(deps, terminal.merchant_id, existing, card)
            lines.append(f"Привязана карта: {card}")
        return fr.Answer(cashierInformation=info(lines))
    data = RegisterCustomer(
        phone=phone, sms_code=values.get("smsCode") or None, card=card,
        name=values.get("name") or None,
        consent=Consent(
            personal_data=values.get("consentPersonalData", "").lower() in YES,
            messages=values.get("consentMessages", "").lower() in YES,
        ),
    )  # fmt: skip
    customer_id = await customers.register_customer(
        deps, terminal.merchant_id, data, store_id=terminal.store_id, channel="terminal",
        sms_code=data.sms_code,
    )  # fmt: skip
    profile = await customers.customer_profile(deps, terminal.merchant_id, customer_id)
    virtual = next((c.number for c in profile.cards if c.kind == "virtual"), None)
    lines = [f"Клиент зарегистрирован: {customers.mask_phone(profile.phone)}"]
    if profile.tier_name:
        lines.append(f"Уровень: {profile.tier_name}")
    lines.append(f"Баланс: {format_roubles(profile.balance.available)} бонусов")
    if card is not None:
        lines.append(f"Привязана карта: {card}")
    elif virtual is not None:
        lines.append(f"Виртуальная карта: {virtual}")
    return fr.Answer(
        client=fr.ClientOut(mobilePhone=profile.phone),
        cashierInformation=info(lines), printingInformation=slip(lines),
    )  # fmt: skip
