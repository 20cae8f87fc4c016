"""Self-registration by QR code or link: the customer's pages (``/join/{token}``) and
the merchant's join-link route."""

from __future__ import annotations

import aiohttp_jinja2
import jinja2
from aiohttp import web

from cloud.selfservice import pages

TOKEN = r"{token:[A-Za-z0-9_\-]{1,300}\.[A-Za-z0-9_\-]{1,64}}"


def setup(app: web.Application) -> None:
    """Mount the pages; the merchant route is mounted with the API's operations."""
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("cloud.selfservice", "templates"),
        autoescape=jinja2.select_autoescape(default=True),
    )
    base = "/join/" + TOKEN
    app.router.add_get(base, pages.start)
    app.router.add_post(base + "/phone", pages.post_phone)
    app.router.add_post(base + "/code", pages.post_code)
    app.router.add_post(base + "/profile", pages.post_profile)
    app.router.add_get(base + "/qr.svg", pages.qr)
