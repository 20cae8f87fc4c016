"""Every row and every query carries ``merchant_id`` (docs/scaling.md, «Citus»).

The schema test lists the tables that are not a merchant's rows. The traffic test runs
a salon's day over the main doors — a till's codes, registrations, calculations, sales
and a return, the customers API, the merchant's API, the customer's own pages, the
cabinet's pages, and every scheduled job ticking hour by hour with the outbox draining —
and captures every statement the drivers execute (SQLite's trace callback, asyncpg's
query logger). Each statement that names a merchant-owned table after FROM, JOIN,
UPDATE or INTO must mention ``merchant_id``; the exceptions are listed with a reason.
The check is rough on purpose (a word in the text, not a parsed predicate): what it
catches is the query written without the merchant at all."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from pprint import pformat
from typing import Any

import asyncpg
import pytest

from cloud.cabinet import accounts
from cloud.clock import ManualClock
from cloud.db.database import PostgresDatabase, SqliteDatabase, _keep_session
from cloud.db.models import Base
from cloud.services.deps import Deps
from cloud.settings import Settings
from tests.cabinet.conftest import cheap_argon2 as cheap_argon2
from tests.cabinet.conftest import csrf_of
from tests.scenarios.salon import opened_salon
from tests.scenarios.test_salon_month import local, program

GLOBAL_TABLES = {
    "merchants": "the tenants themselves: its id is the merchant_id (Citus distributes it "
    "by id, co-located with the rest)",
    "cabinet_sign_in_failures": "refused sign-ins by login and address, counted before any "
    "merchant is known (a login is unique across the service)",
}

# (table, a fragment of the statement's text): why it does not name merchant_id. The
# fragments carry no placeholder (SQLite's trace shows values, asyncpg's shows $n).
ALLOWED: dict[tuple[str, str], str] = {
    ("notifications", "UPDATE notifications SET status = 'claimed'"): "the outbox worker "
    "claims due messages of every merchant at once (docs/scaling.md: per-merchant claims "
    "before Citus)",
    ("gift_certificate_holds", "UPDATE gift_certificate_holds SET status = 'expired'"): "the "
    "holds job's sweep over every merchant (a multi-shard UPDATE on Citus)",
    ("program_versions", "FROM program_versions WHERE id ="): "the program cache loads a "
    "version by the id read from the merchant's own row (docs/scaling.md: key it by merchant)",
    ("bonus_lots", "FROM bonus_lots WHERE customer_id ="): "balance reads by the customer id "
    "of a customer already found for the merchant (cloud/ledger/balance.py; docs/scaling.md)",
    ("holds", "FROM bonus_lots WHERE customer_id ="): "the same balance read's holds subquery",
    ("ledger_entries", "SELECT COALESCE(MAX(id), 0) FROM ledger_entries"): "SQLite only (one "
    "writer): the expiry job's high-water mark; PostgreSQL uses RETURNING",
    ("ledger_entries", "FROM ledger_entries WHERE id >"): "SQLite only: the rows this "
    "transaction just wrote past that mark",
    ("bonus_lots", "FROM ledger_entries WHERE id >"): "SQLite only: as above",
    ("bonus_lots", "FROM sqlite_sequence"): "SQLite only: the next free lot ids",
    ("receipts", "SELECT COALESCE(MAX(id), 0) FROM receipts"): "the analytics job's mark of "
    "the receipts it has seen, read once a run for every merchant under a SHARE lock "
    "(docs/scaling.md: per merchant on Citus)",
}
# The scenario's own check that a second run of a day's jobs changes nothing.
TEST_OWN = "SELECT (SELECT COUNT(*) FROM bonus_lots) AS a"

_TABLE = re.compile(r"\b(?:FROM|JOIN|UPDATE|INTO)\s+([a-z_]+)", re.IGNORECASE)
OWNED = {t for t in Base.metadata.tables if t not in GLOBAL_TABLES}


def test_every_merchant_table_has_merchant_id() -> None:
    """Every table of the schema has a merchant_id column but the global ones named in
    GLOBAL_TABLES: the key Citus distributes by is on every row."""
    missing = sorted(
        name for name, table in Base.metadata.tables.items()
        if "merchant_id" not in table.c and name not in GLOBAL_TABLES
    )  # fmt: skip
    assert missing == []
    assert set(GLOBAL_TABLES) <= set(Base.metadata.tables)


def unscoped(statements: list[str]) -> dict[str, set[str]]:
    """Statements naming a merchant-owned table without merchant_id, by table, less the
    allowed ones."""
    found: dict[str, set[str]] = {}
    for sql in statements:
        if "merchant_id" in sql or sql.startswith(TEST_OWN):
            continue
        for table in {t.lower() for t in _TABLE.findall(sql)} & OWNED:
            if any(t == table and part in sql for (t, part) in ALLOWED):
                continue
            found.setdefault(table, set()).add(" ".join(sql.split())[:240])
    return found


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, env="test", load_demo=False,
                    scheduler_in_serve=False)  # fmt: skip


@pytest.fixture
def statements() -> list[str]:
    return []


async def _traced(url: str, record: Callable[[str], None]) -> SqliteDatabase | PostgresDatabase:
    """The service's database, with every statement the driver runs recorded."""
    if url.startswith("sqlite"):
        db = SqliteDatabase(url.split(":///", 1)[1])
        for connection in (db._writer, db._connection):
            connection.set_trace_callback(record)
        return db

    async def init(connection: asyncpg.Connection) -> None:
        connection.add_query_logger(lambda logged: record(logged.query))

    dsn = "postgresql://" + url.split("://", 1)[1]
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=10, reset=_keep_session, init=init)
    return PostgresDatabase(pool)


@pytest.fixture
async def deps(
    settings: Settings, clock: ManualClock, statements: list[str]
) -> AsyncIterator[Deps]:
    db = await _traced(settings.database_url, statements.append)
    try:
        yield Deps.build(settings, db, clock=clock)
    finally:
        await db.close()


async def test_a_days_queries_all_filter_by_merchant(
    aiohttp_client: Any, deps: Deps, clock: ManualClock, statements: list[str]
) -> None:
    """A salon's day (till, customers API, merchant API, self-registration, cabinet
    pages, every job and the outbox) runs no statement over a merchant's table that
    lacks merchant_id, except the listed look-ups that find the merchant."""
    async with opened_salon(aiohttp_client, deps, clock, program()) as salon:
        till, office, browser, tenant = salon.till, salon.office, salon.browser, salon.tenant
        statements.clear()  # what set the tenant up is not traffic

        await salon.live_until(local(2, 11))
        done = await salon.self_register(await salon.join_link("Открытие"), "+79165550001",
                                         name="Анна", birthday="1990-03-05")  # fmt: skip
        assert "Анна" in done
        boris = await salon.register_at_till("+79165550002")
        quote = await till.post("/api/v1/checkout/calculate", json={"receipt": {
            "id": "R1", "customer": {"phone": "+79165550002"},
            "lines": [{"id": "1", "name": "Стрижка", "price": 3000, "quantity": 1}]}})  # fmt: skip
        assert quote.status == 200, await quote.text()
        await salon.sell("R1", "+79165550002", ("1", "3000"), ("2", "500"))
        await salon.refund("R1-R", "R1", "2")
        await salon.customer(boris["id"])
        for path in (
            "/api/v1/merchant/feedback",
            "/api/v1/merchant/reports/reanimation",
            f"/api/v1/merchant/customers/{boris['id']}",
            "/api/v1/merchant/customers",
        ):
            response = await office.get(path)
            assert response.status == 200, (path, await response.text())

        await accounts.create_user(deps, tenant.merchant_id, "owner@lavanda.ru", "пароль-салона",
                                   "owner")  # fmt: skip
        page = await browser.get("/cabinet/login")
        form = {"csrf": csrf_of(await page.text()), "login": "owner@lavanda.ru",
                "password": "пароль-салона"}  # fmt: skip
        signed = await browser.post("/cabinet/login", data=form, allow_redirects=False)
        assert signed.status == 303
        for path in (
            "/cabinet/customers",
            f"/cabinet/customers/{boris['id']}",
            "/cabinet/stores",
            "/cabinet/analytics",
            "/cabinet/feedback",
            "/cabinet/mailings",
            "/cabinet/program",
            "/cabinet/staff",
            "/cabinet/counter",
        ):
            response = await browser.get(path)
            assert response.status == 200, (path, (await response.text())[:300])

        await salon.live_until(local(3, 12))  # every job of the day, run twice

    assert len(statements) > 500, "the trace caught too little: is it on?"
    for part in ("INSERT INTO receipts", "INSERT INTO job_runs", "FROM cabinet_users",
                 "UPDATE notifications", "INSERT INTO customers"):  # fmt: skip
        assert any(part in sql for sql in statements), f"no {part!r} in the day's statements"
    found = unscoped(statements)
    assert found == {}, pformat(found, width=100)
