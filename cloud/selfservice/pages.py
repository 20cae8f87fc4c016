"""The self-registration pages: ``/join/{token}``, mobile-first HTML in Russian that
works with plain form posts and no JavaScript.

Phone -> SMS code and consents -> profile and referrer -> the card. No cookie: what a
later page relies on (the phone, the verified code's id, the advertising consent) rides
in hidden fields covered by the form's MAC (``links.form_token``). Every refusal is a
page with the message beside its field and a 4xx status, never a 500.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import aiohttp_jinja2
import segno
import structlog
from aiohttp import web
from pydantic import ValidationError

from cloud.api.keys import DEPS
from cloud.clock import to_epoch
from cloud.errors import DomainError
from cloud.phones import normalize_phone
from cloud.selfservice import links
from cloud.services import customers
from cloud.services.deps import Deps
from cloud.services.sms_codes import send_code, verify_code
from schemas.customers import MAX_CHILDREN, RegisterCustomer
from schemas.money import to_roubles

log = structlog.get_logger(__name__)

CHILD_FIELDS = 3
"""Rows for children on the profile page (the API takes up to ``MAX_CHILDREN``)."""
assert CHILD_FIELDS <= MAX_CHILDREN

_REFERRER_ERRORS = {"referrer_not_found", "self_referral", "invalid_phone", "invalid_card"}


class Page:
    """The join link of a request, checked: merchant, store, names for the header."""

    def __init__(self, request: web.Request, link: links.JoinLink, token: str, names: Any):
        self.request = request
        self.deps: Deps = request.app[DEPS]
        self.link = link
        self.token = token
        self.store_name = str(names["store"])
        self.merchant_name = str(names["merchant"])

    @property
    def secret(self) -> str:
        return self.deps.settings.secret_key

    def now(self) -> int:
        return to_epoch(self.deps.clock())

    def csrf(self, step: str, fields: dict[str, str]) -> str:
        return links.form_token(self.secret, self.token, step, fields, self.now())

    def render(self, template: str, status: int = 200, **context: Any) -> web.Response:
        context.update(page=self, action=f"/join/{self.token}")
        response = aiohttp_jinja2.render_template(template, self.request, context, status=status)
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"  # the link carries the token
        return response


async def _page(request: web.Request) -> Page | web.Response:
    deps: Deps = request.app[DEPS]
    token = request.match_info["token"]
    link = links.read_link(deps.settings.secret_key, token, to_epoch(deps.clock()))
    names = None
    if link is not None:
        names = await deps.db.fetch_one(
            "SELECT s.name AS store, m.name AS merchant FROM stores s "
            "JOIN merchants m ON m.id = s.merchant_id "
            "WHERE s.id = :s AND s.merchant_id = :m AND m.status = 'active'",
            {"s": link.store_id, "m": link.merchant_id},
        )
    if link is None or names is None:
        return aiohttp_jinja2.render_template("missing.html", request, {}, status=404)
    return Page(request, link, token, names)


async def _form(page: Page, step: str, signed: tuple[str, ...]) -> dict[str, str] | web.Response:
    """The posted form, or the 400 page when its ``csrf`` value is missing, forged or old."""
    posted = await page.request.post()
    form = {key: value for key, value in posted.items() if isinstance(value, str)}
    fields = {name: form.get(name, "") for name in signed}
    csrf = form.get("csrf", "")
    if not links.check_form(page.secret, page.token, step, fields, csrf, page.now()):
        return aiohttp_jinja2.render_template("stale.html", page.request, {"page": page},
                                              status=400)  # fmt: skip
    return form


def _status(exc: DomainError) -> int:
    # A gateway failure is the service's trouble, not the customer's: 503, try later.
    return exc.status if 400 <= exc.status < 500 else 503


# ---- step 1: the phone ---------------------------------------------------------------


async def start(request: web.Request) -> web.Response:
    page = await _page(request)
    if isinstance(page, web.Response):
        return page
    ref = request.query.get("ref", "")[:20]
    src = "qr" if request.query.get("src") == "qr" else "link"
    return _phone_page(page, ref, src, "", {})


def _phone_page(page: Page, ref: str, src: str, phone: str, errors: dict[str, str],
                status: int = 200) -> web.Response:  # fmt: skip
    csrf = page.csrf("phone", {"ref": ref, "src": src})
    return page.render("phone.html", status, ref=ref, src=src, phone=phone, errors=errors,
                       csrf=csrf)  # fmt: skip


async def post_phone(request: web.Request) -> web.Response:
    page = await _page(request)
    if isinstance(page, web.Response):
        return page
    form = await _form(page, "phone", ("ref", "src"))
    if isinstance(form, web.Response):
        return form
    ref, src, phone = form.get("ref", ""), form.get("src", ""), form.get("phone", "").strip()
    merchant_id = page.link.merchant_id
    try:
        e164 = normalize_phone(phone)
        if await customers.find_customer(page.deps, merchant_id, phone=e164) is not None:
            message = (
                "Этот номер уже зарегистрирован в программе. Карта у вас уже есть: назовите "
                "номер телефона на кассе."
            )
            return _phone_page(page, ref, src, phone, {"phone": message}, 409)
        await send_code(page.deps, merchant_id, e164, "registration")
    except DomainError as exc:
        return _phone_page(page, ref, src, phone, {"phone": exc.message}, _status(exc))
    return _code_page(page, e164, ref, src, {}, messages=False)


# ---- step 2: the code and the consents -----------------------------------------------


def _code_page(page: Page, phone: str, ref: str, src: str, errors: dict[str, str], *,
               messages: bool, status: int = 200) -> web.Response:  # fmt: skip
    csrf = page.csrf("code", {"phone": phone, "ref": ref, "src": src})
    return page.render(
        "code.html", status, phone=phone, masked=customers.mask_phone(phone), ref=ref, src=src,
        errors=errors, csrf=csrf, messages=messages,
        pd_text=links.CONSENT_PERSONAL_DATA_TEXT, messages_text=links.CONSENT_MESSAGES_TEXT,
        ttl_minutes=max(1, page.deps.settings.sms_code_ttl_seconds // 60),
    )  # fmt: skip


async def post_code(request: web.Request) -> web.Response:
    page = await _page(request)
    if isinstance(page, web.Response):
        return page
    form = await _form(page, "code", ("phone", "ref", "src"))
    if isinstance(form, web.Response):
        return form
    phone, ref, src = form["phone"], form.get("ref", ""), form.get("src", "")
    messages = form.get("consent_messages") == "on"
    if form.get("consent_personal_data") != "on":
        # Checked before the code, so a missing tick does not cost an attempt.
        errors = {"consent_personal_data": "Без согласия на обработку персональных данных "
                  "зарегистрироваться нельзя"}  # fmt: skip
        return _code_page(page, phone, ref, src, errors, messages=messages, status=400)
    code = form.get("code", "").strip()[:16]
    try:
        if not code:
            raise DomainError("sms_code_required", "Введите код из SMS")
        code_id = await verify_code(
            page.deps, page.link.merchant_id, phone, "registration", code, consume=False
        )
    except DomainError as exc:
        status = 400 if exc.code == "sms_code_required" else _status(exc)
        return _code_page(page, phone, ref, src, {"code": exc.message}, messages=messages,
                          status=status)  # fmt: skip
    return _profile_page(page, _proof(phone, code_id, messages, src), {}, {"referrer": ref})


# ---- step 3: the profile and the referrer --------------------------------------------

_PROOF_FIELDS = ("phone", "code_id", "messages", "src")


def _proof(phone: str, code_id: int, messages: bool, src: str) -> dict[str, str]:
    return {"phone": phone, "code_id": str(code_id), "messages": "1" if messages else "",
            "src": src}  # fmt: skip


def _profile_page(page: Page, proof: dict[str, str], errors: dict[str, str],
                  values: dict[str, str], status: int = 200) -> web.Response:  # fmt: skip
    return page.render("profile.html", status, proof=proof, errors=errors, values=values,
                       csrf=page.csrf("profile", proof), children=range(1, CHILD_FIELDS + 1),
                       today=page.deps.clock().date().isoformat())  # fmt: skip


def _date(text: str, field: str, errors: dict[str, str]) -> date | None:
    if not text.strip():
        return None
    try:
        value = date.fromisoformat(text.strip())
    except ValueError:
        errors[field] = "Дата в формате ГГГГ-ММ-ДД, например 1990-05-17"
        return None
    if not date(1900, 1, 1) <= value <= date.today():
        errors[field] = "Дата вне допустимого диапазона"
        return None
    return value


def _referrer(text: str) -> dict[str, str] | None:
    text = text.strip()
    if not text:
        return None
    # A personal code holds letters; a phone holds none (only digits, +, spaces, dashes).
    if any(char.isalpha() for char in text):
        return {"code": text[:20]}
    return {"phone": text[:32]}


_FIELD_MESSAGES = {
    "name": "Имя: от 1 до 200 символов",
    "email": "Неверный адрес электронной почты",
    "gender": "Выберите пол из списка",
    "referrer": "Укажите телефон или код пригласившего",
}


async def post_profile(request: web.Request) -> web.Response:
    page = await _page(request)
    if isinstance(page, web.Response):
        return page
    form = await _form(page, "profile", _PROOF_FIELDS)
    if isinstance(form, web.Response):
        return form
    proof = {name: form.get(name, "") for name in _PROOF_FIELDS}
    errors: dict[str, str] = {}
    birthday = _date(form.get("birthday", ""), "birthday", errors)
    children = []
    for number in range(1, CHILD_FIELDS + 1):
        born = _date(form.get(f"child_birthday_{number}", ""), f"child_{number}", errors)
        name = form.get(f"child_name_{number}", "").strip()
        if born is not None:
            children.append({"name": name[:100] or None, "birthday": born.isoformat()})
        elif name and f"child_{number}" not in errors:
            errors[f"child_{number}"] = "Укажите дату рождения ребёнка"
    data = {
        "phone": proof["phone"],
        "name": form.get("name", "").strip() or None,
        "email": form.get("email", "").strip() or None,
        "gender": form.get("gender") or None,
        "birthday": birthday.isoformat() if birthday else None,
        "children": children,
        "referrer": _referrer(form.get("referrer", "")),
        "consent": {
            "personal_data": True,
            "personal_data_version": links.CONSENT_PERSONAL_DATA_VERSION,
            "messages": proof["messages"] == "1",
            "messages_version": links.CONSENT_MESSAGES_VERSION,
        },
        "acquisition_channel": "qr" if proof["src"] == "qr" else "link",
        "campaign": page.link.campaign,
    }
    try:
        registration = RegisterCustomer.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "name"
            errors.setdefault(field, _FIELD_MESSAGES.get(field, "Проверьте это поле"))
    if errors:
        return _profile_page(page, proof, errors, form, status=400)
    merchant_id = page.link.merchant_id
    try:
        customer_id = await customers.register_customer(
            page.deps, merchant_id, registration, store_id=page.link.store_id,
            channel="self_service", sms_code=None, verified_code_id=int(proof["code_id"]),
        )  # fmt: skip
    except DomainError as exc:
        if exc.code in _REFERRER_ERRORS:
            return _profile_page(page, proof, {"referrer": exc.message}, form, status=_status(exc))
        # The code is spent or the phone was registered meanwhile: start again.
        return page.render("failed.html", _status(exc), message=exc.message)
    return await _done(page, merchant_id, customer_id)


async def _done(page: Page, merchant_id: int, customer_id: int) -> web.Response:
    profile = await customers.customer_profile(page.deps, merchant_id, customer_id)
    card = next((c.number for c in profile.cards if c.kind == "virtual"), None)
    gifts = await page.deps.db.fetch_all(
        "SELECT kind, amount, available_from, expires_at FROM bonus_lots "
        "WHERE merchant_id = :m AND customer_id = :c AND kind IN ('welcome', 'referral') "
        "ORDER BY id",
        {"m": merchant_id, "c": customer_id},
    )
    log.info("selfservice.registered", merchant=merchant_id, customer=customer_id)
    # The newcomer's own invitation: this store's link with their code, and its QR code
    # to show a friend's phone camera.
    invite = f"{join_url(base_url(page.request), page.token)}?ref={profile.referral_code}"
    return page.render(
        "done.html", card=card, name=profile.name,
        gifts=[{"kind": row["kind"], "amount": _roubles(int(row["amount"]))} for row in gifts],
        referral_code=profile.referral_code, invite_url=invite,
        invite_qr=f"/join/{page.token}/qr.svg?ref={profile.referral_code}",
    )  # fmt: skip


def _roubles(kopecks: int) -> str:
    return f"{to_roubles(kopecks):f}".rstrip("0").rstrip(".").replace(".", ",")


# ---- the QR code ---------------------------------------------------------------------


def join_url(base: str, token: str) -> str:
    return f"{base.rstrip('/')}/join/{token}"


def base_url(request: web.Request) -> str:
    return request.app[DEPS].settings.public_url or f"{request.scheme}://{request.host}"


def qr_svg(url: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=4, border=2, title=url)
    return buffer.getvalue()


async def qr(request: web.Request) -> web.Response:
    page = await _page(request)
    if isinstance(page, web.Response):
        return page
    url = join_url(base_url(request), page.token) + "?src=qr"
    ref = request.query.get("ref", "")
    if ref:
        if not (ref.isascii() and ref.isalnum() and len(ref) <= 20):
            return web.Response(status=404, text="not found")
        url += f"&ref={ref}"
    return web.Response(body=qr_svg(url), content_type="image/svg+xml",
                        headers={"Cache-Control": "public, max-age=86400"})  # fmt: skip
