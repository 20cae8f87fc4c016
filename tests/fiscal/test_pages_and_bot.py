"""The customer's surfaces: the self-service page (phone -> SMS code -> the QR code's
text -> the result) and the Telegram bot (a linked customer sends the text)."""

from __future__ import annotations

import html
import io
import json
import os
import re
from typing import Any

import httpx
import segno
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from PIL import Image

from cloud.api.app import create_app
from cloud.selfservice import links
from cloud.services.deps import Deps
from tests.conftest import Tenant
from tests.fiscal.conftest import PHONE, QR, FakeFns, register, setup_fiscal
from tests.helpers import sms_code
from tests.telegram.conftest import FakeTelegram, connect, contact, message, post, say

CHAT = 5550077


def _hidden(page: str) -> dict[str, str]:
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)
    return {name: html.unescape(value) for name, value in fields}


def _token(deps: Deps, tenant: Tenant) -> str:
    return links.sign_link(
        deps.settings.secret_key, links.JoinLink(tenant.merchant_id, tenant.store_id, None, None)
    )


async def _signed_in(page: TestClient, deps: Deps, token: str, phone: str = PHONE) -> str:
    start = await page.get(f"/join/{token}/receipt")
    assert start.status == 200 and "Бонусы за чек" in await start.text()
    sent = await page.post(
        f"/join/{token}/receipt/phone", data={**_hidden(await start.text()), "phone": phone}
    )
    assert sent.status == 200, await sent.text()
    form = _hidden(await sent.text())
    claim = await page.post(
        f"/join/{token}/receipt/code", data={**form, "code": sms_code(deps, phone)}
    )
    assert claim.status == 200, await claim.text()
    return await claim.text()


async def test_page_flow_accrued_then_already(
    aiohttp_client: Any, deps: Deps, demo_tenant: Tenant, fake_fns: FakeFns
) -> None:
    """A registered customer signs in by phone and SMS code on the store's link, pastes
    the QR text and sees the bonuses accrued (200); the same text again says they were
    already accrued; a return receipt is refused (422) with its reason beside the field,
    the text kept; the form has no script."""
    await setup_fiscal(deps, demo_tenant)
    await register(deps, demo_tenant)
    page = await aiohttp_client(create_app(deps.settings, deps=deps))
    token = _token(deps, demo_tenant)
    form_page = await _signed_in(page, deps, token)
    assert "<script" not in form_page and 'name="qr"' in form_page
    form = _hidden(form_page)
    done = await page.post(f"/join/{token}/receipt/claim", data={**form, "qr": QR})
    text = await done.text()
    assert done.status == 200 and "Начислено бонусов: 61,7" in text
    again = await page.post(f"/join/{token}/receipt/claim", data={**_hidden(text), "qr": QR})
    assert again.status == 200 and "уже начислены" in await again.text()
    refund = QR[:-1] + "2"
    refused = await page.post(f"/join/{token}/receipt/claim", data={**_hidden(text), "qr": refund})
    body = await refused.text()
    assert refused.status == 422 and "чек возврата" in body and html.escape(refund) in body


async def test_page_refuses_unknown_phone_wrong_code_and_forged_form(
    aiohttp_client: Any, deps: Deps, demo_tenant: Tenant, fake_fns: FakeFns
) -> None:
    """A phone not in the program gets no SMS (404 page with the registration link); a
    wrong code is a 422 beside the field; a claim form whose customer was edited fails
    its MAC (400); a pending claim answers 202."""
    await setup_fiscal(deps, demo_tenant)
    await register(deps, demo_tenant)
    page = await aiohttp_client(create_app(deps.settings, deps=deps))
    token = _token(deps, demo_tenant)
    start = await page.get(f"/join/{token}/receipt")
    unknown = await page.post(
        f"/join/{token}/receipt/phone",
        data={**_hidden(await start.text()), "phone": "+79169998877"},
    )
    assert unknown.status == 404 and "не зарегистрирован" in await unknown.text()
    sent = await page.post(
        f"/join/{token}/receipt/phone", data={**_hidden(await start.text()), "phone": PHONE}
    )
    wrong = "000000" if sms_code(deps, PHONE) != "000000" else "111111"
    bad = await page.post(
        f"/join/{token}/receipt/code", data={**_hidden(await sent.text()), "code": wrong}
    )
    assert bad.status == 422 and "Неверный код" in await bad.text()
    good = await page.post(
        f"/join/{token}/receipt/code",
        data={**_hidden(await sent.text()), "code": sms_code(deps, PHONE)},
    )
    form = _hidden(await good.text())
    forged = await page.post(
        f"/join/{token}/receipt/claim",
        data={**form, "customer": str(int(form["customer"]) + 1), "qr": QR},
    )
    assert forged.status == 400
    fake_fns.tickets = ["get_ticket_404.xml"]
    pending = await page.post(f"/join/{token}/receipt/claim", data={**form, "qr": QR})
    assert pending.status == 202 and "ждёт проверки" in await pending.text()


async def test_bot_claims_for_a_linked_customer(
    deps: Deps,
    demo_tenant: Tenant,
    hook: TestClient,
    telegram: FakeTelegram,
    fake_fns: FakeFns,
) -> None:
    """A chat linked to a customer sends the QR text: the bot answers the accrual; the
    same text again says it is already accrued; a chat not linked is asked for its
    contact and nothing is claimed."""
    fake_fns.router.route(host="127.0.0.1").pass_through()
    await setup_fiscal(deps, demo_tenant)
    await register(deps, demo_tenant)
    bot = await connect(deps, demo_tenant.merchant_id)
    await say(hook, deps, bot, CHAT + 1, QR)
    assert "Поделиться" in str(telegram.sent(chat=CHAT + 1)[-1].payload)

    assert await post(hook, deps, bot, contact(CHAT, PHONE)) == 200
    await say(hook, deps, bot, CHAT, QR)
    assert "Начислено бонусов: 61,7" in telegram.last_text(CHAT)
    await say(hook, deps, bot, CHAT, QR)
    assert "уже начислены" in telegram.last_text(CHAT)
    count = await deps.db.fetch_value("SELECT COUNT(*) FROM fiscal_claims")
    assert count == 1


def _photo_form(fields: dict[str, str], photo: bytes) -> FormData:
    form = FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    form.add_field("photo", io.BytesIO(photo), filename="receipt.jpg", content_type="image/jpeg")
    return form


def _qr_jpeg(text: str) -> bytes:
    """A phone-like photo: the QR code on a larger light background, as JPEG."""
    png = io.BytesIO()
    segno.make(text, error="m").save(png, kind="png", scale=8, border=6)
    code = Image.open(io.BytesIO(png.getvalue())).convert("RGB")
    photo = Image.new("RGB", (code.width * 3, code.height * 2), (235, 232, 225))
    photo.paste(code, (code.width, code.height // 2))
    out = io.BytesIO()
    photo.save(out, format="JPEG", quality=85)
    return out.getvalue()


async def test_page_photo_of_the_qr_code_decoded_on_the_server(
    aiohttp_client: Any, deps: Deps, demo_tenant: Tenant, fake_fns: FakeFns
) -> None:
    """A photo of the QR code (JPEG, bigger than nothing but the code) is decoded on the
    server and claimed like the text; a file that is no image is refused (400) beside
    the form; a photo without a QR code says so; a forged form is refused (400)."""
    await setup_fiscal(deps, demo_tenant)
    await register(deps, demo_tenant)
    page = await aiohttp_client(create_app(deps.settings, deps=deps))
    token = _token(deps, demo_tenant)
    form = _hidden(await _signed_in(page, deps, token))
    assert (
        'enctype="multipart/form-data"'
        in await (await page.post(f"/join/{token}/receipt/claim", data={**form, "qr": " "})).text()
    )
    done = await page.post(f"/join/{token}/receipt/photo", data=_photo_form(form, _qr_jpeg(QR)))
    assert done.status == 200, await done.text()
    assert "Начислено бонусов: 61,7" in await done.text()
    junk = await page.post(f"/join/{token}/receipt/photo", data=_photo_form(form, b"not an image"))
    assert junk.status == 400 and "Это не фото" in await junk.text()
    blank = io.BytesIO()
    Image.new("RGB", (400, 300), (255, 255, 255)).save(blank, format="PNG")
    empty = await page.post(
        f"/join/{token}/receipt/photo", data=_photo_form(form, blank.getvalue())
    )
    assert empty.status == 400 and "не найден QR-код" in await empty.text()
    forged = {**form, "customer": "999"}
    stale = await page.post(f"/join/{token}/receipt/photo", data=_photo_form(forged, _qr_jpeg(QR)))
    assert stale.status == 400 and "устарела" in await stale.text()


async def test_page_photo_larger_than_the_api_body_limit(
    aiohttp_client: Any, deps: Deps, demo_tenant: Tenant, fake_fns: FakeFns
) -> None:
    """A phone's photo of several megabytes (the API's JSON bodies stop at 1 MB) is
    read and decoded: the QR code beside 3 MB of noise still accrues."""
    await setup_fiscal(deps, demo_tenant)
    await register(deps, demo_tenant)
    page = await aiohttp_client(create_app(deps.settings, deps=deps))
    token = _token(deps, demo_tenant)
    form = _hidden(await _signed_in(page, deps, token))
    png = io.BytesIO()
    segno.make(QR, error="m").save(png, kind="png", scale=8, border=6)
    code = Image.open(io.BytesIO(png.getvalue())).convert("RGB")
    photo = Image.new("RGB", (1000 + code.width, max(1000, code.height)), (240, 240, 240))
    photo.paste(Image.frombytes("RGB", (1000, 1000), os.urandom(3_000_000)), (0, 0))
    photo.paste(code, (1000, 0))
    out = io.BytesIO()
    photo.save(out, format="PNG")
    assert len(out.getvalue()) > 2 * 1024 * 1024
    done = await page.post(f"/join/{token}/receipt/photo", data=_photo_form(form, out.getvalue()))
    assert done.status == 200 and "Начислено бонусов" in await done.text()


async def test_bot_photo_of_the_qr_code(
    deps: Deps,
    demo_tenant: Tenant,
    hook: TestClient,
    telegram: FakeTelegram,
    fake_fns: FakeFns,
) -> None:
    """A linked customer sends a photo of the QR code: the bot takes the largest size
    Telegram offers (getFile, then the file), decodes it on the server and answers the
    accrual; a photo with no QR code is answered with the reason, nothing claimed."""
    photos = [_qr_jpeg(QR)]
    fake_fns.router.post(url__regex=r"/bot[^/]+/getFile$").respond(
        json={"ok": True, "result": {"file_id": "big", "file_size": 5000, "file_path": "p/1.jpg"}}
    )
    fake_fns.router.get(url__regex=r"/file/bot[^/]+/p/1\.jpg$").mock(
        side_effect=lambda request: httpx.Response(200, content=photos[0])
    )
    fake_fns.router.route(host="127.0.0.1").pass_through()
    await setup_fiscal(deps, demo_tenant)
    await register(deps, demo_tenant)
    bot = await connect(deps, demo_tenant.merchant_id)
    assert await post(hook, deps, bot, contact(CHAT, PHONE)) == 200
    sizes = [
        {"file_id": "small", "width": 90, "height": 90, "file_size": 900},
        {"file_id": "big", "width": 1280, "height": 960, "file_size": 5000},
    ]
    assert await post(hook, deps, bot, message(CHAT, photo=sizes)) == 200
    assert "Начислено бонусов: 61,7" in telegram.last_text(CHAT)
    got = [r for r in fake_fns.router.calls if r.request.url.path.endswith("/getFile")]
    assert json.loads(got[-1].request.content)["file_id"] == "big"
    blank = io.BytesIO()
    Image.new("RGB", (400, 300), (255, 255, 255)).save(blank, format="JPEG")
    photos[0] = blank.getvalue()
    assert await post(hook, deps, bot, message(CHAT, photo=sizes)) == 200
    assert "не найден QR-код" in telegram.last_text(CHAT)
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM fiscal_claims") == 1
