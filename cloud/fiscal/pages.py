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

import asyncio

import aiohttp_jinja2
from aiohttp import BodyPartReader, web

from cloud.errors import DomainError
from cloud.fiscal import claims
from cloud.fiscal.photo import MAX_PHOTO_BYTES, decode_qr
from cloud.phones import normalize_phone
from cloud.selfservice import TOKEN, links
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
    app.router.add_post(base + "/photo", post_photo)


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


# ---- a photo of the QR code ----------------------------------------------------------

UPLOAD_SECONDS = 60
_FIELD_BYTES = 4096
_CHUNK = 64 * 1024


class _Upload(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message, self.status = message, status


async def _read_upload(request: web.Request) -> tuple[dict[str, str], bytes]:
    """The form's text fields and the photo, read part by part: a phone's photo is
    larger than the 1 MB the service takes as a body elsewhere, so the bound here is
    the photo's own (``MAX_PHOTO_BYTES``) and a time limit."""
    if not request.content_type.startswith("multipart/"):
        raise _Upload("Пришлите фото через форму на странице", 400)
    if (request.content_length or 0) > MAX_PHOTO_BYTES + _CHUNK:
        raise _Upload("Фото больше 10 МБ: снимите QR-код крупнее, без остального чека", 413)
    fields: dict[str, str] = {}
    photo = bytearray()
    try:
        async with asyncio.timeout(UPLOAD_SECONDS):
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader) or part.name is None:
                    continue
                target = photo if part.name == "photo" else bytearray()
                limit = MAX_PHOTO_BYTES if part.name == "photo" else _FIELD_BYTES
                while chunk := await part.read_chunk(_CHUNK):
                    target.extend(chunk)
                    if len(target) > limit:
                        raise _Upload("Фото больше 10 МБ", 413)
                if part.name != "photo":
                    fields[part.name] = target.decode(errors="replace")
    except TimeoutError:
        raise _Upload("Фото не загрузилось за минуту: попробуйте ещё раз", 408) from None
    return fields, bytes(photo)


async def post_photo(request: web.Request) -> web.Response:
    page = await _page(request)
    if isinstance(page, web.Response):
        return page
    try:
        form, photo = await _read_upload(request)
    except _Upload as exc:
        return _render(page, "receipt_failed.html", exc.status, message=exc.message)
    proof = {name: form.get(name, "") for name in _PROOF}
    if not links.check_form(
        page.secret, page.token, "receipt_claim", proof, form.get("csrf", ""), page.now()
    ):
        return aiohttp_jinja2.render_template("stale.html", request, {"page": page}, status=400)
    try:
        text = await decode_qr(photo)
    except DomainError as exc:
        return _claim_page(page, proof, None, error=exc.message, status=exc.status)
    result = await claims.claim(
        page.deps, page.link.merchant_id, int(proof["customer"]), text, "page"
    )
    return _claim_page(page, proof, result, status=_STATUS[result.status])
