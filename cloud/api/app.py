"""The application factory: ``create_app(settings)``."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from cloud.api.keys import AUTHENTICATOR, DEPS, MAX_BODY_BYTES, SETTINGS
from cloud.api.middleware import api_middleware
from cloud.api.routes import setup_routes
from cloud.clock import Clock
from cloud.db.database import open_database
from cloud.messages.setup import close_providers
from cloud.notify import SmsProvider
from cloud.services.deps import Deps
from cloud.services.merchants import TerminalAuthenticator
from cloud.settings import Settings


def create_app(
    settings: Settings,
    *,
    sms: SmsProvider | None = None,
    clock: Clock | None = None,
    deps: Deps | None = None,
) -> web.Application:
    """Build the service. ``deps`` may be given by a caller that already opened the
    database (tests, the demo loader); otherwise the database opens on start-up."""
    app = web.Application(
        middlewares=[api_middleware],
        client_max_size=MAX_BODY_BYTES,
    )
    app[SETTINGS] = settings

    async def database_ctx(app: web.Application) -> AsyncIterator[None]:
        own = deps is None
        built = deps
        if built is None:
            db = await open_database(settings.database_url, settings.pg_pool_size)
            built = Deps.build(settings, db, sms=sms, clock=clock)
        app[DEPS] = built
        app[AUTHENTICATOR] = TerminalAuthenticator(built.db)
        yield
        if own:
            await close_providers(built.sms, built.email, built.telegram)
            await built.db.close()

    app.cleanup_ctx.append(database_ctx)
    setup_routes(app)
    return app
