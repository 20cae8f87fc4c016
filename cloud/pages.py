"""The service's HTML pages share one Jinja2 environment (aiohttp-jinja2 keeps one per
application): the self-registration pages' templates and the feedback page's."""

from __future__ import annotations

import aiohttp_jinja2
import jinja2
from aiohttp import web


def setup_templates(app: web.Application) -> None:
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.ChoiceLoader(
            [
                jinja2.PackageLoader("cloud.selfservice", "templates"),
                jinja2.PackageLoader("cloud", "templates"),
            ]
        ),
        autoescape=jinja2.select_autoescape(default=True),
    )
