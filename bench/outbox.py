"""Outbox drain throughput: messages per second from queued rows to a fake SMS.ru.

    python bench/outbox.py [--messages 20000] [--database-url postgresql://...]

1. A fresh SQLite database (or the given PostgreSQL one, which must be empty), migrated;
   a merchant with one store; N consenting customers and one queued ``tier_changed``
   message each (kind + params, no body: the worker renders every text).
2. A fake SMS.ru gateway in its own OS process (aiohttp): answers ``/sms/send`` the
   way SMS.ru does (``to`` or ``multi[number]``), with an id and a cost per number.
3. ``cloud.messages.outbox.drain`` with the SMS.ru provider over httpx, default batch
   and concurrency, quiet hours off; the time from the first claim to the last result
   written. Checks every row is 'sent' with its cost. Target: >= 500 messages/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGET = 500


def _gateway(port: int) -> None:
    from aiohttp import web

    counter = 0

    async def send(request: web.Request) -> web.Response:
        nonlocal counter
        form = await request.post()
        numbers = [key[6:-1] for key in form if key.startswith("multi[")] or [str(form["to"])]
        answers = {}
        for number in numbers:
            counter += 1
            answers[number] = {"status": "OK", "status_code": 100, "sms_id": f"b-{counter}",
                               "cost": "2.50", "sms": 1}  # fmt: skip
        return web.json_response(
            {"status": "OK", "status_code": 100, "balance": 1000.0, "sms": answers}
        )

    app = web.Application()
    app.router.add_post("/sms/send", send)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _seed(deps, count: int) -> int:  # type: ignore[no-untyped-def]
    from cloud.clock import to_epoch
    from cloud.services import merchants

    now = deps.clock()
    merchant_id = await merchants.create_merchant(deps.db, "Бенчмарк", now, "Europe/Moscow")
    await merchants.create_store(deps.db, merchant_id, "Магазин", now)
    epoch = to_epoch(now)
    customers = []
    for i in range(count):
        phone = f"+7900{i:07d}"
        customers.append({"m": merchant_id, "pi": deps.index.of(merchant_id, "phone", phone),
                          "pe": deps.cipher.encrypt(merchant_id, phone), "now": epoch})  # fmt: skip
    async with deps.db.transaction() as tx:
        await tx.execute_many(
            "INSERT INTO customers (merchant_id, phone_index, phone_enc, lifetime_purchases, "
            "purchase_count, registration_channel, consent_messages_at, created_at) "
            "VALUES (:m, :pi, :pe, 0, 0, 'import', :now, :now)",
            customers,
        )
        await tx.execute(
            "INSERT INTO notifications (merchant_id, customer_id, channel, recipient_enc, body, "
            "status, cost, created_at, kind, params) SELECT merchant_id, id, 'sms', phone_enc, "
            "'', 'pending', 0, :now, 'tier_changed', :params FROM customers WHERE merchant_id = :m",
            {"now": epoch, "m": merchant_id, "params": json.dumps({"tier": "Золото"})},
        )
    return merchant_id


async def run(messages: int, database_url: str | None) -> float:
    from cloud.db import migrate
    from cloud.db.database import open_database
    from cloud.messages.outbox import drain
    from cloud.messages.providers import SmsRuProvider
    from cloud.services.deps import Deps
    from cloud.settings import Settings

    workdir = tempfile.mkdtemp(prefix="outbox-bench-")
    url = database_url or f"sqlite+aiosqlite:///{workdir}/bench.sqlite3"
    await migrate.upgrade_async(url)
    port = _free_port()
    gateway = multiprocessing.get_context("spawn").Process(target=_gateway, args=(port,))
    gateway.start()
    db = await open_database(url)
    try:
        settings = Settings(database_url=url, env="test", quiet_hours=None, load_demo=False)
        provider = SmsRuProvider(api_id="bench", url=f"http://127.0.0.1:{port}")
        deps = Deps.build(settings, db, sms=provider)
        await _seed(deps, messages)
        for _ in range(600):  # the gateway process starting
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                await asyncio.sleep(0.1)
        else:
            raise SystemExit("the fake gateway did not start")
        started = time.perf_counter()
        report = await drain(deps)
        elapsed = time.perf_counter() - started
        sent = await db.fetch_value(
            "SELECT COUNT(*) FROM notifications WHERE status = 'sent' AND cost = 250"
        )
        assert report.sent == messages == sent, (report, sent)
        if provider.client is not None:
            await provider.client.aclose()
    finally:
        await db.close()
        gateway.terminate()
        gateway.join()
    rate = messages / elapsed
    backend = "PostgreSQL" if database_url else "SQLite"
    print(f"{backend}: {messages} messages in {elapsed:.2f} s = {rate:.0f} messages/s "
          f"(target >= {TARGET}; cpus {os.cpu_count()})")  # fmt: skip
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    rate = asyncio.run(run(args.messages, args.database_url))
    sys.exit(0 if rate >= TARGET else 1)


if __name__ == "__main__":
    main()
