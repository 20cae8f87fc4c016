"""``/cabinet/counter``: the cashier's workplace for a merchant with no integrated till
(a salon, a car wash, a clinic). Find the customer or register them, ring the receipt
up (an amount, or lines with categories), spend bonuses (with the customer's SMS code
when the program asks), close, return.

The page is a till of channel ``cabinet`` of the chosen store (``services.counter``):
every step is a call of ``receipt_sessions`` / ``checkout`` like any other till's. The
open receipt lives in the session between pages; every form posts and comes back to
the page (post/redirect/get), so a reload never repeats a sale and the page works
without script. Managers and owners use it (a viewer only reads the cabinet)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiohttp import web
from aiohttp_session import Session, get_session
from pydantic import ValidationError

from cloud.cabinet.core import BASE, deps_of, money, render, require, user_of
from cloud.cabinet.counter_form import ROWS, FormError, OpenReceipt, receipt_lines, roubles, text
from cloud.engine.types import EngineError
from cloud.errors import DomainError
from cloud.services import counter as service
from cloud.services import customers, receipt_sessions
from cloud.services.deps import Deps
from cloud.services.merchants import TerminalContext
from cloud.services.sms_codes import send_code
from schemas import checkout as wire
from schemas.customers import Consent, RegisterCustomer
from schemas.money import to_roubles

PAGE = BASE + "/counter"
CHANNEL = service.CHANNEL
_STORE, _CUSTOMER, _RECEIPT = "counter_store", "counter_customer", "counter_receipt"
_REGISTER, _NOTE, _ERROR, _LAST = (
    "counter_register",
    "counter_note",
    "counter_error",
    "counter_last",
)


def _back() -> web.HTTPSeeOther:
    return web.HTTPSeeOther(PAGE)


async def _till(deps: Deps, request: web.Request, session: Session) -> TerminalContext | None:
    """The chosen store's till; the merchant's only store when there is one."""
    merchant_id = user_of(request).merchant_id
    store_id = session.get(_STORE)
    if not isinstance(store_id, int):
        stores = await service.stores(deps, merchant_id)
        if len(stores) != 1:
            return None
        store_id = session[_STORE] = stores[0].id
    try:
        return await service.till(deps, merchant_id, store_id)
    except DomainError as exc:
        if exc.status != 404:
            raise
        session.pop(_STORE, None)  # the store is gone
        return None


def _cashier(request: web.Request) -> wire.Cashier:
    return wire.Cashier(id=user_of(request).login[:64], name=user_of(request).login[:200])


def _message(exc: Exception) -> str:
    if isinstance(exc, FormError | DomainError | EngineError):
        return exc.message
    assert isinstance(exc, ValidationError)
    return "Не принято: " + "; ".join(str(e["msg"]) for e in exc.errors())


async def _categories(deps: Deps, merchant_id: int) -> tuple[dict[str, str], bool]:
    """The live program's categories (code -> code) and whether spending needs a code."""
    program = await customers.live_program(deps, merchant_id)
    if program is None:
        return {}, False
    cats = {code: code for code in program.program.categories}
    return cats, program.program.redeem_requires_sms_code


# ---- the page --------------------------------------------------------------------------


async def page(request: web.Request) -> web.Response:
    require(request, "manager")
    deps, session = deps_of(request), await get_session(request)
    merchant_id = user_of(request).merchant_id
    terminal = await _till(deps, request, session)
    categories, needs_code = await _categories(deps, merchant_id)
    context: dict[str, Any] = {
        "nav": "counter", "stores": await service.stores(deps, merchant_id),
        "store_id": None if terminal is None else terminal.store_id,
        "note": session.pop(_NOTE, None), "error": session.pop(_ERROR, None),
        "last": _last(session.pop(_LAST, None)), "register": session.get(_REGISTER),
        "categories": categories, "needs_code": needs_code, "rows": range(1, ROWS + 1),
        "customer": None, "receipt": None, "quote": None, "held": Decimal(0), "recent": [],
    }  # fmt: skip
    if terminal is not None:
        customer_id = session.get(_CUSTOMER)
        if isinstance(customer_id, int):
            try:
                summary = await customers.customer_summary(deps, merchant_id, customer_id)
                context.update(customer=summary, balance=to_roubles(summary.available))
            except DomainError:
                session.pop(_CUSTOMER, None)
        opened = OpenReceipt.load(session.get(_RECEIPT))
        if opened is not None:
            held = Decimal(opened.held)
            try:
                outcome = await receipt_sessions.quote(
                    deps, terminal, CHANNEL,
                    wire.CalculateRequest(receipt=opened.wire(), redeem=held),
                )  # fmt: skip
                context.update(receipt=opened, quote=outcome.quote, held=held)
            except (DomainError, EngineError, ValidationError) as exc:
                context["error"] = _message(exc)
        context["recent"] = await service.recent_sales(deps, terminal)
    return render(request, "counter.html", context)


def _last(data: Any) -> dict[str, Any] | None:
    """The receipt closed a moment ago, its amounts back to Decimal."""
    if not isinstance(data, dict):
        return None
    money_keys = ("amount", "redeemed", "accrued", "paid")
    return {k: Decimal(v) if k in money_keys else v for k, v in data.items()}


async def _act(request: web.Request) -> tuple[Deps, Session, Any, TerminalContext]:
    require(request, "manager")
    deps, session = deps_of(request), await get_session(request)
    form = await request.post()
    terminal = await _till(deps, request, session)
    if terminal is None:
        session[_ERROR] = "Выберите магазин, в котором работаете"
        raise _back()
    return deps, session, form, terminal


# ---- store and customer ----------------------------------------------------------------


async def choose_store(request: web.Request) -> web.StreamResponse:
    require(request, "manager")
    deps, session = deps_of(request), await get_session(request)
    form = await request.post()
    raw = text(form, "store", 19)
    await _drop_receipt(deps, request, session)
    if raw.isdigit():
        # Not found for another merchant's store: the page then asks again.
        await service.till(deps, user_of(request).merchant_id, int(raw))
        session[_STORE] = int(raw)
    raise _back()


async def find(request: web.Request) -> web.StreamResponse:
    deps, session, form, terminal = await _act(request)
    query = text(form, "q", 64)
    merchant_id = terminal.merchant_id
    found = None
    digits = "".join(ch for ch in query if ch.isdigit())
    if not query:
        session[_ERROR] = "Введите телефон или номер карты"
        raise _back()
    try:
        found = await customers.find_customer(deps, merchant_id, phone=query)
    except DomainError:
        found = None  # not a phone: try it as a card
    if found is None:
        try:
            found = await customers.find_customer(deps, merchant_id, card=digits or query)
        except DomainError:
            found = None
    if found is None:
        session[_REGISTER] = query
        session[_NOTE] = f"Клиент «{query}» не найден. Зарегистрируйте его ниже."
        raise _back()
    await _set_customer(deps, request, session, terminal, found)
    raise _back()


async def _set_customer(
    deps: Deps, request: web.Request, session: Session, terminal: TerminalContext,
    customer_id: int | None,
) -> None:  # fmt: skip
    """Identify the customer of the open receipt (a bonus payment held for another is
    released first)."""
    opened = OpenReceipt.load(session.get(_RECEIPT))
    if opened is not None and opened.customer_id != customer_id:
        if Decimal(opened.held):
            await receipt_sessions.release(
                deps, terminal, CHANNEL, opened.receipt_id, receipt_cancelled=False
            )
        opened.held, opened.customer_id = "0", customer_id
        session[_RECEIPT] = opened.dump()
    session.pop(_REGISTER, None)
    if customer_id is None:
        session.pop(_CUSTOMER, None)
    else:
        session[_CUSTOMER] = customer_id


async def clear_customer(request: web.Request) -> web.StreamResponse:
    deps, session, _form, terminal = await _act(request)
    await _set_customer(deps, request, session, terminal, None)
    raise _back()


async def register_code(request: web.Request) -> web.StreamResponse:
    deps, session, form, terminal = await _act(request)
    phone = text(form, "phone", 32)
    try:
        await send_code(deps, terminal.merchant_id, phone, "registration",
                        terminal_id=terminal.terminal_id)  # fmt: skip
    except DomainError as exc:
        session[_ERROR] = exc.message
    else:
        session[_NOTE] = "Код отправлен клиенту по SMS: попросите его назвать код"
    session[_REGISTER] = phone
    raise _back()


async def register(request: web.Request) -> web.StreamResponse:
    deps, session, form, terminal = await _act(request)
    phone = text(form, "phone", 32)
    session[_REGISTER] = phone
    if form.get("consent") != "yes":
        session[_ERROR] = "Нужно согласие клиента на обработку персональных данных"
        raise _back()
    try:
        data = RegisterCustomer(
            phone=phone, sms_code=text(form, "code", 16) or None,
            name=text(form, "name") or None, card=text(form, "card", 64) or None,
            consent=Consent(personal_data=True, messages=form.get("messages") == "yes"),
        )  # fmt: skip
        customer_id = await customers.register_customer(
            deps, terminal.merchant_id, data, store_id=terminal.store_id, channel="cabinet",
            sms_code=data.sms_code,
        )  # fmt: skip
    except (DomainError, ValidationError) as exc:
        session[_ERROR] = _message(exc)
        raise _back() from None
    await _set_customer(deps, request, session, terminal, customer_id)
    session[_NOTE] = "Клиент зарегистрирован"
    raise _back()


# ---- the receipt -----------------------------------------------------------------------


async def open_receipt(request: web.Request) -> web.StreamResponse:
    deps, session, form, terminal = await _act(request)
    categories, _ = await _categories(deps, terminal.merchant_id)
    try:
        lines = receipt_lines(form, categories)
    except FormError as exc:
        session[_ERROR] = exc.message
        raise _back() from None
    await _drop_receipt(deps, request, session)
    customer_id = session.get(_CUSTOMER)
    opened = OpenReceipt(
        service.new_receipt_id(terminal, deps.clock()), lines,
        customer_id=customer_id if isinstance(customer_id, int) else None,
    )  # fmt: skip
    session[_RECEIPT] = opened.dump()
    raise _back()


async def _drop_receipt(deps: Deps, request: web.Request, session: Session) -> None:
    """Forget the open receipt, releasing a bonus payment it holds."""
    opened = OpenReceipt.load(session.pop(_RECEIPT, None))
    if opened is None or not Decimal(opened.held):
        return
    terminal = await _till(deps, request, session)
    if terminal is not None:
        await receipt_sessions.release(
            deps, terminal, CHANNEL, opened.receipt_id, receipt_cancelled=True
        )


async def cancel(request: web.Request) -> web.StreamResponse:
    require(request, "manager")
    deps, session = deps_of(request), await get_session(request)
    await request.post()
    await _drop_receipt(deps, request, session)
    session[_NOTE] = "Чек отменён"
    raise _back()


def _open(session: Session) -> OpenReceipt:
    opened = OpenReceipt.load(session.get(_RECEIPT))
    if opened is None:
        session[_ERROR] = "Чек не открыт: введите сумму или позиции"
        raise _back()
    return opened


async def redeem_code(request: web.Request) -> web.StreamResponse:
    deps, session, _form, terminal = await _act(request)
    opened = _open(session)
    if opened.customer_id is None:
        session[_ERROR] = "Сначала найдите клиента"
        raise _back()
    try:
        profile = await customers.customer_profile(deps, terminal.merchant_id, opened.customer_id)
        await send_code(deps, terminal.merchant_id, profile.phone, "redeem",
                        terminal_id=terminal.terminal_id)  # fmt: skip
    except DomainError as exc:
        session[_ERROR] = exc.message
    else:
        session[_NOTE] = "Код для оплаты бонусами отправлен клиенту по SMS"
    raise _back()


async def hold(request: web.Request) -> web.StreamResponse:
    deps, session, form, terminal = await _act(request)
    opened = _open(session)
    try:
        if opened.customer_id is None:
            raise FormError("Бонусами платит клиент: сначала найдите его")
        amount = roubles(text(form, "redeem", 20), "Бонусами")
        held = await receipt_sessions.hold(
            deps, terminal, CHANNEL,
            wire.HoldRequest(receipt=opened.wire(), amount=amount,
                             sms_code=text(form, "code", 12) or None),
        )  # fmt: skip
    except (FormError, DomainError, EngineError, ValidationError) as exc:
        session[_ERROR] = _message(exc)
        raise _back() from None
    opened.held = str(held.amount)
    session[_RECEIPT] = opened.dump()
    session[_NOTE] = f"Бонусами к оплате: {money(held.amount)} ₽"
    raise _back()


async def release(request: web.Request) -> web.StreamResponse:
    deps, session, _form, terminal = await _act(request)
    opened = _open(session)
    await receipt_sessions.release(
        deps, terminal, CHANNEL, opened.receipt_id, receipt_cancelled=False
    )
    opened.held = "0"
    session[_RECEIPT] = opened.dump()
    raise _back()


async def close(request: web.Request) -> web.StreamResponse:
    deps, session, _form, terminal = await _act(request)
    opened = _open(session)
    try:
        result = await receipt_sessions.close(
            deps, terminal, CHANNEL, opened.wire(), None, cashier=_cashier(request)
        )
    except (DomainError, EngineError, ValidationError) as exc:
        session[_ERROR] = _message(exc)
        raise _back() from None
    session.pop(_RECEIPT, None)
    session.pop(_CUSTOMER, None)
    paid = result.amount - result.redeemed
    session[_LAST] = {
        "receipt_id": result.receipt_id, "amount": str(result.amount),
        "redeemed": str(result.redeemed), "accrued": str(result.accrued), "paid": str(paid),
        "slip": result.slip,
    }  # fmt: skip
    raise _back()


async def refund(request: web.Request) -> web.StreamResponse:
    deps, session, form, terminal = await _act(request)
    receipt_id = text(form, "receipt_id", 100)
    if not receipt_id:
        session[_ERROR] = "Укажите номер чека"
        raise _back()
    try:
        # The return's own id is derived from the receipt's: a repeated click is one
        # return, replayed.
        result = await receipt_sessions.refund(
            deps, terminal, CHANNEL,
            wire.RefundRequest(id=receipt_id + "/возврат", receipt_id=receipt_id,
                               cashier=_cashier(request)),
        )  # fmt: skip
    except (DomainError, EngineError, ValidationError) as exc:
        session[_ERROR] = _message(exc)
        raise _back() from None
    session[_NOTE] = (
        f"Возврат по чеку {receipt_id}: клиенту вернулось {money(result.returned_bonuses)} ₽ "
        f"бонусов, списано начисленных {money(result.reversed_accrual)} ₽. "
        f"Баланс: {money(result.balance)} ₽"
    )
    raise _back()


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/counter", page)
    for path, handler in (
        ("/store", choose_store), ("/find", find), ("/customer/clear", clear_customer),
        ("/register/code", register_code), ("/register", register),
        ("/receipt", open_receipt), ("/cancel", cancel), ("/code", redeem_code),
        ("/hold", hold), ("/release", release), ("/close", close), ("/refund", refund),
    ):  # fmt: skip
        router.add_post("/counter" + path, handler)
