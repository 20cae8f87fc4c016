"""A client of the Evotor cloud REST API (``https://api.evotor.ru``), for the entity pull.

Authentication: the Evotor cloud token of the user, sent as ``X-Authorization: <token>``
(the official SDK) and also as ``Authorization: Bearer <token>`` (what integrators use;
the contract is unsure which is checked, so both go). ``Accept:
application/vnd.evotor.v2+json``.

Lists come as ``{"items": [...], "paging": {"next_cursor": "..."}}`` and are followed
with ``?cursor=`` until there is no next cursor (a repeated cursor stops the walk); a
bare JSON array (the legacy v1 API) is taken as one page.

Rate limits: a 429 is retried after ``Retry-After`` seconds, else ``X-RateLimit-Reset``,
else an exponential back-off; when a response says ``X-RateLimit-Remaining: 0`` the next
request waits ``X-RateLimit-Reset`` seconds (a value above 10^9 is read as a Unix time).
Waits are capped (``max_wait``); 5xx and transport errors are retried the same way, at
most ``max_retries`` times.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from schemas.evotor import CloudDevice, CloudEmployee, CloudPage, CloudProduct, CloudStore

ModelT = TypeVar("ModelT", bound=BaseModel)
Sleep = Callable[[float], Awaitable[None]]

ACCEPT = "application/vnd.evotor.v2+json"
MAX_PAGES = 1000


class EvotorApiError(Exception):
    def __init__(self, status: int | None, message: str) -> None:
        super().__init__(f"Evotor API {status}: {message}")
        self.status = status


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    if number > 1e9:  # a Unix time rather than a delay
        number -= time.time()
    return max(number, 0.0)


class EvotorCloudClient:
    def __init__(
        self,
        token: str,
        *,
        base_url: str = "https://api.evotor.ru",
        http: httpx.AsyncClient | None = None,
        max_retries: int = 5,
        max_wait: float = 60.0,
        sleep: Sleep = asyncio.sleep,
        timeout: float = 10.0,
    ) -> None:
        self._token = token
        self._base = base_url.rstrip("/")
        self._http = http
        self._max_retries = max_retries
        self._max_wait = max_wait
        self._sleep = sleep
        self._timeout = timeout
        self._wait_before_next = 0.0

    async def __aenter__(self) -> EvotorCloudClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self._timeout)
            self._own = True
        return self

    async def __aexit__(self, *exc: object) -> None:
        if getattr(self, "_own", False) and self._http is not None:
            await self._http.aclose()
            self._http = None

    @property
    def headers(self) -> dict[str, str]:
        return {
            "X-Authorization": self._token,
            "Authorization": f"Bearer {self._token}",
            "Accept": ACCEPT,
        }

    async def _pause(self, seconds: float) -> None:
        if seconds > 0:
            await self._sleep(min(seconds, self._max_wait))

    async def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        assert self._http is not None, "use the client as an async context manager"
        url = f"{self._base}/{path.lstrip('/')}"
        for attempt in range(self._max_retries + 1):
            await self._pause(self._wait_before_next)
            self._wait_before_next = 0.0
            backoff = float(2**attempt)
            try:
                response = await self._http.get(url, params=params, headers=self.headers)
            except httpx.TransportError as exc:
                if attempt == self._max_retries:
                    raise EvotorApiError(None, str(exc)) from exc
                await self._pause(backoff)
                continue
            headers = response.headers
            if headers.get("X-RateLimit-Remaining") == "0":
                self._wait_before_next = _seconds(headers.get("X-RateLimit-Reset")) or 1.0
            if response.status_code == 429 or response.status_code >= 500:
                if attempt == self._max_retries:
                    raise EvotorApiError(response.status_code, response.text[:200])
                wait = _seconds(headers.get("Retry-After"))
                if wait is None:
                    wait = _seconds(headers.get("X-RateLimit-Reset"))
                await self._pause(backoff if wait is None else wait)
                self._wait_before_next = 0.0
                continue
            if response.status_code >= 400:
                raise EvotorApiError(response.status_code, response.text[:200])
            return response.json()
        raise EvotorApiError(None, "retries exhausted")  # pragma: no cover

    async def items(self, path: str, params: dict[str, str] | None = None) -> AsyncIterator[Any]:
        """Every item of a paged list."""
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            query = dict(params or {})
            if cursor:
                query["cursor"] = cursor
            data = await self.get(path, query or None)
            if isinstance(data, list):
                for item in data:
                    yield item
                return
            page = CloudPage.model_validate(data)
            for item in page.items:
                yield item
            cursor = page.paging.next_cursor if page.paging else None
            if not cursor or cursor in seen:
                return
            seen.add(cursor)

    async def _all(self, path: str, model: type[ModelT]) -> list[ModelT]:
        return [model.model_validate(item) async for item in self.items(path)]

    async def stores(self) -> list[CloudStore]:
        return await self._all("stores", CloudStore)

    async def devices(self) -> list[CloudDevice]:
        return await self._all("devices", CloudDevice)

    async def employees(self) -> list[CloudEmployee]:
        return await self._all("employees", CloudEmployee)

    async def products(self, store_id: str) -> list[CloudProduct]:
        return await self._all(f"stores/{store_id}/products", CloudProduct)

    async def product_groups(self, store_id: str) -> list[CloudProduct]:
        return await self._all(f"stores/{store_id}/product-groups", CloudProduct)
