"""Signed values of the self-registration pages: the join link's token and the forms'
hidden fields.

A join token names the merchant, the store and an optional campaign, with an optional
last day; it is the payload in base64url and an HMAC-SHA256 of it (truncated to 128
bits) under a key derived from the settings' secret key, so a token cannot be guessed
nor edited. The forms carry no cookie: each holds a hidden ``csrf`` value, an HMAC over
the join token, the step, the fields the server relies on and an expiry, so a form
cannot be posted from another site's page nor replayed after an hour.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

FORM_TTL_SECONDS = 3600
"""How long a page's form may be posted: long enough to fill a profile, short enough
that a harvested form is soon worthless."""

CAMPAIGN_MAX = 64

# The texts the customer agrees to, beside each checkbox. A changed text gets a new
# version id: the version stored with the consent says which text was shown.
CONSENT_PERSONAL_DATA_VERSION = "pd-2026-11"
CONSENT_PERSONAL_DATA_TEXT = (
    "Я даю согласие на обработку моих персональных данных (телефон, имя, пол, дата "
    "рождения, адрес электронной почты, сведения о детях, история покупок) в целях "
    "участия в программе лояльности в соответствии с Федеральным законом от 27.07.2006 "
    "№ 152-ФЗ «О персональных данных». Согласие действует до его отзыва; отозвать его "
    "можно, обратившись в магазин."
)
CONSENT_MESSAGES_VERSION = "ads-2026-11"
CONSENT_MESSAGES_TEXT = (
    "Я согласен получать рекламные сообщения о скидках, акциях и бонусах по SMS, "
    "электронной почте и в мессенджерах (ст. 18 Федерального закона от 13.03.2006 "
    "№ 38-ФЗ «О рекламе»). Отказаться можно в любой момент."
)


@dataclass(frozen=True, slots=True)
class JoinLink:
    merchant_id: int
    store_id: int
    campaign: str | None
    until: int | None
    """The link's last moment (Unix seconds), or None for a link without end."""


def _key(secret: str, purpose: str) -> bytes:
    # A key per purpose: a join token's MAC can never pass as a form's, nor as any other
    # value the service signs with the same secret.
    return hmac.new(secret.encode(), f"selfservice:{purpose}".encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_link(secret: str, link: JoinLink) -> str:
    payload = f"{link.merchant_id}|{link.store_id}|{link.until or 0}|{link.campaign or ''}"
    body = _b64(payload.encode())
    mac = hmac.new(_key(secret, "join"), body.encode(), hashlib.sha256).digest()[:16]
    return f"{body}.{_b64(mac)}"


def read_link(secret: str, token: str, now: int) -> JoinLink | None:
    """The link a token names, or None if it is forged, malformed or past its end."""
    body, dot, mac = token.partition(".")
    if not dot or len(token) > 400:
        return None
    expected = _b64(hmac.new(_key(secret, "join"), body.encode(), hashlib.sha256).digest()[:16])
    if not hmac.compare_digest(expected, mac):
        return None
    try:
        merchant, store, until, campaign = _unb64(body).decode().split("|", 3)
        link = JoinLink(int(merchant), int(store), campaign or None, int(until) or None)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if link.until is not None and link.until < now:
        return None
    return link


def form_token(secret: str, token: str, step: str, fields: dict[str, str], now: int) -> str:
    """The hidden ``csrf`` value of a form: its expiry and the MAC binding it."""
    expires = now + FORM_TTL_SECONDS
    return f"{expires}.{_form_mac(secret, token, step, fields, expires)}"


def check_form(
    secret: str, token: str, step: str, fields: dict[str, str], value: str, now: int
) -> bool:
    expires_text, dot, mac = value.partition(".")
    if not dot or not expires_text.isascii() or not expires_text.isdigit():
        return False
    expires = int(expires_text)
    if expires < now:
        return False
    return hmac.compare_digest(_form_mac(secret, token, step, fields, expires), mac)


def _form_mac(secret: str, token: str, step: str, fields: dict[str, str], expires: int) -> str:
    message = "\x1f".join(
        [token, step, str(expires), *(f"{k}={fields[k]}" for k in sorted(fields))]
    )
    return _b64(hmac.new(_key(secret, "form"), message.encode(), hashlib.sha256).digest())
