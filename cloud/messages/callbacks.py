"""What reaches us from outside about messages: SMS.ru's delivery statuses and the
customer's «СТОП» link.

Neither is part of the native API (no merchant or terminal credential): the gateway's
callback is authenticated by the secret in its URL (``LOYALTY_SMSRU_CALLBACK_TOKEN``,
the address given to SMS.ru), the opt-out link by an HMAC of the merchant and customer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html

import structlog
from aiohttp import web

from cloud.api.keys import DEPS
from cloud.clock import to_epoch
from cloud.messages.providers import SMSRU_DELIVERED, SMSRU_UNDELIVERED
from cloud.services.deps import Deps

log = structlog.get_logger(__name__)


async def smsru_status(request: web.Request) -> web.Response:
    """SMS.ru POSTs ``data[0]``, ``data[1]``… each ``sms_status\\n<sms_id>\\n<code>\\n<time>``
    and expects ``100`` back (otherwise it repeats the call)."""
    deps = request.app[DEPS]
    expected = deps.settings.smsru_callback_token
    if not expected or not hmac.compare_digest(
        request.match_info["token"].encode(), expected.encode()
    ):
        return web.Response(status=404, text="not found")
    form = await request.post()
    updates = []
    for key, value in form.items():
        if not key.startswith("data[") or not isinstance(value, str):
            continue
        lines = value.split("\n")
        if len(lines) < 3 or lines[0] != "sms_status" or not lines[2].strip().isdigit():
            continue
        code = int(lines[2])
        status = ("delivered" if code in SMSRU_DELIVERED
                  else "undelivered" if code in SMSRU_UNDELIVERED else None)  # fmt: skip
        if status is not None:
            updates.append({"id": lines[1].strip()[:64], "status": status})
    if updates:
        async with deps.db.transaction() as tx:
            # Only a message already sent moves: a late callback never resurrects or
            # overrides a row that is not the gateway's to describe.
            await tx.execute_many(
                "UPDATE notifications SET status = :status WHERE provider = 'smsru' "
                "AND provider_id = :id AND status IN ('sent', 'delivered', 'undelivered')",
                updates,
            )
    log.info("smsru.callback", statuses=len(updates))
    return web.Response(text="100")


def _signature(deps: Deps, merchant_id: int, customer_id: int) -> str:
    digest = hmac.new(
        deps.settings.secret_key.encode(), f"stop:{merchant_id}:{customer_id}".encode(),
        hashlib.sha256,
    ).digest()  # fmt: skip
    return base64.urlsafe_b64encode(digest[:15]).decode()


def opt_out_path(deps: Deps, merchant_id: int, customer_id: int) -> str:
    """The customer's «СТОП» link (put it after the service's public URL)."""
    return f"/m/stop/{merchant_id}.{customer_id}.{_signature(deps, merchant_id, customer_id)}"


def _page(title: str, body: str) -> web.Response:
    return web.Response(
        content_type="text/html", charset="utf-8",
        text=f'<!doctype html><html lang="ru"><head><meta charset="utf-8"><meta name="viewport" '
        f'content="width=device-width, initial-scale=1"><title>{title}</title></head>'
        f"<body><h1>{title}</h1>{body}</body></html>",
    )  # fmt: skip


def _parse(deps: Deps, token: str) -> tuple[int, int] | None:
    try:
        merchant, customer, signature = token.split(".")
        merchant_id, customer_id = int(merchant), int(customer)
    except ValueError:
        return None
    if not hmac.compare_digest(signature, _signature(deps, merchant_id, customer_id)):
        return None
    return merchant_id, customer_id


async def opt_out(request: web.Request) -> web.Response:
    """GET shows a button (a link preview must not unsubscribe anyone); POST opts out,
    at once: the outbox checks the flag when it sends."""
    deps = request.app[DEPS]
    parsed = _parse(deps, request.match_info["token"])
    if parsed is None:
        return _page("Ссылка недействительна", "<p>Проверьте адрес из сообщения.</p>")
    if request.method == "GET":
        action = html.escape(request.path)
        return _page(
            "Отписка от сообщений",
            f'<form method="post" action="{action}"><p>Больше не присылать сообщения '
            "программы лояльности?</p><button>Отписаться</button></form>",
        )
    merchant_id, customer_id = parsed
    async with deps.db.transaction() as tx:
        await tx.execute(
            "UPDATE customers SET messages_opt_out_at = :now WHERE merchant_id = :m AND id = :c "
            "AND messages_opt_out_at IS NULL",
            {"now": to_epoch(deps.clock()), "m": merchant_id, "c": customer_id},
        )
    return _page("Вы отписались", "<p>Сообщения больше не будут приходить.</p>")


def setup(app: web.Application) -> None:
    app.router.add_post(r"/messages/smsru/{token}", smsru_status)
    app.router.add_route("GET", r"/m/stop/{token}", opt_out)
    app.router.add_route("POST", r"/m/stop/{token}", opt_out)
