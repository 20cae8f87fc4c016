"""The customer's self-service page for a receipt's QR code: ``/join/{token}/receipt``
(the store's join link, so the same printed QR code serves both), mobile-first HTML in
Russian, plain form posts, no JavaScript.

Phone -> SMS code (purpose ``fiscal_claim``; only a registered customer of the link's
merchant gets one) -> the QR code's text -> accrued, pending or refused with the reason.
As on the registration pages there is no cookie: the verified phone and customer ride
in hidden fields under the form's MAC (``links.form_token``, an hour), renewed with each
answer, so a customer can claim several receipts in a row.
"""

from __future__ import annotations

from aiohttp import web

from cloud.errors import DomainError
from cloud.fiscal import claims
from cloud.phones import normalize_phone
from cloud.selfservice import TOKEN
from cloud.selfservice.pages import Page, _form, _page, _status
from cloud.services import customers
from cloud.services.sms_codes import send_code, verify_code

PURPOSE = "fiscal_claim"
_PROOF = ("phone", "customer")
_STATUS = {"accrued": 200, "pending": 202, "refused": 422}


def setup(app: web.Application) -> None:
    base = "/join/" + TOKEN + "/receipt"
    app.router.add_get(base, start)
    app.router.add_post(base + "/phone", post_phone)
    app.router.add_post(base + "/code", post_code)
    app.router.add_post(base + "/claim", post_claim)


def _render(page: Page, template: str, status: int = 200, **context: object) -> web.Response:
    return page.render(template, status, receipt_action=f"/join/{page.token}/receipt", **context)


def _phone_page(page: Page, phone: str, error: str | None, status: int = 200) -> web.Response:
    return _render(
        page,
        "receipt_phone.html",
        status,
        phone=phone,
        error=error,
        csrf=page.csrf("receipt_phone", {}),
    )


async def start(request: web.Request) -> web.Response:
    page = await _page(request)
    if isinstance(page, web.Response):
        return page
    return _phone_page(page, "", None)


async def post_phone(request: web.Request) -> web.Response:
    page = await _page(request)
    if isinstance(page, web.Response):
        return page
    form = await _form(page, "receipt_phone", ())
    if isinstance(form, web.Response):
        return form
    phone = form.get("phone", "").strip()[:32]
    merchant_id = page.link.merchant_id
    try:
        e164 = normalize_phone(phone)
        if await customers.find_customer(page.deps, merchant_id, phone=e164) is None:
            return _phone_page(
                page,
                phone,
                "Этот номер не зарегистрирован в программе: "
                "сначала зарегистрируйтесь по ссылке ниже",
                404,
            )
        await send_code(page.deps, merchant_id, e164, PURPOSE)
    except DomainError as exc:
        return _phone_page(page, phone, exc.message, _status(exc))
    return _code_page(page, e164, None)


def _code_page(page: Page, phone: str, error: str | None, status: int = 200) -> web.Response:
    return _render(
        page,
        "receipt_code.html",
        status,
        phone=phone,
        error=error,
        masked=customers.mask_phone(phone),
        csrf=page.csrf("receipt_code", {"phone": phone}),
    )


async def post_code(request: web.Request) -> web.Response:
    page = await _page(request)
    if isinstance(page, web.Response):
        return page
    form = await _form(page, "receipt_code", ("phone",))
    if isinstance(form, web.Response):
        return form
    phone, code = form["phone"], form.get("code", "").strip()[:16]
    merchant_id = page.link.merchant_id
    try:
        if not code:
            raise DomainError("sms_code_required", "Введите код из SMS")
        await verify_code(page.deps, merchant_id, phone, PURPOSE, code)
    except DomainError as exc:
        status = 400 if exc.code == "sms_code_required" else _status(exc)
        return _code_page(page, phone, exc.message, status)
    customer_id = await customers.find_customer(page.deps, merchant_id, phone=phone)
    if customer_id is None:
        return _phone_page(page, phone, "Этот номер не зарегистрирован в программе", 404)
    return _claim_page(page, {"phone": phone, "customer": str(customer_id)}, None)


def _claim_page(
    page: Page,
    proof: dict[str, str],
    result: claims.ClaimResult | None,
    qr: str = "",
    error: str | None = None,
    status: int = 200,
) -> web.Response:
    return _render(
        page,
        "receipt_claim.html",
        status,
        proof=proof,
        result=result,
        qr=qr,
        error=error,
        masked=customers.mask_phone(proof["phone"]),
        csrf=page.csrf("receipt_claim", proof),
    )


async def post_claim(request: web.Request) -> web.Response:
    page = await _page(request)
    if isinstance(page, web.Response):
        return page
    form = await _form(page, "receipt_claim", _PROOF)
    if isinstance(form, web.Response):
        return form
    proof = {name: form[name] for name in _PROOF}
    text = form.get("qr", "").strip()
    if not text:
        return _claim_page(page, proof, None, error="Вставьте текст QR-кода чека", status=400)
    result = await claims.claim(
        page.deps, page.link.merchant_id, int(proof["customer"]), text, "page"
    )
    kept = text[:512] if result.status == "refused" else ""
    return _claim_page(page, proof, result, qr=kept, status=_STATUS[result.status])
