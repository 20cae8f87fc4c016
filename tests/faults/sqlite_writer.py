"""A service process that only confirms sales on an SQLite database, for the kill -9
test (``test_sqlite_kill``): it prints each receipt's id once its confirm has returned,
that is once the till would have its acknowledgement, and goes on until killed.

    python -m tests.faults.sqlite_writer URL MERCHANT STORE TERMINAL PHONE
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from cloud.clock import ManualClock
from cloud.db.database import open_database
from cloud.notify import LogSmsProvider
from cloud.services import checkout
from cloud.services.deps import Deps
from cloud.services.merchants import TerminalContext
from cloud.settings import Settings
from schemas import checkout as wire


async def main(url: str, merchant: int, store: int, terminal_id: int, phone: str) -> None:
    db = await open_database(url)
    deps = Deps.build(
        Settings(database_url=url, env="test", load_demo=False), db, sms=LogSmsProvider(),
        clock=ManualClock(datetime(2026, 11, 20, 9, 0, tzinfo=UTC)),
    )  # fmt: skip
    terminal = TerminalContext(
        merchant_id=merchant, store_id=store, terminal_id=terminal_id,
        timezone=ZoneInfo("Europe/Moscow"), merchant_status="active",
    )  # fmt: skip
    for number in itertools.count():
        receipt = wire.Receipt(
            id=f"k{number}", customer=wire.CustomerRef(phone=phone),
            lines=[wire.ReceiptLine(id="1", name="Кофе", price=Decimal("150.00"),
                                    quantity=Decimal(1))],
        )  # fmt: skip
        await checkout.confirm(deps, terminal, wire.ConfirmRequest(receipt=receipt))
        print(receipt.id, flush=True)


if __name__ == "__main__":
    url, merchant, store, terminal, phone = sys.argv[1:]
    asyncio.run(main(url, int(merchant), int(store), int(terminal), phone))
