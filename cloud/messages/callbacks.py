"""What reaches us from outside about messages: SMS.ru's delivery statuses and the
customer's «СТОП» link.

Neither is part of the native API (no merchant or terminal credential): the gateway's
callback is authenticated by the secret in its URL (``LOYALTY_SMSRU_CALLBACK_TOKEN``,
the address given to SMS.ru), the opt-out link by an HMAC of the merchant and customer.
"""

from __future__ import annotations

import hmac

import aiohttp_jinja2
import structlog
from aiohttp import web

from cloud.api.keys import DEPS
from cloud.clock import to_epoch
from cloud.messages import unsubscribe
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


def opt_out_path(deps: Deps, merchant_id: int, customer_id: int) -> str:
    """The customer's «СТОП» link (put it after the service's public URL)."""
    return unsubscribe.opt_out_path(deps.settings, merchant_id, customer_id)


async def opt_out(request: web.Request) -> web.Response:
    """GET shows a button (a link preview must not unsubscribe anyone); POST opts out,
    at once: the outbox checks the flag when it sends. The merchant's name is shown
    only for a genuine link of an existing customer."""
    deps = request.app[DEPS]
    parsed = unsubscribe.parse_token(deps.settings, request.match_info["token"])
    found = None
    if parsed is not None:
        found = await deps.db.fetch_one(
            "SELECT m.name FROM customers c JOIN merchants m ON m.id = c.merchant_id "
            "WHERE c.merchant_id = :m AND c.id = :c",
            {"m": parsed[0], "c": parsed[1]},
        )
    if parsed is None or found is None:
        return aiohttp_jinja2.render_template("stop.html", request, {"state": "invalid"},
                                              status=404)  # fmt: skip
    context = {"merchant": str(found["name"]), "action": request.path}
    if request.method == "GET":
        return aiohttp_jinja2.render_template("stop.html", request, {"state": "ask", **context})
    merchant_id, customer_id = parsed
    async with deps.db.transaction() as tx:
        await tx.execute(
            "UPDATE customers SET messages_opt_out_at = :now WHERE merchant_id = :m AND id = :c "
            "AND messages_opt_out_at IS NULL",
            {"now": to_epoch(deps.clock()), "m": merchant_id, "c": customer_id},
        )
    log.info("messages.opt_out", merchant=merchant_id, customer=customer_id)
    return aiohttp_jinja2.render_template("stop.html", request, {"state": "done", **context})


def setup(app: web.Application) -> None:
    app.router.add_post(r"/messages/smsru/{token}", smsru_status)
    app.router.add_route("GET", r"/m/stop/{token}", opt_out)
    app.router.add_route("POST", r"/m/stop/{token}", opt_out)
