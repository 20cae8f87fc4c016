"""Pulling stores, devices and employees from the Evotor cloud into our model.

Runs after installation (``ApplicationInstalled``) and whenever Evotor gives us a cloud
token (``/user/token``), in the background: Evotor wants its webhook answered within
10 s, and a pull pages through rate-limited lists. ``Syncer`` keeps the tasks so they
finish (or are cancelled) with the application; tests ``drain()`` it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import httpx
import structlog

from cloud.services import evotor_accounts, evotor_catalogue
from cloud.services.deps import Deps
from webhooks.evotor import translate
from webhooks.evotor.cloud_api import EvotorApiError, EvotorCloudClient

log = structlog.get_logger("loyalty.evotor")


@dataclass(frozen=True, slots=True)
class PullResult:
    stores: int
    devices: int
    employees: int
    products: int = 0


async def pull_entities(deps: Deps, merchant_id: int, client: EvotorCloudClient) -> PullResult:
    """Stores first (devices and employees refer to them), then devices, employees."""
    stores = await client.stores()
    await evotor_accounts.sync_stores(
        deps, merchant_id, [translate.store_record(s) for s in stores]
    )
    devices = await client.devices()
    await evotor_accounts.sync_devices(
        deps, merchant_id, [translate.device_record(d) for d in devices]
    )
    employees = await client.employees()
    await evotor_accounts.sync_employees(
        deps, merchant_id, [translate.employee_record(e) for e in employees]
    )
    products = 0
    for store in stores:
        products += await pull_products(deps, merchant_id, client, store.id)
    return PullResult(len(stores), len(devices), len(employees), products)


async def pull_products(
    deps: Deps, merchant_id: int, client: EvotorCloudClient, store_id: str
) -> int:
    """A store's product groups and products (for program categories). An app installed
    without the products scope gets a 4xx: the rest of the pull still counts."""
    try:
        groups = await client.product_groups(store_id)
        products = await client.products(store_id)
    except EvotorApiError as exc:
        log.warning("evotor_products_not_pulled", merchant=merchant_id, store=store_id,
                    status=exc.status)  # fmt: skip
        return 0
    records = [translate.product_record(store_id, g, is_group=True) for g in groups]
    records += [translate.product_record(store_id, p) for p in products]
    await evotor_catalogue.sync_products(deps, merchant_id, records)
    return len(records)


async def pull_for_merchant(
    deps: Deps, merchant_id: int, http: httpx.AsyncClient | None = None
) -> PullResult | None:
    """Pull with the merchant's stored cloud token; ``None`` when there is none yet."""
    token = await evotor_accounts.cloud_token(deps, merchant_id)
    if token is None:
        return None
    async with EvotorCloudClient(token, base_url=deps.settings.evotor_api_url, http=http) as client:
        result = await pull_entities(deps, merchant_id, client)
    log.info("evotor_pulled", merchant=merchant_id, stores=result.stores,
             devices=result.devices, employees=result.employees)  # fmt: skip
    return result


class Syncer:
    """Background pulls, at most one running per merchant."""

    def __init__(self) -> None:
        self._tasks: dict[int, asyncio.Task[Any]] = {}

    def spawn(self, merchant_id: int, work: Coroutine[Any, Any, Any]) -> None:
        running = self._tasks.get(merchant_id)
        if running is not None and not running.done():
            work.close()
            return
        task = asyncio.get_running_loop().create_task(self._guard(merchant_id, work))
        self._tasks[merchant_id] = task

    async def _guard(self, merchant_id: int, work: Coroutine[Any, Any, Any]) -> None:
        try:
            await work
        except (EvotorApiError, httpx.HTTPError) as exc:
            log.warning("evotor_pull_failed", merchant=merchant_id, error=str(exc))
        except Exception:
            log.exception("evotor_pull_crashed", merchant=merchant_id)

    async def drain(self) -> None:
        """Wait for every pull started so far."""
        while self._tasks:
            tasks = list(self._tasks.values())
            self._tasks.clear()
            await asyncio.gather(*tasks)

    async def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()
