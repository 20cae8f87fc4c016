"""The demo merchant: loaded through the same services a merchant and a terminal use.

Terminal tokens of the demo are fixed (``fixtures/demo/merchant.json``) so the README's
``curl`` works; production never gets those public tokens: there the demo loads only with
fresh ones (``fresh_tokens``), shown once like any merchant's.
"""

from __future__ import annotations

import dataclasses
import json
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from cloud.clock import ManualClock, to_epoch
from cloud.crypto import hash_token
from cloud.errors import DomainError
from cloud.services import checkout, customers, merchants, programs
from cloud.services.deps import Deps
from cloud.services.merchants import TerminalContext, zone
from schemas import checkout as wire
from schemas.customers import Consent, RegisterCustomer

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
DEMO_FILE = FIXTURES / "demo" / "merchant.json"


@dataclass(frozen=True)
class DemoMerchant:
    merchant_id: int
    tokens: list[str]
    merchant_key: str
    customers: int
    receipts: int


async def demo_merchant_id(deps: Deps) -> int | None:
    spec = json.loads(DEMO_FILE.read_text())
    value = await deps.db.fetch_value(
        "SELECT id FROM merchants WHERE name = :n ORDER BY id LIMIT 1", {"n": spec["name"]}
    )
    return None if value is None else int(value)


async def load_demo(
    deps: Deps, *, refresh: bool = False, fresh_tokens: bool = False
) -> DemoMerchant:
    """Create the demo merchant with its history; with ``refresh`` drop it first. With
    ``fresh_tokens`` its key and tokens are new random ones (returned once), not the
    published ones; an existing demo merchant then comes back with none."""
    if deps.settings.env == "production" and not fresh_tokens:
        raise RuntimeError("the demo merchant (with public tokens) is not loaded in production")
    spec = json.loads(DEMO_FILE.read_text())
    existing = await demo_merchant_id(deps)
    if existing is not None:
        if not refresh:
            if fresh_tokens:
                return DemoMerchant(existing, [], "", 0, 0)
            return DemoMerchant(existing, _tokens(spec), spec["merchant_key"], 0, 0)
        async with deps.db.transaction() as tx:
            # Deleting the merchant cascades to everything that carries its id.
            await tx.execute("DELETE FROM merchants WHERE id = :m", {"m": existing})
    now = deps.clock()
    merchant_id = await merchants.create_merchant(deps.db, spec["name"], now, spec["timezone"])
    document = (FIXTURES / spec["program"]).read_text()
    await programs.publish(deps.db, merchant_id, document, now)
    merchant_key = await merchants.issue_merchant_key(
        deps.db, merchant_id, now, token=None if fresh_tokens else spec["merchant_key"],
        label="demo",
    )  # fmt: skip
    tokens: list[str] = []
    terminals: list[TerminalContext] = []
    for store in spec["stores"]:
        store_id = await merchants.create_store(
            deps.db, merchant_id, store["name"], now, store["timezone"]
        )
        for terminal in store["terminals"]:
            terminal_id = await merchants.create_terminal(
                deps.db, merchant_id, store_id, terminal["name"], now
            )
            token = None if fresh_tokens else terminal["token"]
            tokens.append(
                await merchants.issue_terminal_token(
                    deps.db, merchant_id, terminal_id, now, token=token, label="demo"
                )
            )
            terminals.append(
                TerminalContext(merchant_id, store_id, terminal_id, zone(store["timezone"]),
                                "active")
            )  # fmt: skip
    receipts = await _history(deps, spec, merchant_id, terminals)
    return DemoMerchant(merchant_id, tokens, merchant_key, len(spec["customers"]), receipts)


def _tokens(spec: dict[str, Any]) -> list[str]:
    return [t["token"] for store in spec["stores"] for t in store["terminals"]]


def public_credentials() -> list[str]:
    """Every credential of the demo: published in this repository, so anyone can use
    them wherever they are live."""
    spec = json.loads(DEMO_FILE.read_text())
    return [*_tokens(spec), spec["merchant_key"]]


_LIVE = (
    "SELECT token_hash FROM terminal_credentials WHERE token_hash IN ({in_}) "
    "AND revoked_at IS NULL UNION ALL "
    "SELECT token_hash FROM merchant_credentials WHERE token_hash IN ({in_}) "
    "AND revoked_at IS NULL"
)


async def live_public_credentials(deps: Deps) -> list[str]:
    """The demo's credentials that still authenticate on this database (under any
    merchant: what matters is that the token is public)."""
    by_hash = {hash_token(token): token for token in public_credentials()}
    params = {f"h{n}": digest for n, digest in enumerate(by_hash)}
    rows = await deps.db.fetch_all(
        _LIVE.format(in_=", ".join(f":{name}" for name in params)), params
    )
    return sorted({by_hash[row["token_hash"]] for row in rows})


async def revoke_public_credentials(deps: Deps) -> int:
    """Revoke every live demo credential (the data they reach stays); return how many."""
    now = to_epoch(deps.clock())
    revoked = 0
    async with deps.db.transaction() as tx:
        for table in ("terminal_credentials", "merchant_credentials"):
            for token in public_credentials():
                rows = await tx.fetch_all(
                    f"UPDATE {table} SET revoked_at = :now "
                    "WHERE token_hash = :h AND revoked_at IS NULL RETURNING id",
                    {"now": now, "h": hash_token(token)},
                )
                revoked += len(rows)
    return revoked


async def _history(
    deps: Deps,
    spec: dict,
    merchant_id: int,
    terminals: list[TerminalContext],
) -> int:
    """Sixty days of purchases, some paid partly with bonuses, one partial return."""
    rng = random.Random(20261120)
    today = deps.clock()
    start = today - timedelta(days=60)
    clock = ManualClock(start)
    past = dataclasses.replace(deps, clock=clock)
    ids = []
    for person in spec["customers"]:
        birthday = person.get("birthday")
        data = RegisterCustomer(
            phone=person["phone"], name=person.get("name"), card=person.get("card"),
            birthday=date.fromisoformat(birthday) if birthday else None,
            consent=Consent(personal_data=True, messages=True),
        )  # fmt: skip
        ids.append(
            await customers.register_customer(
                past,
                merchant_id,
                data,
                store_id=terminals[0].store_id,
                channel="import",
                sms_code=None,
            )
        )
    events = sorted(
        (rng.uniform(0, 59), customer_id) for customer_id in ids for _ in range(rng.randint(1, 4))
    )
    count = 0
    for day_offset, customer_id in events:
        clock.now = start + timedelta(days=day_offset)
        terminal = rng.choice(terminals)
        lines = [
            wire.ReceiptLine(
                id=str(n),
                name=item["name"],
                sku=item["sku"],
                category=item["category"],
                price=Decimal(item["price"]),
                quantity=Decimal(rng.randint(1, 3)),
            )
            for n, item in enumerate(rng.sample(spec["catalogue"], rng.randint(1, 3)), 1)
        ]
        receipt = wire.Receipt(
            id=f"demo-{count + 1:05d}", customer=wire.CustomerRef(customer_id=customer_id),
            lines=lines,
        )  # fmt: skip
        quote = await checkout.calculate(past, terminal, wire.CalculateRequest(receipt=receipt))
        spend = quote.max_redeem if rng.random() < 0.3 else Decimal(0)
        try:
            await checkout.confirm(
                past, terminal, wire.ConfirmRequest(receipt=receipt, redeemed=spend)
            )
        except DomainError:
            continue
        count += 1
        if count == 7:
            await checkout.refund(
                past, terminal,
                wire.RefundRequest(id="demo-return-1", receipt_id=receipt.id,
                                   lines=[wire.RefundLine(id="1", quantity=Decimal(1))]),
            )  # fmt: skip
    return count
