"""Self-registration by QR code or link: the customer's pages (``/join/{token}``) and
the merchant's join-link route."""

from __future__ import annotations

from aiohttp import web

from cloud.selfservice import pages

TOKEN = r"{token:[A-Za-z0-9_\-]{1,300}\.[A-Za-z0-9_\-]{1,64}}"


def setup(app: web.Application) -> None:
    """Mount the pages (their templates are loaded by ``cloud.pages``); the merchant
    route is mounted with the API's operations."""
    base = "/join/" + TOKEN
    app.router.add_get(base, pages.start)
    app.router.add_post(base + "/phone", pages.post_phone)
    app.router.add_post(base + "/code", pages.post_code)
    app.router.add_post(base + "/profile", pages.post_profile)
    app.router.add_get(base + "/qr.svg", pages.qr)
