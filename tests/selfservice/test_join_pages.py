"""Self-registration by QR code or link: the pages posted like a browser without
JavaScript, the signed link, the forms' CSRF values and the merchant's join-link route."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from aiohttp.test_utils import TestClient

from cloud.selfservice import links
from cloud.services import referrals
from cloud.services.deps import Deps
from tests.conftest import FIXTURES, Tenant, make_tenant, merchant_client
from tests.helpers import register_over_api, sms_code

PHONE = "+79161234567"
PROGRAM = FIXTURES / "programs" / "13_besheniye_tachki.json"


def _program(on_self_registration: bool) -> str:
    document = json.loads(PROGRAM.read_text())
    document["gifts"]["welcome"]["on_self_registration"] = on_self_registration
    return json.dumps(document)


def _hidden(page: str) -> dict[str, str]:
    """The hidden fields of the page's form, as a browser would post them back."""
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)
    return {name: html.unescape(value) for name, value in fields}


async def _link(admin: TestClient, store_id: int, **query: Any) -> str:
    response = await admin.get(
        "/api/v1/merchant/join-links", params={"store_id": store_id, **query}
    )
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["qr_svg_url"] == body["url"] + "/qr.svg"
    return str(body["url"].split("/join/", 1)[1])


async def _to_profile(page: TestClient, deps: Deps, token: str, phone: str = PHONE,
                      ref: str = "", messages: bool = True) -> str:  # fmt: skip
    start = await page.get(f"/join/{token}" + (f"?ref={ref}" if ref else ""))
    assert start.status == 200
    form = _hidden(await start.text())
    sent = await page.post(f"/join/{token}/phone", data={**form, "phone": phone})
    assert sent.status == 200, await sent.text()
    form = _hidden(await sent.text())
    posted = {**form, "code": sms_code(deps, phone), "consent_personal_data": "on"}
    if messages:
        posted["consent_messages"] = "on"
    profile = await page.post(f"/join/{token}/code", data=posted)
    assert profile.status == 200, await profile.text()
    return await profile.text()


async def _customer(deps: Deps, merchant_id: int) -> dict[str, Any]:
    row = await deps.db.fetch_one(
        "SELECT * FROM customers WHERE merchant_id = :m ORDER BY id DESC LIMIT 1",
        {"m": merchant_id},
    )
    assert row is not None
    return dict(row)


async def _welcome(deps: Deps, customer_id: int) -> int | None:
    value = await deps.db.fetch_value(
        "SELECT amount FROM bonus_lots WHERE customer_id = :c AND kind = 'welcome'",
        {"c": customer_id},
    )
    return None if value is None else int(value)


async def test_whole_flow_from_link_to_card(aiohttp_client: Any, deps: Deps) -> None:
    """A link with a campaign -> phone -> code with both consents -> profile -> the card:
    the customer is registered through the self-service channel with the campaign, the
    link's store, acquisition 'link', consent timestamps with the texts' versions, the
    children, and the done page shows the virtual card and the welcome gift."""
    tenant = await make_tenant(deps, "Салон", _program(True))
    admin = await merchant_client(aiohttp_client, deps, tenant, "Офис")
    token = await _link(admin, tenant.store_id, campaign="Осень 2026")
    page = await _to_profile(admin, deps, token)
    hidden = _hidden(page)
    done = await admin.post(f"/join/{token}/profile", data={
        **hidden, "name": "Анна", "gender": "female", "birthday": "1990-05-17",
        "email": "Anna@Example.ru", "child_name_1": "Маша", "child_birthday_1": "2018-03-02",
    })  # fmt: skip
    text = await done.text()
    assert done.status == 200, text
    row = await _customer(deps, tenant.merchant_id)
    now = int(deps.clock().timestamp())
    assert row["registration_channel"] == "self_service"
    assert row["registered_store_id"] == tenant.store_id
    assert (row["acquisition_channel"], row["campaign"]) == ("link", "Осень 2026")
    assert row["consent_personal_data_at"] == now and row["consent_messages_at"] == now
    assert row["consent_personal_data_version"] == links.CONSENT_PERSONAL_DATA_VERSION
    assert row["consent_messages_version"] == links.CONSENT_MESSAGES_VERSION
    assert row["gender"] == "female"
    children = await deps.db.fetch_value(
        "SELECT COUNT(*) FROM customer_children WHERE customer_id = :c", {"c": row["id"]}
    )
    assert children == 1
    card = await deps.db.fetch_value(
        "SELECT number_enc FROM cards WHERE customer_id = :c AND kind = 'virtual'",
        {"c": row["id"]},
    )
    number = deps.cipher.decrypt(tenant.merchant_id, bytes(card))
    assert number in text and "Анна" in text
    assert await _welcome(deps, row["id"]) == 10000
    assert "Приветственный подарок" in text and "100 бонусов" in text


async def test_advertising_consent_is_optional(aiohttp_client: Any, deps: Deps) -> None:
    """Without the advertising tick the customer registers with no messages consent (and
    no version for it), and the QR code's link records acquisition 'qr'."""
    tenant = await make_tenant(deps, "Салон", _program(True))
    admin = await merchant_client(aiohttp_client, deps, tenant, "Офис")
    token = await _link(admin, tenant.store_id)
    start = await admin.get(f"/join/{token}?src=qr")
    form = _hidden(await start.text())
    sent = await admin.post(f"/join/{token}/phone", data={**form, "phone": PHONE})
    form = _hidden(await sent.text())
    profile = await admin.post(f"/join/{token}/code", data={
        **form, "code": sms_code(deps, PHONE), "consent_personal_data": "on"})  # fmt: skip
    done = await admin.post(f"/join/{token}/profile", data=_hidden(await profile.text()))
    assert done.status == 200, await done.text()
    row = await _customer(deps, tenant.merchant_id)
    assert row["consent_messages_at"] is None and row["consent_messages_version"] is None
    assert row["acquisition_channel"] == "qr" and row["campaign"] is None


async def test_welcome_gift_not_granted_when_program_says_no(
    aiohttp_client: Any, deps: Deps
) -> None:
    """With ``on_self_registration: false`` a self-registered customer gets no welcome
    gift and the done page promises none."""
    tenant = await make_tenant(deps, "Салон", _program(False))
    admin = await merchant_client(aiohttp_client, deps, tenant, "Офис")
    token = await _link(admin, tenant.store_id)
    page = await _to_profile(admin, deps, token)
    done = await admin.post(f"/join/{token}/profile", data=_hidden(page))
    assert done.status == 200
    assert "Приветственный подарок" not in await done.text()
    row = await _customer(deps, tenant.merchant_id)
    assert await _welcome(deps, row["id"]) is None


async def test_personal_link_credits_the_referrer(
    aiohttp_client: Any, deps: Deps, client: TestClient, demo_tenant: Tenant
) -> None:
    """``?ref=<code>`` prefills the referrer field; posted as is, the newcomer's referrer
    is the customer whose code it is."""
    referrer = await register_over_api(client, deps, "+79160000001")
    code = referrals.referral_code(deps, demo_tenant.merchant_id, referrer["id"])
    admin = await merchant_client(aiohttp_client, deps, demo_tenant, "Офис")
    token = await _link(admin, demo_tenant.store_id)
    page = await _to_profile(admin, deps, token, ref=code)
    assert f'value="{code}"' in page
    done = await admin.post(f"/join/{token}/profile", data={**_hidden(page), "referrer": code})
    assert done.status == 200, await done.text()
    row = await _customer(deps, demo_tenant.merchant_id)
    assert row["referrer_id"] == referrer["id"]


async def test_unknown_referrer_shown_beside_field(
    aiohttp_client: Any, deps: Deps, demo_tenant: Tenant
) -> None:
    """A referrer phone that is nobody's is refused beside its field (4xx page, no
    customer written) and the form can be posted again without it."""
    admin = await merchant_client(aiohttp_client, deps, demo_tenant, "Офис")
    token = await _link(admin, demo_tenant.store_id)
    page = await _to_profile(admin, deps, token)
    refused = await admin.post(
        f"/join/{token}/profile", data={**_hidden(page), "referrer": "+79160000999"}
    )
    assert refused.status == 422
    assert "Пригласивший клиент не найден" in await refused.text()
    again = await admin.post(f"/join/{token}/profile", data=_hidden(await refused.text()))
    assert again.status == 200, await again.text()


async def test_bad_code_and_missing_consent(
    aiohttp_client: Any, deps: Deps, demo_tenant: Tenant
) -> None:
    """A wrong code shows the attempts left beside the code field; no tick for personal
    data is refused with 400 before the code is checked; nothing is registered."""
    admin = await merchant_client(aiohttp_client, deps, demo_tenant, "Офис")
    token = await _link(admin, demo_tenant.store_id)
    start = await admin.get(f"/join/{token}")
    sent = await admin.post(
        f"/join/{token}/phone", data={**_hidden(await start.text()), "phone": PHONE}
    )
    code_page = await sent.text()
    assert links.CONSENT_PERSONAL_DATA_TEXT in code_page
    assert links.CONSENT_MESSAGES_TEXT in code_page
    form = _hidden(code_page)
    wrong = "000000" if sms_code(deps, PHONE) != "000000" else "111111"
    bad = await admin.post(f"/join/{token}/code",
                           data={**form, "code": wrong, "consent_personal_data": "on"})  # fmt: skip
    assert bad.status == 422 and "Неверный код" in await bad.text()
    unticked = await admin.post(f"/join/{token}/code",
                                data={**form, "code": sms_code(deps, PHONE)})  # fmt: skip
    assert unticked.status == 400
    assert "Без согласия на обработку персональных данных" in await unticked.text()
    count = await deps.db.fetch_value(
        "SELECT COUNT(*) FROM customers WHERE merchant_id = :m", {"m": demo_tenant.merchant_id}
    )
    assert count == 0


async def test_registered_phone_and_bad_phone(
    aiohttp_client: Any, deps: Deps, client: TestClient, demo_tenant: Tenant
) -> None:
    """An already registered phone gets a clear message and no SMS; an unreadable phone
    is refused beside the field; both are 4xx pages, not 500."""
    await register_over_api(client, deps, PHONE)
    admin = await merchant_client(aiohttp_client, deps, demo_tenant, "Офис")
    token = await _link(admin, demo_tenant.store_id)
    form = _hidden(await (await admin.get(f"/join/{token}")).text())
    taken = await admin.post(f"/join/{token}/phone", data={**form, "phone": PHONE})
    assert taken.status == 409 and "уже зарегистрирован" in await taken.text()
    garbage = await admin.post(f"/join/{token}/phone", data={**form, "phone": "abc"})
    assert garbage.status == 400 and "телефон" in (await garbage.text()).lower()


async def test_forged_and_expired_links_are_404(
    aiohttp_client: Any, deps: Deps, demo_tenant: Tenant
) -> None:
    """A token with an edited payload, a token signed with another key, and a link past
    its ``valid_days`` are all 404 pages, on the form and the QR code too."""
    admin = await merchant_client(aiohttp_client, deps, demo_tenant, "Офис")
    token = await _link(admin, demo_tenant.store_id, valid_days=1)
    assert (await admin.get(f"/join/{token}")).status == 200
    own = links.JoinLink(demo_tenant.merchant_id, demo_tenant.store_id, None, None)
    foreign = links.sign_link("another secret", own)
    mac = token.split(".")[1]
    other_store = links.JoinLink(demo_tenant.merchant_id, demo_tenant.store_id + 1, None, None)
    edited = links.sign_link(deps.settings.secret_key, other_store).split(".")[0] + "." + mac
    for bad in (foreign, edited):
        assert (await admin.get(f"/join/{bad}")).status == 404
        assert (await admin.get(f"/join/{bad}/qr.svg")).status == 404
    deps.clock.advance(days=2)  # type: ignore[attr-defined]
    expired = await admin.get(f"/join/{token}")
    assert expired.status == 404 and "Ссылка недействительна" in await expired.text()


async def test_csrf_value_missing_or_forged_is_400(
    aiohttp_client: Any, deps: Deps, demo_tenant: Tenant
) -> None:
    """A form posted without its hidden ``csrf`` value, with one from another link, or
    with a changed signed field (another phone) is a 400 page and sends no SMS."""
    admin = await merchant_client(aiohttp_client, deps, demo_tenant, "Офис")
    token = await _link(admin, demo_tenant.store_id)
    other = await _link(admin, demo_tenant.store_id, campaign="другая")
    assert (await admin.post(f"/join/{token}/phone", data={"phone": PHONE})).status == 400
    foreign = _hidden(await (await admin.get(f"/join/{other}")).text())
    assert (
        await admin.post(f"/join/{token}/phone", data={**foreign, "phone": PHONE})
    ).status == 400
    assert deps.sms.last_to(PHONE) is None  # type: ignore[attr-defined]
    form = _hidden(await (await admin.get(f"/join/{token}")).text())
    sent = await admin.post(f"/join/{token}/phone", data={**form, "phone": PHONE})
    swapped = {**_hidden(await sent.text()), "phone": "+79160000002",
               "code": sms_code(deps, PHONE), "consent_personal_data": "on"}  # fmt: skip
    refused = await admin.post(f"/join/{token}/code", data=swapped)
    assert refused.status == 400 and "Форма устарела" in await refused.text()


async def test_qr_code_is_svg_of_the_link(
    aiohttp_client: Any, deps: Deps, demo_tenant: Tenant
) -> None:
    """The QR code is an SVG image whose title is the link it encodes (with ``src=qr``)."""
    admin = await merchant_client(aiohttp_client, deps, demo_tenant, "Офис")
    token = await _link(admin, demo_tenant.store_id)
    response = await admin.get(f"/join/{token}/qr.svg")
    assert response.status == 200 and response.content_type == "image/svg+xml"
    svg = await response.text()
    assert svg.lstrip().startswith("<?xml") or "<svg" in svg[:200]
    assert f"/join/{token}?src=qr" in svg


async def test_join_links_tenancy_and_errors(
    aiohttp_client: Any,
    deps: Deps,
    client: TestClient,
    demo_tenant: Tenant,
    other_tenant: Tenant,
) -> None:
    """A merchant key gets no link for another merchant's store (404 store_not_found);
    a missing store id and a bad campaign are 400; a till's token is refused."""
    admin = await merchant_client(aiohttp_client, deps, demo_tenant, "Офис")
    path = "/api/v1/merchant/join-links"
    foreign = await admin.get(path, params={"store_id": other_tenant.store_id})
    assert foreign.status == 404 and (await foreign.json())["code"] == "store_not_found"
    missing = await admin.get(path)
    assert missing.status == 400 and (await missing.json())["code"] == "invalid_query"
    bad = await admin.get(path, params={"store_id": demo_tenant.store_id, "campaign": "a\tb"})
    assert bad.status == 400 and (await bad.json())["code"] == "invalid_campaign"
    assert (await client.get(path, params={"store_id": demo_tenant.store_id})).status == 401


async def test_code_requests_limited_per_phone(
    aiohttp_client: Any, deps: Deps, demo_tenant: Tenant
) -> None:
    """Code requests go through the SMS codes' per-phone limit: past it the phone page
    says when to retry, with 429, and no further SMS is sent."""
    admin = await merchant_client(aiohttp_client, deps, demo_tenant, "Офис")
    token = await _link(admin, demo_tenant.store_id)
    form = _hidden(await (await admin.get(f"/join/{token}")).text())
    for _ in range(deps.settings.sms_codes_per_phone):
        sent = await admin.post(f"/join/{token}/phone", data={**form, "phone": PHONE})
        assert sent.status == 200
    limited = await admin.post(f"/join/{token}/phone", data={**form, "phone": PHONE})
    assert limited.status == 429
    assert "Слишком много кодов на этот номер" in await limited.text()
    sent_count = await deps.db.fetch_value(
        "SELECT COUNT(*) FROM sms_codes WHERE merchant_id = :m", {"m": demo_tenant.merchant_id}
    )
    assert sent_count == deps.settings.sms_codes_per_phone


async def test_profile_outlives_the_code_but_not_the_form(
    aiohttp_client: Any, deps: Deps, demo_tenant: Tenant
) -> None:
    """The code checked on the code page still registers after its own lifetime has
    passed (the profile may take longer to fill), but a form older than its hour is a
    400 page."""
    admin = await merchant_client(aiohttp_client, deps, demo_tenant, "Офис")
    token = await _link(admin, demo_tenant.store_id)
    page = _hidden(await _to_profile(admin, deps, token))
    deps.clock.advance(seconds=deps.settings.sms_code_ttl_seconds + 60)  # type: ignore[attr-defined]
    done = await admin.post(f"/join/{token}/profile", data=page)
    assert done.status == 200, await done.text()
    late = _hidden(await _to_profile(admin, deps, token, phone="+79160000003"))
    deps.clock.advance(seconds=links.FORM_TTL_SECONDS + 1)  # type: ignore[attr-defined]
    assert (await admin.post(f"/join/{token}/profile", data=late)).status == 400


async def test_done_page_gives_the_newcomer_an_invitation_link_and_qr(
    aiohttp_client: Any, deps: Deps, demo_tenant: Tenant
) -> None:
    """The done page shows the newcomer's own invitation: the store's link with their
    personal code and a QR code of it; a friend who follows it registers with the
    newcomer as referrer; a QR asked for with a malformed code is a 404."""
    admin = await merchant_client(aiohttp_client, deps, demo_tenant, "Офис")
    token = await _link(admin, demo_tenant.store_id)
    done = await admin.post(f"/join/{token}/profile", data=_hidden(await _to_profile(
        admin, deps, token)))  # fmt: skip
    text = await done.text()
    first = await _customer(deps, demo_tenant.merchant_id)
    code = referrals.referral_code(deps, demo_tenant.merchant_id, first["id"])
    invite = re.search(r'<a href="([^"]+)" id="invite">', text)
    assert invite is not None and invite.group(1).endswith(f"/join/{token}?ref={code}")
    qr = await admin.get(f"/join/{token}/qr.svg", params={"ref": code})
    assert qr.status == 200 and f"/join/{token}?src=qr&amp;ref={code}" in await qr.text()
    assert (await admin.get(f"/join/{token}/qr.svg", params={"ref": "<x>"})).status == 404

    page = await _to_profile(admin, deps, token, phone="+79161234568", ref=code)
    friend = await admin.post(f"/join/{token}/profile", data={**_hidden(page), "referrer": code})
    assert friend.status == 200, await friend.text()
    assert (await _customer(deps, demo_tenant.merchant_id))["referrer_id"] == first["id"]
