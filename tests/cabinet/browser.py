"""One headless Chromium for the whole test session, on a thread of its own.

Playwright's asynchronous API lives on that thread's event loop; a test (on its own
loop, where the service under test answers on a real port) awaits each browser step
through ``Browser.run``. So the browser starts once per session while every test keeps
its function-scoped database and loop (Playwright's synchronous API would block the
loop the service runs on)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from decimal import Decimal
from typing import Any, TypeVar

T = TypeVar("T")

CHROMIUM = "/usr/bin/chromium"
"""Debian's package: Playwright cannot download its own browser here."""


class Browser:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._playwright: Any = None
        self.chromium: Any = None

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=120)

    def start(self) -> None:
        self.thread.start()
        self._call(self._start())

    async def _start(self) -> None:
        from playwright.async_api import async_playwright

        self._playwright = await async_playwright().start()
        self.chromium = await self._playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await a Playwright coroutine on the browser's loop from the test's loop."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    async def page(self, width: int = 1280) -> Any:
        async def _new() -> Any:
            context = await self.chromium.new_context(
                viewport={"width": width, "height": 900}, locale="ru-RU"
            )
            context.set_default_timeout(15_000)
            return await context.new_page()

        return await self.run(_new())

    def stop(self) -> None:
        async def _stop() -> None:
            await self.chromium.close()
            await self._playwright.stop()

        try:
            self._call(_stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
            self.loop.close()


async def fill_sign_in(b: Browser, page: Any, url: str, login: str, password: str) -> None:
    """Fill and send the cabinet's sign-in form in ``page``."""
    await b.run(page.goto(url + "/cabinet/login"))
    await b.run(page.fill("input[name=login]", login))
    await b.run(page.fill("input[name=password]", password))
    await b.run(page.click("button[type=submit]"))


def roubles(text: str) -> Decimal:
    """``1 234,50 ₽`` as the page shows it -> ``Decimal("1234.50")``."""
    return Decimal(text.replace("₽", "").replace("\u00a0", "").replace(" ", "").replace(",", "."))
