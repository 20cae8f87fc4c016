"""The customer's opt-out link (advertising law 38-FZ art. 18: every advertising
message carries a way to refuse it).

The link is ``/m/stop/<merchant>.<customer>.<signature>``, the signature an HMAC of the
merchant and customer with the service's secret key, cut to 9 bytes (12 characters): a
forged link has one chance in 2^72, and every character costs money in an SMS. The
outbox appends ``footer`` to each advertising message when it renders the text, so the
recorded cost is that of the text actually sent. ``LOYALTY_PUBLIC_URL`` must be set for
the link to be absolute (without it the link is a path, as the feedback link is).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cloud.settings import Settings

FOOTER = "Отказ от рассылки: {link}"
_SIG_BYTES = 9


def _signature(secret: str, merchant_id: int, customer_id: int) -> str:
    digest = hmac.new(
        secret.encode(), f"stop:{merchant_id}:{customer_id}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest[:_SIG_BYTES]).decode()


def opt_out_path(settings: Settings, merchant_id: int, customer_id: int) -> str:
    signature = _signature(settings.secret_key, merchant_id, customer_id)
    return f"/m/stop/{merchant_id}.{customer_id}.{signature}"


def opt_out_link(settings: Settings, merchant_id: int, customer_id: int) -> str:
    base = (settings.public_url or "").rstrip("/")
    return base + opt_out_path(settings, merchant_id, customer_id)


def footer(settings: Settings, merchant_id: int, customer_id: int) -> str:
    """The line appended (after a line break) to an advertising message."""
    return "\n" + FOOTER.format(link=opt_out_link(settings, merchant_id, customer_id))


def parse_token(settings: Settings, token: str) -> tuple[int, int] | None:
    """``(merchant_id, customer_id)`` of a genuine token, None for anything else."""
    try:
        merchant, customer, signature = token.split(".")
    except ValueError:
        return None
    if not (merchant.isascii() and merchant.isdigit() and len(merchant) <= 18):
        return None
    if not (customer.isascii() and customer.isdigit() and len(customer) <= 18):
        return None
    merchant_id, customer_id = int(merchant), int(customer)
    expected = _signature(settings.secret_key, merchant_id, customer_id)
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        return None
    return merchant_id, customer_id
