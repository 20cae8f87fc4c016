"""The merchant cabinet at ``/cabinet/``: server-rendered pages in Russian for the
merchant's staff (sign-in, customers, staff), a sub-application with its own session
cookie, CSRF check and templates."""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from cloud.cabinet import (
    analytics,
    counter,
    evotor_sso,
    experiments,
    feedback_pages,
    imports,
    mailing_pages,
    pages,
    program_pages,
    stores,
)
from cloud.cabinet.core import BASE, cabinet_middleware, money, sessions

STATIC = Path(__file__).resolve().parent / "static"
_CUSTOMER = "/customers/{customer_id:[0-9]{1,18}}"
_USER = "/staff/{user_id:[0-9]{1,18}}"


def _when(value: object, fmt: str = "%d.%m.%Y %H:%M") -> str:
    return value.strftime(fmt) if hasattr(value, "strftime") else ""


def build() -> web.Application:
    app = web.Application(middlewares=[sessions(), cabinet_middleware])
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("cloud.cabinet", "templates"),
        autoescape=jinja2.select_autoescape(default=True),
    )
    env.filters["money"] = money
    env.filters["when"] = _when
    router = app.router
    router.add_get("/", pages.index)
    router.add_get("/login", pages.login_page)
    router.add_post("/login", pages.login_post)
    router.add_post("/logout", pages.logout)
    router.add_get("/customers", pages.customers_page)
    router.add_get(_CUSTOMER, pages.customer_page)
    router.add_post(_CUSTOMER + "/adjust", pages.adjust)
    router.add_post(_CUSTOMER + "/block", pages.block)
    router.add_post(_CUSTOMER + "/unblock", pages.unblock)
    router.add_get("/staff", pages.staff_page)
    router.add_post("/staff", pages.staff_add)
    router.add_post(_USER + "/disable", pages.staff_disable)
    router.add_post(_USER + "/enable", pages.staff_enable)
    counter.add_routes(router)
    evotor_sso.add_routes(router)
    stores.add_routes(router)
    program_pages.add_routes(router)
    experiments.add_routes(router)
    analytics.add_routes(router)
    imports.add_routes(router)
    mailing_pages.add_routes(router)
    feedback_pages.add_routes(router)
    router.add_static("/static/", STATIC)
    return app


def setup(app: web.Application) -> None:
    app.add_subapp(BASE + "/", build())
