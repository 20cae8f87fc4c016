"""The counterparty endpoints and the code requests: translation onto
``customers`` (look-up, registration, profile), ``sms_codes.send_code`` and the
installation's kept codes (``moysklad_accounts``).

A customer is found by, in order: the GUID we gave the till (``agent.meta.id``),
MoySklad's own counterparty id once paired with one of ours, the phone in any format,
the card number. A search string is tried as our GUID, a phone, then a card.
"""

from __future__ import annotations

from cloud.clock import to_epoch
from cloud.errors import BadRequest, DomainError, NotFound
from cloud.phones import normalize_phone
from cloud.services import customers
from cloud.services import moysklad_accounts as accounts
from cloud.services.deps import Deps
from cloud.services.merchants import TerminalContext
from cloud.services.sms_codes import send_code
from schemas import moysklad as ms
from schemas.customers import Consent, RegisterCustomer
from schemas.money import to_roubles
from webhooks.moysklad.errors import VerificationRequired


def _phone(value: str | None) -> str | None:
    text = (value or "").strip()
    if len(text) < 5:
        return None
    try:
        return normalize_phone(text)
    except (DomainError, ValueError):
        return None


async def _by_card(deps: Deps, merchant_id: int, card: str | None) -> int | None:
    text = (card or "").strip()
    if not text:
        return None
    try:
        return await customers.find_customer(deps, merchant_id, card=text)
    except (DomainError, ValueError):
        return None


async def find(
    deps: Deps, merchant_id: int, entity_id: str | None, person: ms.Person | None
) -> int | None:
    """Our customer for an agent (see the module's order); pairs MoySklad's id with a
    customer found by phone or card."""
    entity_id = (entity_id or "").strip()
    if entity_id:
        ours = accounts.customer_of_id(entity_id)
        if ours is not None:
            return await customers.find_customer(deps, merchant_id, customer_id=ours)
        paired = await accounts.by_ms_id(deps, merchant_id, entity_id)
        if paired is not None:
            return paired
    if person is None:
        return None
    found = None
    phone = _phone(person.phone)
    if phone is not None:
        found = await customers.find_customer(deps, merchant_id, phone=phone)
    if found is None:
        found = await _by_card(deps, merchant_id, person.discountCardNumber)
    if found is not None and entity_id:
        await accounts.remember_ms_id(deps, merchant_id, entity_id, found)
    return found


async def find_agent(deps: Deps, merchant_id: int, agent: ms.Agent | None) -> int | None:
    if agent is None:
        return None
    return await find(deps, merchant_id, agent.meta.entity_id if agent.meta else None, agent)


def _not_found() -> NotFound:
    return NotFound("customer_not_found", "Покупатель не найден в программе лояльности")


async def row(deps: Deps, merchant_id: int, customer_id: int) -> ms.CounterpartyRow:
    profile = await customers.customer_profile(deps, merchant_id, customer_id)
    plastic = next((c.number for c in profile.cards if c.kind == "physical"), None)
    virtual = next((c.number for c in profile.cards if c.kind == "virtual"), None)
    return ms.CounterpartyRow(
        id=accounts.counterparty_id(customer_id), name=profile.name or profile.phone,
        discountCardNumber=plastic or virtual, phone=profile.phone, email=profile.email,
        birthDate=f"{profile.birthday:%Y-%m-%d} 00:00:00" if profile.birthday else None,
        sex={"male": "MALE", "female": "FEMALE"}.get(profile.gender or ""),
    )  # fmt: skip


async def search(deps: Deps, terminal: TerminalContext, text: str) -> ms.SearchResponse:
    text = text.strip()
    if not text:
        raise BadRequest("moysklad_search_required", "Укажите строку поиска (search)")
    found = await find(deps, terminal.merchant_id, text, ms.Person(phone=text))
    if found is None:
        found = await _by_card(deps, terminal.merchant_id, text)
    rows = [] if found is None else [await row(deps, terminal.merchant_id, found)]
    return ms.SearchResponse(rows=rows)


async def detail(
    deps: Deps, terminal: TerminalContext, body: ms.CounterpartyIn
) -> ms.DetailResponse:
    meta = body.meta.entity_id if body.meta is not None else None
    found = await find(deps, terminal.merchant_id, meta, body)
    if found is None:
        raise _not_found()
    summary = await customers.customer_summary(deps, terminal.merchant_id, found)
    return ms.DetailResponse(
        bonusProgram=ms.BalanceBlock(agentBonusBalance=to_roubles(summary.available))
    )


async def _hand_code(
    deps: Deps, terminal: TerminalContext, phone: str, purpose: str
) -> ms.VerifyResponse:
    sent = await send_code(
        deps, terminal.merchant_id, phone, purpose, terminal_id=terminal.terminal_id
    )
    await accounts.keep_code(deps, terminal.merchant_id, phone, purpose, sent.code, sent.expires_at)
    wait = max(0, sent.resend_at - to_epoch(deps.clock()))
    return ms.VerifyResponse(
        verificationCode=sent.code, timeForRepeat=wait,
        messageForCashier=f"Код отправлен покупателю на номер {customers.mask_phone(sent.phone)}",
    )  # fmt: skip


def _required_phone(value: str | None) -> str:
    """The phone a code goes to: absent is 400 ``moysklad_phone_required``, unreadable
    400 ``invalid_phone``."""
    text = (value or "").strip()
    if not text:
        raise BadRequest("moysklad_phone_required", "Укажите телефон покупателя (phone)")
    return normalize_phone(text[:64])


async def registration_code(
    deps: Deps, terminal: TerminalContext, body: ms.CounterpartyIn
) -> ms.VerifyResponse:
    phone = _required_phone(body.phone)
    return await _hand_code(deps, terminal, phone, "registration")


async def spending_code(
    deps: Deps, terminal: TerminalContext, body: ms.DemandVerifyRequest
) -> ms.VerifyResponse:
    found = await find(deps, terminal.merchant_id, body.counterpartyId, ms.Person(phone=body.phone))
    if found is None:
        raise _not_found()
    profile = await customers.customer_profile(deps, terminal.merchant_id, found)
    return await _hand_code(deps, terminal, profile.phone, "redeem")


async def register(
    deps: Deps, terminal: TerminalContext, body: ms.CounterpartyIn
) -> ms.CounterpartyRow:
    """Register the customer whose phone the till confirmed with the code we handed it
    (``statusCheck: CHECKED``); otherwise 412/28001, as the reference asks. A phone
    already registered answers with that customer (a retried registration)."""
    phone = _required_phone(body.phone)
    merchant_id = terminal.merchant_id
    ms_id = body.meta.entity_id if body.meta is not None else ""
    existing = await customers.find_customer(deps, merchant_id, phone=phone)
    if existing is None:
        code = await accounts.kept_code(deps, merchant_id, phone, "registration")
        if body.statusCheck != "CHECKED" or code is None:
            raise VerificationRequired(
                "moysklad_verification_required",
                "Покупатель должен подтвердить свои данные через код.",
            )
        card = (body.discountCardNumber or "").strip() or None
        # The cashier registers the customer in МойСклад under the merchant's consent
        # form; advertising needs an explicit yes, which the protocol cannot carry.
        data = RegisterCustomer(
            phone=phone, sms_code=code, card=card, name=(body.name or "").strip() or None,
            consent=Consent(personal_data=True, messages=False),
        )  # fmt: skip
        existing = await customers.register_customer(
            deps, merchant_id, data, store_id=terminal.store_id, channel="terminal",
            sms_code=code,
        )  # fmt: skip
    await accounts.remember_ms_id(deps, merchant_id, ms_id, existing)
    out = await row(deps, merchant_id, existing)
    return out.model_copy(update={"msId": ms_id or None})
