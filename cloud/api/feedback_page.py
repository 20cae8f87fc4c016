"""The customer's feedback page, ``/feedback/{token}``: mobile-first HTML in Russian
without JavaScript, a 1–5 rating and a comment, one feedback per receipt.

Outside the native API (no credential): the token in the link is the receipt signed with
the service's secret key (``cloud.services.feedback``); a forged one gets a 404 page.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from cloud.api.keys import DEPS
from cloud.messages.templates import money
from cloud.services import feedback as service

PATH = r"/feedback/{token}"


def _context(page: service.Page, error: str | None = None) -> dict[str, Any]:
    return {
        "page": page,
        "error": error,
        "amount": money(page.amount),
        "purchased_on": date.fromisoformat(page.purchased_on).strftime("%d.%m.%Y"),
        "gift": None if page.gift is None else money(page.gift),
        "gifted": None if page.gifted is None else money(page.gifted),
        "comment_max": service.COMMENT_MAX,
    }


def _not_found(request: web.Request) -> web.Response:
    return aiohttp_jinja2.render_template("not_found.html", request, {}, status=404)


def _rating(form: Any) -> tuple[int | None, str | None, str | None]:
    """``(rating, comment, error)`` of the submitted form."""
    raw = form.get("rating")
    comment = form.get("comment")
    if not isinstance(raw, str) or raw not in {"1", "2", "3", "4", "5"}:
        return None, None, "Выберите оценку от 1 до 5"
    if comment is not None and not isinstance(comment, str):
        return None, None, "Комментарий должен быть текстом"
    comment = (comment or "").strip()
    if "\x00" in comment:
        return None, None, "Комментарий содержит недопустимый символ"
    if len(comment) > service.COMMENT_MAX:
        return None, None, f"Комментарий длиннее {service.COMMENT_MAX} символов"
    return int(raw), comment or None, None


async def feedback_page(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    token = request.match_info["token"]
    found = await service.page(deps, token)
    if found is None:
        return _not_found(request)
    if request.method == "POST" and found.rating is None:
        rating, comment, error = _rating(await request.post())
        if rating is None:
            return aiohttp_jinja2.render_template(
                "feedback.html", request, _context(found, error), status=400
            )
        await service.submit(deps, found.receipt_id, rating, comment)
        found = await service.page(deps, token)
        assert found is not None
    return aiohttp_jinja2.render_template("feedback.html", request, _context(found))


def setup(app: web.Application) -> None:
    app.router.add_route("GET", PATH, feedback_page)
    app.router.add_route("POST", PATH, feedback_page)
