"""Customer and SMS-code endpoints of the native API v1.

Every handler works inside the merchant the terminal's credential resolves to; a
customer of another merchant is indistinguishable from one that does not exist (404).
Instants go out in the calling store's time zone, amounts as numbers with two places.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp import web

from cloud.api.keys import deps_of, terminal_of
from cloud.api.openapi import Operation, Param
from cloud.api.wire import (
    customer_id_of,
    dumps,
    int_query,
    json_response,
    parse_body,
    read_body,
    read_model,
)
from cloud.errors import BadRequest
from cloud.services import customers as service
from cloud.services.customers import MAX_HISTORY_PAGE
from cloud.services.idempotency import run_idempotent
from cloud.services.sms_codes import send_code, verify_code
from cloud.web_json import refuse_nul
from schemas.bounds import BIGINT_MAX
from schemas.customers import (
    Acquisition,
    AttachCard,
    BalanceInfo,
    CardInfo,
    ChildInfo,
    CodeSent,
    CodeVerified,
    CustomerConsents,
    CustomerLookup,
    CustomerProfile,
    HistoryEntry,
    HistoryPage,
    PurchaseStats,
    RegisterCustomer,
    SendCodeRequest,
    TierInfo,
    VerifyCodeRequest,
)
from schemas.money import to_roubles

REGISTER_SCOPE = "customers.register"
_ID = r"{customer_id:[0-9]{1,19}}"


def _local(seconds: int | None, zone: ZoneInfo) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, zone)


def profile_wire(profile: service.CustomerProfileData, zone: ZoneInfo) -> CustomerProfile:
    registered_at = _local(profile.created_at, zone)
    assert registered_at is not None
    return CustomerProfile(
        id=profile.id,
        phone=service.mask_phone(profile.phone),
        name=profile.name,
        email=profile.email,
        birthday=profile.birthday,
        tier=None
        if profile.tier_code is None
        else TierInfo(code=profile.tier_code, name=profile.tier_name),
        cards=[
            CardInfo(
                id=card.id,
                kind=card.kind,
                number=service.mask_phone(card.number) if card.kind == "phone" else card.number,
            )
            for card in profile.cards
        ],
        balance=BalanceInfo(
            available=to_roubles(profile.balance.available),
            held=to_roubles(profile.balance.held),
            pending=to_roubles(profile.balance.pending),
        ),
        purchases=PurchaseStats(
            count=profile.purchase_count,
            total=to_roubles(profile.lifetime_purchases),
            last_at=_local(profile.last_purchase_at, zone),
        ),
        consents=CustomerConsents(
            personal_data_at=_local(profile.consent_personal_data_at, zone),
            messages_at=_local(profile.consent_messages_at, zone),
            personal_data_version=profile.consent_personal_data_version,
            messages_version=profile.consent_messages_version,
        ),
        registered_at=registered_at,
        gender=profile.gender,
        children=[ChildInfo(name=name, birthday=birthday) for name, birthday in profile.children],
        referral_code=profile.referral_code,
        referrer_id=profile.referrer_id,
        acquisition=None
        if profile.acquisition_channel is None and profile.campaign is None
        else Acquisition(channel=profile.acquisition_channel, campaign=profile.campaign),
    )


async def post_sms_code(request: web.Request) -> web.Response:
    """Send a one-time code to the customer's phone."""
    terminal = terminal_of(request)
    body = await read_model(request, SendCodeRequest)
    sent = await send_code(
        deps_of(request), terminal.merchant_id, body.phone, body.purpose,
        terminal_id=terminal.terminal_id,
    )  # fmt: skip
    return json_response(CodeSent(sent=True, expires_in=sent.expires_in))


async def post_sms_code_verify(request: web.Request) -> web.Response:
    """Check a code without using it up: the operation it authorises (registration,
    a redemption) consumes it. A wrong code still costs an attempt."""
    terminal = terminal_of(request)
    body = await read_model(request, VerifyCodeRequest)
    await verify_code(
        deps_of(request), terminal.merchant_id, body.phone, body.purpose, body.code, consume=False
    )
    return json_response(CodeVerified(verified=True))


async def post_customer(request: web.Request) -> web.Response:
    """Register a customer; idempotent when a key is given (body or header)."""
    terminal = terminal_of(request)
    deps = deps_of(request)
    raw = await read_body(request)
    data = parse_body(RegisterCustomer, raw)
    header_key = request.headers.get("Idempotency-Key")
    # Printable ASCII only: a header's other bytes reach us as lone surrogates, which no
    # database column can store.
    if header_key is not None and not (
        0 < len(header_key) <= 200 and header_key.isascii() and header_key.isprintable()
    ):
        raise BadRequest(
            "invalid_idempotency_key",
            "Ключ идемпотентности: от 1 до 200 печатных символов ASCII",
        )
    if header_key and data.idempotency_key and header_key != data.idempotency_key:
        raise BadRequest(
            "idempotency_key_mismatch",
            "Ключи идемпотентности в заголовке и в теле запроса различаются",
        )
    key = data.idempotency_key or header_key

    async def register() -> tuple[int, bytes]:
        customer_id = await service.register_customer(
            deps,
            terminal.merchant_id,
            data,
            store_id=terminal.store_id,
            channel="terminal",
            sms_code=data.sms_code,
        )
        profile = await service.customer_profile(deps, terminal.merchant_id, customer_id)
        return 201, dumps(profile_wire(profile, terminal.timezone).model_dump(mode="python"))

    status, body = await run_idempotent(
        deps, terminal.merchant_id, REGISTER_SCOPE, key, raw, register
    )
    return web.Response(body=body, status=status, content_type="application/json")


async def get_lookup(request: web.Request) -> web.Response:
    """Find a customer by ``?phone=`` or ``?card=`` (a physical or virtual card)."""
    terminal = terminal_of(request)
    deps = deps_of(request)
    phone = _text_query(request, "phone", 32)
    card = _text_query(request, "card", 64)
    if (phone is None) == (card is None):
        raise BadRequest("customer_ref_required", "Укажите ровно один параметр: phone или card")
    customer_id = await service.find_customer(deps, terminal.merchant_id, phone=phone, card=card)
    if customer_id is None:
        raise service.not_found()
    summary = await service.customer_summary(deps, terminal.merchant_id, customer_id)
    return json_response(
        CustomerLookup(
            id=summary.id,
            name=summary.name,
            tier=summary.tier_code,
            tier_name=summary.tier_name,
            balance=to_roubles(summary.available),
            referral_code=summary.referral_code,
            messages=list(summary.messages),
        )
    )


async def get_customer(request: web.Request) -> web.Response:
    terminal = terminal_of(request)
    profile = await service.customer_profile(
        deps_of(request), terminal.merchant_id, customer_id_of(request)
    )
    return json_response(profile_wire(profile, terminal.timezone))


def _text_query(request: web.Request, name: str, max_length: int) -> str | None:
    text = request.query.get(name)
    if text is None:
        return None
    if "\x00" in text:
        raise refuse_nul()
    if not 0 < len(text) <= max_length:
        raise BadRequest("invalid_query", f"Параметр {name}: от 1 до {max_length} символов")
    return text


async def get_history(request: web.Request) -> web.Response:
    """Bonus movements, newest first; ``?before=`` takes the ``next`` of a page."""
    terminal = terminal_of(request)
    limit = int_query(request, "limit", 20)
    assert limit is not None
    page = await service.customer_history(
        deps_of(request),
        terminal.merchant_id,
        customer_id_of(request),
        limit=limit,
        before_id=int_query(request, "before", None),
    )
    return json_response(
        HistoryPage(
            entries=[
                HistoryEntry(
                    id=entry.id,
                    kind=entry.kind,
                    amount=to_roubles(entry.amount),
                    created_at=datetime.fromtimestamp(entry.created_at, terminal.timezone),
                    receipt_id=entry.receipt_external_id,
                    refund_id=entry.refund_external_id,
                )
                for entry in page.entries
            ],
            next=page.next_before,
        )
    )


async def post_card(request: web.Request) -> web.Response:
    """Bind a physical card; 201 when bound now, 200 when it already was."""
    terminal = terminal_of(request)
    body = await read_model(request, AttachCard)
    card, created = await service.attach_card(
        deps_of(request), terminal.merchant_id, customer_id_of(request), body.number
    )
    return json_response(
        CardInfo(id=card.id, kind="physical", number=card.number), status=201 if created else 200
    )


def customer_routes() -> list[web.RouteDef]:
    return [
        web.post("/api/v1/sms-codes", post_sms_code),
        web.post("/api/v1/sms-codes/verify", post_sms_code_verify),
        web.post("/api/v1/customers", post_customer),
        web.get("/api/v1/customers/lookup", get_lookup),
        web.get(f"/api/v1/customers/{_ID}", get_customer),
        web.get(f"/api/v1/customers/{_ID}/history", get_history),
        web.post(f"/api/v1/customers/{_ID}/cards", post_card),
    ]


_LOOKUP_PARAMS = (
    Param(
        "phone",
        "query",
        "телефон клиента в любом формате (ровно один из phone, card)",
        {"type": "string", "minLength": 1, "maxLength": 32},
    ),
    Param(
        "card",
        "query",
        "номер карты (ровно один из phone, card)",
        {"type": "string", "minLength": 1, "maxLength": 64},
    ),
)
_HISTORY_PARAMS = (
    Param(
        "limit",
        "query",
        "записей на странице, по умолчанию 20",
        {"type": "integer", "minimum": 1, "maximum": MAX_HISTORY_PAGE, "default": 20},
    ),
    Param(
        "before",
        "query",
        "курсор: ``next`` предыдущей страницы",
        {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX},
    ),
)
_IDEMPOTENCY_KEY = Param(
    "Idempotency-Key",
    "header",
    "ключ идемпотентности (или поле idempotency_key тела): повтор с тем же ключом и тем же "
    "телом возвращает первый ответ, с другим телом — 409",
    {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[\\x21-\\x7e ]+$"},
)

CUSTOMER_OPENAPI: list[Operation] = [
    Operation("post", "/api/v1/sms-codes", "Отправить клиенту код подтверждения по SMS",
              SendCodeRequest, CodeSent),
    Operation("post", "/api/v1/sms-codes/verify", "Проверить код из SMS (не расходуя его)",
              VerifyCodeRequest, CodeVerified),
    Operation("post", "/api/v1/customers", "Зарегистрировать клиента (с кодом из SMS и согласием)",
              RegisterCustomer, CustomerProfile, status=201, parameters=(_IDEMPOTENCY_KEY,)),
    Operation("get", "/api/v1/customers/lookup",
              "Найти клиента по телефону (?phone=) или карте (?card=)", None, CustomerLookup,
              parameters=_LOOKUP_PARAMS),
    Operation("get", "/api/v1/customers/{customer_id}", "Профиль клиента: уровень, баланс, покупки",
              None, CustomerProfile),
    Operation("get", "/api/v1/customers/{customer_id}/history",
              "История движений бонусов, новые первыми", None, HistoryPage,
              parameters=_HISTORY_PARAMS),
    Operation("post", "/api/v1/customers/{customer_id}/cards",
              "Привязать пластиковую карту (201 — привязана сейчас, 200 — уже была); в программе "
              "с пластиковыми картами так получает карту клиент, зарегистрировавшийся сам",
              AttachCard, CardInfo, status=201, other_statuses=(200,)),
]  # fmt: skip
